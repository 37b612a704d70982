import { describe, expect, it } from 'vitest';
import {
  DANGER_LEVEL_INFO,
  HPA_TO_MMHG,
  NATIONAL_DANGER_TABLE,
  dangerLevelFromP,
  nesterovSeries,
  nesterovStep,
  saturationDeficit,
  saturationVapourPressure,
} from './nesterov.ts';
import { dangerTableSchema } from '../contracts/site.ts';

const close = (actual: number, expected: number, tol = 1e-3) =>
  expect(Math.abs(actual - expected), `expected ${expected} ± ${tol}, got ${actual}`).toBeLessThanOrEqual(tol);

// Hand computations (calculator): E(t) = 6.112·exp(17.62·t/(243.12+t)).
//   t = 0  → 6.112
//   t = 20 → 6.112·exp(352.4/263.12)  = 6.112·e^1.339313 = 23.3260 hPa
//   t = 28 → 6.112·exp(493.36/271.12) = 6.112·e^1.819711 = 37.7115 hPa
//   t = 30 → 6.112·exp(528.6/273.12)  = 6.112·e^1.935413 = 42.3372 hPa
describe('saturation vapour pressure, WMO Magnus form', () => {
  it.each([
    [0, 6.112, 1e-9],
    [20, 23.326, 1e-3],
    [28, 37.7115, 1e-3],
    [30, 42.3372, 1e-3],
  ])('E(%s °C) = %s hPa ± %s', (t, hPa, tol) => {
    close(saturationVapourPressure(t), hPa, tol);
  });
});

it('saturation deficit in hPa and mmHg', () => {
  // 28 °C, 40 %: d = 37.7115 · 0.6 = 22.6269 hPa (≈ 22.6).
  close(saturationDeficit(28, 40), 22.6269);
  close(saturationDeficit(28, 40, 'mmHg'), 22.6269 * 0.750062, 1e-3);
  close(HPA_TO_MMHG, 0.750062, 1e-6);
  close(saturationDeficit(25, 100), 0, 1e-12);
  close(saturationDeficit(25, 0), saturationVapourPressure(25), 1e-12);
});

it('a dry spell climbs the national levels on the days the national table predicts', () => {
  // Every day 28 °C / 40 %: term = 28 · 22.62690 = 633.553 → level II on day 2, III on day 4,
  // IV on day 8, V on day 16 (the QĐ 127/2000 thresholds 1000/2500/5000/10000).
  const days = Array.from({ length: 16 }, () => ({ t13: 28, rh13: 40, rainMm: 0 }));
  const out = nesterovSeries(days);
  close(out[0]!.term, 633.553);
  close(out[0]!.p, 633.553);
  close(out[1]!.p, 1267.106);
  close(out[15]!.p, 16 * 633.553, 0.02);
  const levels = out.map((d) => d.level);
  expect(levels).toStrictEqual([1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 5]);
});

it('rain at or above the limit resets P to 0; smaller rain neither reduces nor resets', () => {
  const dry = { t13: 30, rh13: 35, rainMm: 0 }; // 30 · 42.3372 · 0.65 = 825.576
  const out = nesterovSeries([
    dry,
    dry,
    { t13: 30, rh13: 35, rainMm: 4.9 }, // below 5 mm: accumulates as a dry day
    { t13: 25, rh13: 90, rainMm: 5 }, // exactly 5 mm: k = 0, P = 0
    dry, // accumulation restarts the next day
  ]);
  close(out[0]!.p, 825.576);
  close(out[1]!.p, 1651.152);
  close(out[2]!.p, 2476.728);
  expect(out[2]!.reset).toBe(false);
  expect(out[3]).toMatchObject({ p: 0, term: 0, reset: true, level: 1 });
  close(out[4]!.p, 825.576);
});

