import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, hashPassword, parseBoardUsers, resolveBoardSecrets, tokenMatches, verifyPassword } from './auth.ts';
import { SITE } from '../test/support/board-fixtures.ts';

describe('passwords', () => {
  it('scrypt hashes verify the right password only, carry no $ (Compose would interpolate it) and differ each time', async () => {
    const a = await hashPassword('một mật khẩu dài');
    const b = await hashPassword('một mật khẩu dài');
    expect(a).toMatch(/^scrypt\.15\.8\.1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('một mật khẩu dài', a)).toBe(true);
    // NFC and NFD spellings of the same Vietnamese text are the same password
    expect(await verifyPassword('một mật khẩu dài'.normalize('NFD'), a)).toBe(true);
    expect(await verifyPassword('mot mat khau dai', a)).toBe(false);
    expect(await verifyPassword('x', 'not-a-hash')).toBe(false);
  });

  it('tokens compare in constant time and never match an unset token', () => {
    expect(tokenMatches('abc', 'abc')).toBe(true);
    expect(tokenMatches('abd', 'abc')).toBe(false);
    expect(tokenMatches('ab', 'abc')).toBe(false);
    expect(tokenMatches('', undefined)).toBe(false);
  });
});

describe('BOARD_USERS', () => {
  it('entries name board members or rangers of the site file; names come from the roster', async () => {
    const h = await hashPassword('another long password');
    const users = parseBoardUsers(`city-board-m01:${h}, city-board-m02:${h}\n`, SITE);
    expect([...users.keys()]).toStrictEqual(['city-board-m01', 'city-board-m02']);
    expect(users.get('city-board-m01')?.name).toBe(SITE.boards.city.members[0]?.name);
    expect(parseBoardUsers(undefined, SITE).size).toBe(0);
  });

  it('every bad entry is reported, naming the variable and the entry', async () => {
    const h = await hashPassword('another long password');
    let message = '';
    try {
      parseBoardUsers(`city-board-m01:${h},team-sth-1-m01:${h},city-board-m01:${h},broken`, SITE);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message.split('\n')).toStrictEqual([
      'BOARD_USERS entry 2 (team-sth-1-m01): team-sth-1-m01 is not a member of a command board or the rangers in the site file',
      'BOARD_USERS entry 3 (city-board-m01): city-board-m01 appears twice',
      'BOARD_USERS entry 4: expected <memberId>:scrypt.… as printed by `fire-ews board-user <memberId>`',
    ]);
  });
});

describe('board secrets', () => {
  it('a generated session secret and kiosk token are kept (0600) and reused; configured values win and are not written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'board-secrets-'));
    try {
      const first = resolveBoardSecrets({}, dir, true);
      expect(first.kioskGenerated).toBe(true);
      expect(first.kioskToken?.length).toBeGreaterThanOrEqual(32);
      expect(statSync(join(dir, 'board-secrets.json')).mode & 0o777).toBe(0o600);
      expect(resolveBoardSecrets({}, dir, true)).toStrictEqual(first);
      expect(resolveBoardSecrets({}, dir, false).kioskToken, 'only the embedded start generates a kiosk link').toBeUndefined();
      const configured = resolveBoardSecrets({ BOARD_SESSION_SECRET: 's'.repeat(40), BOARD_KIOSK_TOKEN: 'k'.repeat(40) }, dir, true);
      expect(configured).toStrictEqual({ sessionSecret: 's'.repeat(40), kioskToken: 'k'.repeat(40), kioskGenerated: false });
      expect(readFileSync(join(dir, 'board-secrets.json'), 'utf8')).not.toContain('kkkk');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
