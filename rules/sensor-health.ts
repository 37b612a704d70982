// Sensor health per node, a deterministic state machine driven by readings and by the (virtual)
// clock. Separate from fire danger: a fault never raises a fire, and an unhealthy node is left
// out of zone aggregates and of fire corroboration.
//
// Faults (event `node-fault`, cleared by `node-fault-cleared`; detail.fault names it):
//   stuck         a channel repeats the identical value `stuckReadings` times (RH at ≥ 99.5 %,
//                 saturation in fog, is exempt, and so are smoke and temperature while the node
//                 is part of a suspected fire: a pinned sensor there is saturated, not broken);
//                 cleared after the channel changed value on `clearReadings` readings in a row
//   out-of-range  a value outside the plausible range or not finite; the reading is dropped;
//                 cleared after `clearReadings` plausible readings
//   clock-skew    observation time ahead of arrival by more than maxClockSkewS, or behind it on
//                 readings that arrive at the live cadence (a store-and-forward burst arrives
//                 fast and is not skew); raised/cleared after `skewReadings` in a row
//   low-battery   battery below lowBatteryV (advisory: the node's readings are still used)
//   brown-out     battery below brownOutV: readings are not trusted, the node is left out
// Offline (`node-offline`): no reading for offlineAfterIntervals reporting intervals, judged on
// arrival time; `node-online` on the next reading.
import type { FireEvent } from '../contracts/payloads.ts';
import type { HealthConfig } from './config.ts';
import { makeEvent, stableId, type EventSink } from './events.ts';
import { idStamp, isoUtc } from './time.ts';

