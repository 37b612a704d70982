// The rules engine: readings in, events and daily danger values out, under a clock that is
// always passed in (live: arrival time; backtest: virtual time). Synchronous and deterministic:
// the same readings with the same arrival times give the same events, and a snapshot restored
// into a new engine continues exactly as the original would have.
//
//   reading ─▶ sensor health ─▶ (healthy, in order) fire detection
//                           └─▶ (healthy)           zone 13:00 window + 24-h rain
//   clock   ─▶ offline nodes, stale incidents, official daily level per zone at 13:00 + window
import type { Danger, FireEvent } from '../contracts/payloads.ts';
import type { Site } from '../contracts/site.ts';
import { DEFAULT_RULES_CONFIG, type RulesConfig } from './config.ts';
import { FireDetector, type DetectorState } from './detection.ts';
import { LATE, SKIP, USE, healthOnReading, healthOnTick, isHealthy, newNodeHealth, shiftHealth, type NodeHealthState, type ReadingValues } from './sensor-health.ts';
import { ZoneDaily, type DailyState } from './zone-danger.ts';
import { parseInstant } from './time.ts';
import { parseStateJson, stringifyState } from './state-json.ts';

/** A reading as the engine needs it: the contract's Reading, numbers not yet bounds-checked. */
export interface EngineReading extends ReadingValues {
  nodeId: string;
  windMs?: number | undefined;
  /** ISO 8601 instant with offset. */
  ts: string;
}

export interface EngineStats {
  readings: number;
  unknownNode: number;
  badTimestamp: number;
  used: number;
  late: number;
  skipped: number;
  anomalous: number;
}

export interface EngineState {
  version: 1;
  siteId: string;
  nodeIds: string[];
  startMs: number;
  nowMs: number;
  health: NodeHealthState[];
  detector: DetectorState;
  daily: DailyState;
  stats: EngineStats;
}

export interface EngineSinks {
  event?: (event: FireEvent) => void;
  danger?: (danger: Danger) => void;
}

const STALE_CHECK_MS = 60_000;

export class RulesEngine {
  readonly site: Site;
  readonly config: RulesConfig;
  private readonly nodeIds: string[];
  private readonly index = new Map<string, number>();
  private readonly nodes: { id: string; zone: string; intervalMs: number; lat: number; lon: number; hasRain: boolean }[];
  private readonly health: NodeHealthState[];
  private readonly detector: FireDetector;
  private readonly daily: ZoneDaily;
  private readonly startMs: number;
  private nowMs: number;
  private nextOfflineCheck = -Infinity;
  private nextStaleCheck = -Infinity;
  private nextDailyAt: number;
  private readonly emitEvent: (e: FireEvent) => void;
  private readonly emitDanger: (d: Danger) => void;
  readonly stats: EngineStats;

  constructor(site: Site, startMs: number, sinks: EngineSinks = {}, config: RulesConfig = DEFAULT_RULES_CONFIG, state?: EngineState) {
    this.site = site;
    this.config = config;
    this.nodes = site.nodes.map((n) => ({ id: n.id, zone: n.zone, intervalMs: n.reportingIntervalS * 1000, lat: n.lat, lon: n.lon, hasRain: n.sensors.includes('rain') }));
    this.nodeIds = this.nodes.map((n) => n.id);
    this.nodes.forEach((n, i) => this.index.set(n.id, i));
    if (state) {
      if (state.version !== 1) throw new Error(`unsupported rules state version ${String(state.version)}`);
      if (state.siteId !== site.site.id || state.nodeIds.join(',') !== this.nodeIds.join(',')) {
        throw new Error('rules state belongs to another site layout (site id or node list changed)');
      }
    }
    this.startMs = state ? state.startMs : startMs;
    this.nowMs = state ? state.nowMs : startMs;
    this.health = state ? state.health.map((h) => ({ ...newNodeHealth(startMs), ...h, faults: { ...newNodeHealth(startMs).faults, ...h.faults } })) : this.nodes.map(() => newNodeHealth(startMs));
    this.detector = new FireDetector(this.nodes, config.detection, (i) => isHealthy(this.health[i]!), state?.detector);
    this.daily = new ZoneDaily(this.nodes, site.zones.map((z) => ({ id: z.id, lat: z.lat })), site.dangerTable, config.danger, config.utcOffsetMinutes, state?.daily);
    this.stats = state ? { ...state.stats } : { readings: 0, unknownNode: 0, badTimestamp: 0, used: 0, late: 0, skipped: 0, anomalous: 0 };
    this.emitEvent = sinks.event ?? (() => {});
    this.emitDanger = sinks.danger ?? (() => {});
    this.nextDailyAt = this.daily.computeAt(this.daily.lastDay === null ? this.daily.firstDayFrom(this.startMs) : this.daily.lastDay + 1);
  }

  get now(): number {
    return this.nowMs;
  }

