// What the benches read from the processes they run: CPU time, and when a port takes connections.
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { waitFor } from '../test/harness/ports.ts';

/** User + system CPU time of a process, µs (fields 14 and 15 of /proc/<pid>/stat, in clock ticks of 10 ms). */
export function cpuUs(pid: number | undefined): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/** Resolves once 127.0.0.1:<port> accepts a TCP connection. */
export function waitForPort(port: number, timeoutMs = 120_000, what = `broker on ${port}`): Promise<void> {
  const probe = () =>
    new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => (s.end(), resolve(true)));
      s.on('error', () => resolve(false));
    });
  return waitFor(probe, timeoutMs, what, 100);
}
