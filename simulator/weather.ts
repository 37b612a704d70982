// Weather model for Lai Châu city (pure, seeded). Site-wide day plan (regime, Tmax/Tmin, humidity,
// showers, wind) plus per-elevation evaluation at any instant. Climate numbers: elevation 940 m and
// the south-east wind from the city (https://thanhpho.laichau.gov.vn/gioi-thieu/gioi-thieu/dieu-kien-tu-nhien-xa-hoi.html),
// dry season Nov–Mar and the Apr–Jul foehn (http://www.dubaothoitiet.info/khi-hau-lai-chau); where
// no source gives a number ours are estimates.
import { Prng } from './prng.ts';

/** Site local time is UTC+7 all year (Asia/Ho_Chi_Minh has no DST). */
export const LOCAL_OFFSET_MS = 7 * 3600_000;
export const DAY_MS = 86_400_000;
export const CLIMATE_REFERENCE_ELEVATION_M = 940;
/** Environmental lapse rate used to move the city climate to a node's elevation. */
export const LAPSE_RATE_C_PER_M = 0.006;
/** Wind blows from here most days (site facts: prevailing south-east). */
export const PREVAILING_WIND_FROM_DEG = 135;
/** Foehn ("gió Lào") arrives over the western ranges. */
const FOEHN_WIND_FROM_DEG = 250;

export const DAY_REGIMES = ['dry', 'dry-wind', 'rain', 'cloudy'] as const;
export type DayRegime = (typeof DAY_REGIMES)[number];

/**
 * Mean daily max/min °C at 940 m. Jan–Apr from the Sìn Hồ station (1,529 m; climate table of the
 * Wikipedia article "Sìn Hồ District") + 3.5 °C for the lower elevation;
 * May–Dec are estimates shaped like the northern-mountain annual cycle.
 */
export const MONTHLY_CLIMATE: readonly { tMaxC: number; tMinC: number }[] = [
  { tMaxC: 18, tMinC: 10 },
  { tMaxC: 21, tMinC: 12 },
  { tMaxC: 24, tMinC: 15 },
  { tMaxC: 26.5, tMinC: 17.5 },
  { tMaxC: 27.5, tMinC: 19.5 },
  { tMaxC: 27, tMinC: 20.5 },
  { tMaxC: 26.5, tMinC: 20.5 },
  { tMaxC: 26.5, tMinC: 20 },
  { tMaxC: 25.5, tMinC: 19 },
  { tMaxC: 23.5, tMinC: 16.5 },
  { tMaxC: 20.5, tMinC: 13 },
  { tMaxC: 18, tMinC: 10 },
];

/** Chance of each regime by month (EST: rain days follow the thunderstorm-day climatology, foehn Apr–Jul). */
const MONTHLY_REGIME_CHANCE: readonly Record<DayRegime, number>[] = [
  { rain: 0.08, cloudy: 0.25, 'dry-wind': 0.07, dry: 0.6 },
  { rain: 0.12, cloudy: 0.22, 'dry-wind': 0.08, dry: 0.58 },
  { rain: 0.2, cloudy: 0.2, 'dry-wind': 0.08, dry: 0.52 },
  { rain: 0.4, cloudy: 0.2, 'dry-wind': 0.12, dry: 0.28 },
  { rain: 0.55, cloudy: 0.2, 'dry-wind': 0.1, dry: 0.15 },
  { rain: 0.65, cloudy: 0.2, 'dry-wind': 0.07, dry: 0.08 },
  { rain: 0.7, cloudy: 0.18, 'dry-wind': 0.05, dry: 0.07 },
  { rain: 0.65, cloudy: 0.22, 'dry-wind': 0.02, dry: 0.11 },
  { rain: 0.45, cloudy: 0.25, 'dry-wind': 0.02, dry: 0.28 },
  { rain: 0.2, cloudy: 0.25, 'dry-wind': 0.03, dry: 0.52 },
  { rain: 0.08, cloudy: 0.25, 'dry-wind': 0.05, dry: 0.62 },
  { rain: 0.05, cloudy: 0.25, 'dry-wind': 0.05, dry: 0.65 },
];

/** How the day regimes of a scenario are chosen. */
export const WEATHER_MODES = ['seasonal', 'dry-spell', 'wet'] as const;
export type WeatherMode = (typeof WEATHER_MODES)[number];

