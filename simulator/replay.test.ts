import { afterAll, assert, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Reading } from '../contracts/payloads.ts';
import { VirtualClock } from '../platform/clock.ts';
import { CsvReadingParser, formatFromFileName, parseLineProtocolLine, parseNdjsonLine, readingToCsvRecord, readingToLineProtocol, CSV_COLUMNS } from '../contracts/reading-files.ts';
import { readFileRows, replayRows, ReplayFileError, type ReadingSink, type ReplayOptions } from './replay.ts';

const dir = mkdtempSync(join(tmpdir(), 'ews-replay-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string | Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

const reading = (nodeId: string, seq: number, ts: string, extra: Partial<Reading> = {}): Reading => ({
  nodeId,
  seq,
  ts,
  temperatureC: 24.5,
  humidityPct: 41.2,
  smoke: 230,
  ...extra,
});

/** Records what was written and the virtual time it was written at (which a vi.fn cannot capture). */
class CapturingSink implements ReadingSink {
  written: { reading: Reading; atMs: number }[] = [];
  constructor(private readonly clock: VirtualClock) {}
  write(r: Reading) {
    this.written.push({ reading: r, atMs: this.clock.now() });
  }
  async close() {}
}

async function replayFile(path: string, opts: Partial<ReplayOptions> = {}) {
  const clock = new VirtualClock(Date.parse('2026-11-01T00:00:00Z'));
  const sink = new CapturingSink(clock);
  const onBadRow = vi.fn<(line: number, message: string) => void>();
  const stats = await replayRows(readFileRows(path, formatFromFileName(path)), sink, { speed: Infinity, clock, onBadRow, ...opts });
  return { stats, onBadRow, written: sink.written, clock };
}

describe('NDJSON, CSV and line protocol of the same readings replay to the same readings', () => {
  const rows = [
    reading('san-thang-01', 0, '2026-03-20T04:00:00.000Z', { rainMm: 0.2, windMs: 2.1, batteryV: 3.91, rssiDbm: -88 }),
    reading('san-thang-02', 5, '2026-03-20T04:00:30.000Z', { batteryV: 3.87 }),
  ];
  const paths: Record<string, string> = {};
  beforeAll(() => {
    paths.ndjson = file('a.ndjson', rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    paths.csv = file('a.csv', [CSV_COLUMNS.join(','), ...rows.map(readingToCsvRecord)].join('\r\n') + '\r\n');
    paths.lp = file('a.lp', ['# exported', ...rows.map((r) => readingToLineProtocol(r, 'san-thang'))].join('\n'));
  });

  it.each(['ndjson', 'csv', 'lp'])('%s', async (format) => {
    const { written, onBadRow } = await replayFile(paths[format]!);
    expect(onBadRow).not.toHaveBeenCalled();
    expect(written.map((w) => w.reading)).toStrictEqual(rows);
  });
});

it('CSV: quoted fields, columns in any order, optional columns may be empty', () => {
  const parser = CsvReadingParser.fromHeader('ts,nodeId,seq,smoke,temperatureC,humidityPct,rainMm');
  assert(!('error' in parser));
  const r = parser.parse('"2026-03-20T11:00:00+07:00","tan-phong-01",7,250,21.5,60,');
  expect(r).toStrictEqual({ ok: true, reading: { ts: '2026-03-20T11:00:00+07:00', nodeId: 'tan-phong-01', seq: 7, smoke: 250, temperatureC: 21.5, humidityPct: 60 } });
  const missing = CsvReadingParser.fromHeader('nodeId,seq,ts,temperatureC');
  assert('error' in missing);
  expect(missing.error).toMatch(/missing columns humidityPct, smoke/);
  const unknown = CsvReadingParser.fromHeader('nodeId,seq,ts,temperatureC,humidityPct,smoke,pm25');
  assert('error' in unknown);
  expect(unknown.error).toMatch(/unknown column "pm25"/);
});

it('line protocol: escapes, integer suffixes, wrong measurement, bad timestamp', () => {
  const ok = parseLineProtocolLine('reading,node=san-thang-01,zone=san\\ thang temperature=20,humidity=50i,smoke=300,seq=3i,extra=1 1773979200000');
  expect(ok).toStrictEqual({ ok: true, reading: { nodeId: 'san-thang-01', temperatureC: 20, humidityPct: 50, smoke: 300, seq: 3, ts: '2026-03-20T04:00:00.000Z' } });
  expect(parseLineProtocolLine('node_status,node=a online=true 1')).toMatchObject({ ok: false, error: expect.stringMatching(/measurement "node_status" is not "reading"/) });
  expect(parseLineProtocolLine('reading,node=a temperature=1,humidity=2,smoke=3,seq=1i 2026-03-01')).toMatchObject({ ok: false, error: expect.stringMatching(/timestamp/) });
  expect(parseLineProtocolLine('reading,node=a temperature=hot,humidity=2,smoke=3,seq=1i 1')).toMatchObject({ ok: false, error: expect.stringMatching(/temperature: expected a number/) });
});

it('bad rows are reported with their line numbers and the rest is replayed', async () => {
  const good = (seq: number) => JSON.stringify(reading('doan-ket-01', seq, `2026-03-20T04:0${seq}:00.000Z`));
  const ndjson = file(
    'bad.ndjson',
    [good(0), '{"nodeId":"doan-ket-01","seq":1,"ts":"2026-03-20T04:01:00.000Z","temp', good(2), '', JSON.stringify({ ...reading('doan-ket-01', 3, '2026-03-20T04:03:00Z'), smoke: 'lots' }), 'not json at all }', good(5)].join('\n'),
  );
  const { onBadRow, written, stats } = await replayFile(ndjson);
  expect(written.map((w) => w.reading.seq)).toStrictEqual([0, 2, 5]);
  expect(stats.bad).toBe(3);
  expect(onBadRow).toHaveBeenNthCalledWith(1, 2, expect.stringMatching(/^truncated JSON/));
  expect(onBadRow).toHaveBeenNthCalledWith(2, 5, expect.stringMatching(/^smoke: /));
  expect(onBadRow).toHaveBeenNthCalledWith(3, 6, expect.stringMatching(/^invalid JSON/));

  const csv = file(
    'bad.csv',
    ['nodeId,seq,ts,temperatureC,humidityPct,smoke', 'doan-ket-01,0,2026-03-20T04:00:00Z,20,50,200', 'doan-ket-01,1,2026-03-20T04:01:00Z,20,50', 'doan-ket-01,2,2026-03-20T04:02:00Z,twenty,50,200', 'doan-ket-01,3,2026-03-20T04:03:00Z,20,50,200'].join('\n'),
  );
  const c = await replayFile(csv);
  expect(c.written.map((w) => w.reading.seq)).toStrictEqual([0, 3]);
  expect(c.onBadRow.mock.calls).toStrictEqual([
    [3, 'expected 6 columns, got 5'],
    [4, 'temperatureC: expected a number, got "twenty"'],
  ]);
});

it('binary garbage is reported as such, line by line, without stopping the replay', async () => {
  const garbage = Buffer.concat([
    Buffer.from(`${JSON.stringify(reading('nam-loong-01', 0, '2026-03-20T04:00:00Z'))}\n`),
    Buffer.from([0x00, 0xff, 0xfe, 0x13, 0x37, 0x0a, 0x89, 0x50, 0x4e, 0x47, 0x00, 0x0a]),
    Buffer.from(`${JSON.stringify(reading('nam-loong-01', 1, '2026-03-20T04:01:00Z'))}\n`),
  ]);
  const { onBadRow, written } = await replayFile(file('garbage.ndjson', garbage));
  expect(onBadRow.mock.calls).toStrictEqual([
    [2, 'binary data, not a line of text'],
    [3, 'binary data, not a line of text'],
  ]);
  expect(written).toHaveLength(2);
});

it('an empty file and a bad CSV header stop the replay with a clear error', async () => {
  const empty = replayFile(file('empty.ndjson', ''));
  await expect(empty).rejects.toBeInstanceOf(ReplayFileError);
  await expect(empty).rejects.toThrow(/empty\.ndjson:1: the file is empty/);
  await expect(replayFile(file('blank.csv', '\n\n'))).rejects.toThrow(/the file is empty/);
  await expect(replayFile(file('header.csv', 'node,seq,time\n'))).rejects.toThrow(/header\.csv:1: header: unknown column "node"/);
});

describe('pacing under a virtual clock keeps gaps ÷ speed within 1 %; out-of-order rows go at once', () => {
  const start = Date.parse('2026-03-20T04:00:00Z');
  // Irregular spacing, with a 40-minute gap and one late row.
  const offsetsS = [0, 60, 61, 125, 2525, 2526, 2585, 2500, 2700];
  let path = '';
  beforeAll(() => {
    const rows = offsetsS.map((s, i) => JSON.stringify(reading('san-thang-03', i, new Date(start + s * 1000).toISOString())));
    path = file('paced.ndjson', rows.join('\n'));
  });

  it.each([1, 100, 7.5])('speed ×%s', async (speed) => {
    const { written, stats } = await replayFile(path, { speed });
    expect(written).toHaveLength(offsetsS.length);
    let latest = 0;
    written.forEach((w, i) => {
      latest = Math.max(latest, offsetsS[i]!);
      const expected = (latest * 1000) / speed;
      const actual = w.atMs - stats.wallStartMs;
      expect(Math.abs(actual - expected), `speed ${speed}, row ${i}: ${actual} vs ${expected}`).toBeLessThanOrEqual(Math.max(1, expected * 0.01));
    });
  });

  it('speed Infinity never sleeps', async () => {
    const fast = await replayFile(path, { speed: Infinity });
    expect(fast.clock.sleeps).toBe(0);
  });
});

it('filters by node and time range, and shifts timestamps to now', async () => {
  const start = Date.parse('2026-03-20T04:00:00Z');
  const rows = [];
  for (let i = 0; i < 10; i++) for (const node of ['a-1', 'b-1', 'c-1']) rows.push(JSON.stringify(reading(node, i, new Date(start + i * 60_000).toISOString())));
  const path = file('filter.ndjson', rows.join('\n'));
  const { written, stats, clock } = await replayFile(path, {
    nodes: new Set(['a-1', 'c-1']),
    fromMs: start + 2 * 60_000,
    toMs: start + 5 * 60_000,
    shiftToNow: true,
    speed: 60,
  });
  expect(written.map((w) => `${w.reading.nodeId}#${w.reading.seq}`)).toStrictEqual(['a-1#2', 'c-1#2', 'a-1#3', 'c-1#3', 'a-1#4', 'c-1#4']);
  expect(stats.filtered).toBe(24);
  expect(written[0]!.reading.ts).toBe(new Date(stats.wallStartMs).toISOString());
  expect(Date.parse(written.at(-1)!.reading.ts) - Date.parse(written[0]!.reading.ts), 'original spacing kept in the timestamps').toBe(2 * 60_000);
  expect(clock.now() - stats.wallStartMs, '2 min of data at ×60').toBe(2000);
});
