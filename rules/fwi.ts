// Canadian Forest Fire Weather Index System (Van Wagner 1987; Van Wagner & Pickett 1985), as the
// reference R package cffdrs implements it (R/fine_fuel_moisture_code.r, duff_moisture_code.r,
// drought_code.r, initial_spread_index.r, buildup_index.r, fire_weather_index.r, fwi.r), with its
// latitude day-length adjustment (lat.adjust = TRUE); https://github.com/cffdrs/cffdrs_r at commit
// 4d20a303bf94febccce62f068cc8ffad0fec57c1. Pure functions.
//
// Inputs are noon local standard time observations: temperature °C, relative humidity %, wind
// km/h, 24-hour rain mm. Lai Châu (22.39°N) uses the 20°N DMC day-length table and the standard
// northern DC factors.

/** cffdrs FFMC_COEFFICIENT = 250·59.5/101 = 147.27723, which makes Eq. 1 the exact inverse of Eq. 10. */
export const FFMC_COEFFICIENT = (250 * 59.5) / 101;
/**
 * The 1985 FORTRAN program (Van Wagner & Pickett 1985) used 147.2. Its published test table is
 * reproduced to its rounding only with this value; cffdrs differs from it by up to ~0.13 FFMC
 * and ~0.3 ISI/FWI. Selectable for that comparison, never the default.
 */
export const FFMC_COEFFICIENT_1985 = 147.2;

export interface FwiOptions {
  /** cffdrs lat.adjust (default true): day-length tables by latitude band. */
  latAdjust?: boolean;
  /** FFMC moisture-conversion constant (default cffdrs 147.27723). */
  ffmcCoefficient?: number;
}

/** Start-up values (cffdrs `fwi` defaults). */
export const FWI_STARTUP = Object.freeze({ ffmc: 85, dmc: 6, dc: 15 });

/** Lai Châu city centre latitude, the CLI default. */
export const LAI_CHAU_LATITUDE = 22.39;

// DMC effective day length Le by month (Van Wagner 1987; cffdrs ell01…ell04).
const LE_46N = [6.5, 7.5, 9, 12.8, 13.9, 13.9, 12.4, 10.9, 9.4, 8, 7, 6] as const;
const LE_20N = [7.9, 8.4, 8.9, 9.5, 9.9, 10.2, 10.1, 9.7, 9.1, 8.6, 8.1, 7.8] as const;
const LE_20S = [10.1, 9.6, 9.1, 8.5, 8.1, 7.8, 7.9, 8.3, 8.9, 9.4, 9.9, 10.2] as const;
const LE_40S = [11.5, 10.5, 9.2, 7.9, 6.8, 6.2, 6.5, 7.4, 8.7, 10, 11.2, 11.8] as const;
// DC day-length factor Lf by month (cffdrs fl01, fl02; 1.4 near the equator).
const LF_NORTH = [-1.6, -1.6, -1.6, 0.9, 3.8, 5.8, 6.4, 5, 2.4, 0.4, -1.6, -1.6] as const;
const LF_SOUTH = [6.4, 5, 2.4, 0.4, -1.6, -1.6, -1.6, -1.6, -1.6, 0.9, 3.8, 5.8] as const;

function monthIndex(month: number): number {
  if (!Number.isInteger(month) || month < 1 || month > 12) throw new RangeError(`month must be 1–12, got ${month}`);
  return month - 1;
}

/**
 * DMC effective day length Le for a latitude and month (cffdrs bands): the 46°N table for
 * lat > 30 (and whenever latAdjust is false), 20°N for 10 < lat ≤ 30, 9 for −10 < lat ≤ 10,
 * 20°S for −30 < lat ≤ −10, 40°S for lat ≤ −30.
 */
export function dmcDayLength(lat: number, month: number, latAdjust = true): number {
  const m = monthIndex(month);
  if (!latAdjust || lat > 30) return LE_46N[m]!;
  if (lat > 10) return LE_20N[m]!;
  if (lat > -10) return 9;
  if (lat > -30) return LE_20S[m]!;
  return LE_40S[m]!;
}