export interface Shower {
  /** Local minutes after midnight of the day. */
  startMin: number;
  durationMin: number;
  /** Site-mean rainfall of this shower. */
  amountMm: number;
}

export interface DayPlan {
  /** Days since 1970-01-01 in local time. */
  localDay: number;
  regime: DayRegime;
  /** At the reference elevation. */
  tMaxC: number;
  tMinC: number;
  rh13Pct: number;
  rhNightPct: number;
  showers: Shower[];
  /** Site-mean wind at the afternoon peak. */
  windPeakMs: number;
  windFromDeg: number;
}

export interface WeatherPlanOptions {
  seed: number;
  startMs: number;
  endMs: number;
  mode: WeatherMode;
  /** Regime of specific days, keyed by day number from the scenario start (0 = first day). */
  dayRegimes?: ReadonlyMap<number, DayRegime>;
  windFromDeg?: number;
}

export const localDayOf = (ms: number) => Math.floor((ms + LOCAL_OFFSET_MS) / DAY_MS);
/** Local hour of day as a fraction, 0 ≤ h < 24. */
export const localHourOf = (ms: number) => (((ms + LOCAL_OFFSET_MS) % DAY_MS) + DAY_MS) % DAY_MS / 3600_000;
export const localMidnightMs = (localDay: number) => localDay * DAY_MS - LOCAL_OFFSET_MS;

function pickRegime(rng: Prng, month: number, mode: WeatherMode, previous: DayRegime | undefined): DayRegime {
  if (mode === 'dry-spell') return rng.chance(0.25) ? 'dry-wind' : 'dry';
  if (mode === 'wet') return rng.chance(0.7) ? 'rain' : 'cloudy';
  // Weather persists: keep yesterday's regime half the time.
  if (previous !== undefined && rng.chance(0.5)) return previous;
  const chances = MONTHLY_REGIME_CHANCE[month] ?? MONTHLY_REGIME_CHANCE[0]!;
  let u = rng.next();
  for (const regime of DAY_REGIMES) {
    u -= chances[regime];
    if (u < 0) return regime;
  }
  return 'dry';
}

function planShowers(rng: Prng, regime: DayRegime): Shower[] {
  if (regime === 'rain') {
    // A rain day brings a realistic, index-resetting amount: 8–45 mm, mostly afternoon/evening convection.
    const total = 8 + Math.min(37, -Math.log(1 - rng.next()) * 12);
    const count = rng.int(1, 3);
    const weights = Array.from({ length: count }, () => rng.uniform(0.5, 1.5));
    const weightSum = weights.reduce((a, b) => a + b, 0);
    return weights.map((w) => ({
      startMin: Math.round(rng.uniform(12 * 60, 21 * 60)),
      durationMin: Math.round(rng.uniform(30, 150)),
      amountMm: (total * w) / weightSum,
    }));
  }
  if (regime === 'cloudy' && rng.chance(0.3)) {
    // Drizzle well under the 5 mm reset threshold.
    return [{ startMin: Math.round(rng.uniform(0, 20 * 60)), durationMin: Math.round(rng.uniform(20, 90)), amountMm: rng.uniform(0.2, 1.5) }];
  }
  return [];
}

