// The simulator's commands as processes: file work as fast as it can with one summary line (and a
// progress bar on a terminal), bad option values refused with one message, and runs checked against
// how a running pipeline judges time (README "Time model"): refused into a wall-clock rules service,
// allowed into one that follows run clocks (EWS_FOLLOW_RUN_CLOCKS=true) or the readings' clock.
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import type { Reading } from '../../contracts/payloads.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { ServiceProcess, serviceEnv, tempDataDir } from '../harness/services.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const tmp = tempDataDir('simulator-cli');
afterAll(() => tmp.remove());

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function fireEws(args: string[], env: Record<string, string> = serviceEnv(tmp.dir)): Promise<Run> {
  return promisify(execFile)(process.execPath, [join(ROOT, 'bin/fire-ews.js'), ...args], { cwd: tmp.dir, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, maxBuffer: 1 << 24, timeout: 120_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? null, stdout: err.stdout ?? '', stderr: err.stderr ?? '' }),
  );
}

/** Under a pseudo-terminal (util-linux `script`), as a person would run it. */
async function onTerminal(args: string[]): Promise<string> {
  const child = spawn('script', ['-qfec', [process.execPath, join(ROOT, 'bin/fire-ews.js'), ...args].join(' '), '/dev/null'], { cwd: tmp.dir, env: { ...process.env, ...serviceEnv(tmp.dir), TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((resolve) => child.on('exit', resolve));
  return out;
}

const recording = join(tmp.dir, 'rec.ndjson');
const readings = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Reading);

beforeAll(async () => {
  const r = await fireEws(['simulate', '--scenario', 'fire-san-thang', '--duration', '2h', '--out', recording]);
  expect(r.code, r.stderr).toBe(0);
});

describe('file work', () => {
  it('`replay <file> --shift-to-now --out f.ndjson` writes as fast as it can, ends at now, and says so in one line', async () => {
    const before = Date.now();
    const r = await fireEws(['replay', recording, '--shift-to-now', '--out', join(tmp.dir, 'shifted.ndjson')]);
    const after = Date.now();
    expect(r.code).toBe(0);
    // 2 h of data: before the fix this paced at real time (the 340-row file took 612 s).
    expect(after - before, 'not paced (README: --out without pacing options writes as fast as it can)').toBeLessThan(60_000);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toStrictEqual([expect.stringMatching(/^replay .*rec\.ndjson \(ndjson\): 3,9\d\d rows, 3,9\d\d replayed, 0 filtered out, 0 bad; data .* \(shifted by [\d.]+ days\) in \d+\.\d s \([\d,]+ readings\/s\) → .*shifted\.ndjson$/)]);
    const original = readings(recording);
    const shifted = readings(join(tmp.dir, 'shifted.ndjson'));
    expect(shifted).toHaveLength(original.length);
    const times = (rs: Reading[]) => rs.map((x) => Date.parse(x.ts));
    const last = Math.max(...times(shifted));
    expect(last, 'the data ends at the moment it was written, never in the future').toBeGreaterThanOrEqual(before);
    expect(last).toBeLessThanOrEqual(after);
    expect(Math.max(...times(shifted)) - Math.min(...times(shifted))).toBe(Math.max(...times(original)) - Math.min(...times(original)));
    expect(shifted.map((x) => [x.nodeId, x.seq, x.smoke])).toStrictEqual(original.map((x) => [x.nodeId, x.seq, x.smoke]));
  });

  it('on a terminal, replay --out, simulate --out and backtest show their progress', async () => {
    expect(await onTerminal(['replay', recording, '--out', join(tmp.dir, 'copy.ndjson')])).toMatch(/\d+% \| [\d,]+\/3,?9\d\d readings \| [\d,]+\/s/);
    expect(await onTerminal(['simulate', '--scenario', 'fire-san-thang', '--duration', '2h', '--out', join(tmp.dir, 'again.ndjson')])).toMatch(/\d+% \| [\d,]+\/3,?9\d\d readings/);
    expect(await onTerminal(['backtest', recording])).toMatch(/backtest .*rec\.ndjson: 100 % of \d+ MB, [\d,]+ lines, [\d,]+ lines\/s/);
  });
});

describe('bad option values: one message, a non-zero exit, no stack trace', () => {
  it.each([
    { args: ['start', '--speed', 'abc'], message: /--speed: expected a number greater than 0 \(1 = real time, 60 = one hour of data a minute\), got "abc"/ },
    { args: ['start', '--speed', '0'], message: /got "0"/ },
    { args: ['start', '--speed', '-60'], message: /got "-60"/ },
    { args: ['start', '--speed', 'NaN'], message: /got "NaN"/ },
    { args: ['start', '--speed', '0.5'], message: /expected a number of at least 1/ },
    { args: ['simulate', '--scenario', 'fire-san-thang', '--speed', 'abc'], message: /--speed: expected a number greater than 0/ },
    { args: ['replay', recording, '--speed', '0'], message: /--speed: expected a number greater than 0/ },
  ])('fire-ews $args', async ({ args, message }) => {
    const r = await fireEws(args);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it.each([
    { args: ['start', '--no-simulation', '--speed', '60'], code: 2, message: /^--speed sets the background simulation's speed; with --no-simulation leave it out/ },
    { args: ['start', '--scenario', 'no-such-scenario'], code: 2, message: /^fire-ews: --scenario: unknown scenario no-such-scenario — use a built-in \(dry-spell-30d, / },
    { args: ['replay', join(tmp.dir, 'missing.ndjson'), '--out', join(tmp.dir, 'x.ndjson')], code: 1, message: /missing\.ndjson: cannot read the file \(ENOENT\)/ },
    { args: ['simulate', '--scenario', 'fire-san-thang', '--start', 'now', '--speed', '60'], code: 2, message: /--start now with --speed 60 would stamp readings up to 4\.9 h in the future; leave out --start/ },
  ])('refused: fire-ews $args', async ({ args, code, message }) => {
    const r = await fireEws(args);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('runs into the broker are checked against how the running pipeline judges time', () => {
  let port: number;
  let broker: ServiceProcess;
  const env = () => serviceEnv(tmp.dir, { MQTT_PORT: String(port), MQTT_URL: `mqtt://127.0.0.1:${port}` });
  const journal = (dir: string) => {
    const db = new Database(join(dir, 'rules.sqlite'), { readonly: true });
    try {
      return (db.prepare("SELECT count(*) AS n FROM journal WHERE kind = 'reading'").get() as { n: number }).n;
    } finally {
      db.close();
    }
  };

  beforeAll(async () => {
    port = await freePort();
    broker = new ServiceProcess('broker', { ...env(), EWS_DATA_DIR: join(tmp.dir, 'broker') }).start();
    await broker.waitForLog('MQTT broker listening', 30_000);
  });
  afterAll(async () => {
    await broker.stop('SIGINT');
  });

  async function rules(extra: Record<string, string>, name: string): Promise<{ rules: ServiceProcess; dir: string }> {
    const dir = join(tmp.dir, name);
    const rules = new ServiceProcess('rules', { ...env(), EWS_DATA_DIR: dir, RULES_CLIENT_ID: `ews-rules-${name}`, ...extra }).start();
    await rules.waitForLog('rules service running', 30_000);
    await rules.waitForLog('rules subscribed', 30_000);
    return { rules, dir };
  }

  it('into standalone rules on the wall clock: an accelerated run, --fast and a paced replay at its own time are refused before anything is sent', async () => {
    const { rules: wall, dir } = await rules({}, 'wall');
    try {
      const accelerated = await fireEws(['simulate', '--scenario', 'fire-san-thang', '--speed', '60'], env());
      expect(accelerated.code).toBe(2);
      expect(accelerated.stderr).toMatch(/^refused: an accelerated run \(--speed 60\) needs every pipeline service to follow run clocks, but rules \(svc-rules\) judges time on the wall clock: .* EWS_FOLLOW_RUN_CLOCKS=true/m);
      const fast = await fireEws(['replay', recording, '--fast'], env());
      expect(fast.code).toBe(2);
      expect(fast.stderr).toMatch(/^refused: --fast sends readings with their own timestamps/m);
      const paced = await fireEws(['replay', recording, '--speed', '60'], env());
      expect(paced.code).toBe(2);
      expect(paced.stderr).toMatch(/^refused: the readings keep their own timestamps \(from 2026-03-20 04:00Z, .*--shift-to-now with --speed N/m);
      expect(journal(dir), 'nothing reached rules').toBe(0);
    } finally {
      await wall.stop('SIGINT');
    }
  });

  it('into rules on the readings clock: --fast of past data is allowed', async () => {
    const { rules: readingsClock, dir } = await rules({ RULES_CLOCK: 'readings' }, 'readings');
    try {
      const fast = await fireEws(['replay', recording, '--fast'], env());
      expect(fast.code, fast.stderr).toBe(0);
      await waitFor(() => journal(dir) >= readings(recording).length, 30_000, 'rules took every reading');
    } finally {
      await readingsClock.stop('SIGINT');
    }
  });

  it('into `fire-ews start` while it plays its own simulation: refused (two fleets of the same nodes)', async () => {
    const startPort = await freePort();
    const startEnv = serviceEnv(join(tmp.dir, 'start'), { MQTT_PORT: String(startPort), ALERTS_HTTP_PORT: String(await freePort()), BOARD_HTTP_PORT: String(await freePort()) });
    const start = new ServiceProcess('start', startEnv).start();
    try {
      await start.waitForLog('background simulation started', 60_000);
      const r = await fireEws(['simulate', '--scenario', 'fire-san-thang', '--speed', '60'], { ...startEnv, MQTT_URL: `mqtt://127.0.0.1:${startPort}` });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^refused: the pipeline plays its own simulation \(simulate normal-day\).*npm start -- --no-simulation/m);
    } finally {
      expect(await start.stop('SIGINT')).toBe(0);
    }
  });

  it('into standalone rules that opted in (EWS_FOLLOW_RUN_CLOCKS=true): the run clock is followed, and released at the end', async () => {
    const { rules: following, dir } = await rules({ EWS_FOLLOW_RUN_CLOCKS: 'true' }, 'follow');
    try {
      const run = await fireEws(['simulate', '--scenario', 'fire-san-thang', '--duration', '20m', '--speed', '120'], env());
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/×120 \(10 s of wall time\), placed .* so that it ends now; run clock run-[0-9a-f]+ announced and followed by the pipeline/);
      await following.waitForLog('following the clock of an accelerated run', 5000);
      await following.waitForLog('accelerated run ended; back on the wall clock', 20_000);
      expect(journal(dir)).toBeGreaterThanOrEqual(20 * 33 - 33);
      expect(following.logs.filter((l) => l.msg === 'event' && l.kind === 'node-fault'), 'no clock-skew or other fault').toStrictEqual([]);
    } finally {
      await following.stop('SIGINT');
    }
  });
});
