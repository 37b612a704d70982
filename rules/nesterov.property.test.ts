// Properties of the Nesterov index (QĐ 127/2000) over weather the sensors can report
// (READING_LIMITS) and any province table the site schema admits.
import { describe, expect } from 'vitest';
import { fc, it } from '@fast-check/vitest';
import { READING_LIMITS } from '../contracts/payloads.ts';
import { dangerTableSchema, type DangerTable } from '../contracts/site.ts';
import { dangerLevelFromP, NATIONAL_DANGER_TABLE, nesterovSeries, nesterovStep, type NesterovDay } from './nesterov.ts';

const SEED = 127_2000;

const between = (min: number, max: number) => fc.double({ min, max, noNaN: true });
const t13 = between(READING_LIMITS.temperatureC.min, READING_LIMITS.temperatureC.max);
const rh13 = between(READING_LIMITS.humidityPct.min, READING_LIMITS.humidityPct.max);

/** A province table: four increasing thresholds, a positive reset limit, hPa or mmHg. */
const table: fc.Arbitrary<DangerTable> = fc.oneof(
  fc.constant(NATIONAL_DANGER_TABLE),
  fc
    .record({
      thresholds: fc.uniqueArray(fc.integer({ min: 1, max: 50_000 }), { minLength: 4, maxLength: 4 }).map((t) => t.sort((a, b) => a - b)),
      rainResetMm: between(0.1, 50),
      deficitUnit: fc.constantFrom('hPa' as const, 'mmHg' as const),
    })
    .map((t) => dangerTableSchema.parse(t)),
);

/** Rain below the table's reset limit (0 … just under it), or at or above it (limit … sensor max). */
const rainBelow = (tbl: DangerTable) => fc.double({ min: 0, max: tbl.rainResetMm, maxExcluded: true, noNaN: true });
const rainAtOrAbove = (tbl: DangerTable) => between(tbl.rainResetMm, Math.max(tbl.rainResetMm, READING_LIMITS.rainMm.max));
const day = (tbl: DangerTable): fc.Arbitrary<NesterovDay> => fc.record({ t13, rh13, rainMm: fc.oneof(rainBelow(tbl), rainAtOrAbove(tbl)) });
const dryDay = (tbl: DangerTable) => fc.record({ t13: between(Number.MIN_VALUE, READING_LIMITS.temperatureC.max), rh13, rainMm: rainBelow(tbl) });

/** P carried in: normally ≥ 0; the step must also cope with a negative one (it clamps). */
const prevP = fc.oneof({ weight: 4, arbitrary: between(0, 1e6) }, { weight: 1, arbitrary: between(-1e6, 0) });

describe('nesterovStep', () => {
  it.prop([table.chain((tbl) => fc.tuple(fc.constant(tbl), prevP, day(tbl)))], { seed: SEED, numRuns: 3000 })('P is never negative (nor NaN)', ([tbl, p, d]) => {
    const step = nesterovStep(p, d, tbl);
    expect(step.p).toBeGreaterThanOrEqual(0);
    expect(step.term).toBeGreaterThanOrEqual(0);
  });

  it.prop([table.chain((tbl) => fc.tuple(fc.constant(tbl), prevP, t13, rh13, rainAtOrAbove(tbl)))], { seed: SEED + 1, numRuns: 2000 })(
    "rain at or above the table's rainResetMm resets P to 0",
    ([tbl, p, t, rh, rain]) => {
      expect(nesterovStep(p, { t13: t, rh13: rh, rainMm: rain }, tbl)).toMatchObject({ p: 0, term: 0, reset: true });
    },
  );

  it.prop([table.chain((tbl) => fc.tuple(fc.constant(tbl), between(0, 1e6), t13, rh13, rainBelow(tbl)))], { seed: SEED + 2, numRuns: 2000 })(
    'a day with less rain than the limit never decreases P (and adds exactly its term)',
    ([tbl, p, t, rh, rain]) => {
      const step = nesterovStep(p, { t13: t, rh13: rh, rainMm: rain }, tbl);
      expect(step.reset).toBe(false);
      expect(step.p).toBeGreaterThanOrEqual(p);
      expect(step.p).toBe(p + step.term);
    },
  );
});

describe('nesterovSeries', () => {
  it.prop([table.chain((tbl) => fc.tuple(fc.constant(tbl), fc.array(dryDay(tbl), { minLength: 1, maxLength: 60 })))], { seed: SEED + 3, numRuns: 1000 })(
    'P is non-decreasing across dry days with t > 0, and so is the level',
    ([tbl, days]) => {
      const out = nesterovSeries(days, tbl);
      for (let i = 1; i < out.length; i++) {
        expect(out[i]!.p).toBeGreaterThanOrEqual(out[i - 1]!.p);
        expect(out[i]!.level).toBeGreaterThanOrEqual(out[i - 1]!.level);
      }
    },
  );

  it.prop([table.chain((tbl) => fc.tuple(fc.constant(tbl), between(0, 1e5), fc.array(day(tbl), { maxLength: 60 })))], { seed: SEED + 4, numRuns: 1000 })(
    'the series is the daily step applied in turn, each day with the level of its P',
    ([tbl, p0, days]) => {
      let p = p0;
      const out = nesterovSeries(days, tbl, p0);
      out.forEach((d, i) => {
        const step = nesterovStep(p, days[i]!, tbl);
        p = step.p;
        expect(d).toStrictEqual({ ...step, level: dangerLevelFromP(p, tbl.thresholds) });
        expect(d.p).toBeGreaterThanOrEqual(0);
      });
    },
  );
});

describe('dangerLevelFromP', () => {
  it.prop([table, fc.double({ noNaN: true }), fc.double({ noNaN: true })], { seed: SEED + 5, numRuns: 3000 })('the level is monotone in P and one of I–V', (tbl, a, b) => {
    const [lo, hi] = a <= b ? [a, b] : [b, a];
    const [levelLo, levelHi] = [dangerLevelFromP(lo, tbl.thresholds), dangerLevelFromP(hi, tbl.thresholds)];
    expect([1, 2, 3, 4, 5]).toContain(levelLo);
    expect(levelLo).toBeLessThanOrEqual(levelHi);
  });

  it.prop([table, fc.integer({ min: 0, max: 3 })], { seed: SEED + 6, numRuns: 500 })('each threshold is the top of its level: P at it is level n, just above is n + 1', (tbl, i) => {
    const bound = tbl.thresholds[i]!;
    expect(dangerLevelFromP(bound, tbl.thresholds)).toBe(i + 1);
    expect(dangerLevelFromP(bound + bound * Number.EPSILON * 2, tbl.thresholds)).toBe(i + 2);
  });
});
