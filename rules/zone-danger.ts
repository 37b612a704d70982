// The zone's daily 13:00 observation, 24-hour rain and official Nesterov level; the provisional
// intra-day value; the advisory FWI codes of zones that measure wind and rain.
//
// 13:00 observation: every healthy node's readings in the window 13:00 ± windowMinutes local
// (Asia/Ho_Chi_Minh) are reduced to the node's median temperature and median humidity (at least
// minSamplesPerNode readings); the zone's t13 and rh13 are the medians over its nodes. Readings
// taken while a node is unhealthy or part of a suspected fire are not used. d13 is computed
// from t13 and rh13.
// Rain: the 24 hours (13:00 yesterday, 13:00 today], summed per node over de-duplicated
// readings (node, seq); a node's total is complete when its readings cover rainCoverage of the
// day. The zone's rain is the median of its complete gauges.
// Quality, never silently computed from nothing:
//   ok           ≥ okNodeFraction of the zone's nodes in the 13:00 window and a complete gauge
//                in the zone, and no estimated or missing day since the last reset;
//   estimated    fewer nodes, or the inputs borrowed from the rest of the site (no usable node
//                or gauge in the zone), or a partial rain total (the largest partial sum, a lower
//                bound), or an estimated/unavailable day earlier in the current chain;
//   unavailable  no 13:00 observation anywhere on the site: level and P are null and P is
//                carried unchanged to the next day (which is then estimated).
// Provisional (official: false): the same computation for the next official date from the
// last provisionalWindowMinutes of readings and the rain so far; it changes no state.
// FWI: for a zone with its own complete rain gauge and wind readings in the 13:00 window, the
// cffdrs daily step from the zone's 13:00 observation, median wind and 24-h rain (an hour after
// the standard noon observation: an advisory index, slightly on the dry side).
import { ownValue } from '../platform/records.ts';
import type { Danger, DangerLevel, FwiCodes } from '../contracts/payloads.ts';
import type { DangerTable } from '../contracts/site.ts';
import type { DangerConfig } from './config.ts';
import { DANGER_LEVEL_INFO, dangerLevelFromP, nesterovStep, saturationDeficit } from './nesterov.ts';
import { FWI_STARTUP, fwiDay, type FwiCodes as FwiMoisture } from './fwi.ts';
import { makeEvent, stableId, type EventSink } from './events.ts';
import { DAY_MS, MINUTE_MS, dayToDate, isoLocal } from './time.ts';

export interface ZoneNode {
  id: string;
  zone: string;
  intervalMs: number;
}

export interface ZoneInfo {
  id: string;
  lat: number;
}

export function median(values: number[]): number {
  const a = values.slice().sort((x, y) => x - y);
  const n = a.length;
  if (n === 0) return NaN;
  return n % 2 ? a[(n - 1) >> 1]! : (a[n / 2 - 1]! + a[n / 2]!) / 2;
}

interface WindowSamples {
  day: number;
  t: number[];
  h: number[];
  w: number[];
  seqs: number[];
}

interface RainDay {
  day: number;
  sum: number;
  seqs: Set<number>;
}

export interface ZoneDangerState {
  p: number;
  level: DangerLevel | null;
  /** A day since the last reset was estimated or unavailable. */
  chainEstimated: boolean;
  lastDate: string | null;
  /** FWI moisture codes after the last computed day (null: not started). */
  fwi: FwiMoisture | null;
}

/** The last readings of a node for the provisional value: [ts, t, h] triples in a ring. */
const RING = 64;

export interface DailyState {
  /** Last local day computed (days since epoch), or null before the first. */
  lastDay: number | null;
  zones: Record<string, ZoneDangerState>;
  windows: (WindowSamples | null)[];
  rain: { day: number; sum: number; seqs: number[] }[][];
  recent: number[][];
  recentHead: number[];
}

interface Obs {
  i: number;
  t: number;
  h: number;
  w: number | null;
}

interface RainTotal {
  sum: number;
  complete: boolean;
}

const round2 = (v: number) => Math.round(v * 100) / 100;
const newZoneState = (): ZoneDangerState => ({ p: 0, level: null, chainEstimated: false, lastDate: null, fwi: null });

export class ZoneDaily {
  private readonly nodes: readonly ZoneNode[];
  private readonly zoneInfo: readonly ZoneInfo[];
  private readonly cfg: DangerConfig;
  private readonly table: DangerTable;
  private readonly offsetMs: number;
  private readonly winStartMs: number;
  private readonly winEndMs: number;
  private readonly officialMs: number;
  private windows: (WindowSamples | null)[];
  private rain: RainDay[][];
  private zones: Record<string, ZoneDangerState>;
  private recent: Float64Array[];
  private recentHead: number[];
  lastDay: number | null;

