// Sensor drills in rules (README "Drills"): the readings of a drill's simulated plume
// (`ews/v1/drill/readings/<node>`) are judged by the same fire detector as real ones, but in a
// SEPARATE state per drill: its own baselines (learnt from the plume's first clean readings), its
// own incidents and ids. Real readings never reach it and drill readings never reach the real
// engine, so drill smoke cannot raise, hide or delay a real fire, nor teach a real baseline.
// What it finds is published on `ews/v1/drill/events/<kind>/<zone>`, marked, through the rules
// outbox (durable like every event); the state is kept in the rules database, written in the same
// transaction, so a restart continues the drill. Memory is bounded: MAX_DRILLS at a time, each
// forgotten FORGET_AFTER_MS after its last reading.
//
// Differences from the real engine, on purpose: no sensor-health stage (a simulated node is never
// faulty), no clock ticks (so no fire-signal-lost; a drill ends through its plume or the alerts
// service's bound), time is the readings' own timestamps (the plume is placed on the pipeline's clock).
//
// Reorder hold: the detector takes a node's readings in time order only, and the broker does not
// deliver them in order around a restart of rules: aedes restores a persistent session's
// subscriptions before it replays the messages queued while the session was offline
// (node_modules/aedes/lib/handlers/connect.js: restoreSubs … doConnack, then emptyQueue), so a
// reading published at that moment overtakes the queued older readings of its node (measured: a
// node's 3–4 queued readings, 60–240 s of fire, arriving 4–30 ms after a newer one, none flagged dup;
// before this hold they were dropped). So every drill reading is first kept, in the drill's saved
// state, in a buffer sorted by reading time, and judged once it has waited REORDER_HOLD_MS (wall
// clock) — an older one arriving meanwhile is judged before it. The buffer is saved with the state
// in the transaction before the PUBACK, so an acknowledged reading is never lost; a timer judges what
// fell due when no reading comes (`flushDue`). Cost: a drill's detection reaches alerts REORDER_HOLD_MS
// later (its report's detection times are reading times, unchanged). At most MAX_PENDING per drill
// (then the oldest is judged at once). A reading older than one already judged is still dropped
// (counted `late`).
import { checkSensorMessage, refusal, type Refusal } from '../contracts/message-checks.ts';
import { drillEventSchema, drillReadingSchema, type DrillEvent, type FireEvent } from '../contracts/payloads.ts';
import type { Site } from '../contracts/site.ts';
import { topics } from '../contracts/topics.ts';
import type { SqliteDatabase } from '../platform/sqlite.ts';
import { Counter } from 'prom-client';
import { metricsRegistry } from '../platform/metrics.ts';
import type { DetectionConfig } from './config.ts';
import { FireDetector, type DetectNode, type DetectorState } from './detection.ts';
import type { OutboxItem } from './store.ts';
import { stableId } from './events.ts';
import { parseStateJson, stringifyState } from './state-json.ts';

const drillReadingsTotal = new Counter({ name: 'ews_rules_drill_readings_total', help: 'Sensor drill readings received by rules', labelNames: ['result'] as const, registers: [metricsRegistry] });

/** Drills judged at a time; a further one evicts the one with the oldest reading. */
export const MAX_DRILLS = 8;
/** A drill without a reading for this long (wall clock) is forgotten. */
export const FORGET_AFTER_MS = 6 * 3600_000;
/** How long (wall clock) a drill reading waits for older readings of the drill before it is judged. */
export const REORDER_HOLD_MS = 2000;
/** Readings waiting per drill at most (8 nodes at 90× send ≈ 12 a second). */
export const MAX_PENDING = 256;

/** A drill reading received, waiting for its turn (sorted by reading time, then arrival). */
export interface PendingDrillReading {
  node: number;
  tsMs: number;
  temperatureC: number;
  humidityPct: number;
  smoke: number;
  receivedAtMs: number;
}

export interface DrillDetectionState {
  drillId: string;
  zoneId: string;
  detector: DetectorState;
  /** Wall time rules received the drill's first reading, and its latest (judged REORDER_HOLD_MS later). */
  firstReadingAtMs: number;
  lastReadingAtMs: number;
  readings: number;
  /** Events published so far (the next event id's number). */
  events: number;
  /** Received, not judged yet (REORDER_HOLD_MS); absent in states saved before the hold. */
  pending?: PendingDrillReading[];
  /** Readings that arrived after a newer one of their node had been judged: dropped. */
  late?: number;
}

/** `duplicate`: already received (a redelivery); `late`: older than a reading of its node already judged, dropped. */
export type DrillReadingOutcome = { ok: true; drillId: string; events: DrillEvent[]; duplicate: boolean; late: boolean } | Refusal;

/**
 * Every drill's detection state, pure apart from the optional database (`persist`/`load`). `onReading`
 * judges one reading and returns the drill events it raised.
 */
export class DrillDetections {
  private readonly nodes: DetectNode[];
  private readonly index = new Map<string, number>();
  private readonly drills = new Map<string, DrillDetectionState>();

