import { expect, it } from 'vitest';
import { LineSpool } from './line-spool.ts';
import { openDatabase } from './sqlite.ts';

it('one spool for every service: lines with their time, oldest first; release and settle say how many left', () => {
  const db = openDatabase(':memory:');
  const spool = new LineSpool(db, 'spool', 'rejected_lines');
  spool.append('a v=1 1', 1);
  spool.append('b v=2 2', 2);
  spool.append('c v=3 3');
  const rows = spool.peek(2);
  expect(rows).toStrictEqual([{ id: 1, line: 'a v=1 1', tsMs: 1 }, { id: 2, line: 'b v=2 2', tsMs: 2 }]);
  expect(spool.settle(rows, [{ index: 1, error: 'field type conflict' }])).toBe(2);
  expect(db.prepare('SELECT line, error FROM rejected_lines').all()).toStrictEqual([{ line: 'b v=2 2', error: 'field type conflict' }]);
  expect(spool.peek(5)).toStrictEqual([{ id: 3, line: 'c v=3 3', tsMs: 0 }]);
  expect(spool.release(spool.peek(5))).toBe(1);
  expect(spool.release([])).toBe(0);
  expect(spool.depth()).toBe(0);
});

it("a spool from before the time column (rules' influx, alerts' influx_spool) keeps its lines", () => {
  const db = openDatabase(':memory:');
  db.exec('CREATE TABLE influx (id INTEGER PRIMARY KEY AUTOINCREMENT, line TEXT NOT NULL)');
  db.prepare("INSERT INTO influx (line) VALUES ('danger,zone=x level=3i 1')").run();
  const spool = new LineSpool(db, 'influx', 'influx_refused');
  spool.append('event,zone=x kind="fire" 2');
  expect(spool.peek(5)).toStrictEqual([{ id: 1, line: 'danger,zone=x level=3i 1', tsMs: 0 }, { id: 2, line: 'event,zone=x kind="fire" 2', tsMs: 0 }]);
});
