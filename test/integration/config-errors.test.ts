// Configuration errors as an operator meets them: the real `fire-ews` run as a child process with a
// bad variable, a missing or broken file, or ports held by real listeners. Each must end with one
// message per problem naming the variable or `file:line` and what to do, exit code 2, and no stack
// trace. Before, a port in use crashed through an unhandled 'error' event (a 20-line trace), the
// first port in use hid the others, INFLUX_URL=notaurl only failed when ingest first wrote, a
// missing RULES_CONFIG_FILE was a JSON fatal log line, and one unclosed bracket in YAML produced a
// problem on every following line.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { SITE_FILE, tempDataDir } from '../harness/services.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `fire-ews <args>` with only PATH and the given variables; a hang past 60 s is a failure. */
function fireEws(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'bin/fire-ews.js'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '', ...env } }, (err, stdout, stderr) => {
      const code = err && typeof err.code === 'number' ? err.code : err ? null : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The contract of every configuration error. */
function expectConfigError(run: Run, mustName: readonly string[]) {
  expect(run.stderr).not.toMatch(/^\s+at /m);
  expect(run.stderr).not.toMatch(/Unhandled|uncaught|node:internal|Error:/i);
  expect(run.code).toBe(2);
  const lines = run.stderr.trimEnd().split('\n');
  for (const line of lines) expect(line).toMatch(/^fire-ews: \S.* — \S|^fire-ews: \S/);
  for (const name of mustName) expect(run.stderr).toContain(name);
  return lines;
}

const data = tempDataDir('config-errors');
const base = () => ({ EWS_DATA_DIR: data.dir, EWS_SITE_FILE: SITE_FILE, EWS_BROKER_SECRET: 'config-errors-secret-0123456789', EWS_LOG_FORMAT: 'json' });
const file = (name: string, text: string) => {
  const path = join(data.dir, name);
  writeFileSync(path, text);
  return path;
};

afterAll(() => data.remove());

describe('a bad environment variable is one message naming it, exit 2', () => {
  it.each<{ what: string; args: string[]; env: Record<string, string>; names: string[] }>([
    { what: 'MQTT_PORT that is not a number', args: ['broker'], env: { MQTT_PORT: 'abc' }, names: ['MQTT_PORT', '"abc"'] },
    { what: 'INFLUX_URL that is not a URL', args: ['ingest'], env: { INFLUX_URL: 'notaurl', EWS_HTTP_PORT: '0' }, names: ['INFLUX_URL', 'http(s) URL', '"notaurl"'] },
    { what: 'INFLUX_URL of another scheme', args: ['ingest'], env: { INFLUX_URL: 'ftp://influx:8086', EWS_HTTP_PORT: '0' }, names: ['INFLUX_URL'] },
    { what: 'ALERTS_HTTP_PORT out of range', args: ['alerts', 'run'], env: { ALERTS_HTTP_PORT: '70000' }, names: ['ALERTS_HTTP_PORT', '0–65535'] },
    { what: 'BOARD_HTTP_PORT that is not a number', args: ['board'], env: { BOARD_HTTP_PORT: 'x' }, names: ['BOARD_HTTP_PORT'] },
    { what: 'RULES_TICK_S of zero', args: ['rules'], env: { RULES_TICK_S: '0' }, names: ['RULES_TICK_S'] },
    { what: 'EWS_SITE_FILE that does not exist', args: ['start', '--no-simulation'], env: { EWS_SITE_FILE: '/nonexistent/site.yaml' }, names: ['EWS_SITE_FILE', '/nonexistent/site.yaml', 'does not exist'] },
    { what: 'an MQTT_TLS_CERT_FILE that does not exist', args: ['broker'], env: { MQTT_TLS_CERT_FILE: '/nonexistent/cert.pem', MQTT_TLS_KEY_FILE: '/nonexistent/key.pem', MQTT_PORT: '0', MQTT_WS_PORT: '0', MQTT_TLS_PORT: '0', EWS_HTTP_PORT: '0' }, names: ['MQTT_TLS_CERT_FILE', '/nonexistent/cert.pem'] },
    { what: 'RULES_CONFIG_FILE that does not exist', args: ['rules'], env: { RULES_CONFIG_FILE: '/nonexistent/rules.yaml', EWS_HTTP_PORT: '0' }, names: ['RULES_CONFIG_FILE', '/nonexistent/rules.yaml'] },
  ])('$what', async ({ args, env, names }) => {
    const lines = expectConfigError(await fireEws(args, { ...base(), ...env }), names);
    expect(lines).toHaveLength(1);
  });
});

describe('fire-ews start with a leader lease: refused, not ignored', () => {
  it('LEADER_LEASE_REDIS_URL: one message saying the lease is for separate rules and alerts processes, exit 2, before anything starts', async () => {
    const run = await fireEws(['start', '--no-simulation'], { ...base(), LEADER_LEASE_REDIS_URL: 'redis://:hunter2-lease@127.0.0.1:6379', EWS_HTTP_PORT: '0', MQTT_PORT: '0', MQTT_WS_PORT: '0', ALERTS_HTTP_PORT: '0', BOARD_HTTP_PORT: '0' });
    const lines = expectConfigError(run, ['LEADER_LEASE_REDIS_URL: fire-ews start runs every service in one process and takes no lease', '`fire-ews rules` and `fire-ews alerts run`']);
    expect(lines).toHaveLength(1);
    expect(run.stdout).not.toMatch(/listening|running/i);
  });
});

describe('a URL with a password is named without its password', () => {
  it.each<{ what: string; args: string[]; env: Record<string, string>; shown: string }>([
    { what: 'BROKER_REDIS_URL of another scheme', args: ['broker'], env: { BROKER_REDIS_URL: 'http://ews:hunter2-redis@redis:6379' }, shown: 'BROKER_REDIS_URL: must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379 (got "http://ews:***@redis:6379")' },
    { what: 'LEADER_LEASE_REDIS_URL of another scheme', args: ['rules'], env: { LEADER_LEASE_REDIS_URL: 'mqtt://ews:hunter2-lease@redis:6379', EWS_HTTP_PORT: '0' }, shown: 'LEADER_LEASE_REDIS_URL: must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379 (got "mqtt://ews:***@redis:6379")' },
    { what: 'INFLUX_URL of another scheme', args: ['ingest'], env: { INFLUX_URL: 'ftp://admin:hunter2-influx@influx:8086', EWS_HTTP_PORT: '0' }, shown: '(got "ftp://admin:***@influx:8086")' },
  ])('$what', async ({ args, env, shown }) => {
    const run = await fireEws(args, { ...base(), ...env });
    const lines = expectConfigError(run, [shown]);
    expect(lines).toHaveLength(1);
    expect(run.stderr + run.stdout).not.toContain('hunter2');
  });
});

describe('fire-ews drill --depth sensor: what it cannot do is one message, no stack trace', () => {
  const drillEnv = { ALERTS_API_KEY: 'config-errors-api-key-0123', ALERTS_URL: 'http://127.0.0.1:1' };
  it('no broker secret to publish the plume as svc-simulator: names EWS_BROKER_SECRET, exit 2', async () => {
    const empty = join(data.dir, 'no-secret');
    const { EWS_BROKER_SECRET: _, ...withoutSecret } = base();
    const lines = expectConfigError(await fireEws(['drill', '--zone', 'san-thang', '--depth', 'sensor'], { ...withoutSecret, ...drillEnv, EWS_DATA_DIR: empty }), ['EWS_BROKER_SECRET', 'svc-simulator']);
    expect(lines).toHaveLength(1);
  });
  it('a zone without sensor nodes: exit 2', async () => {
    expectConfigError(await fireEws(['drill', '--zone', 'nowhere', '--depth', 'sensor'], { ...base(), ...drillEnv }), ['zone nowhere has no sensor nodes']);
  });
  it.each([
    [['--depth', 'sideways'], '--depth: expected alert or sensor'],
    [['--depth', 'sensor', '--speed', '0.5'], '--speed: expected a number of at least 1'],
    [['--kind', 'bogus'], '--kind: expected one of fire-confirmed, fire-suspected, level'],
  ])('%j: commander refuses the option (exit 1)', async (extra, message) => {
    const run = await fireEws(['drill', '--zone', 'san-thang', ...extra], { ...base(), ...drillEnv });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(message);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('fire-ews drill-player: a missing alerts key is one message, no stack trace', () => {
  it('no ALERTS_API_KEY: names it, exit 2, before connecting anywhere', async () => {
    const lines = expectConfigError(await fireEws(['drill-player'], base()), ['ALERTS_API_KEY', 'drills are started through the alerts API']);
    expect(lines).toHaveLength(1);
  });
});

describe('fire-ews drill, drill-report, drill-list, drill-end: the alerts API\'s variables are one message each, no stack trace', () => {
  it.each([
    [['drill', '--zone', 'san-thang', '--dry-run']],
    [['drill', '--zone', 'san-thang', '--depth', 'sensor']],
    [['drill-report', 'san-thang-20261204-2100-pdar']],
    [['drill-list']],
    [['drill-end', 'san-thang-20261204-2100-pdar']],
  ])('%j without ALERTS_API_KEY: names it and says to set it, exit 2', async (args) => {
    const lines = expectConfigError(await fireEws(args, base()), ['ALERTS_API_KEY: ALERTS_API_KEY is not set', '— set ALERTS_API_KEY in the environment']);
    expect(lines).toHaveLength(1);
  });
  it('a bad ALERTS_URL and a short key: one line each', async () => {
    const lines = expectConfigError(await fireEws(['drill-list'], { ...base(), ALERTS_URL: 'not a url', ALERTS_API_KEY: 'short' }), ['ALERTS_URL', '"not a url"', 'ALERTS_API_KEY must be at least 16 characters']);
    expect(lines).toHaveLength(2);
    expect(lines.join('\n'), 'a key is never echoed').not.toContain('"short"');
  });
});

describe('a broken file is named with file:line, exit 2', () => {
  it('a YAML syntax error in the site file reports its own line only, not the follow-on problems', async () => {
    const lines = readFileSync(SITE_FILE, 'utf8').split('\n');
    const at = lines.findIndex((l) => l.startsWith('site:'));
    lines[at] = 'site: : : [';
    const path = file('syntax.site.yaml', lines.join('\n'));
    const out = expectConfigError(await fireEws(['broker'], { ...base(), EWS_SITE_FILE: path }), [`${path}:${at + 1}: `, 'YAML syntax', 'fire-ews site check']);
    expect(out).toHaveLength(1);
  });

  it('an unknown field in the site file names its line and the field', async () => {
    const path = join(data.dir, 'field.site.yaml');
    copyFileSync(SITE_FILE, path);
    const text = readFileSync(path, 'utf8').replace(/^  timezone: (.*)$/m, '  timezone: $1\n  timezon: Asia/Bangkok');
    writeFileSync(path, text);
    const line = text.split('\n').findIndex((l) => l.startsWith('  timezon:')) + 1;
    expectConfigError(await fireEws(['broker'], { ...base(), EWS_SITE_FILE: path }), [`${path}:${line} site`, 'timezon']);
  });

  it('a scenario file with a syntax error', async () => {
    const path = file('bad.scenario.yaml', 'name: bad\nduration: 1h\nevents:\n  - type: [fire\n    zone: san-thang\nseed: 3\n');
    const out = expectConfigError(await fireEws(['simulate', '--scenario', path, '--out', join(data.dir, 'out.ndjson')], base()), [`${path}:`, 'YAML syntax']);
    expect(out).toHaveLength(1);
  });

  it('an ALERTS_PUBLIC_URL too long for the SMS templates: each template named, not a stack trace', async () => {
    // Only where the SMS carry the link: Twilio from an alphanumeric sender (no replies), with an operator's roster.
    const site = file('operator.site.yaml', readFileSync(SITE_FILE, 'utf8').replace(/^  sampleData: true$/m, '  sampleData: false'));
    const twilio = { ALERTS_TRANSPORT: 'twilio', TWILIO_ACCOUNT_SID: `AC${'5'.repeat(32)}`, TWILIO_AUTH_TOKEN: 'a-token', TWILIO_FROM: 'PCCR LCHAU' };
    const env = { ...twilio, EWS_SITE_FILE: site, ALERTS_PUBLIC_URL: 'https://alerts.a-very-long-public-address.example.org', ALERTS_HTTP_PORT: '0', EWS_HTTP_PORT: '0', MQTT_URL: 'mqtt://127.0.0.1:1' };
    expectConfigError(await fireEws(['alerts', 'run'], { ...base(), ...env }), ['SMS template ', 'does not fit', 'ALERTS_PUBLIC_URL']);
  });

  it('an unknown scenario name in start', async () => {
    expectConfigError(await fireEws(['start', '--scenario', 'no-such-scenario'], base()), ['--scenario', 'no-such-scenario', 'fire-san-thang']);
  });

  it('a rules config with an unknown field, before connecting to anything', async () => {
    const path = file('bad.rules.yaml', 'detection:\n  confirmWindowS: 60\nhealth:\n  offlineAfter: 5\n');
    expectConfigError(await fireEws(['rules'], { ...base(), RULES_CONFIG_FILE: path, EWS_HTTP_PORT: '0' }), [`${path}:`]);
  });
});

describe('ports in use', () => {
  const held: Server[] = [];
  const ports: Record<string, number> = {};

  /** A real listener on a free port, held for the test. */
  async function hold(host: string): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    held.push(server);
    return (server.address() as AddressInfo).port;
  }

  beforeAll(async () => {
    ports.MQTT_PORT = await hold('0.0.0.0');
    ports.MQTT_WS_PORT = await hold('0.0.0.0');
    ports.EWS_HTTP_PORT = await hold('127.0.0.1');
    ports.ALERTS_HTTP_PORT = await hold('127.0.0.1');
    ports.BOARD_HTTP_PORT = await hold('127.0.0.1');
  });
  afterAll(async () => {
    await Promise.all(held.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  });

  it('start reports all five at once, each with its variable, and starts nothing', async () => {
    const env = Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)]));
    const out = expectConfigError(await fireEws(['start', '--no-simulation'], { ...base(), ...env }), Object.keys(ports));
    expect(out).toHaveLength(5);
    for (const [variable, port] of Object.entries(ports)) expect(out.find((l) => l.startsWith(`fire-ews: ${variable}: `))).toContain(`:${port} is already in use`);
  });

  it('the broker with only its WebSocket port taken: named, not an unhandled error event', async () => {
    const free = await hold('0.0.0.0');
    await new Promise<void>((resolve) => held.pop()!.close(() => resolve()));
    const run = await fireEws(['broker'], { ...base(), MQTT_PORT: String(free), MQTT_WS_PORT: String(ports.MQTT_WS_PORT), EWS_HTTP_PORT: '0' });
    const out = expectConfigError(run, ['MQTT_WS_PORT', String(ports.MQTT_WS_PORT)]);
    expect(out).toHaveLength(1);
  });

  it('two of our own variables on one port are named before anything binds', async () => {
    const free = await hold('127.0.0.1');
    await new Promise<void>((resolve) => held.pop()!.close(() => resolve()));
    const run = await fireEws(['board'], { ...base(), BOARD_HTTP_PORT: String(free), EWS_HTTP_PORT: String(free) });
    expectConfigError(run, ['EWS_HTTP_PORT', 'BOARD_HTTP_PORT']);
  });
});

it('a bad BOARD_USERS found while start is starting: the started services close, one message, exit 2', async () => {
  const zeroPorts = { MQTT_PORT: '0', MQTT_WS_PORT: '0', EWS_HTTP_PORT: '0', ALERTS_HTTP_PORT: '0', BOARD_HTTP_PORT: '0' };
  const run = await fireEws(['start', '--no-simulation'], { ...base(), ...zeroPorts, BOARD_USERS: 'city-board-m01:not-a-hash' });
  expect(run.stdout).not.toMatch(/"level":60/); // not a fatal JSON log line
  const out = expectConfigError(run, ['BOARD_USERS entry 1 (city-board-m01)', 'fire-ews board-user']);
  expect(out).toHaveLength(1);
});

it('a site file that is a directory is named, not an EISDIR trace', async () => {
  expectConfigError(await fireEws(['broker'], { ...base(), EWS_SITE_FILE: data.dir }), ['EWS_SITE_FILE', 'is a directory']);
});
