// The board's commands as a user runs them: `fire-ews board-user` prints an entry that signs in,
// refuses strangers and short passwords; `fire-ews board` with bad configuration says what is wrong
// in one message naming the variable, exits non-zero, no stack trace.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { verifyPassword } from '../../board/auth.ts';
import { SITE_FILE, TEST_SECRET, tempDataDir } from '../harness/services.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

function run(args: string[], env: Record<string, string> = {}, input = '') {
  const data = tempDataDir('board-cli');
  try {
    return spawnSync(process.execPath, ['bin/fire-ews.js', ...args], {
      cwd: ROOT,
      input,
      encoding: 'utf8',
      timeout: 60_000,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', EWS_DATA_DIR: data.dir, EWS_SITE_FILE: SITE_FILE, EWS_BROKER_SECRET: TEST_SECRET, EWS_HTTP_PORT: '0', BOARD_HTTP_PORT: '0', MQTT_URL: 'mqtt://127.0.0.1:1', ...env },
    });
  } finally {
    data.remove();
  }
}

describe('fire-ews board-user', () => {
  it('reads the password from standard input and prints a BOARD_USERS entry that verifies', async () => {
    const r = run(['board-user', 'city-board-m02'], {}, 'mật khẩu của tôi 2026\n');
    expect(r.status, r.stderr).toBe(0);
    const entry = r.stdout.trim();
    expect(entry).toMatch(/^city-board-m02:scrypt\.15\.8\.1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(await verifyPassword('mật khẩu của tôi 2026', entry.slice('city-board-m02:'.length))).toBe(true);
    expect(r.stderr).toContain('add this entry to BOARD_USERS');
  });

  it.each([
    [['board-user', 'team-sth-1-m01'], 'long enough password', /^team-sth-1-m01 is not a member of a command board or the rangers in /],
    [['board-user', 'city-board-m02'], 'short\n', /^the password must have at least 10 characters$/m],
  ])('%j is refused with one line', (args, input, message) => {
    const r = run(args, {}, input);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('fire-ews board refuses bad configuration', () => {
  it.each([
    [{ BOARD_USERS: 'city-board-m01:not-a-hash' }, /^BOARD_USERS entry 1 \(city-board-m01\): expected <memberId>:scrypt/],
    [{ BOARD_KIOSK_TOKEN: 'short' }, /BOARD_KIOSK_TOKEN: BOARD_KIOSK_TOKEN must be at least 32 characters/],
    [{ BOARD_HTTP_PORT: 'eighty' }, /BOARD_HTTP_PORT: /],
    [{ BOARD_ALERTS_URL: 'http://127.0.0.1:8090' }, /^BOARD_ALERTS_URL is set but ALERTS_API_KEY is not/],
  ])('%j', (env, message) => {
    const r = run(['board'], env);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
