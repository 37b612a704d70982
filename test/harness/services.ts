// Runs our own services as real child processes (`fire-ews broker|ingest|start`) so tests can
// SIGKILL and restart them, and publishes readings the way nodes do.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import { derivePassword } from '../../platform/credentials.ts';
import type { Reading } from '../../contracts/payloads.ts';
import { topics } from '../../contracts/topics.ts';
import { startBroker, type RunningBroker } from '../../broker/server.ts';
import { createLogger } from '../../platform/logger.ts';
import { loadSiteFile } from '../../platform/site-file.ts';
import { freePort, waitFor } from './ports.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
export const TEST_SECRET = 'test-secret-not-for-production-0123456789';
export const SITE_FILE = join(ROOT, 'config/lai-chau.site.yaml');

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export class ServiceProcess {
  private child: ChildProcess | undefined;
  readonly logs: LogLine[] = [];
  private stderr = '';

  constructor(
    readonly command: string,
    private readonly env: Record<string, string>,
  ) {}

  start(): this {
    if (this.child) throw new Error(`${this.command} already running`);
    const child = spawn(process.execPath, [join(ROOT, 'bin/fire-ews.js'), ...this.command.split(' ')], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffered = '';
    child.stdout?.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (process.env.EWS_TEST_LOGS) process.stderr.write(`[${this.command}] ${line}\n`);
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          this.logs.push({ level: 30, msg: line });
        }
      }
    });
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-8000);
    });
    this.child = child;
    return this;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async waitForLog(msg: string | RegExp, timeoutMs = 20_000, since = 0): Promise<LogLine> {
    let found: LogLine | undefined;
    await waitFor(
      () => {
        if (this.child && this.child.exitCode !== null) throw new Error(`${this.command} exited (${this.child.exitCode}): ${this.stderr}`);
        found = this.logs.slice(since).find((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg)));
        return found !== undefined;
      },
      timeoutMs,
      `${this.command} log "${String(msg)}"`,
    );
    return found as LogLine;
  }

  /** Stops the process with `signal` and resolves with its exit code (null when killed by a signal). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    return new Promise((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.kill(signal);
    });
  }

  get stderrText(): string {
    return this.stderr;
  }
}

export function tempDataDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `ews-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Env for our services in tests: quiet HTTP, temp data dir, fixed secret. */
export function serviceEnv(dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    EWS_DATA_DIR: dataDir,
    EWS_SITE_FILE: SITE_FILE,
    EWS_BROKER_SECRET: TEST_SECRET,
    EWS_HTTP_PORT: '0',
    MQTT_HOST: '127.0.0.1',
    MQTT_WS_PORT: '0',
    EWS_LOG_LEVEL: 'info',
    ...extra,
  };
}

export function makeReading(nodeId: string, seq: number, tsMs: number): Reading {
  // Values are a function of (node, seq) so a test can check every stored value.
  const k = seq % 1000;
  return {
    nodeId,
    seq,
    ts: new Date(tsMs).toISOString(),
    temperatureC: Math.round((15 + (k % 200) / 10) * 100) / 100,
    humidityPct: 30 + (k % 60),
    smoke: 100 + (k % 37),
    batteryV: 3.7,
  };
}

export async function connectAs(url: string, username: string, opts: { clientId?: string; clean?: boolean; password?: string } = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    username,
    password: opts.password ?? derivePassword(TEST_SECRET, username),
    // The broker takes a node only under its own id (broker/acl.ts); services get a unique one.
    clientId: opts.clientId ?? (username.startsWith('svc-') ? `${username}-${process.pid}-${Math.random().toString(16).slice(2, 8)}` : username),
    clean: opts.clean ?? true,
    reconnectPeriod: 200,
    connectTimeout: 5000,
  });
}

/** Publishes readings at QoS 1 with a bounded number in flight; resolves when all are PUBACKed. */
export async function publishReadings(client: MqttClient, readings: Iterable<Reading>, inFlight = 200): Promise<number> {
  const pending = new Set<Promise<unknown>>();
  let n = 0;
  for (const r of readings) {
    const p = client.publishAsync(topics.reading(r.nodeId), JSON.stringify(r), { qos: 1 }).finally(() => pending.delete(p));
    pending.add(p);
    n += 1;
    if (pending.size >= inFlight) await Promise.race(pending);
  }
  await Promise.all(pending);
  return n;
}

/** `count` readings spread over the site's nodes, one minute apart per node, ending now. */
export function* readingStream(nodeIds: readonly string[], count: number, endMs = Date.now(), startSeq = 1): Generator<Reading> {
  const perNode = Math.ceil(count / nodeIds.length);
  for (let i = 0; i < count; i++) {
    const nodeId = nodeIds[i % nodeIds.length] as string;
    const k = Math.floor(i / nodeIds.length);
    yield makeReading(nodeId, startSeq + k, endMs - (perNode - k) * 60_000);
  }
}

/** An in-process aedes broker for the sample site's nodes, on a free port, sessions under dataDir. */
export async function startSiteBroker(dataDir: string, queueLimit = 1_000_000): Promise<{ broker: RunningBroker; url: string }> {
  const site = loadSiteFile(SITE_FILE);
  const port = await freePort();
  const broker = await startBroker({ host: '127.0.0.1', port, wsPort: 0, dataDir, secret: TEST_SECRET, nodeIds: new Set(site.nodes.map((n) => n.id)), queueLimit, logger: createLogger('test-broker', 'silent') });
  return { broker, url: `mqtt://127.0.0.1:${port}` };
}

/** Readings ingest keeps in its local store (no InfluxDB configured), per node#seq, with how often each was stored. */
export function storedReadings(dataDir: string): Map<string, number> {
  const db = new Database(join(dataDir, 'ingest.sqlite'), { readonly: true });
  try {
    const lines = db.prepare("SELECT line FROM local_readings WHERE line LIKE 'reading,%'").all() as { line: string }[];
    const counts = new Map<string, number>();
    for (const { line } of lines) {
      const m = /^reading,node=([a-z0-9-]+),.* .*seq=(\d+)i/.exec(line);
      if (m) counts.set(`${m[1]}#${m[2]}`, (counts.get(`${m[1]}#${m[2]}`) ?? 0) + 1);
    }
    return counts;
  } catch (err) {
    if (/no such table/.test((err as Error).message)) return new Map();
    throw err;
  } finally {
    db.close();
  }
}