it('the reset limit and the deficit unit come from the province table', () => {
  const hue = dangerTableSchema.parse({ thresholds: [5000, 10000, 15000, 20000], rainResetMm: 7, deficitUnit: 'mmHg' });
  const step = nesterovStep(100, { t13: 30, rh13: 35, rainMm: 6 }, hue); // 6 mm < 7 mm: no reset
  expect(step.reset).toBe(false);
  close(step.p, 100 + 825.576 * 0.750062, 0.01);
  expect(nesterovStep(100, { t13: 30, rh13: 35, rainMm: 7 }, hue).p).toBe(0);
  expect(dangerLevelFromP(5000, hue.thresholds)).toBe(1);
  expect(dangerLevelFromP(5000.01, hue.thresholds)).toBe(2);
  expect(dangerLevelFromP(20000.01, hue.thresholds)).toBe(5);
});

it('a day at or below 0 °C adds nothing and never lowers P', () => {
  expect(nesterovStep(1234, { t13: -3, rh13: 50, rainMm: 0 }).p).toBe(1234);
  expect(nesterovStep(1234, { t13: 0, rh13: 50, rainMm: 0 }).p).toBe(1234);
});

describe('each national level boundary is inclusive at the top', () => {
  it.each([
    [0, 1],
    [999.99, 1],
    [1000, 1],
    [1000.01, 2],
    [2500, 2],
    [2500.01, 3],
    [5000, 3],
    [5000.01, 4],
    [10000, 4],
    [10000.01, 5],
    [1e9, 5],
  ])('P = %s → level %i', (p, level) => {
    expect(dangerLevelFromP(p, NATIONAL_DANGER_TABLE.thresholds)).toBe(level);
  });

  it('P = NaN → level 1', () => {
    expect(dangerLevelFromP(Number.NaN)).toBe(1);
  });
});

describe('boundaries reached through the daily step: P exactly 1000 stays level I', () => {
  // A 0 °C day adds nothing, so P carried in exactly at a bound stays there.
  it.each([
    [1000, 1],
    [2500, 2],
    [5000, 3],
    [10000, 4],
  ])('P %i carried over a 0 °C day stays level %i', (p0, level) => {
    const [day] = nesterovSeries([{ t13: 0, rh13: 50, rainMm: 0 }], NATIONAL_DANGER_TABLE, p0);
    expect(day).toMatchObject({ p: p0, level });
  });

  it('1000 plus a term of 0.01 is level II', () => {
    // 1000 + a term of 0.01: t13·d13 = 0.01 needs a tiny deficit: t = 0.01 °C, RH such that d = 1.
    const [up] = nesterovSeries([{ t13: 0.01, rh13: 100 - 100 / saturationVapourPressure(0.01), rainMm: 0 }], NATIONAL_DANGER_TABLE, 1000);
    close(up!.p, 1000.01, 1e-9);
    expect(up!.level).toBe(2);
  });
});

it('official names, descriptions and cumulative actions of the five levels', () => {
  expect([1, 2, 3, 4, 5].map((l) => DANGER_LEVEL_INFO[l as 1].name)).toStrictEqual(['Cấp thấp', 'Cấp trung bình', 'Cấp cao', 'Cấp nguy hiểm', 'Cấp cực kỳ nguy hiểm']);
  expect(DANGER_LEVEL_INFO[1].description).toBe('Ít có khả năng cháy rừng');
  expect(DANGER_LEVEL_INFO[2].description).toBe('Có khả năng cháy rừng');
  const codes = (l: 1 | 2 | 3 | 4 | 5) => DANGER_LEVEL_INFO[l].actions.map((a) => a.code);
  expect(codes(2)).toContain('station-lookouts');
  expect(codes(1)).not.toContain('station-lookouts');
  expect(codes(3)).toContain('patrol-24h');
  expect(codes(4)).toContain('burning-ban');
  expect(codes(4)).toContain('daily-media');
  expect(codes(5)).toContain('all-hands');
  for (const l of [1, 2, 3, 4] as const) {
    const next = (l + 1) as 2 | 3 | 4 | 5;
    for (const c of codes(l)) expect(codes(next), `level ${next} keeps ${c}`).toContain(c);
  }
  expect(DANGER_LEVEL_INFO[3].notify).toContain('kiem-lam');
  expect(DANGER_LEVEL_INFO[5].notify).toContain('provincial-board');
});