export const FAULT_KINDS = ['stuck', 'out-of-range', 'clock-skew', 'low-battery', 'brown-out'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
/** Faults that make a node's readings untrustworthy. */
export const EXCLUDING_FAULTS: readonly FaultKind[] = ['stuck', 'out-of-range', 'clock-skew', 'brown-out'];

/** What the fields of a reading the engine looks at. Numbers are not bounded here: health checks them. */
export interface ReadingValues {
  seq: number;
  temperatureC: number;
  humidityPct: number;
  smoke: number;
  rainMm?: number | undefined;
  batteryV?: number | undefined;
}

export interface HealthNode {
  id: string;
  zone: string;
  intervalMs: number;
}

/** Per-node health state; plain data so it serialises to JSON as is. */
export interface NodeHealthState {
  online: boolean;
  /** Ever seen a reading since the state was created. */
  seen: boolean;
  /** Arrival time of the last reading (or the start of monitoring). */
  lastRx: number;
  /** Observation time of the last in-order reading. */
  lastTs: number;
  offlineId: string | null;
  offlineAt: number;
  tVal: number;
  tRun: number;
  hVal: number;
  hRun: number;
  sVal: number;
  sRun: number;
  stuckChannel: string | null;
  stuckOk: number;
  oorOk: number;
  skewBad: number;
  skewGood: number;
  /** Active faults: kind → incident id, null when not active (fixed shape: fast to read). */
  faults: Record<FaultKind, string | null>;
  /** Number of active excluding faults (kept in step with `faults`). */
  excluding: number;
}

export function newNodeHealth(startMs: number): NodeHealthState {
  return {
    online: true,
    seen: false,
    lastRx: startMs,
    lastTs: -Infinity,
    offlineId: null,
    offlineAt: 0,
    tVal: NaN,
    tRun: 0,
    hVal: NaN,
    hRun: 0,
    sVal: NaN,
    sRun: 0,
    stuckChannel: null,
    stuckOk: 0,
    oorOk: 0,
    skewBad: 0,
    skewGood: 0,
    faults: { stuck: null, 'out-of-range': null, 'clock-skew': null, 'low-battery': null, 'brown-out': null },
    excluding: 0,
  };
}

/** Reading verdicts. */
export const USE = 0; // in order, plausible, node healthy: detection and aggregates
export const LATE = 1; // plausible, node healthy, but not newer than the last one: aggregates only
export const SKIP = 2; // not to be used (implausible, or the node is unhealthy)
export type Verdict = typeof USE | typeof LATE | typeof SKIP;

export function isHealthy(st: NodeHealthState): boolean {
  return st.online && st.excluding === 0;
}

function raise(st: NodeHealthState, node: HealthNode, kind: FaultKind, ts: number, detail: Record<string, string | number | boolean | null>, emit: EventSink): void {
  if (st.faults[kind]) return;
  const id = stableId(node.id, kind, idStamp(ts));
  st.faults[kind] = id;
  if ((EXCLUDING_FAULTS as readonly string[]).includes(kind)) st.excluding++;
  emit(makeEvent('node-fault', stableId(id, 'raised'), node.zone, isoUtc(ts), { incidentId: id, fault: kind, excluded: (EXCLUDING_FAULTS as readonly string[]).includes(kind), ...detail }, { nodeId: node.id }));
}

function clear(st: NodeHealthState, node: HealthNode, kind: FaultKind, ts: number, emit: EventSink): void {
  const id = st.faults[kind];
  if (!id) return;
  st.faults[kind] = null;
  if ((EXCLUDING_FAULTS as readonly string[]).includes(kind)) st.excluding--;
  emit(makeEvent('node-fault-cleared', stableId(id, 'cleared'), node.zone, isoUtc(ts), { incidentId: id, fault: kind }, { nodeId: node.id }));
}

const inRange = (v: number, r: readonly [number, number]) => Number.isFinite(v) && v >= r[0] && v <= r[1];

/**
 * Feeds one reading (observation time tsMs, arrival time rxMs) through the node's health.
 * Emits fault/online events and returns what the reading may be used for.
 */
export function healthOnReading(
  st: NodeHealthState,
  node: HealthNode,
  r: ReadingValues,
  tsMs: number,
  rxMs: number,
  cfg: HealthConfig,
  emit: EventSink,
  /** The node is part of a suspected fire: a smoke or temperature channel pinned at its maximum is saturated, not stuck. */
  inFire = false,
): Verdict {
  const prevRx = st.lastRx;
  if (!st.online) {
    st.online = true;
    const id = st.offlineId ?? stableId(node.id, 'offline', idStamp(st.offlineAt));
    emit(makeEvent('node-online', stableId(id, 'online'), node.zone, isoUtc(rxMs), { incidentId: id, offlineForS: Math.round((rxMs - st.offlineAt) / 1000) }, { nodeId: node.id }));
    st.offlineId = null;
  }
  if (rxMs > st.lastRx) st.lastRx = rxMs;
  st.seen = true;

  // Clock skew.
  const skewMs = tsMs - rxMs;
  const maxMs = cfg.maxClockSkewS * 1000;
  const live = rxMs - prevRx >= 0.5 * node.intervalMs;
  if (skewMs > maxMs || (skewMs < -maxMs && live)) {
    st.skewGood = 0;
    if (++st.skewBad >= cfg.skewReadings) raise(st, node, 'clock-skew', rxMs, { skewS: Math.round(skewMs / 1000) }, emit);
  } else if (skewMs >= -maxMs) {
    st.skewBad = 0;
    if (st.faults['clock-skew'] && ++st.skewGood >= cfg.skewReadings) {
      clear(st, node, 'clock-skew', rxMs, emit);
      st.lastTs = tsMs - 1; // the node's clock was wrong: restart its ordering from now
    }
  }

  // Plausibility: an implausible reading is never used.
  const t = r.temperatureC;
  const h = r.humidityPct;
  const s = r.smoke;
  if (!inRange(t, cfg.temperatureC) || !inRange(h, cfg.humidityPct) || !inRange(s, cfg.smoke)) {
    st.oorOk = 0;
    const channel = !inRange(t, cfg.temperatureC) ? 'temperatureC' : !inRange(h, cfg.humidityPct) ? 'humidityPct' : 'smoke';
    const value = channel === 'temperatureC' ? t : channel === 'humidityPct' ? h : s;
    raise(st, node, 'out-of-range', tsMs, { channel, value: Number.isFinite(value) ? value : String(value) }, emit);
    return SKIP;
  }
  if (st.faults['out-of-range'] && ++st.oorOk >= cfg.clearReadings) clear(st, node, 'out-of-range', tsMs, emit);

  // Battery.
  const b = r.batteryV;
  if (b !== undefined) {
    if (b < cfg.lowBatteryV) {
      raise(st, node, 'low-battery', tsMs, { batteryV: b }, emit);
      if (b < cfg.brownOutV) raise(st, node, 'brown-out', tsMs, { batteryV: b }, emit);
    }
    if (b >= cfg.lowBatteryV && st.faults['brown-out']) clear(st, node, 'brown-out', tsMs, emit);
    if (b >= cfg.lowBatteryClearV && st.faults['low-battery']) clear(st, node, 'low-battery', tsMs, emit);
  }

  const inOrder = tsMs > st.lastTs;
  if (inOrder) {
    st.lastTs = tsMs;
    // Stuck channels (in-order readings only: a duplicate repeats its values legitimately).
    if (t === st.tVal && !inFire) st.tRun++;
    else (st.tVal = t), (st.tRun = 1);
    if (h === st.hVal && h < 99.5) st.hRun++;
    else (st.hVal = h), (st.hRun = 1);
    if (s === st.sVal && !inFire) st.sRun++;
    else (st.sVal = s), (st.sRun = 1);
    const run = Math.max(st.tRun, st.hRun, st.sRun);
    if (run >= cfg.stuckReadings && !st.faults.stuck) {
      const channel = st.tRun === run ? 'temperatureC' : st.hRun === run ? 'humidityPct' : 'smoke';
      st.stuckChannel = channel;
      st.stuckOk = 0;
      raise(st, node, 'stuck', tsMs, { channel, value: channel === 'temperatureC' ? t : channel === 'humidityPct' ? h : s, readings: run }, emit);
    } else if (st.faults.stuck) {
      // Cleared once the stuck channel has changed value on clearReadings readings in a row.
      const chRun = st.stuckChannel === 'temperatureC' ? st.tRun : st.stuckChannel === 'humidityPct' ? st.hRun : st.sRun;
      if (chRun === 1) {
        if (++st.stuckOk >= cfg.clearReadings) {
          clear(st, node, 'stuck', tsMs, emit);
          st.stuckChannel = null;
        }
      } else st.stuckOk = 0;
    }
  }
  if (st.excluding > 0) return SKIP;
  return inOrder ? USE : LATE;
}

/** Moves the node's times back by deltaMs (the pipeline's clock was set back; see RulesEngine.rebase). */
export function shiftHealth(st: NodeHealthState, deltaMs: number): void {
  st.lastRx -= deltaMs;
  st.lastTs -= deltaMs;
  st.offlineAt -= deltaMs;
}

/** Advances the clock for one node: declares it offline when it has been silent too long. */
export function healthOnTick(st: NodeHealthState, node: HealthNode, nowMs: number, cfg: HealthConfig, emit: EventSink): void {
  if (!st.online) return;
  const deadline = st.lastRx + cfg.offlineAfterIntervals * node.intervalMs;
  if (nowMs < deadline) return;
  st.online = false;
  st.offlineAt = deadline;
  const id = stableId(node.id, 'offline', idStamp(deadline));
  st.offlineId = id;
  emit(
    makeEvent('node-offline', stableId(id, 'offline'), node.zone, isoUtc(deadline), {
      incidentId: id,
      lastSeenAt: st.seen ? isoUtc(st.lastRx) : null,
      silentForS: Math.round((deadline - st.lastRx) / 1000),
    }, { nodeId: node.id }),
  );
}

/** Events kept for reference in tests and tools. */
export type HealthEvent = FireEvent;