/** DC day-length factor Lf (cffdrs bands): north for lat > 20, 1.4 for −20 < lat ≤ 20, south for lat ≤ −20. */
export function dcDayLengthFactor(lat: number, month: number, latAdjust = true): number {
  const m = monthIndex(month);
  if (!latAdjust || lat > 20) return LF_NORTH[m]!;
  if (lat > -20) return 1.4;
  return LF_SOUTH[m]!;
}

/** Fine Fuel Moisture Code (Eqs. 1–10). */
export function fineFuelMoistureCode(ffmcYda: number, temp: number, rh: number, ws: number, prec: number, k = FFMC_COEFFICIENT): number {
  let wmo = (k * (101 - ffmcYda)) / (59.5 + ffmcYda);
  if (prec > 0.5) {
    const ra = prec - 0.5;
    const gain = 42.5 * ra * Math.exp(-100 / (251 - wmo)) * (1 - Math.exp(-6.93 / ra));
    wmo = wmo > 150 ? wmo + 0.0015 * (wmo - 150) * (wmo - 150) * Math.sqrt(ra) + gain : wmo + gain;
  }
  if (wmo > 250) wmo = 250;
  const common = 0.18 * (21.1 - temp) * (1 - 1 / Math.exp(rh * 0.115));
  const ed = 0.942 * rh ** 0.679 + 11 * Math.exp((rh - 100) / 10) + common;
  const ew = 0.618 * rh ** 0.753 + 10 * Math.exp((rh - 100) / 10) + common;
  let wm = wmo;
  if (wmo < ed && wmo < ew) {
    // Wetting (Eqs. 7a, 7b, 9).
    const z = 0.424 * (1 - ((100 - rh) / 100) ** 1.7) + 0.0694 * Math.sqrt(ws) * (1 - ((100 - rh) / 100) ** 8);
    const x = z * 0.581 * Math.exp(0.0365 * temp);
    wm = ew - (ew - wmo) / 10 ** x;
  } else if (wmo > ed) {
    // Drying (Eqs. 6a, 6b, 8).
    const z = 0.424 * (1 - (rh / 100) ** 1.7) + 0.0694 * Math.sqrt(ws) * (1 - (rh / 100) ** 8);
    const x = z * 0.581 * Math.exp(0.0365 * temp);
    wm = ed + (wmo - ed) / 10 ** x;
  }
  const ffmc = (59.5 * (250 - wm)) / (k + wm);
  return Math.min(101, Math.max(0, ffmc));
}

/** Duff Moisture Code (Eqs. 11–17), with the cffdrs latitude day-length table. */
export function duffMoistureCode(dmcYda: number, temp: number, rh: number, prec: number, lat: number, month: number, latAdjust = true): number {
  const t = temp < -1.1 ? -1.1 : temp;
  const rk = 1.894 * (t + 1.1) * (100 - rh) * dmcDayLength(lat, month, latAdjust) * 1e-4;
  let pr = dmcYda;
  if (prec > 1.5) {
    const rw = 0.92 * prec - 1.27;
    const b = dmcYda <= 33 ? 100 / (0.5 + 0.3 * dmcYda) : dmcYda <= 65 ? 14 - 1.3 * Math.log(dmcYda) : 6.2 * Math.log(dmcYda) - 17.2;
    const wmi = 20 + 280 / Math.exp(0.023 * dmcYda);
    const wmr = wmi + (1000 * rw) / (48.77 + b * rw);
    pr = 43.43 * (5.6348 - Math.log(wmr - 20));
  }
  if (pr < 0) pr = 0;
  const dmc = pr + rk;
  return dmc < 0 ? 0 : dmc;
}

/** Drought Code (Eqs. 18–23), with the cffdrs latitude day-length factor. */
export function droughtCode(dcYda: number, temp: number, prec: number, lat: number, month: number, latAdjust = true): number {
  const t = temp < -2.8 ? -2.8 : temp;
  let pe = (0.36 * (t + 2.8) + dcDayLengthFactor(lat, month, latAdjust)) / 2;
  if (pe < 0) pe = 0;
  let dr = dcYda;
  if (prec > 2.8) {
    const rw = 0.83 * prec - 1.27;
    const smi = 800 * Math.exp(-dcYda / 400);
    dr = dcYda - 400 * Math.log(1 + (3.937 * rw) / smi);
    if (dr < 0) dr = 0;
  }
  const dc = dr + pe;
  return dc < 0 ? 0 : dc;
}

