// Debian's Mosquitto 2 on a free port, with the accounts and ACL of our broker written by
// scripts/mosquitto-config.ts (as an operator does), and persistence in a temp dir: the services run
// against it unchanged (README "Other MQTT brokers").
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeMosquittoAuthFiles } from '../../scripts/mosquitto-config.ts';
import { freePort, waitFor } from './ports.ts';

export const MOSQUITTO_BIN = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';

export function mosquittoSkipReason(): string | false {
  if (existsSync(MOSQUITTO_BIN)) return false;
  if (process.env.EWS_REQUIRE_INTEGRATION) throw new Error(`mosquitto not found at ${MOSQUITTO_BIN}: integration tests are required here (apt-get install -y mosquitto)`);
  return 'mosquitto not installed (apt-get install -y mosquitto)';
}

export class MosquittoProcess {
  private child: ChildProcess | undefined;
  private stderr = '';

  private constructor(
    readonly port: number,
    readonly confFile: string,
  ) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** Writes mosquitto.conf, passwd and acl under `dir` (which Mosquitto must be able to write) and starts it. */
  static async start(dir: string, secret: string, nodeIds: Iterable<string>): Promise<MosquittoProcess> {
    const { passwordFile: passwd, aclFile: acl } = writeMosquittoAuthFiles(dir, secret, nodeIds);
    const port = await freePort();
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous false',
        `password_file ${passwd}`,
        `acl_file ${acl}`,
        // Started as root, Mosquitto drops to the `mosquitto` user, which cannot read or write the
        // 0700 temp dir; it keeps the user it was started as with `user root`.
        'user root',
        'persistence true',
        `persistence_location ${dir}/`,
        'autosave_interval 1',
        // A persistent session's queue (default 1000 messages, then dropped): bounded, but above a test's burst.
        'max_queued_messages 100000',
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        'log_type notice',
        'log_type information',
        // "<client id> <qos> <filter>" per SUBSCRIBE: tests wait for a service's subscription.
        'log_type subscribe',
        '',
      ].join('\n'),
    );
    const m = new MosquittoProcess(port, conf);
    await m.launch();
    return m;
  }

  private async launch(): Promise<void> {
    const child = spawn(MOSQUITTO_BIN, ['-c', this.confFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-20_000);
      if (process.env.EWS_TEST_LOGS) process.stderr.write(`[mosquitto] ${d.toString()}`);
    });
    this.child = child;
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`mosquitto exited (${child.exitCode}): ${this.stderr}`);
        return /mosquitto version \S+ running/.test(this.stderr);
      },
      20_000,
      'mosquitto running',
    );
  }

  /** Mosquitto's own log (the last 20 kB). */
  get log(): string {
    return this.stderr;
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
