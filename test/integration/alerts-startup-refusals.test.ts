// Start-up refusals of the alerts service, as an operator meets them: the real entry point
// (alerts/main.ts, what `fire-ews alerts run` runs) as a child process with a bad configuration. Each
// must print one line naming the variable or the file and what to do, exit with code 2, and print no
// stack trace — before any SMS could go to the wrong place.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { SITE_FILE } from '../support/alerts-fixtures.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'alerts-refusals-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The committed site with its drill schedule on the 32nd day of the month: a cron node-cron refuses. */
const BAD_SCHEDULE = join(dir, 'bad-schedule.site.yaml');
writeFileSync(BAD_SCHEDULE, readFileSync(SITE_FILE, 'utf8').replace('cron: "30 8 1-7 1-4,11,12 1"', 'cron: "30 8 32 1-4,11,12 1"'));
const BAD_SCHEDULE_LINE = readFileSync(BAD_SCHEDULE, 'utf8').split('\n').findIndex((l) => l.includes('"30 8 32 ')) + 1;

const TWILIO = { ALERTS_TRANSPORT: 'twilio', TWILIO_ACCOUNT_SID: `AC${'5'.repeat(32)}`, TWILIO_AUTH_TOKEN: 'a-token', ALERTS_PUBLIC_URL: 'https://ews.laichau.vn' };

function runAlerts(env: Record<string, string>) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'alerts/main.ts'], {
    cwd: ROOT,
    // No broker is running: a refusal must come before the service would need one.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', EWS_DATA_DIR: join(dir, 'data'), EWS_SITE_FILE: SITE_FILE, EWS_BROKER_SECRET: 'refusal-test-secret-0123456789', MQTT_URL: 'mqtt://127.0.0.1:1', EWS_HTTP_PORT: '0', ALERTS_HTTP_PORT: '0', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stderr: r.stderr.trim() };
}

describe('the alerts service refuses to start, naming what to fix', () => {
  it.each<{ name: string; env: Record<string, string>; line: RegExp }>([
    { name: 'TWILIO_FROM neither E.164 nor a short alphanumeric sender', env: { ...TWILIO, TWILIO_FROM: 'PCCR LAI CHAU' }, line: /^fire-ews: TWILIO_FROM: must be an E\.164 number like \+84912345678 or an alphanumeric sender ID of at most 11 letters, digits or spaces with at least one letter/ },
    { name: 'ALERTS_PUBLIC_URL on loopback with Twilio', env: { ...TWILIO, ALERTS_PUBLIC_URL: 'http://127.0.0.1:8090' }, line: /^fire-ews: ALERTS_PUBLIC_URL: http:\/\/127\.0\.0\.1:8090 is a loopback or private address: .* set it to the public https address/ },
    { name: 'ALERTS_PUBLIC_URL on a private network with Twilio', env: { ...TWILIO, ALERTS_PUBLIC_URL: 'https://192.168.1.20' }, line: /^fire-ews: ALERTS_PUBLIC_URL: https:\/\/192\.168\.1\.20 is a loopback or private address/ },
    { name: 'replies asked of an alphanumeric sender', env: { ...TWILIO, TWILIO_FROM: 'PCCR LCHAU', TWILIO_RECEIVES_REPLIES: 'true' }, line: /^fire-ews: TWILIO_RECEIVES_REPLIES: an alphanumeric sender \(TWILIO_FROM=PCCR LCHAU\) cannot receive replies/ },
    { name: 'the sample roster with Twilio', env: { ...TWILIO, TWILIO_FROM: 'PCCR LCHAU' }, line: /^fire-ews: .*config\/lai-chau\.site\.yaml: site\.sampleData is true \(an illustrative roster\) and ALERTS_TRANSPORT is twilio: copy the site file, .*point EWS_SITE_FILE at the copy$/ },
    { name: 'a scheduled drill with a cron node-cron refuses', env: { EWS_SITE_FILE: BAD_SCHEDULE }, line: new RegExp(`^fire-ews: .*bad-schedule\\.site\\.yaml:${BAD_SCHEDULE_LINE} drills\\[0\\]\\.cron: not a node-cron expression: `) },
    { name: 'the sample roster with the modem', env: { ALERTS_TRANSPORT: 'gammu', GAMMU_SMSD_CONFIG: join(dir, 'no-such-smsdrc') }, line: /^fire-ews: .*site\.sampleData is true .* ALERTS_TRANSPORT is gammu: / },
  ])('$name', ({ env, line }) => {
    const r = runAlerts(env);
    expect(r.stderr).toMatch(line);
    expect(r.stderr.split('\n'), 'one line').toHaveLength(1);
    expect(r.stderr, 'no stack trace').not.toMatch(/\n\s+at |Error:/);
    expect(r.status).toBe(2);
  });
});
