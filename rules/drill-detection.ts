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

export interface DrillDetectionState {
  drillId: string;
  zoneId: string;
  detector: DetectorState;
  /** Wall time rules judged the drill's first reading, and its latest. */
  firstReadingAtMs: number;
  lastReadingAtMs: number;
  readings: number;
  /** Events published so far (the next event id's number). */
  events: number;
}

export type DrillReadingOutcome = { ok: true; drillId: string; events: DrillEvent[]; duplicate: boolean } | Refusal;

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
    const detector = new FireDetector(this.nodes, this.cfg, () => true, d.detector);
    // Redelivered or out of order: the detector takes each node's readings in time order only.
    if (!(tsMs > detector.nodeState(i).lastTs)) return { ok: true, drillId: d.drillId, events: [], duplicate: true };
    const raised: FireEvent[] = [];
    detector.onReading(i, tsMs, r.temperatureC, r.humidityPct, r.smoke, (e) => raised.push(e));
    d.detector = detector.snapshot();
    d.readings += 1;
    d.lastReadingAtMs = nowMs;
    const events = raised.map((e) => {
      d.events += 1;
      return drillEventSchema.parse({
        ...e,
        eventId: stableId(d.drillId, String(d.events)),
        detail: { ...e.detail, incidentId: stableId(d.drillId, 'incident'), firstReadingAt: new Date(d.firstReadingAtMs).toISOString(), detectedAt: new Date(nowMs).toISOString(), drillReadings: d.readings },
        drill: { id: d.drillId, depth: 'sensor' },
      });
    });
    return { ok: true, drillId: d.drillId, events, duplicate: false };
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
export function makeDrillReadingHandler(site: Site, cfg: DetectionConfig, db: SqliteDatabase, enqueue: (items: OutboxItem[]) => void) {
  const store = new DrillDetectionStore(db);
  let drills = new DrillDetections(site, cfg, store.load());
  return {
    get drills(): DrillDetections {
      return drills;
    },
    handle(topic: string, payload: Buffer, nowMs: number): { ok: true; events: DrillEvent[] } | Refusal {
      const out = drills.onMessage(topic, payload, nowMs);
      drillReadingsTotal.inc({ result: !out.ok ? 'dead-letter' : out.duplicate ? 'duplicate' : 'processed' });
      if (!out.ok) return out;
      if (out.duplicate) return { ok: true, events: [] };
      try {
        db.transaction(() => {
          const changed = drills.state(out.drillId);
          if (changed) store.save(changed, drills.snapshot().map((d) => d.drillId), nowMs);
          enqueue(drillOutboxItems(out.events));
        })();
      } catch (err) {
        drills = new DrillDetections(site, cfg, store.load());
        throw err;
      }
      return { ok: true, events: out.events };
    },
  };
}