  constructor(
    site: Site,
    private readonly cfg: DetectionConfig,
    states: readonly DrillDetectionState[] = [],
    private readonly holdMs = REORDER_HOLD_MS,
  ) {
    this.nodes = site.nodes.map((n) => ({ id: n.id, zone: n.zone, lat: n.lat, lon: n.lon, intervalMs: n.reportingIntervalS * 1000 }));
    this.nodes.forEach((n, i) => this.index.set(n.id, i));
    for (const s of states) if (s.detector.nodes.length === this.nodes.length) this.drills.set(s.drillId, s);
  }

  get size(): number {
    return this.drills.size;
  }

  state(drillId: string): Readonly<DrillDetectionState> | undefined {
    return this.drills.get(drillId);
  }

  /** One message from `ews/v1/drill/readings/<node>`, received at wall time `nowMs`. */
  onMessage(topic: string, payload: Buffer, nowMs: number): DrillReadingOutcome {
    const checked = checkSensorMessage(topic, payload, { readingSchema: drillReadingSchema, drill: true });
    if (!checked.ok) return checked;
    if (checked.kind !== 'reading') return refusal('unknown-topic', 'not a drill reading');
    const r = checked.reading;
    if (r.drill.depth !== 'sensor') return { ok: false, code: 'schema', reason: `drill reading: drill.depth must be sensor, got ${r.drill.depth}` };
    const i = this.index.get(r.nodeId);
    if (i === undefined) return { ok: false, code: 'unknown-node', reason: 'node not in the site file' };
    const node = this.nodes[i] as DetectNode;
    this.forgetOld(nowMs);
    let d = this.drills.get(r.drill.id);
    if (!d) {
      if (this.drills.size >= MAX_DRILLS) this.evictOldest();
      d = { drillId: r.drill.id, zoneId: node.zone, detector: new FireDetector(this.nodes, this.cfg, () => true).snapshot(), firstReadingAtMs: nowMs, lastReadingAtMs: nowMs, readings: 0, events: 0 };
      this.drills.set(r.drill.id, d);
    }
    const tsMs = Date.parse(r.ts);
    const pending = (d.pending ??= []);
    const judgedUpTo = d.detector.nodes[i]?.lastTs ?? -Infinity;
    // Redelivered (judged or waiting already), or later than the hold: the detector takes each node's readings in time order only.
    if (tsMs === judgedUpTo || pending.some((p) => p.node === i && p.tsMs === tsMs)) return { ok: true, drillId: d.drillId, events: [], duplicate: true, late: false };
    if (!(tsMs > judgedUpTo)) {
      d.late = (d.late ?? 0) + 1;
      return { ok: true, drillId: d.drillId, events: [], duplicate: false, late: true };
    }
    // After every reading with a time ≤ its own (arrival order among equal times).
    let at = pending.length;
    while (at > 0 && (pending[at - 1] as PendingDrillReading).tsMs > tsMs) at -= 1;
    pending.splice(at, 0, { node: i, tsMs, temperatureC: r.temperatureC, humidityPct: r.humidityPct, smoke: r.smoke, receivedAtMs: nowMs });
    d.lastReadingAtMs = nowMs;
    return { ok: true, drillId: d.drillId, events: this.judgeDue(d, nowMs), duplicate: false, late: false };
  }

  /** Judges every drill's readings that waited long enough (the service's timer, when no reading comes). Returns the drills changed. */
  flushDue(nowMs: number): { drillId: string; events: DrillEvent[] }[] {
    const changed: { drillId: string; events: DrillEvent[] }[] = [];
    for (const d of this.drills.values()) {
      const before = d.pending?.length ?? 0;
      const events = this.judgeDue(d, nowMs);
      if ((d.pending?.length ?? 0) !== before) changed.push({ drillId: d.drillId, events });
    }
    return changed;
  }

  /** In reading-time order: the oldest waiting reading is judged once it waited holdMs (or the buffer is full). */
  private judgeDue(d: DrillDetectionState, nowMs: number): DrillEvent[] {
    const pending = d.pending ?? [];
    if (pending.length === 0) return [];
    const detector = new FireDetector(this.nodes, this.cfg, () => true, d.detector);
    const raised: FireEvent[] = [];
    while (pending.length > 0 && (pending.length > MAX_PENDING || (pending[0] as PendingDrillReading).receivedAtMs + this.holdMs <= nowMs)) {
      const p = pending.shift() as PendingDrillReading;
      if (!(p.tsMs > detector.nodeState(p.node).lastTs)) {
        d.late = (d.late ?? 0) + 1; // only after a full buffer judged a newer one early
        continue;
      }
      const before = raised.length;
      detector.onReading(p.node, p.tsMs, p.temperatureC, p.humidityPct, p.smoke, (e) => raised.push(e));
      d.readings += 1;
      for (let k = before; k < raised.length; k++) raised[k] = { ...(raised[k] as FireEvent), detail: { ...(raised[k] as FireEvent).detail, drillReadings: d.readings } };
    }
    d.detector = detector.snapshot();
    return raised.map((e) => {
      d.events += 1;
      return drillEventSchema.parse({
        ...e,
        eventId: stableId(d.drillId, String(d.events)),
        detail: { ...e.detail, incidentId: stableId(d.drillId, 'incident'), firstReadingAt: new Date(d.firstReadingAtMs).toISOString(), detectedAt: new Date(nowMs).toISOString() },
        drill: { id: d.drillId, depth: 'sensor' },
      });
    });
  }

