import { describe, expect, it } from 'vitest';
import { Backtest, VirtualClock, estimatedBecause, parseReadingLine, formatSummary } from './backtest.ts';
import { rulesReadingSchema } from './core.ts';
import { MIN, T0, reading, testSite } from '../test/support/rules-fixtures.ts';

const good = { nodeId: 'a-1', seq: 7, ts: '2026-03-10T06:00:00.250Z', temperatureC: 25.1, humidityPct: 50, smoke: 250, rainMm: 0, batteryV: 3.9, rssiDbm: -80, windMs: 1.2 };

describe('reading lines: the fast path accepts exactly what the contract schema (sensor channels unbounded) accepts', () => {
  const { smoke: _s, ...noSmoke } = good;
  it.each<{ name: string; value: unknown }>([
    { name: 'a complete reading', value: good },
    { name: 'a +07:00 offset', value: { ...good, ts: '2026-03-10T13:00:00+07:00' } },
    { name: 'no seconds (the schema decides)', value: { ...good, ts: '2026-03-10T06:00Z' } },
    { name: 'a space instead of T', value: { ...good, ts: '2026-03-10 06:00:00Z' } },
    { name: '30 February', value: { ...good, ts: '2026-02-30T06:00:00Z' } },
    { name: 'a decimal point without digits', value: { ...good, ts: '2026-03-10T06:00:00.Z' } },
    { name: 'an upper-case node id', value: { ...good, nodeId: 'A-1' } },
    { name: 'a negative seq', value: { ...good, seq: -1 } },
    { name: 'a fractional seq', value: { ...good, seq: 1.5 } },
    { name: 'temperature 150 °C (a fault for the engine, not a bad line)', value: { ...good, temperatureC: 150 } },
    { name: 'humidity −3 %', value: { ...good, humidityPct: -3 } },
    { name: 'smoke 1e7', value: { ...good, smoke: 1e7 } },
    { name: 'battery 25 V', value: { ...good, batteryV: 25 } },
    { name: 'rain 600 mm', value: { ...good, rainMm: 600 } },
    { name: 'RSSI +5 dBm', value: { ...good, rssiDbm: 5 } },
    { name: 'an unknown field', value: { ...good, extra: 1 } },
    { name: 'temperature as a string', value: { ...good, temperatureC: '25' } },
    { name: 'smoke missing', value: noSmoke },
    { name: 'an array', value: [good] },
    { name: 'null', value: null },
    { name: 'a number', value: 42 },
  ])('$name', ({ value }) => {
    const line = JSON.stringify(value);
    const r = parseReadingLine(line);
    const z = rulesReadingSchema.safeParse(value);
    expect(r.ok, line).toBe(z.success);
    if (r.ok) {
      expect(r.reading, line).toStrictEqual(z.data);
      // A timestamp that Date.parse understands gives a finite time.
      if (!Number.isNaN(Date.parse(r.reading.ts))) expect(r.tsMs, line).toSatisfy(Number.isFinite);
    }
  });

  it('sensor values out of range are not bad lines; refused lines say why', () => {
    expect(parseReadingLine(JSON.stringify({ ...good, temperatureC: 150 })).ok).toBe(true);
    expect(parseReadingLine('{"nodeId": "a-1",')).toMatchObject({ ok: false, reason: expect.stringMatching(/^not JSON/) });
    expect(parseReadingLine(JSON.stringify({ ...good, seq: -1 }))).toMatchObject({ ok: false, reason: expect.stringMatching(/^seq: /) });
    const big = parseReadingLine('{"nodeId":"a-1","seq":1,"ts":"2026-03-10T06:00:00Z","temperatureC":1e400,"humidityPct":50,"smoke":1}');
    expect(big.ok, 'Infinity is not a number a sensor sends').toBe(false);
  });
});

it('virtual clock: follows the fleet; one fast node cannot drag it; a fleet-wide gap moves it', () => {
  const c = new VirtualClock(120_000);
  c.start([T0 + 5000, T0, T0 + 1000]);
  expect(c.value).toBe(T0 + 1000);
  expect(c.observe('a', T0 + 60_000)).toBe(T0 + 60_000);
  expect(c.observe('fast', T0 + 3_600_000), 'one node an hour ahead').toBe(T0 + 60_000);
  expect(c.observe('b', T0 + 30_000), 'older readings arrive now').toBe(T0 + 60_000);
  expect(c.observe('a', T0 + 120_000)).toBe(T0 + 120_000);
  expect(c.observe('fast', T0 + 3_660_000)).toBe(T0 + 120_000);
  // The whole recording has a 2-hour hole: two nodes agree (the fast one does not), the clock
  // jumps to the earlier of the two.
  expect(c.observe('a', T0 + 2 * 3_600_000 + 5000)).toBe(T0 + 120_000);
  expect(c.observe('b', T0 + 2 * 3_600_000 + 2000)).toBe(T0 + 2 * 3_600_000 + 2000);
  expect(c.observe('a', T0 + 2 * 3_600_000 + 60_000)).toBe(T0 + 2 * 3_600_000 + 60_000);
});