  constructor(nodes: readonly ZoneNode[], zones: readonly ZoneInfo[], table: DangerTable, cfg: DangerConfig, utcOffsetMinutes: number, state?: DailyState) {
    this.nodes = nodes;
    this.zoneInfo = zones;
    this.cfg = cfg;
    this.table = table;
    this.offsetMs = utcOffsetMinutes * MINUTE_MS;
    this.officialMs = cfg.officialMinute * MINUTE_MS;
    this.winStartMs = this.officialMs - cfg.windowMinutes * MINUTE_MS;
    this.winEndMs = this.officialMs + cfg.windowMinutes * MINUTE_MS;
    this.windows = state ? state.windows.map((w) => (w ? { day: w.day, t: [...w.t], h: [...w.h], w: [...(w.w ?? [])], seqs: [...w.seqs] } : null)) : nodes.map(() => null);
    this.rain = state ? state.rain.map((days) => days.map((d) => ({ day: d.day, sum: d.sum, seqs: new Set(d.seqs) }))) : nodes.map(() => []);
    this.zones = state ? Object.fromEntries(Object.entries(state.zones).map(([k, v]) => [k, { ...newZoneState(), ...v }])) : {};
    for (const z of zones) if (!Object.hasOwn(this.zones, z.id)) this.zones[z.id] = newZoneState();
    this.recent = nodes.map((_, i) => {
      const ring = new Float64Array(RING * 3).fill(NaN);
      const saved = state?.recent?.[i];
      if (saved) ring.set(saved.slice(0, RING * 3));
      return ring;
    });
    this.recentHead = state?.recentHead ? [...state.recentHead] : nodes.map(() => 0);
    this.lastDay = state ? state.lastDay : null;
  }

  snapshot(): DailyState {
    return {
      lastDay: this.lastDay,
      zones: Object.fromEntries(Object.entries(this.zones).map(([k, v]) => [k, { ...v, fwi: v.fwi ? { ...v.fwi } : null }])),
      windows: this.windows.map((w) => (w ? { day: w.day, t: [...w.t], h: [...w.h], w: [...w.w], seqs: [...w.seqs] } : null)),
      rain: this.rain.map((days) => days.map((d) => ({ day: d.day, sum: d.sum, seqs: [...d.seqs] }))),
      recent: this.recent.map((r) => Array.from(r)),
      recentHead: [...this.recentHead],
    };
  }

  zoneState(zone: string): Readonly<ZoneDangerState> | undefined {
    return ownValue(this.zones, zone);
  }

  /**
   * A usable reading of node i (healthy node, plausible values). `weatherOk` is false while the
   * node is part of a suspected fire: its rain still counts, its temperature does not.
   */
  add(i: number, seq: number, ts: number, t: number, h: number, rainMm: number | undefined, weatherOk: boolean, windMs?: number): void {
    const local = ts + this.offsetMs;
    if (weatherOk) {
      const day = Math.floor(local / DAY_MS);
      const tod = local - day * DAY_MS;
      if (tod >= this.winStartMs && tod <= this.winEndMs) {
        let w = this.windows[i];
        if (!w || w.day !== day) {
          if (w && w.day > day) w = null; // a late reading for an older window: ignore
          else this.windows[i] = w = { day, t: [], h: [], w: [], seqs: [] };
        }
        if (w && !w.seqs.includes(seq)) {
          w.seqs.push(seq);
          w.t.push(t);
          w.h.push(h);
          if (windMs !== undefined) w.w.push(windMs);
        }
      }
      const ring = this.recent[i]!;
      const head = this.recentHead[i]!;
      ring[head * 3] = ts;
      ring[head * 3 + 1] = t;
      ring[head * 3 + 2] = h;
      this.recentHead[i] = (head + 1) % RING;
    }
    if (rainMm !== undefined) {
      // Rain day D covers (13:00 of D−1, 13:00 of D].
      const rd = Math.ceil((local - this.officialMs) / DAY_MS);
      const days = this.rain[i]!;
      let bucket = days.length ? days[days.length - 1] : undefined;
      if (!bucket || bucket.day !== rd) {
        bucket = days.find((b) => b.day === rd);
        if (!bucket) {
          if (days.length && rd < days[0]!.day) return; // older than anything kept
          bucket = { day: rd, sum: 0, seqs: new Set() };
          days.push(bucket);
          days.sort((a, b) => a.day - b.day);
          while (days.length > 3) days.shift();
        }
      }
      if (!bucket.seqs.has(seq)) {
        bucket.seqs.add(seq);
        bucket.sum += rainMm;
      }
    }
  }

