// Debian's Mosquitto 2.0 as the benches' peer: anonymous on loopback, persistence on or off.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function spawnBenchMosquitto(port: number, dir: string, persistence: boolean): ChildProcess {
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      // Started as root, Mosquitto drops to the `mosquitto` user, which cannot write the 0700 temp
      // dir: its saves then fail. It keeps the user it was started as.
      'user root',
      `persistence ${persistence}`,
      `persistence_location ${dir}/`,
      // Saves the in-memory database every 1 s and at exit: the durability Mosquitto offers (a crash loses up to 1 s).
      'autosave_interval 1',
      'max_queued_messages 1000000',
      'max_inflight_messages 1000',
      'log_type error',
      'log_type warning',
      'log_dest stderr',
      '',
    ].join('\n'),
  );
  const child = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (d: Buffer) => process.stderr.write(`[mosquitto] ${d.toString()}`));
  return child;
}
