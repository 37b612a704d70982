
import { expect, it } from 'vitest';
import { Backtest, VirtualClock, backtestReadingSchema, parseReadingLine, formatSummary } from './backtest.ts';
import { MIN, T0, reading, testSite } from './testing.ts';

const good = { nodeId: 'a-1', seq: 7, ts: '2026-03-10T06:00:00.250Z', temperatureC: 25.1, humidityPct: 50, smoke: 250, rainMm: 0, batteryV: 3.9, rssiDbm: -80, windMs: 1.2 };

it('reading lines: the fast path accepts exactly what the contract schema (sensor channels unbounded) accepts', () => {
  const variants: unknown[] = [
    good,
    { ...good, ts: '2026-03-10T13:00:00+07:00' },
    { ...good, ts: '2026-03-10T06:00Z' }, // no seconds: the schema decides
    { ...good, ts: '2026-03-10 06:00:00Z' },
    { ...good, ts: '2026-02-30T06:00:00Z' },
    { ...good, ts: '2026-03-10T06:00:00.Z' },
    { ...good, nodeId: 'A-1' },
    { ...good, seq: -1 },
    { ...good, seq: 1.5 },
    { ...good, temperatureC: 150 }, // a fault for the engine, not a bad line
    { ...good, humidityPct: -3 },
    { ...good, smoke: 1e7 },
    { ...good, batteryV: 25 },
    { ...good, rainMm: 600 },
    { ...good, rssiDbm: 5 },
    { ...good, extra: 1 },
    { ...good, temperatureC: '25' },
    (() => {
      const { smoke: _s, ...rest } = good;
      return rest;
    })(),
    [good],
    null,
    42,
  ];
  for (const v of variants) {
    const line = JSON.stringify(v);
    const r = parseReadingLine(line);
    const z = backtestReadingSchema.safeParse(v);
    expect(r.ok, line).toBe(z.success);
    if (r.ok) {
      expect(r.reading, line).toStrictEqual(z.data);
      expect(Number.isFinite(r.tsMs) || Number.isNaN(Date.parse(r.reading.ts)), line).toBeTruthy();
    }
  }
  expect(parseReadingLine(JSON.stringify({ ...good, temperatureC: 150 })).ok).toBe(true);
  const notJson = parseReadingLine('{"nodeId": "a-1",');
  expect(!notJson.ok && /^not JSON/.test(notJson.reason)).toBeTruthy();
  const bad = parseReadingLine(JSON.stringify({ ...good, seq: -1 }));
  expect(!bad.ok && /^seq: /.test(bad.reason)).toBeTruthy();
  const big = parseReadingLine('{"nodeId":"a-1","seq":1,"ts":"2026-03-10T06:00:00Z","temperatureC":1e400,"humidityPct":50,"smoke":1}');
  expect(big.ok, 'Infinity is not a number a sensor sends').toBe(false);
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
  expect(s.faults.some((f) => f.node === 'c-3' && f.fault === 'clock-skew')).toBe(true);
  expect(formatSummary(s)).toMatch(/c-3: offline, online, clock-skew/); // silent until its lines come, then ahead of the fleet
});