  /** Instant at which the official value of local day `day` is computed. */
  computeAt(day: number): number {
    return day * DAY_MS - this.offsetMs + this.winEndMs + this.cfg.graceS * 1000;
  }

  /** First local day whose whole window lies at or after `ms`. */
  firstDayFrom(ms: number): number {
    const local = ms + this.offsetMs;
    const day = Math.floor(local / DAY_MS);
    return local - day * DAY_MS <= this.winStartMs ? day : day + 1;
  }

  /** The next local day with an official value still to compute. */
  nextDay(startMs: number): number {
    return this.lastDay === null ? this.firstDayFrom(startMs) : this.lastDay + 1;
  }

  /** Computes every official day due by `nowMs`; emits level-changed events; returns the dangers. */
  advance(nowMs: number, startMs: number, emit: EventSink): Danger[] {
    const out: Danger[] = [];
    let next = this.nextDay(startMs);
    while (this.computeAt(next) <= nowMs) {
      out.push(...this.computeDay(next, emit));
      this.lastDay = next;
      next++;
    }
    return out;
  }

  private windowObservation(i: number, day: number): Obs | null {
    const w = this.windows[i];
    if (!w || w.day !== day || w.t.length < this.cfg.minSamplesPerNode) return null;
    return { i, t: median(w.t), h: median(w.h), w: w.w.length ? median(w.w) : null };
  }

  private recentObservation(i: number, fromMs: number, toMs: number): Obs | null {
    const ring = this.recent[i]!;
    const t: number[] = [];
    const h: number[] = [];
    for (let k = 0; k < RING; k++) {
      const ts = ring[k * 3]!;
      if (ts >= fromMs && ts <= toMs) {
        t.push(ring[k * 3 + 1]!);
        h.push(ring[k * 3 + 2]!);
      }
    }
    if (t.length < this.cfg.minSamplesPerNode) return null;
    return { i, t: median(t), h: median(h), w: null };
  }

  private nodeRain(i: number, day: number): RainTotal | null {
    const b = this.rain[i]!.find((x) => x.day === day);
    if (!b) return null;
    const expected = DAY_MS / this.nodes[i]!.intervalMs;
    return { sum: b.sum, complete: b.seqs.size >= this.cfg.rainCoverage * expected };
  }

  /** The official danger of every zone for local day `day`. */
  computeDay(day: number, emit: EventSink): Danger[] {
    const obs = this.nodes.map((_, i) => this.windowObservation(i, day));
    const rain = this.nodes.map((_, i) => this.nodeRain(i, day));
    const ts = isoLocal(day * DAY_MS - this.offsetMs + this.officialMs, this.offsetMs / MINUTE_MS);
    return this.zoneInfo.map((z) => this.evaluate(z, day, ts, obs, rain, true, emit));
  }

  /**
   * Provisional values (official: false) of the next official date, from the readings of the
   * last `windowMinutes` before nowMs and the rain so far. Changes no state.
   */
  provisional(nowMs: number, startMs: number, windowMinutes: number): Danger[] {
    const day = this.nextDay(startMs);
    const obs = this.nodes.map((_, i) => this.recentObservation(i, nowMs - windowMinutes * MINUTE_MS, nowMs));
    // Rain so far is by nature incomplete: judge it as complete (it can only grow).
    const rain = this.nodes.map((_, i) => {
      const r = this.nodeRain(i, day);
      return r ? { sum: r.sum, complete: true } : null;
    });
    const ts = isoLocal(nowMs, this.offsetMs / MINUTE_MS);
    return this.zoneInfo.map((z) => this.evaluate(z, day, ts, obs, rain, false, () => {}));
  }

