// Board members' credentials and sessions. Passwords are hashed with scrypt (node:crypto, RFC 7914)
// into `scrypt.<log2 N>.<r>.<p>.<salt>.<key>` (base64url; no `$`, so Compose does not interpolate it);
// BOARD_USERS lists `<memberId>:<hash>` per person. Sessions live in board.sqlite, so a restart keeps
// wall screens and members signed in. Nothing here logs a password, hash or token.
import { ConfigError as PlatformConfigError } from '../platform/config-error.ts';
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { SessionStore } from '@fastify/session';
import type { Session } from 'fastify';
import type { Site } from '../contracts/site.ts';
import type { SqliteDatabase } from '../platform/sqlite.ts';

const scrypt = (password: string, salt: Buffer, keylen: number, options: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCallback(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))));

/** OWASP's scrypt minimum (N = 2^17, r = 8, p = 1) costs 128 MiB a check; 2^15 keeps a check at 32 MiB and ~100 ms here. */
export const SCRYPT_DEFAULTS = { logN: 15, r: 8, p: 1 } as const;
const KEY_BYTES = 32;
const HASH_PATTERN = /^scrypt\.(\d{1,2})\.(\d{1,2})\.(\d{1,2})\.([A-Za-z0-9_-]{16,})\.([A-Za-z0-9_-]{40,})$/;
export const MIN_PASSWORD_LENGTH = 10;

/** The board's configuration problems, one per line, each naming its variable (a platform ConfigError: exit 2 in any command). */
export class ConfigError extends PlatformConfigError {
  constructor(message: string) {
    super(message.split('\n').map((problem) => ({ where: '', problem })));
  }
}

function maxmem(logN: number, r: number): number {
  return 128 * 2 ** logN * r * 2;
}

export async function hashPassword(password: string, params: { logN: number; r: number; p: number } = SCRYPT_DEFAULTS): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password.normalize('NFC'), salt, KEY_BYTES, { N: 2 ** params.logN, r: params.r, p: params.p, maxmem: maxmem(params.logN, params.r) });
  return `scrypt.${params.logN}.${params.r}.${params.p}.${salt.toString('base64url')}.${key.toString('base64url')}`;
}