it('backtest: bad lines are counted with their line numbers; a skewed first reading does not set the clock', () => {
  const site = testSite();
  const lines: string[] = [];
  // c-3 runs an hour fast and happens to be first in the file.
  lines.push(JSON.stringify(reading('c-3', 0, T0 + 3_600_000)));
  for (let k = 0; k < 30; k++) for (const id of ['a-1', 'b-1', 'c-1', 'c-2']) lines.push(JSON.stringify(reading(id, k, T0 + k * MIN)));
  for (let k = 1; k < 30; k++) lines.push(JSON.stringify(reading('c-3', k, T0 + 3_600_000 + k * MIN)));
  lines.splice(10, 0, 'garbage', '', JSON.stringify({ ...good, nodeId: 'A' }));
  const bt = new Backtest(site, { warmupLines: 16 });
  lines.forEach((l, i) => bt.line(l, i + 1));
  const s = bt.finish();
  expect(s.badLines).toBe(2);
  expect(s.firstBadLines.map((b) => b.line)).toStrictEqual([11, 13]);
  expect(s.virtualEnd).toBe(new Date(T0 + 29 * MIN).toISOString());
  expect(s.faults).toContainEqual(expect.objectContaining({ node: 'c-3', fault: 'clock-skew' }));
  expect(formatSummary(s)).toMatch(/c-3: offline, online, clock-skew/); // silent until its lines come, then ahead of the fleet
});

describe('why a level is marked estimated (*) or unavailable (–)', () => {
  const site = testSite();
  const danger = (zoneId: string, quality: 'ok' | 'estimated' | 'unavailable', nodesUsed: string[], rain24hMm: number | null = 0) => ({
    zoneId,
    date: '2026-03-11',
    ts: '2026-03-11T13:00:00+07:00',
    official: true,
    quality,
    level: quality === 'unavailable' ? null : (2 as const),
    levelName: null,
    nesterovP: quality === 'unavailable' ? null : 1200,
    inputs: { t13: null, rh13: null, d13: null, rain24hMm, nodesUsed },
  });
  it.each<{ name: string; d: ReturnType<typeof danger>; previous: 'ok' | 'estimated' | 'unavailable' | null; why: string | null }>([
    { name: 'ok', d: danger('c', 'ok', ['c-1', 'c-2']), previous: 'ok', why: null },
    { name: 'too few of the zone\'s nodes', d: danger('c', 'estimated', ['c-1']), previous: 'ok', why: '1 of 3 nodes at 13:00 (2 wanted)' },
    { name: 'no node of the zone', d: danger('b', 'estimated', ['a-1', 'c-1']), previous: 'ok', why: 'no node of the zone at 13:00: temperature and humidity of 2 nodes elsewhere on the site' },
    { name: 'no rain gauge anywhere', d: danger('a', 'estimated', ['a-1'], null), previous: 'ok', why: 'no rain gauge reported (taken as no rain)' },
    { name: 'the first day', d: danger('a', 'estimated', ['a-1']), previous: null, why: 'first day of the record: its 24-h rain total is incomplete' },
    { name: 'the chain', d: danger('a', 'estimated', ['a-1']), previous: 'estimated', why: 'an estimated or unavailable day earlier in the chain since the last resetting rain' },
    { name: 'the rain total', d: danger('a', 'estimated', ['a-1']), previous: 'ok', why: 'partial 24-h rain total, or rain from gauges elsewhere on the site' },
    { name: 'unavailable', d: danger('a', 'unavailable', []), previous: 'ok', why: 'no 13:00 observation anywhere on the site; P carried to the next day' },
  ])('$name', ({ d, previous, why }) => {
    expect(estimatedBecause(d, site, 0.5, previous)).toBe(why);
  });

  it('the summary explains the marks under the table, consecutive days with one reason on one line', () => {
    const level = (date: string, quality: 'ok' | 'estimated', why?: string) => ({ zone: 'a', date, level: 2 as const, p: 1200, quality, ...(why ? { why } : {}) });
    const s = new Backtest(site).finish();
    const text = formatSummary({ ...s, levels: [level('2026-03-10', 'estimated', 'first'), level('2026-03-11', 'estimated', 'chain'), level('2026-03-12', 'estimated', 'chain'), level('2026-03-13', 'ok')] });
    expect(text).toContain('II 1200*');
    expect(text).toContain('* estimated: the official formula ran on incomplete inputs');
    expect(text).toContain('    a 2026-03-10: first\n    a 2026-03-11 → 2026-03-12: chain\n');
  });
});