  private forgetOld(nowMs: number): void {
    for (const [id, d] of this.drills) if (nowMs - d.lastReadingAtMs > FORGET_AFTER_MS) this.drills.delete(id);
  }

  private evictOldest(): void {
    let oldest: DrillDetectionState | undefined;
    for (const d of this.drills.values()) if (!oldest || d.lastReadingAtMs < oldest.lastReadingAtMs) oldest = d;
    if (oldest) this.drills.delete(oldest.drillId);
  }

  /** Every drill's state (what `DrillDetectionStore` keeps). */
  snapshot(): DrillDetectionState[] {
    return [...this.drills.values()];
  }
}

/** The rules outbox rows for drill events: durable, published in order with the real ones, never with an InfluxDB line. */
export function drillOutboxItems(events: readonly DrillEvent[]): OutboxItem[] {
  return events.map((e) => ({ key: `drill-event:${e.eventId}`, topic: topics.drillEvent(e.kind, e.zoneId), payload: JSON.stringify(e), retain: false, lines: [] }));
}

/**
 * The drills' state in the rules database (table `drill_detections`, one JSON row per drill): written in
 * the transaction that queues the drill's events, so a crash either keeps both or neither, and the
 * broker redelivers the unacknowledged reading.
 */
export class DrillDetectionStore {
  private readonly selectAll;
  private readonly upsert;
  private readonly deleteOthers;

  constructor(db: SqliteDatabase) {
    db.exec('CREATE TABLE IF NOT EXISTS drill_detections (drill_id TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at INTEGER NOT NULL)');
    this.selectAll = db.prepare('SELECT state FROM drill_detections');
    this.upsert = db.prepare('INSERT INTO drill_detections (drill_id, state, updated_at) VALUES (?, ?, ?) ON CONFLICT (drill_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at');
    this.deleteOthers = db.prepare('DELETE FROM drill_detections WHERE drill_id NOT IN (SELECT value FROM json_each(?))');
  }

  load(): DrillDetectionState[] {
    return (this.selectAll.all() as { state: string }[]).map((r) => parseStateJson(r.state) as DrillDetectionState);
  }

  /** Writes the drill a reading changed; the rows of drills no longer kept (forgotten, evicted) go. */
  save(changed: DrillDetectionState, keptIds: readonly string[], nowMs: number): void {
    this.deleteOthers.run(JSON.stringify(keptIds));
    this.upsert.run(changed.drillId, stringifyState(changed), nowMs);
  }
}

/**
 * What the rules service calls for a drill reading: judge it, then in ONE transaction keep the drills'
 * state and queue their events in the outbox (`enqueue`). On a failed transaction the state is reloaded
 * from the database (the reading is then not acknowledged and comes again). Returns the refusal, if any.
 */
export function makeDrillReadingHandler(site: Site, cfg: DetectionConfig, db: SqliteDatabase, enqueue: (items: OutboxItem[]) => void, holdMs = REORDER_HOLD_MS) {
  const store = new DrillDetectionStore(db);
  let drills = new DrillDetections(site, cfg, store.load(), holdMs);
  /** Keeps the changed drills' state and queues their events in one transaction; on failure reloads from disk. */
  const commit = (changedIds: readonly string[], events: DrillEvent[], nowMs: number) => {
    try {
      db.transaction(() => {
        const kept = drills.snapshot().map((d) => d.drillId);
        for (const id of changedIds) {
          const changed = drills.state(id);
          if (changed) store.save(changed, kept, nowMs);
        }
        enqueue(drillOutboxItems(events));
      })();
    } catch (err) {
      drills = new DrillDetections(site, cfg, store.load(), holdMs);
      throw err;
    }
  };
  return {
    get drills(): DrillDetections {
      return drills;
    },
    handle(topic: string, payload: Buffer, nowMs: number): { ok: true; events: DrillEvent[] } | Refusal {
      const out = drills.onMessage(topic, payload, nowMs);
      drillReadingsTotal.inc({ result: !out.ok ? 'dead-letter' : out.duplicate ? 'duplicate' : out.late ? 'late' : 'processed' });
      if (!out.ok) return out;
      if (out.duplicate) return { ok: true, events: [] };
      commit([out.drillId], out.events, nowMs);
      return { ok: true, events: out.events };
    },
    /** Judges the readings that waited REORDER_HOLD_MS (call it every second); returns the events raised, committed. */
    flushDue(nowMs: number): DrillEvent[] {
      const changed = drills.flushDue(nowMs);
      if (changed.length === 0) return [];
      const events = changed.flatMap((c) => c.events);
      commit(
        changed.map((c) => c.drillId),
        events,
        nowMs,
      );
      return events;
    },
  };
}
