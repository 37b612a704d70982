// Vietnam's official forest-fire danger level (cấp dự báo cháy rừng I–V) from the Nesterov-type
// index P = Σ t13·d13 with the rain reset (QĐ 127/2000/QĐ-BNN-KL, https://vanbanphapluat.co/quyet-dinh-127-2000-qd-bnn-kl-cap-du-bao-bao-dong-va-bien-phap-to-chuc-thuc-hien-phong-chay-chua-chay-rung).
// Pure functions: no I/O, no clock. The site file's `dangerTable` carries the province's table.
import type { DangerTable } from '../contracts/site.ts';
import type { DangerLevel } from '../contracts/payloads.ts';

/** The national table (QĐ 127/2000): I ≤ 1,000 < II ≤ 2,500 < III ≤ 5,000 < IV ≤ 10,000 < V. */
export const NATIONAL_DANGER_TABLE: DangerTable = Object.freeze({
  thresholds: [1000, 2500, 5000, 10000] as [number, number, number, number],
  rainResetMm: 5,
  deficitUnit: 'hPa' as const,
});

/** 1 hPa in mmHg (101325 Pa = 760 mmHg). Often rounded to 0.750. */
export const HPA_TO_MMHG = 760 / 1013.25;

/**
 * Saturation vapour pressure over water, hPa, WMO CIMO Guide (2008) Magnus form:
 * E(t) = 6.112·exp(17.62·t / (243.12 + t)), t in °C. Valid about −45…60 °C.
 */
export function saturationVapourPressure(tC: number): number {
  return 6.112 * Math.exp((17.62 * tC) / (243.12 + tC));
}

/**
 * Saturation deficit d = E(t)·(1 − RH/100) ("độ chênh lệch bão hòa"), in hPa by default or
 * mmHg when the province's table is expressed in mmHg (P then scales by ≈ 0.750).
 */
export function saturationDeficit(tC: number, rhPct: number, unit: DangerTable['deficitUnit'] = 'hPa'): number {
  const rh = Math.min(100, Math.max(0, rhPct));
  const dHpa = saturationVapourPressure(tC) * (1 - rh / 100);
  return unit === 'mmHg' ? dHpa * HPA_TO_MMHG : dHpa;
}

export interface NesterovDay {
  /** Air temperature at 13:00, °C. */
  t13: number;
  /** Relative humidity at 13:00, %. */
  rh13: number;
  /** Rainfall of the day (24 h), mm. */
  rainMm: number;
}

export interface NesterovStep {
  /** Saturation deficit at 13:00 in the table's unit. */
  d13: number;
  /** The day's term t13·d13 (0 on a reset day, and never negative). */
  term: number;
  /** P after this day. */
  p: number;
  /** True when the day's rain reached the table's reset limit and P was set to 0. */
  reset: boolean;
}

/**
 * One day of the index: P = P_prev + t13·d13, or P = 0 on a day with rain ≥ rainResetMm (k = 0).
 * Rain below the limit neither reduces nor resets P. A day at or below 0 °C adds nothing (the
 * term is clamped at 0), so P only ever falls through a reset.
 */
export function nesterovStep(prevP: number, day: NesterovDay, table: Pick<DangerTable, 'rainResetMm' | 'deficitUnit'> = NATIONAL_DANGER_TABLE): NesterovStep {
  const d13 = saturationDeficit(day.t13, day.rh13, table.deficitUnit);
  if (day.rainMm >= table.rainResetMm) return { d13, term: 0, p: 0, reset: true };
  const term = Math.max(0, day.t13 * d13);
  return { d13, term, p: Math.max(0, prevP) + term, reset: false };
}

/** Runs the index over consecutive days, starting from `p0` (0 = the day after a soaking rain). */
export function nesterovSeries(days: readonly NesterovDay[], table: DangerTable = NATIONAL_DANGER_TABLE, p0 = 0): (NesterovStep & { level: DangerLevel })[] {
  let p = p0;
  return days.map((day) => {
    const step = nesterovStep(p, day, table);
    p = step.p;
    return { ...step, level: dangerLevelFromP(p, table.thresholds) };
  });
}

/**
 * Level from P: the first level whose upper bound P does not exceed (bounds are inclusive, so
 * exactly 1,000 is level I and 1,000.01 is level II); above the last bound is level V.
 */
export function dangerLevelFromP(p: number, thresholds: DangerTable['thresholds'] = NATIONAL_DANGER_TABLE.thresholds): DangerLevel {
  if (!(p > thresholds[0])) return 1; // also NaN-safe: never silently "extreme"
  if (p <= thresholds[1]) return 2;
  if (p <= thresholds[2]) return 3;
  if (p <= thresholds[3]) return 4;
  return 5;
}

// The official level names, colours and required actions are a shared contract (alerts, dashboards).
export { DANGER_LEVEL_INFO, dangerLevelInfo, type DangerLevelInfo, type LevelAction, type Recipient } from '../contracts/danger-levels.ts';
