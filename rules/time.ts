// Time helpers for the engine. Time is always passed in (virtual clock); nothing here reads the
// wall clock. Vietnam has no daylight saving, so local time is a fixed offset (UTC+7).

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

const DIGIT0 = 48;

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function digits(s: string, from: number, n: number): number {
  let v = 0;
  for (let i = from; i < from + n; i++) {
    const d = s.charCodeAt(i) - DIGIT0;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * Milliseconds since the epoch of an ISO 8601 instant with an explicit offset
 * (2026-02-14T06:00:00Z, 2026-02-14T13:00:00.250+07:00). A fast path for the fixed layout the
 * readings use; anything else goes through Date.parse. NaN when unparseable.
 */
export function parseInstant(s: string): number {
  const v = parseInstantFast(s);
  return v === v ? v : Date.parse(s);
}

/**
 * The fast path alone: YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM) with calendar-valid fields, else NaN
 * (never falls back to Date.parse).
 */
export function parseInstantFast(s: string): number {
  const n = s.length;
  if (n >= 20 && s.charCodeAt(4) === 45 && s.charCodeAt(7) === 45 && s.charCodeAt(10) === 84 && s.charCodeAt(13) === 58 && s.charCodeAt(16) === 58) {
    const y = digits(s, 0, 4);
    const mo = digits(s, 5, 2);
    const d = digits(s, 8, 2);
    const h = digits(s, 11, 2);
    const mi = digits(s, 14, 2);
    const se = digits(s, 17, 2);
    if (y >= 0 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && se >= 0 && se <= 59) {
      let i = 19;
      let ms = 0;
      if (s.charCodeAt(i) === 46) {
        i++;
        const c0 = s.charCodeAt(i) - DIGIT0;
        if (c0 < 0 || c0 > 9) return NaN;
        let scale = 100;
        while (i < n) {
          const c = s.charCodeAt(i) - DIGIT0;
          if (c < 0 || c > 9) break;
          ms += c * scale;
          scale /= 10;
          i++;
        }
      }
      let offsetMin = 0;
      const c = s.charCodeAt(i);
      if (c === 90 && i === n - 1) offsetMin = 0;
      else if ((c === 43 || c === 45) && i + 6 === n && s.charCodeAt(i + 3) === 58) {
        const oh = digits(s, i + 1, 2);
        const om = digits(s, i + 4, 2);
        if (oh < 0 || om < 0 || oh > 23 || om > 59) return NaN;
        offsetMin = (c === 45 ? -1 : 1) * (oh * 60 + om);
      } else return NaN;
      // Strict calendar: 2026-02-30 is refused, not rolled over to March.
      if (d > daysInMonth(y, mo)) return NaN;
      const base = daysFromCivil(y, mo, d) * DAY_MS + h * HOUR_MS + mi * MINUTE_MS + se * 1000;
      return base + Math.round(ms) - offsetMin * MINUTE_MS;
    }
  }
  return NaN;
}

/** Local day number (days since 1970-01-01 local) of an instant. */
export function localDay(ms: number, offsetMin: number): number {
  return Math.floor((ms + offsetMin * MINUTE_MS) / DAY_MS);
}

/** Minutes after local midnight. */
export function localMinuteOfDay(ms: number, offsetMin: number): number {
  const local = ms + offsetMin * MINUTE_MS;
  return Math.floor((local - Math.floor(local / DAY_MS) * DAY_MS) / MINUTE_MS);
}

/** YYYY-MM-DD of a local day number. */
export function dayToDate(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** Instant (ms) of a local day at a local minute of day. */
export function localDayMinuteToMs(day: number, minute: number, offsetMin: number): number {
  return day * DAY_MS + (minute - offsetMin) * MINUTE_MS;
}

/** ISO instant in UTC, e.g. 2026-02-14T06:00:00.000Z. */
export function isoUtc(ms: number): string {
  return new Date(ms).toISOString();
}

/** ISO instant with the local offset, e.g. 2026-02-14T13:00:00+07:00 (whole seconds). */
export function isoLocal(ms: number, offsetMin: number): string {
  const local = new Date(Math.round(ms / 1000) * 1000 + offsetMin * MINUTE_MS).toISOString().slice(0, 19);
  const sign = offsetMin < 0 ? '-' : '+';
  const a = Math.abs(offsetMin);
  return `${local}${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

/** Compact UTC stamp for ids: 20260214t060000. */
export function idStamp(ms: number): string {
  const s = new Date(ms).toISOString();
  return `${s.slice(0, 4)}${s.slice(5, 7)}${s.slice(8, 10)}t${s.slice(11, 13)}${s.slice(14, 16)}${s.slice(17, 19)}`;
}