/** Plans every local day touched by [startMs, endMs], site-wide. */
export function planWeather(opts: WeatherPlanOptions): DayPlan[] {
  const rng = Prng.derive(opts.seed, 'weather-plan');
  const firstDay = localDayOf(opts.startMs);
  // One extra day on each side: the evening/night curves need the neighbouring day.
  const lastDay = localDayOf(opts.endMs) + 1;
  const plans: DayPlan[] = [];
  let previous: DayRegime | undefined;
  let anomaly = 0;
  for (let day = firstDay - 1; day <= lastDay; day++) {
    const month = new Date(localMidnightMs(day) + LOCAL_OFFSET_MS).getUTCMonth();
    const climate = MONTHLY_CLIMATE[month] ?? MONTHLY_CLIMATE[0]!;
    const override = opts.dayRegimes?.get(day - firstDay);
    const regime = override ?? pickRegime(rng, month, opts.mode, previous);
    previous = regime;
    // Day-to-day temperature anomaly with memory (AR(1)).
    anomaly = 0.7 * anomaly + rng.normal(0, 1.0);
    let tMax = climate.tMaxC + anomaly;
    let tMin = climate.tMinC + anomaly * 0.6;
    let rh13: number;
    let rhNight: number;
    let windPeak: number;
    let windFrom = opts.windFromDeg ?? PREVAILING_WIND_FROM_DEG;
    switch (regime) {
      case 'dry':
        tMax += 1;
        tMin -= 1; // clear nights cool more
        rh13 = rng.uniform(40, 60);
        rhNight = rng.uniform(85, 95);
        windPeak = rng.uniform(2, 3.5);
        break;
      case 'dry-wind':
        tMax += 2.5;
        rh13 = rng.uniform(25, 35);
        rhNight = rng.uniform(70, 85);
        windPeak = rng.uniform(5, 8);
        if (opts.windFromDeg === undefined) windFrom = FOEHN_WIND_FROM_DEG;
        break;
      case 'rain':
        tMax -= 4;
        tMin += 0.5;
        rh13 = rng.uniform(75, 90);
        rhNight = rng.uniform(93, 99);
        windPeak = rng.uniform(2.5, 5);
        break;
      case 'cloudy':
        tMax -= 2.5;
        tMin += 1;
        rh13 = rng.uniform(65, 80);
        rhNight = rng.uniform(88, 97);
        windPeak = rng.uniform(1.5, 3);
        break;
    }
    plans.push({
      localDay: day,
      regime,
      tMaxC: tMax,
      tMinC: Math.min(tMin, tMax - 2),
      rh13Pct: rh13,
      rhNightPct: rhNight,
      showers: planShowers(rng, regime),
      windPeakMs: windPeak,
      windFromDeg: windFrom,
    });
  }
  return plans;
}

/** Saturation vapour pressure over water, hPa (WMO CIMO Magnus form). */
export function saturationVapourPressureHpa(tC: number): number {
  return 6.112 * Math.exp((17.62 * tC) / (243.12 + tC));
}

/** Diurnal rise shape: 0 at 06:00 (minimum), 1 at 14:00 (maximum). */
const rise = (h: number) => 0.5 - 0.5 * Math.cos((Math.PI * (h - 6)) / 8);
/** Evening/night fall: 1 at 14:00, 0 at 06:00 next day (h from 14 to 30). */
const fall = (h: number) => 0.5 + 0.5 * Math.cos((Math.PI * (h - 14)) / 16);

export interface WeatherSample {
  temperatureC: number;
  humidityPct: number;
  windMs: number;
  windFromDeg: number;
}

export interface SiteWeatherOptions extends WeatherPlanOptions {}

/** Site weather: evaluates the day plan at any instant and elevation. */
export class SiteWeather {
  readonly days: DayPlan[];
  private readonly firstDay: number;
  private readonly meander: Float64Array;
  private readonly meanderStartMs: number;
  private static readonly MEANDER_STEP_MS = 10 * 60_000;

  constructor(opts: SiteWeatherOptions) {
    this.days = planWeather(opts);
    this.firstDay = this.days[0]!.localDay;
    // Wind direction wanders around the day's direction (random walk pulled back, 10-min steps).
    const rng = Prng.derive(opts.seed, 'wind-meander');
    this.meanderStartMs = localMidnightMs(this.firstDay);
    const steps = Math.ceil((this.days.length * DAY_MS) / SiteWeather.MEANDER_STEP_MS) + 2;
    this.meander = new Float64Array(steps);
    let m = 0;
    for (let i = 0; i < steps; i++) {
      m = 0.85 * m + rng.normal(0, 6);
      this.meander[i] = m;
    }
  }

  day(localDay: number): DayPlan {
    const i = Math.min(Math.max(localDay - this.firstDay, 0), this.days.length - 1);
    return this.days[i]!;
  }

  /** Temperature (°C) and vapour pressure (hPa) at the reference elevation. */
  private referenceAir(ms: number): { tC: number; eHpa: number; dayPlan: DayPlan; hour: number } {
    const localDay = localDayOf(ms);
    const hour = localHourOf(ms);
    const today = this.day(localDay);
    let tC: number;
    let eHpa: number;
    const eNight = (d: DayPlan) => (d.rhNightPct / 100) * saturationVapourPressureHpa(d.tMinC);
    const e13 = (d: DayPlan) => {
      const t13 = d.tMinC + (d.tMaxC - d.tMinC) * rise(13);
      return (d.rh13Pct / 100) * saturationVapourPressureHpa(t13);
    };
    if (hour < 6) {
      const yesterday = this.day(localDay - 1);
      const f = fall(hour + 24);
      tC = today.tMinC + (yesterday.tMaxC - today.tMinC) * f;
      eHpa = eNight(today) + (e13(yesterday) - eNight(today)) * f;
    } else if (hour < 14) {
      const f = rise(hour);
      tC = today.tMinC + (today.tMaxC - today.tMinC) * f;
      eHpa = eNight(today) + (e13(today) - eNight(today)) * f;
    } else {
      const tomorrow = this.day(localDay + 1);
      const f = fall(hour);
      tC = tomorrow.tMinC + (today.tMaxC - tomorrow.tMinC) * f;
      eHpa = eNight(tomorrow) + (e13(today) - eNight(tomorrow)) * f;
    }
    return { tC, eHpa, dayPlan: today, hour };
  }