  /** Advances the clock: offline nodes, stale incidents, the official daily values now due. */
  tick(nowMs: number): void {
    if (nowMs > this.nowMs) this.nowMs = nowMs;
    const now = this.nowMs;
    if (now >= this.nextOfflineCheck) {
      let next = Infinity;
      const cfg = this.config.health;
      for (let i = 0; i < this.nodes.length; i++) {
        const st = this.health[i]!;
        healthOnTick(st, this.nodes[i]!, now, cfg, this.emitEvent);
        if (st.online) next = Math.min(next, st.lastRx + cfg.offlineAfterIntervals * this.nodes[i]!.intervalMs);
      }
      this.nextOfflineCheck = next;
    }
    if (now >= this.nextStaleCheck) {
      this.detector.onTick(now, this.emitEvent);
      this.nextStaleCheck = now + STALE_CHECK_MS;
    }
    if (now >= this.nextDailyAt) {
      for (const d of this.daily.advance(now, this.startMs, this.emitEvent)) this.emitDanger(d);
      this.nextDailyAt = this.daily.computeAt((this.daily.lastDay ?? this.daily.firstDayFrom(this.startMs) - 1) + 1);
    }
  }

  /**
   * The pipeline's clock was set back to newNowMs: a new accelerated run started (README "Time
   * model"). Everything ordered in time is shifted back by the same amount, so each node keeps how
   * long ago it was last heard and each incident how long it has burnt and since when it has had no
   * news; the daily values belong to local calendar days and are left as they are. A clock that
   * moved forward changes nothing here (tick() follows it).
   */
  rebase(newNowMs: number): void {
    const delta = this.nowMs - newNowMs;
    if (!(delta > 0)) return;
    this.nowMs = newNowMs;
    for (const h of this.health) shiftHealth(h, delta);
    this.detector.shift(delta);
    this.nextOfflineCheck = -Infinity;
    this.nextStaleCheck = -Infinity;
  }

  /**
   * One reading that arrived at rxMs (live: the wall clock at arrival; backtest: virtual time).
   * tsMs may pass the already parsed observation time.
   */
  ingest(r: EngineReading, rxMs: number, tsMs?: number): void {
    this.stats.readings++;
    if (rxMs > this.nowMs || rxMs >= this.nextOfflineCheck || rxMs >= this.nextDailyAt) this.tick(rxMs);
    const i = this.index.get(r.nodeId);
    if (i === undefined) {
      this.stats.unknownNode++;
      return;
    }
    const ts = tsMs ?? parseInstant(r.ts);
    if (Number.isNaN(ts)) {
      this.stats.badTimestamp++;
      return;
    }
    const st = this.health[i]!;
    const verdict = healthOnReading(st, this.nodes[i]!, r, ts, this.nowMs, this.config.health, this.emitEvent, this.detector.isSuspected(i));
    // A node back online needs its own offline deadline even if every other node is silent.
    const deadline = st.lastRx + this.config.health.offlineAfterIntervals * this.nodes[i]!.intervalMs;
    if (deadline < this.nextOfflineCheck) this.nextOfflineCheck = deadline;
    if (verdict === SKIP) {
      this.stats.skipped++;
      return;
    }
    if (verdict === USE) {
      this.stats.used++;
      if (this.detector.onReading(i, ts, r.temperatureC, r.humidityPct, r.smoke, this.emitEvent)) this.stats.anomalous++;
    } else if (verdict === LATE) this.stats.late++;
    this.daily.add(i, r.seq, ts, r.temperatureC, r.humidityPct, r.rainMm, !this.detector.isSuspected(i), r.windMs);
  }

  /**
   * Provisional danger of every zone (official: false) for the next official date, from the last
   * `provisionalWindowMinutes` of healthy readings and the rain so far. Changes no state; call it
   * as often as wanted (the service publishes it hourly, labelled provisional).
   */
  provisional(nowMs: number = this.nowMs): Danger[] {
    return this.daily.provisional(nowMs, this.startMs, this.config.danger.provisionalWindowMinutes);
  }

  /** Whether a node is healthy now (online, no excluding fault). */
  isHealthy(nodeId: string): boolean {
    const i = this.index.get(nodeId);
    return i !== undefined && isHealthy(this.health[i]!);
  }

  nodeHealth(nodeId: string): Readonly<NodeHealthState> | undefined {
    const i = this.index.get(nodeId);
    return i === undefined ? undefined : this.health[i];
  }

  zoneDanger(zoneId: string) {
    return this.daily.zoneState(zoneId);
  }

  activeIncidents() {
    return this.detector.activeIncidents().map((inc) => ({ ...inc, members: inc.members.map((m) => this.nodeIds[m]!) }));
  }

  snapshot(): EngineState {
    return {
      version: 1,
      siteId: this.site.site.id,
      nodeIds: [...this.nodeIds],
      startMs: this.startMs,
      nowMs: this.nowMs,
      health: this.health.map((h) => ({ ...h, faults: { ...h.faults } })),
      detector: this.detector.snapshot(),
      daily: this.daily.snapshot(),
      stats: { ...this.stats },
    };
  }
}

/** JSON with NaN and ±Infinity preserved (the state uses them as "none yet"). */
export function serializeState(state: EngineState): string {
  return stringifyState(state);
}

export function parseState(text: string): EngineState {
  return parseStateJson(text) as EngineState;
}
