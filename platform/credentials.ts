import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/** Service accounts and what each may do is in broker/acl.ts; these are their usernames. */
export const SERVICE_ROLES = ['ingest', 'rules', 'alerts', 'simulator', 'recorder', 'observer', 'board'] as const;
export type ServiceRole = (typeof SERVICE_ROLES)[number];
export const serviceUsername = (role: ServiceRole) => `svc-${role}`;

/**
 * A username's password is HMAC-SHA256(secret, username): the broker needs no password table, and a
 * node is provisioned by printing its password once (`fire-ews creds <node>`).
 */
export function derivePassword(secret: string, username: string): string {
  return createHmac('sha256', secret).update(`mqtt:${username}`).digest('base64url').slice(0, 32);
}

export function passwordMatches(secret: string, username: string, password: Buffer | undefined): boolean {
  if (!password) return false;
  const expected = Buffer.from(derivePassword(secret, username));
  return password.length === expected.length && timingSafeEqual(password, expected);
}

const secretFileSchema = z.object({ brokerSecret: z.string().min(16) }).strict();

/** The secret is neither given nor kept where a tool that only reads it looks. */
export class MissingBrokerSecretError extends Error {}

/**
 * The broker secret: EWS_BROKER_SECRET, or for a local run a random one kept in the data dir
 * (mode 0600) so the CLI tools and a restarted broker agree. Never committed. Only what runs a
 * broker generates one (`generate`); a tool that prints passwords must not invent a secret no
 * running broker knows.
 */
export function resolveBrokerSecret(envSecret: string | undefined, dataDir: string, opts: { generate?: boolean } = {}): { secret: string; source: 'env' | 'file' | 'generated' } {
  if (envSecret) return { secret: envSecret, source: 'env' };
  const file = join(dataDir, 'broker-secret.json');
  if (existsSync(file)) {
    const parsed = secretFileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    return { secret: parsed.brokerSecret, source: 'file' };
  }
  if (opts.generate === false) {
    throw new MissingBrokerSecretError(
      `no broker secret: EWS_BROKER_SECRET is not set and ${file} does not exist. Set EWS_BROKER_SECRET to the broker's secret, or EWS_DATA_DIR to the data directory of the broker that generated one.`,
    );
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(24).toString('base64url');
  writeFileSync(file, JSON.stringify({ brokerSecret: secret }), { mode: 0o600 });
  return { secret, source: 'generated' };
}