  private evaluate(zoneInfo: ZoneInfo, day: number, ts: string, obs: (Obs | null)[], rain: (RainTotal | null)[], official: boolean, emit: EventSink): Danger {
    const zone = zoneInfo.id;
    const date = dayToDate(day);
    const live = this.zones[zone]!;
    // Provisional: work on a copy so nothing changes.
    const zs: ZoneDangerState = official ? live : { ...live, fwi: live.fwi ? { ...live.fwi } : null };
    const members = this.nodes.flatMap((n, i) => (n.zone === zone ? [i] : []));
    const siteObs = obs.filter((o): o is Obs => o !== null);
    const zoneObs = siteObs.filter((o) => this.nodes[o.i]!.zone === zone);
    let estimated = false;
    let used = zoneObs;
    if (used.length === 0) {
      used = siteObs; // borrow the rest of the site
      estimated = true;
    } else if (used.length < Math.max(1, Math.ceil(this.cfg.okNodeFraction * members.length))) estimated = true;

    const zoneRain = members.map((i) => rain[i]).filter((r): r is RainTotal => r !== null && r !== undefined);
    const complete = zoneRain.filter((r) => r.complete).map((r) => r.sum);
    const siteComplete = rain.flatMap((r) => (r && r.complete ? [r.sum] : []));
    const sitePartial = rain.flatMap((r) => (r ? [r.sum] : []));
    let rain24: number | null;
    if (complete.length) rain24 = median(complete);
    else if (zoneRain.length) {
      rain24 = Math.max(...zoneRain.map((r) => r.sum));
      estimated = true;
    } else if (siteComplete.length) {
      rain24 = median(siteComplete);
      estimated = true;
    } else if (sitePartial.length) {
      rain24 = Math.max(...sitePartial);
      estimated = true;
    } else {
      rain24 = null; // no gauge reported anywhere: treated as no rain, estimated
      estimated = true;
    }

    // The zone's own gauge reaching the limit makes the reset certain (a partial sum is a lower bound).
    const certainReset = rain24 !== null && rain24 >= this.table.rainResetMm && zoneRain.length > 0;
    if (used.length === 0 && !certainReset) {
      // Nothing to compute from: say so, carry P unchanged.
      zs.chainEstimated = true;
      zs.lastDate = date;
      return {
        zoneId: zone,
        date,
        ts,
        official,
        quality: 'unavailable',
        level: null,
        levelName: null,
        nesterovP: null,
        inputs: { t13: null, rh13: null, d13: null, rain24hMm: rain24 === null ? null : round2(rain24), nodesUsed: [] },
      };
    }
    const t13 = used.length ? median(used.map((o) => o.t)) : NaN;
    const rh13 = used.length ? median(used.map((o) => o.h)) : NaN;
    const step = used.length ? nesterovStep(zs.p, { t13, rh13, rainMm: rain24 ?? 0 }, this.table) : { p: 0, reset: true };
    let quality: Danger['quality'];
    if (certainReset) {
      zs.chainEstimated = false; // a measured reset starts a fresh, exact chain
      quality = used.length ? 'ok' : 'estimated';
    } else {
      if (estimated) zs.chainEstimated = true;
      quality = zs.chainEstimated ? 'estimated' : 'ok';
    }
    zs.p = step.p;
    const level = dangerLevelFromP(step.p, this.table.thresholds);
    const previous = zs.level;
    zs.level = level;
    zs.lastDate = date;
    const danger: Danger = {
      zoneId: zone,
      date,
      ts,
      official,
      quality,
      level,
      levelName: DANGER_LEVEL_INFO[level].label,
      nesterovP: round2(step.p),
      inputs: {
        t13: used.length ? round2(t13) : null,
        rh13: used.length ? round2(rh13) : null,
        d13: used.length ? round2(saturationDeficit(t13, rh13, this.table.deficitUnit)) : null,
        rain24hMm: rain24 === null ? null : round2(rain24),
        nodesUsed: used.map((o) => this.nodes[o.i]!.id),
      },
    };
    // FWI for zones that measure wind and rain themselves (official values only).
    const winds = zoneObs.flatMap((o) => (o.w === null ? [] : [o.w]));
    if (official && complete.length && winds.length && used === zoneObs) {
      const windKmh = median(winds) * 3.6;
      const month = Number(date.slice(5, 7));
      const d = fwiDay(zs.fwi ?? FWI_STARTUP, { temp: t13, rh: rh13, wind: windKmh, precip: rain24 ?? 0, month, lat: zoneInfo.lat });
      zs.fwi = { ffmc: d.ffmc, dmc: d.dmc, dc: d.dc };
      const codes: FwiCodes = { ffmc: round2(d.ffmc), dmc: round2(d.dmc), dc: round2(d.dc), isi: round2(d.isi), bui: round2(d.bui), fwi: round2(d.fwi), dsr: round2(d.dsr), windKmh: round2(windKmh) };
      danger.fwi = codes;
    }
    if (official && previous !== null && previous !== level) {
      emit(
        makeEvent('level-changed', stableId('level', zone, date.replaceAll('-', '')), zone, ts, {
          date,
          nesterovP: round2(step.p),
          quality,
          levelName: DANGER_LEVEL_INFO[level].label,
          previousLevelName: DANGER_LEVEL_INFO[previous].label,
          reset: step.reset,
        }, { level, previousLevel: previous }),
      );
    }
    return danger;
  }
}
