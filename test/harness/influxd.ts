// Starts a real InfluxDB (Debian's `influxd`, 1.6.x) on free ports in a temp dir, for tests and benches.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports.ts';

export const INFLUXD_BIN = process.env.INFLUXD_BIN ?? '/usr/bin/influxd';

export function influxdAvailable(): boolean {
  return spawnSync(INFLUXD_BIN, ['version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Integration tests must run in CI: there a missing influxd is a failure, not a skip.
 * Locally (no CI variable) they are skipped with a message saying how to install it.
 */
export function integrationSkipReason(): string | false {
  if (influxdAvailable()) return false;
  if (process.env.CI || process.env.EWS_REQUIRE_INTEGRATION) {
    throw new Error(`influxd not found at ${INFLUXD_BIN}: integration tests are required here (apt-get install -y influxdb)`);
  }
  return 'influxd not installed (apt-get install -y influxdb)';
}

export class InfluxdProcess {
  private child: ChildProcess | undefined;
  readonly url: string;
  private constructor(
    readonly dir: string,
    readonly httpPort: number,
    private readonly rpcPort: number,
  ) {
    this.url = `http://127.0.0.1:${httpPort}`;
  }

  static async start(database = 'ews'): Promise<InfluxdProcess> {
    const dir = mkdtempSync(join(tmpdir(), 'ews-influxd-'));
    const proc = new InfluxdProcess(dir, await freePort(), await freePort());
    await proc.restart();
    await proc.query(`CREATE DATABASE "${database}"`, undefined, 'POST');
    return proc;
  }

  private writeConfig(): string {
    const file = join(this.dir, 'influxdb.conf');
    writeFileSync(
      file,
      [
        'reporting-enabled = false',
        `bind-address = "127.0.0.1:${this.rpcPort}"`,
        '[meta]',
        `  dir = "${join(this.dir, 'meta')}"`,
        '  logging-enabled = false',
        '[data]',
        `  dir = "${join(this.dir, 'data')}"`,
        `  wal-dir = "${join(this.dir, 'wal')}"`,
        '  query-log-enabled = false',
        '[monitor]',
        '  store-enabled = false',
        '[http]',
        `  bind-address = "127.0.0.1:${this.httpPort}"`,
        '  log-enabled = false',
        '  max-body-size = 0',
        '[continuous_queries]',
        '  enabled = false',
        '',
      ].join('\n'),
    );
    return file;
  }

  /** Starts (or starts again after stop()) on the same ports and data dir. */
  async restart(): Promise<void> {
    if (this.child) throw new Error('influxd already running');
    const child = spawn(INFLUXD_BIN, ['run', '-config', this.writeConfig()], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    this.child = child;
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`influxd exited (${child.exitCode}): ${stderr}`);
        const res = await fetch(`${this.url}/ping`).catch(() => undefined);
        return res?.status === 204;
      },
      30_000,
      'influxd /ping',
    );
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }

  async destroy(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Runs InfluxQL; returns the first result's series. */
  async query(q: string, db?: string, method: 'GET' | 'POST' = 'GET'): Promise<InfluxSeries[]> {
    const params = new URLSearchParams({ q, epoch: 'ms' });
    if (db) params.set('db', db);
    const res = await fetch(`${this.url}/query?${params}`, { method });
    const body = (await res.json()) as { results?: { series?: InfluxSeries[]; error?: string }[]; error?: string };
    if (!res.ok || body.error || body.results?.[0]?.error) {
      throw new Error(`InfluxQL failed (${res.status}): ${body.error ?? body.results?.[0]?.error}: ${q}`);
    }
    return body.results?.[0]?.series ?? [];
  }

  async count(measurement: string, field: string, db = 'ews'): Promise<number> {
    const series = await this.query(`SELECT count("${field}") FROM "${measurement}"`, db);
    const value = series[0]?.values[0]?.[1];
    return typeof value === 'number' ? value : 0;
  }

  /** Points in `reading` between two instants (each test uses its own window). */
  async readingsBetween(fromMs: number, toMs: number): Promise<number> {
    const series = await this.query(`SELECT count(temperature) FROM reading WHERE time >= ${fromMs}ms AND time <= ${toMs}ms`, 'ews');
    const v = series[0]?.values[0]?.[1];
    return typeof v === 'number' ? v : 0;
  }

  /**
   * Waits until the window holds `expected` readings, then half a second more so that any extra
   * (duplicate) points have the chance to show up, and returns the final count.
   */
  async waitForReadingsBetween(fromMs: number, toMs: number, expected: number, timeoutMs = 60_000): Promise<number> {
    let n = 0;
    await waitFor(async () => (n = await this.readingsBetween(fromMs, toMs)) >= expected, timeoutMs, `${expected} points`, 250).catch((err: unknown) => {
      throw new Error(`${String(err)} (had ${n})`);
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    return this.readingsBetween(fromMs, toMs);
  }
}

export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: (string | number | boolean | null)[][];
}
