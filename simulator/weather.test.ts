import { assert, beforeAll, describe, expect, it } from 'vitest';
import { readingSchema } from '../contracts/payloads.ts';
import { loadScenario } from './scenario.ts';
import { collect, localTime } from '../test/support/simulator-fixtures.ts';
import { nationalLevel, nesterovSeries, saturationVapourPressureHpa, SiteWeather, type NesterovDay } from './weather.ts';
import type { Reading } from '../contracts/payloads.ts';

/** The Nesterov inputs one node's readings give, per local day: first reading at 13:xx, rain summed. */
function nesterovDays(readings: readonly Reading[]): { date: string; day: NesterovDay }[] {
  const byDate = new Map<string, { t13?: number; rh13?: number; rain: number }>();
  for (const r of readings) {
    const { date, hour } = localTime(r);
    const d = byDate.get(date) ?? { rain: 0 };
    d.rain += r.rainMm ?? 0;
    if (hour === 13 && d.t13 === undefined) {
      d.t13 = r.temperatureC;
      d.rh13 = r.humidityPct;
    }
    byDate.set(date, d);
  }
  return [...byDate.entries()].flatMap(([date, d]) => (d.t13 === undefined || d.rh13 === undefined ? [] : [{ date, day: { t13: d.t13, rh13: d.rh13, rainMm: d.rain } }]));
}

it('Magnus saturation vapour pressure matches the worked example (28 °C → 37.7 hPa)', () => {
  expect(Math.abs(saturationVapourPressureHpa(28) - 37.8)).toBeLessThan(0.2);
  expect(nationalLevel(1000)).toBe(1);
  expect(nationalLevel(1001)).toBe(2);
  expect(nationalLevel(10_001)).toBe(5);
});

it('a 30-day dry spell drives the Nesterov index up through the levels, day by day', () => {
  const { readings } = collect(loadScenario('dry-spell-30d'), ['san-thang-01']);
  expect(readings).toHaveLength(30 * 24 * 60);
  for (const r of readings.slice(0, 2000)) readingSchema.parse(r);
  const days = nesterovDays(readings);
  expect(days).toHaveLength(30);
  expect(days.filter((d) => d.day.rainMm !== 0), 'no rain in a dry spell').toStrictEqual([]);
  const p = nesterovSeries(days.map((d) => d.day));
  for (let i = 1; i < p.length; i++) expect(p[i]!, `P rises every day (day ${i})`).toBeGreaterThan(p[i - 1]!);
  const levels = p.map((v) => nationalLevel(v));
  expect(levels[0], 'starts at level I').toBe(1);
  expect(levels.at(-1)!, `ends at level IV or V, got ${levels.at(-1)} (P=${Math.round(p.at(-1)!)})`).toBeGreaterThanOrEqual(4);
  // It climbs through the levels one at a time over days, not in one jump.
  for (let level = 2; level <= levels.at(-1)!; level++) expect(levels, `passes through level ${level}`).toContain(level);
  // 13:00 humidity of dry days is in the documented 25–60 % band (± sensor noise and elevation).
  expect(days.filter((d) => !(d.day.rh13 > 18 && d.day.rh13 < 68)), 'days outside 18–68 % at 13:00').toStrictEqual([]);
});

describe('a rain day brings ≥ 5 mm at every rain gauge and resets the index', () => {
  const gauges = ['quyet-thang-01', 'tan-phong-01', 'san-thang-01', 'nam-loong-01'];
  let readings: Reading[] = [];
  beforeAll(() => {
    ({ readings } = collect(loadScenario('rain-reset'), gauges));
  });

  it.each(gauges)('%s', (node) => {
    const days = nesterovDays(readings.filter((r) => r.nodeId === node));
    const rainDay = days.find((d) => d.date === '2026-03-07');
    assert(rainDay, 'day 6 is present');
    expect(rainDay.day.rainMm, `${node}: ${rainDay.day.rainMm} mm on the rain day`).toBeGreaterThanOrEqual(5);
    expect(rainDay.day.rainMm, `${node}: ${rainDay.day.rainMm} mm is not a plausible single-day total here`).toBeLessThan(60);
    expect(days.filter((d) => d.date !== '2026-03-07' && d.day.rainMm !== 0), `${node}: dry days stay dry`).toStrictEqual([]);
    const p = nesterovSeries(days.map((d) => d.day));
    const i = days.indexOf(rainDay);
    expect(p[i - 1]!, `index had built up before the rain (${Math.round(p[i - 1]!)})`).toBeGreaterThan(1000);
    expect(p[i]).toBe(0);
    expect(p[i + 1]!, 'the index builds up again the day after').toBeGreaterThan(0);
    expect(p[i + 1]!, 'but stays below its value before the rain').toBeLessThan(p[i - 1]!);
  });

  it('rain arrives as tipping-bucket steps of 0.2 mm', () => {
    const offStep = readings.filter((r) => r.rainMm !== undefined && !(Math.abs(r.rainMm / 0.2 - Math.round(r.rainMm / 0.2)) < 1e-6));
    expect(offStep.map((r) => r.rainMm)).toStrictEqual([]);
  });
});

it('diurnal cycle: cool humid nights, warm drier afternoons; higher nodes are colder', () => {
  const weather = new SiteWeather({ seed: 5, startMs: Date.parse('2026-02-10T00:00:00+07:00'), endMs: Date.parse('2026-02-11T00:00:00+07:00'), mode: 'dry-spell' });
  const dawn = weather.at(Date.parse('2026-02-10T06:00:00+07:00'), 940);
  const afternoon = weather.at(Date.parse('2026-02-10T14:00:00+07:00'), 940);
  expect(afternoon.temperatureC - dawn.temperatureC, `range ${afternoon.temperatureC - dawn.temperatureC}`).toBeGreaterThan(6);
  expect(dawn.humidityPct, `night RH ${dawn.humidityPct}`).toBeGreaterThanOrEqual(80);
  expect(afternoon.humidityPct, `afternoon RH ${afternoon.humidityPct}`).toBeLessThan(65);
  const high = weather.at(Date.parse('2026-02-10T14:00:00+07:00'), 1540);
  expect(Math.abs(afternoon.temperatureC - high.temperatureC - 3.6), 'lapse rate 0.6 °C / 100 m').toBeLessThan(0.01);
  // February at 940 m: about 21/12 °C.
  expect(afternoon.temperatureC).toBeGreaterThan(17);
  expect(afternoon.temperatureC).toBeLessThan(27);
});