  /** Noise-free air at an elevation; rain showers saturate the air. */
  at(ms: number, elevationM: number): WeatherSample {
    const { tC: refT, eHpa, dayPlan, hour } = this.referenceAir(ms);
    const dz = elevationM - CLIMATE_REFERENCE_ELEVATION_M;
    const tC = refT - LAPSE_RATE_C_PER_M * dz;
    // Vapour pressure falls with height too (≈ scale height 2.5 km).
    const e = eHpa * Math.exp(-dz / 2500);
    let rh = (100 * e) / saturationVapourPressureHpa(tC);
    const raining = this.rainRateMmPerMin(ms) > 0;
    if (raining) rh = Math.max(rh, 96);
    rh = Math.min(100, Math.max(1, rh));
    // Valley wind: calm nights, afternoon peak.
    const diurnal = 0.35 + 0.65 * Math.max(0, Math.sin((Math.PI * (hour - 8)) / 12));
    const windMs = dayPlan.windPeakMs * diurnal * (raining ? 1.3 : 1);
    const meanderIndex = Math.floor((ms - this.meanderStartMs) / SiteWeather.MEANDER_STEP_MS);
    const meander = this.meander[Math.min(Math.max(meanderIndex, 0), this.meander.length - 1)] ?? 0;
    return { temperatureC: tC, humidityPct: rh, windMs, windFromDeg: (dayPlan.windFromDeg + meander + 360) % 360 };
  }

  /** Site-mean rain rate (mm/min) at an instant. */
  rainRateMmPerMin(ms: number): number {
    const d = this.day(localDayOf(ms));
    const minute = localHourOf(ms) * 60;
    let rate = 0;
    for (const s of d.showers) {
      if (minute >= s.startMin && minute < s.startMin + s.durationMin) rate += s.amountMm / s.durationMin;
    }
    return rate;
  }

  /** Site-mean rain (mm) that fell in (fromMs, toMs]; exact, so daily sums equal the plan. */
  rainBetween(fromMs: number, toMs: number): number {
    if (toMs <= fromMs) return 0;
    let total = 0;
    for (let day = localDayOf(fromMs); day <= localDayOf(toMs); day++) {
      const plan = this.day(day);
      if (plan.localDay !== day) continue;
      const midnight = localMidnightMs(day);
      for (const s of plan.showers) {
        const a = midnight + s.startMin * 60_000;
        const b = a + s.durationMin * 60_000;
        const overlap = Math.min(b, toMs) - Math.max(a, fromMs);
        if (overlap > 0) total += (s.amountMm * overlap) / (b - a);
      }
    }
    return total;
  }
}

export interface NesterovDay {
  t13: number;
  rh13: number;
  rainMm: number;
}

/**
 * Vietnamese Nesterov-type index (QĐ 127/2000): P = Σ t13·d13 with d13 = E(t13)(1 − RH13/100) hPa,
 * reset to 0 on a day with rain ≥ the threshold. Returns P at the end of each day. Used to check the
 * simulator, not as the rules engine's implementation.
 */
export function nesterovSeries(days: readonly NesterovDay[], rainResetMm = 5): number[] {
  let p = 0;
  return days.map((d) => {
    if (d.rainMm >= rainResetMm) p = 0;
    else p += d.t13 * saturationVapourPressureHpa(d.t13) * (1 - d.rh13 / 100);
    return p;
  });
}

/** National table: level I ≤ 1,000 < II ≤ 2,500 < III ≤ 5,000 < IV ≤ 10,000 < V. */
export function nationalLevel(p: number, thresholds: readonly number[] = [1000, 2500, 5000, 10000]): number {
  let level = 1;
  for (const t of thresholds) if (p > t) level++;
  return level;
}
