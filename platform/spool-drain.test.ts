
import { expect, it } from 'vitest';
import { pino } from 'pino';
import { SpoolDrain, type DrainOutcome } from './spool-drain.ts';

function capture() {
  const lines: { msg: string }[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as { msg: string }) });
  return { log, lines };
}

it('a failing InfluxDB is retried until the spool is empty; one error and one recovery logged', async () => {
  const { log, lines } = capture();
  let spool = 5;
  let failuresLeft = 2;
  let concurrent = 0;
  let maxConcurrent = 0;
  const step = async (): Promise<DrainOutcome> => {
    concurrent++;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    await new Promise((r) => setTimeout(r, 5));
    concurrent--;
    if (failuresLeft > 0) {
      failuresLeft--;
      throw new Error('connect ECONNREFUSED');
    }
    if (spool === 0) return 'empty';
    spool--;
    return 'wrote';
  };
  const drain = new SpoolDrain({ step, idleMs: 50, log, what: 'readings', describe: () => ({ spoolDepth: spool }) }).start();
  // flush() from outside while the loop runs: steps stay one at a time.
  const flushed = drain.flush();
  await new Promise<void>((resolve, reject) => {
    const t0 = Date.now();
    const check = setInterval(() => {
      if (spool === 0 && !drain.failing) (clearInterval(check), resolve());
      else if (Date.now() - t0 > 10_000) (clearInterval(check), reject(new Error(`spool ${spool} left`)));
    }, 20);
  });
  await drain.stop();
  expect(typeof (await flushed)).toBe('boolean');
  expect(maxConcurrent).toBe(1);
  expect(lines.filter((l) => /InfluxDB write failed; readings stay in the spool/.test(l.msg)).length).toBe(1);
  expect(lines.filter((l) => /succeed again/.test(l.msg)).length).toBe(1);
  expect(await drain.flush()).toBe(true);
});

it('flush reports false when a write fails, and stop ends the loop', async () => {
  const { log } = capture();
  const drain = new SpoolDrain({ step: () => Promise.reject(new Error('timeout')), idleMs: 50, log, what: 'lines' }).start();
  expect(await drain.flush()).toBe(false);
  expect(drain.failing).toBe(true);
  await drain.stop();
});
