// The README's demos as a newcomer runs them: each command exactly as written in the quick start
// (read from README.md), in a shell, in the repository (or a fresh copy of it); only ports, the data
// directory and the MQTT URL are set through the environment. What came out is read from the
// services' own stores: the dry-run SMS outbox, rules' event outbox, ingest's dead letters.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { eventSchema, runClockSchema, type FireEvent, type Reading, type RunClock } from '../../contracts/payloads.ts';
import { topics } from '../../contracts/topics.ts';
import { derivePassword } from '../../platform/credentials.ts';
import { freePort, waitFor } from '../harness/ports.ts';

export const ROOT = new URL('../..', import.meta.url).pathname;

/** The command lines of the README's quick start code block (comments stripped), in order. */
export function quickStartCommands(readme = readFileSync(join(ROOT, 'README.md'), 'utf8')): string[] {
  const section = readme.split('\n## Quick start')[1]?.split('\n## ')[0] ?? '';
  const blocks = [...section.matchAll(/```\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  return blocks.flatMap((b) => b.split('\n')).map((l) => l.replace(/\s+#.*$/, '').trim()).filter((l) => l !== '');
}

/** A quick-start command exactly as the README shows it; fails when the README no longer shows it. */
export function readmeCommand(command: string): string {
  const shown = quickStartCommands();
  if (!shown.includes(command)) throw new Error(`the README's quick start no longer shows \`${command}\` (it shows: ${shown.join(' | ')})`);
  return command;
}

export interface Sandbox {
  /** A checkout to run the commands in: the repository's files (symlinked), its own working files. */
  dir: string;
  /** Where the services keep their state: the default `data/` of that checkout. */
  dataDir: string;
  mqttPort: number;
  /** What a newcomer's shell would have, plus the isolation (ports, broker URL). */
  env: Record<string, string>;
  remove(): void;
}

/**
 * A checkout of this repository for one demo: every top-level entry symlinked (node_modules too),
 * so `npm start`, `npx fire-ews …` and relative paths work as in the real one, while `data/` and
 * files a command writes (fire.ndjson) stay in this directory. Only the ports are moved.
 */
export async function sandbox(prefix: string): Promise<Sandbox> {
  const dir = mkdtempSync(join(tmpdir(), `ews-accept-${prefix}-`));
  for (const entry of readdirSync(ROOT)) {
    if (entry === 'data' || entry === '.git' || entry === 'coverage') continue;
    symlinkSync(join(ROOT, entry), join(dir, entry));
  }
  const mqttPort = await freePort();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    MQTT_HOST: '127.0.0.1',
    MQTT_PORT: String(mqttPort),
    MQTT_WS_PORT: String(await freePort()),
    EWS_HTTP_PORT: String(await freePort()),
    ALERTS_HTTP_PORT: String(await freePort()),
    // The situation board too: two demos at once (or another checkout's) would both take 8080.
    BOARD_HTTP_PORT: String(await freePort()),
    MQTT_URL: `mqtt://127.0.0.1:${mqttPort}`,
  };
  return { dir, dataDir: join(dir, 'data'), mqttPort, env, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** One command line in a shell, in its own process group (so Ctrl-C reaches npm and node as in a terminal). */
export class Shell {
  private child: ChildProcess;
  out = '';
  err = '';
  exitCode: number | null | undefined;
  readonly exited: Promise<number | null>;

  constructor(
    readonly command: string,
    env: Record<string, string>,
    opts: { cwd: string; tty?: boolean },
  ) {
    // Under a pseudo-terminal (util-linux `script`) the process sees a terminal on stdout, as in a shell.
    const argv = opts.tty ? ['script', ['-qfec', command, '/dev/null']] as const : ['sh', ['-c', command]] as const;
    this.child = spawn(argv[0], [...argv[1]], { cwd: opts.cwd, env: { ...env, ...(opts.tty ? { TERM: 'xterm' } : {}) }, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    this.child.stdout?.on('data', (d: Buffer) => {
      this.out += d.toString();
      if (process.env.EWS_TEST_LOGS) process.stderr.write(`[${command}] ${d.toString()}`);
    });
    this.child.stderr?.on('data', (d: Buffer) => {
      this.err += d.toString();
      if (process.env.EWS_TEST_LOGS) process.stderr.write(`[${command} stderr] ${d.toString()}`);
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve((this.exitCode = code))));
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  async waitFor(pattern: RegExp | string, timeoutMs: number, where: 'out' | 'err' = 'out'): Promise<void> {
    await waitFor(
      () => {
        const text = where === 'out' ? this.out : this.err;
        if (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text)) return true;
        if (!this.running) throw new Error(`\`${this.command}\` exited (${String(this.exitCode)}) before printing ${String(pattern)}:\n${this.out.slice(-3000)}\n${this.err.slice(-3000)}`);
        return false;
      },
      timeoutMs,
      `\`${this.command}\` to print ${String(pattern)}`,
      200,
    );
  }

  /**
   * Ctrl-C as a terminal delivers it: the ^C character under a pseudo-terminal; otherwise SIGINT to
   * every process of the command's group (npm, its shell, node) but our wrapping `sh`, which stands
   * for the interactive shell a terminal's Ctrl-C does not reach.
   */
  async ctrlC(timeoutMs = 60_000): Promise<number | null> {
    if (!this.running) return this.exitCode ?? null;
    if (this.child.spawnargs[0] === 'script') this.child.stdin?.write('\x03');
    else {
      const group = execFileSync('pgrep', ['-g', String(this.child.pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
      for (const pid of group) if (pid !== this.child.pid) process.kill(pid, 'SIGINT');
    }
    return this.within(timeoutMs);
  }

  async within(timeoutMs: number): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([this.exited, new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)))]);
    clearTimeout(timer);
    if (code === 'timeout') {
      this.kill();
      throw new Error(`\`${this.command}\` did not exit within ${timeoutMs} ms:\n${this.out.slice(-2000)}\n${this.err.slice(-2000)}`);
    }
    return code;
  }

  kill(): void {
    if (this.running && this.child.pid) {
      try {
        process.kill(-this.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  /** What a person reads on the terminal: without carriage returns. */
  get screen(): string {
    return this.out.replace(/\r/g, '');
  }

  /** JSON log lines of stdout (not under a terminal). */
  get logs(): { level: number; msg: string; [k: string]: unknown }[] {
    return this.out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string });
  }
}

function readonly<T>(file: string, read: (db: Database.Database) => T): T {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

export interface SmsRow {
  alert_id: string;
  recipient_id: string;
  step: string;
  body: string;
  state: string;
  created_at: number;
  updated_at: number;
}

/** The dry-run outbox: every SMS the alerts service queued (and "sent" to nobody). */
export function smsRows(dir: string): SmsRow[] {
  return readonly(join(dir, 'alerts.sqlite'), (db) => db.prepare('SELECT alert_id, recipient_id, step, body, state, created_at, updated_at FROM outbox ORDER BY id').all() as SmsRow[]);
}

/** Every event rules produced (its outbox keeps them), in order. */
export function ruleEvents(dir: string): FireEvent[] {
  return readonly(join(dir, 'rules.sqlite'), (db) =>
    (db.prepare("SELECT payload FROM outbox WHERE key LIKE 'event:%' ORDER BY seq").all() as { payload: string }[]).map((r) => eventSchema.parse(JSON.parse(r.payload))),
  );
}

/** Ingest's dead letters by reason code. */
export function deadLetters(dir: string): Record<string, number> {
  return readonly(join(dir, 'ingest.sqlite'), (db) => Object.fromEntries((db.prepare('SELECT code, count(*) AS n FROM dead_letters GROUP BY code').all() as { code: string; n: number }[]).map((r) => [r.code, r.n])));
}

export function storedReadings(dir: string): number {
  return readonly(join(dir, 'ingest.sqlite'), (db) => (db.prepare("SELECT count(*) AS n FROM local_readings WHERE line LIKE 'reading,%'").get() as { n: number }).n);
}

/** The broker secret a newcomer's first `npm start` generated in the data dir. */
export function generatedSecret(dir: string): string {
  return (JSON.parse(readFileSync(join(dir, 'broker-secret.json'), 'utf8')) as { brokerSecret: string }).brokerSecret;
}

/** The run clock the accelerated run announced (retained on ews/v1/clock), read as svc-observer. */
export async function announcedRun(box: Sandbox, timeoutMs = 60_000): Promise<RunClock> {
  const client = await mqtt.connectAsync(box.env.MQTT_URL!, { username: 'svc-observer', password: derivePassword(generatedSecret(box.dataDir), 'svc-observer'), clientId: `accept-observer-${process.pid}-${Math.random().toString(16).slice(2, 8)}`, reconnectPeriod: 500 });
  try {
    let run: RunClock | undefined;
    client.on('message', (_topic, payload) => {
      if (payload.length === 0) return;
      const parsed = runClockSchema.safeParse(JSON.parse(payload.toString('utf8')));
      if (parsed.success && parsed.data.state === 'running') run = parsed.data;
    });
    await client.subscribeAsync(topics.clock, { qos: 1 });
    await waitFor(() => run !== undefined, timeoutMs, 'the run clock on ews/v1/clock');
    return run!;
  } finally {
    await client.endAsync();
  }
}

/** Where a run's time maps to the wall clock. */
export const wallOf = (run: RunClock, simMs: number) => run.anchorWallMs + (simMs - run.anchorSimMs) / run.speed;

/**
 * When the scenario's smoke reaches each node: its first reading more than 30 % (the detection's
 * relative threshold) above the median of its first 15 (clean-air) readings. Offsets from `baseMs`.
 */
export function smokeArrivals(readings: Iterable<Reading>, baseMs: number): Map<string, number> {
  const byNode = new Map<string, Reading[]>();
  for (const r of readings) byNode.set(r.nodeId, [...(byNode.get(r.nodeId) ?? []), r]);
  const arrivals = new Map<string, number>();
  for (const [node, rs] of byNode) {
    const clean = rs.slice(0, 15).map((r) => r.smoke).sort((a, b) => a - b)[7] ?? 0;
    const hit = rs.find((r) => r.smoke > 1.3 * clean);
    if (hit) arrivals.set(node, Date.parse(hit.ts) - baseMs);
  }
  return new Map([...arrivals].sort((a, b) => a[1] - b[1]));
}