export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const m = HASH_PATTERN.exec(hash);
  if (!m) return false;
  const [logN, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const expected = Buffer.from(m[5] as string, 'base64url');
  const key = await scrypt(password.normalize('NFC'), Buffer.from(m[4] as string, 'base64url'), expected.length, { N: 2 ** logN, r, p, maxmem: maxmem(logN, r) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

export interface BoardUser {
  memberId: string;
  name: string;
  unit: string;
  hash: string;
}

/** Who may sign in: members of the city and commune boards and the forest rangers. */
export function signInRoster(site: Site): Map<string, { name: string; unit: string }> {
  const out = new Map<string, { name: string; unit: string }>();
  for (const m of site.boards.city.members) out.set(m.id, { name: m.name, unit: site.boards.city.name });
  for (const b of site.boards.communes) for (const m of b.members) out.set(m.id, { name: m.name, unit: b.name });
  for (const m of site.rangers) out.set(m.id, { name: m.name, unit: 'Kiểm lâm' });
  return out;
}

/** Parses BOARD_USERS against the roster; every problem names the variable and the entry. */
export function parseBoardUsers(text: string | undefined, site: Site): Map<string, BoardUser> {
  const users = new Map<string, BoardUser>();
  if (!text) return users;
  const roster = signInRoster(site);
  const problems: string[] = [];
  text
    .split(/[,\s]+/)
    .filter(Boolean)
    .forEach((entry, i) => {
      const colon = entry.indexOf(':');
      const id = colon > 0 ? entry.slice(0, colon) : '';
      const hash = colon > 0 ? entry.slice(colon + 1) : '';
      const where = `BOARD_USERS entry ${i + 1}${id ? ` (${id})` : ''}`;
      if (!id || !HASH_PATTERN.test(hash)) problems.push(`${where}: expected <memberId>:scrypt.… as printed by \`fire-ews board-user <memberId>\``);
      else if (!roster.has(id)) problems.push(`${where}: ${id} is not a member of a command board or the rangers in the site file`);
      else if (users.has(id)) problems.push(`${where}: ${id} appears twice`);
      else users.set(id, { memberId: id, hash, ...(roster.get(id) as { name: string; unit: string }) });
    });
  if (problems.length) throw new ConfigError(problems.join('\n'));
  return users;
}

/** Compares a presented token with the configured one in constant time. */
export function tokenMatches(given: string, expected: string | undefined): boolean {
  if (!expected) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const secretsFileSchema = z.object({ sessionSecret: z.string().min(32).optional(), kioskToken: z.string().min(32).optional() }).strict();

/**
 * The session secret (BOARD_SESSION_SECRET, else one generated once and kept in the data dir, mode
 * 0600) and the kiosk token (BOARD_KIOSK_TOKEN; the embedded `fire-ews start` generates and keeps one
 * when it is unset, so a newcomer gets a link to open). Only generated values are written.
 */
export function resolveBoardSecrets(env: { BOARD_SESSION_SECRET?: string; BOARD_KIOSK_TOKEN?: string }, dataDir: string, generateKiosk: boolean): { sessionSecret: string; kioskToken: string | undefined; kioskGenerated: boolean } {
  const file = join(dataDir, 'board-secrets.json');
  const kept = existsSync(file) ? secretsFileSchema.parse(JSON.parse(readFileSync(file, 'utf8'))) : {};
  let changed = false;
  if (!env.BOARD_SESSION_SECRET && !kept.sessionSecret) {
    kept.sessionSecret = randomBytes(32).toString('base64url');
    changed = true;
  }
  const kioskGenerated = !env.BOARD_KIOSK_TOKEN && generateKiosk;
  if (kioskGenerated && !kept.kioskToken) {
    kept.kioskToken = randomBytes(24).toString('base64url');
    changed = true;
  }
  if (changed) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, JSON.stringify(kept), { mode: 0o600 });
  }
  return { sessionSecret: env.BOARD_SESSION_SECRET ?? (kept.sessionSecret as string), kioskToken: env.BOARD_KIOSK_TOKEN ?? (kioskGenerated ? kept.kioskToken : undefined), kioskGenerated };
}

/** The session data the board keeps: a signed-in member or a kiosk screen. */
export const sessionUserSchema = z.discriminatedUnion('role', [
  z.object({ role: z.literal('member'), memberId: z.string(), name: z.string() }),
  z.object({ role: z.literal('kiosk') }),
]);
export type SessionUser = z.infer<typeof sessionUserSchema>;

type Callback = (err?: Error | null) => void;
type CallbackSession = (err: Error | null, result?: Session | null) => void;

/** A store for @fastify/session in board.sqlite (its set/get/destroy contract); expired rows are pruned. */
export class SqliteSessionStore implements SessionStore {
  constructor(private readonly db: SqliteDatabase) {}

  set(sid: string, session: Session, cb: Callback): void {
    try {
      const expires = session.cookie.expires ? new Date(session.cookie.expires).getTime() : Date.now() + 86_400_000;
      this.db.prepare('INSERT INTO sessions (sid, json, expires_at) VALUES (?, ?, ?) ON CONFLICT (sid) DO UPDATE SET json = excluded.json, expires_at = excluded.expires_at').run(sid, JSON.stringify(session), expires);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  get(sid: string, cb: CallbackSession): void {
    try {
      const row = this.db.prepare('SELECT json, expires_at FROM sessions WHERE sid = ?').get(sid) as { json: string; expires_at: number } | undefined;
      if (!row || row.expires_at < Date.now()) return cb(null, null);
      // The plugin rebuilds its Session object from this plain data (as with express-session stores).
      cb(null, JSON.parse(row.json) as Session);
    } catch (err) {
      cb(err as Error);
    }
  }

  destroy(sid: string, cb: Callback): void {
    try {
      this.db.prepare('DELETE FROM sessions WHERE sid = ?').run(sid);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM sessions WHERE expires_at >= ?').get(Date.now()) as { n: number }).n;
  }
}
