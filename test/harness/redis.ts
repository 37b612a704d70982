// Debian's redis-server on a free port, with its append-only file in a temp dir (fsync every second,
// as a cluster's Redis would run), for the broker-cluster tests and benches.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { freePort, waitFor } from './ports.ts';

export const REDIS_SERVER_BIN = process.env.REDIS_SERVER_BIN ?? 'redis-server';

export function hasRedisServer(): boolean {
  return spawnSync(REDIS_SERVER_BIN, ['--version'], { stdio: 'ignore' }).status === 0;
}

export function redisSkipReason(): string | false {
  if (hasRedisServer()) return false;
  if (process.env.EWS_REQUIRE_INTEGRATION) throw new Error(`${REDIS_SERVER_BIN} not found: integration tests are required here (apt-get install -y redis-server)`);
  return 'redis-server not installed (apt-get install -y redis-server)';
}

export class RedisProcess {
  private child: ChildProcess | undefined;
  private output = '';

  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(dir: string): Promise<RedisProcess> {
    const r = new RedisProcess(await freePort(), dir);
    await r.launch();
    return r;
  }

  private async launch(): Promise<void> {
    const child = spawn(REDIS_SERVER_BIN, ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--daemonize', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-20_000);
      if (process.env.EWS_TEST_LOGS) process.stderr.write(`[redis] ${d.toString()}`);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.child = child;
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}): ${this.output}`);
        return /Ready to accept connections/.test(this.output);
      },
      20_000,
      'redis-server ready',
    );
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get log(): string {
    return this.output;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }
}
