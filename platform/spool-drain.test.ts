// The spool → InfluxDB loop shared by ingest, rules and alerts: retries with backoff after a
// failure, logs the outage once and the recovery once, and never runs two batches at a time.
import { expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { SpoolDrain, writeSpoolBatch, type DrainOutcome } from './spool-drain.ts';
import { PermanentWriteError, type LineWriter } from './influx-writer.ts';
import { LineSpool } from './line-spool.ts';
import { openDatabase } from './sqlite.ts';

function capture() {
  const lines: { msg: string }[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as { msg: string }) });
  return { log, messages: () => lines.map((l) => l.msg) };
}

it('a failing InfluxDB is retried until the spool is empty; one error and one recovery logged', async () => {
  const { log, messages } = capture();
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
  await vi.waitFor(
    () => {
      expect(spool, 'spool left').toBe(0);
      expect(drain.failing).toBe(false);
    },
    { timeout: 10_000, interval: 20 },
  );
  await drain.stop();
  expect(await flushed).toBeTypeOf('boolean');
  expect(maxConcurrent).toBe(1);
  expect(messages().filter((m) => /InfluxDB write failed; readings stay in the spool/.test(m))).toHaveLength(1);
  expect(messages().filter((m) => /succeed again/.test(m))).toHaveLength(1);
  expect(await drain.flush()).toBe(true);
});

it('flush reports false when a write fails, and stop ends the loop', async () => {
  const { log } = capture();
  const drain = new SpoolDrain({ step: () => Promise.reject(new Error('timeout')), idleMs: 50, log, what: 'lines' }).start();
  expect(await drain.flush()).toBe(false);
  expect(drain.failing).toBe(true);
  await drain.stop();
});

it('writeSpoolBatch, the one drain step: a refused line goes to the refused table, the rest is written, the batch leaves the spool; a transient failure keeps it', async () => {
  const db = openDatabase(':memory:');
  const spool = new LineSpool(db, 'spool', 'refused');
  for (const line of ['a v=1 1', 'bad', 'b v=2 2', 'c v=3 3']) spool.append(line);
  const written: string[] = [];
  let down = true;
  const writer: LineWriter = {
    description: 'double',
    async write(lines) {
      if (down) throw new Error('ECONNREFUSED');
      if (lines.includes('bad')) throw new PermanentWriteError('unable to parse', 400);
      written.push(...lines);
    },
    close: async () => undefined,
  };
  const { log, messages } = capture();
  await expect(writeSpoolBatch(spool, writer, 3, log, 'refused')).rejects.toThrow('ECONNREFUSED');
  expect(spool.depth(), 'nothing lost while InfluxDB is away').toBe(4);
  down = false;
  expect(await writeSpoolBatch(spool, writer, 3, log, 'refused')).toMatchObject({ outcome: 'wrote', refused: 1 });
  expect(written).toStrictEqual(['a v=1 1', 'b v=2 2']);
  expect(db.prepare('SELECT line, error FROM refused').all()).toStrictEqual([{ line: 'bad', error: 'unable to parse' }]);
  expect(messages()).toContain('InfluxDB refused lines for their content; kept in refused, the rest of the batch written');
  expect(await writeSpoolBatch(spool, writer, 3, log, 'refused')).toMatchObject({ outcome: 'wrote', refused: 0 });
  expect(await writeSpoolBatch(spool, writer, 3, log, 'refused')).toStrictEqual({ outcome: 'empty', rows: [], refused: 0 });
  expect(written).toHaveLength(3);
});