/** Initial Spread Index (Eqs. 24–26). */
export function initialSpreadIndex(ffmc: number, ws: number, k = FFMC_COEFFICIENT): number {
  const fm = (k * (101 - ffmc)) / (59.5 + ffmc);
  const fW = Math.exp(0.05039 * ws);
  const fF = 91.9 * Math.exp(-0.1386 * fm) * (1 + fm ** 5.31 / 49300000);
  return 0.208 * fW * fF;
}

/** Buildup Index (Eqs. 27a, 27b). */
export function buildupIndex(dmc: number, dc: number): number {
  if (dmc === 0 && dc === 0) return 0;
  const bui1 = (0.8 * dc * dmc) / (dmc + 0.4 * dc);
  if (bui1 >= dmc) return bui1;
  const p = dmc === 0 ? 0 : (dmc - bui1) / dmc;
  const cc = 0.92 + (0.0114 * dmc) ** 1.7;
  const bui0 = dmc - cc * p;
  return bui0 < 0 ? 0 : bui0;
}

/** Fire Weather Index (Eqs. 28–30). */
export function fireWeatherIndex(isi: number, bui: number): number {
  const fD = bui > 80 ? 1000 / (25 + 108.64 / Math.exp(0.023 * bui)) : 0.626 * bui ** 0.809 + 2;
  const bb = 0.1 * isi * fD;
  return bb <= 1 ? bb : Math.exp(2.72 * (0.434 * Math.log(bb)) ** 0.647);
}

/** Daily Severity Rating (Eq. 31). */
export function dailySeverityRating(fwi: number): number {
  return 0.0272 * fwi ** 1.77;
}

export interface FwiWeather {
  temp: number;
  rh: number;
  /** km/h */
  wind: number;
  /** mm, 24 h */
  precip: number;
  /** 1–12, selects the day-length factors. */
  month: number;
  lat: number;
}

export interface FwiCodes {
  ffmc: number;
  dmc: number;
  dc: number;
}

export interface FwiDay extends FwiCodes {
  isi: number;
  bui: number;
  fwi: number;
  dsr: number;
}

/** One day of the system from yesterday's moisture codes (cffdrs `fwi`, one row). */
export function fwiDay(yesterday: FwiCodes, w: FwiWeather, options: FwiOptions = {}): FwiDay {
  const latAdjust = options.latAdjust ?? true;
  const k = options.ffmcCoefficient ?? FFMC_COEFFICIENT;
  const rh = w.rh >= 100 ? 99.9999 : w.rh; // cffdrs: constrain relative humidity
  const ffmc = fineFuelMoistureCode(yesterday.ffmc, w.temp, rh, w.wind, w.precip, k);
  const dmc = duffMoistureCode(yesterday.dmc, w.temp, rh, w.precip, w.lat, w.month, latAdjust);
  const dc = droughtCode(yesterday.dc, w.temp, w.precip, w.lat, w.month, latAdjust);
  const isi = initialSpreadIndex(ffmc, w.wind, k);
  const bui = buildupIndex(dmc, dc);
  const fwi = fireWeatherIndex(isi, bui);
  return { ffmc, dmc, dc, isi, bui, fwi, dsr: dailySeverityRating(fwi) };
}

/** Chains days in order from the start-up codes. */
export function fwiSeries(days: readonly FwiWeather[], start: FwiCodes = FWI_STARTUP, options: FwiOptions = {}): FwiDay[] {
  let codes: FwiCodes = start;
  return days.map((w) => {
    const day = fwiDay(codes, w, options);
    codes = day;
    return day;
  });
}

/**
 * EFFIS/JRC danger classes of the FWI (advisory only; not calibrated for Vietnam), as the R package
 * caliver lists them (https://rdrr.io/cran/caliver/man/classify_index.html).
 */
export function fwiClass(fwi: number): 'very-low' | 'low' | 'moderate' | 'high' | 'very-high' | 'extreme' {
  if (fwi < 5.2) return 'very-low';
  if (fwi < 11.2) return 'low';
  if (fwi < 21.3) return 'moderate';
  if (fwi < 38) return 'high';
  if (fwi < 50) return 'very-high';
  return 'extreme';
}
