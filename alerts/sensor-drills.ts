// Sensor drills in the alerts service (README "Drills"). `POST /api/drills` with `depth: "sensor"`
// records the drill and its plume (table `sensor_drills`) but opens NO alert: the simulator plays the
// plume through the broker, ingest stores it apart, rules judges it in the drill's own state and
// publishes what it finds on `ews/v1/drill/events/<kind>/<zone>`. The first fire-suspected or
// fire-confirmed drill event opens the drill alert — the same alert drill as `depth: "alert"` (DIEN
// TAP, the route of what was detected, acknowledgements, and a real event always wins); a later
// fire-confirmed widens it as a real confirmation supersedes a real suspicion (engine `confirmDrill`);
// every detection time is recorded for the report. A drill nothing is detected in by the plume's end +
// NOT_DETECTED_GRACE_MS ends as "not detected". Only a drill started through the API can text anyone:
// drill events for an unknown or finished drill are logged and dropped.
import { Counter } from 'prom-client';
import { z } from 'zod';
import type { DrillReport, DrillSummary, SensorDrillPart } from '../contracts/alerts-api.ts';
import { decodeJson, refusal, type Refusal } from '../contracts/message-checks.ts';
import { describeZodError, drillEventSchema, type DrillEvent } from '../contracts/payloads.ts';
import { audienceSchema, type Audience } from '../contracts/site.ts';
import type { Logger } from '../platform/logger.ts';
import { metricsRegistry } from '../platform/metrics.ts';
import type { SqliteDatabase } from '../platform/sqlite.ts';
import type { DrillRequest, DrillStartResult } from './engine.ts';

const sensorDrillsTotal = new Counter({ name: 'ews_alerts_sensor_drills_total', help: 'Sensor drills by outcome (started, detected, not-detected)', labelNames: ['outcome'] as const, registers: [metricsRegistry] });

/** After the plume's last reading: time for it to pass ingest and rules before "not detected". */
export const NOT_DETECTED_GRACE_MS = 120_000;

/** What the service offers the sensor drills (AlertService implements it). */
export interface DrillHost {
  startDrill(req: DrillRequest): DrillStartResult;
  /** The drill alert, opened from a suspicion, widens to the confirmed route; false when there is nothing to widen. */
  confirmDrill(drillId: string, eventTs: string): boolean;
  drillReport(drillId: string): DrillReport | null;
  listDrills(zoneId?: string): DrillSummary[];
}

export interface SensorDrillStart {
  drillId: string;
  zoneId: string;
  audience: Audience[] | null;
  dryRun: boolean;
  startedBy: string;
  plume: { ignitionNode: string; nodes: string[]; speed: number; injectAt: number; ignitionAt: number; endsAt: number };
}

const rowSchema = z.object({
  drill_id: z.string(),
  zone_id: z.string(),
  started_at: z.number(),
  started_by: z.string(),
  dry_run: z.number(),
  audience: z.string().nullable(),
  ignition_node: z.string(),
  nodes: z.string(),
  speed: z.number(),
  inject_at: z.number(),
  ignition_at: z.number(),
  ends_at: z.number(),
  not_detected_after: z.number(),
  first_reading_at: z.number().nullable(),
  suspected_at: z.number().nullable(),
  suspected_reading_at: z.number().nullable(),
  confirmed_at: z.number().nullable(),
  confirmed_reading_at: z.number().nullable(),
  outcome: z.enum(['running', 'detected', 'not-detected']),
  ended_at: z.number().nullable(),
});
export type SensorDrillRow = z.infer<typeof rowSchema>;

const isoMs = (v: unknown): number | null => (typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? Date.parse(v) : null);

/** The report's sensor part from the row and the drill's first SMS (pure). */
export function sensorPart(row: SensorDrillRow, firstSmsAt: number | null): SensorDrillPart {
  const s = (readingAt: number | null) => (readingAt === null ? null : Math.round((readingAt - row.ignition_at) / 1000));
  return {
    ignitionNode: row.ignition_node,
    nodes: z.array(z.string()).parse(JSON.parse(row.nodes)),
    speed: row.speed,
    outcome: row.outcome,
    plumeInjectedAt: row.inject_at,
    ignitionAt: row.ignition_at,
    plumeEndsAt: row.ends_at,
    notDetectedAfter: row.not_detected_after,
    firstReadingAt: row.first_reading_at,
    suspectedAt: row.suspected_at,
    suspectedReadingAt: row.suspected_reading_at,
    confirmedAt: row.confirmed_at,
    confirmedReadingAt: row.confirmed_reading_at,
    detectionS: s(row.suspected_reading_at ?? row.confirmed_reading_at),
    confirmationS: s(row.confirmed_reading_at),
    firstSmsAt,
  };
}

/** A summary for a sensor drill that has no alert yet (running) or never got one (not detected). */
function summaryWithoutAlert(row: SensorDrillRow): DrillSummary {
  return {
    drillId: row.drill_id,
    alertId: `drill-${row.drill_id}`,
    zoneId: row.zone_id,
    kind: 'fire-suspected',
    depth: 'sensor',
    dryRun: row.dry_run === 1,
    startedAt: row.started_at,
    startedBy: row.started_by,
    endedAt: row.ended_at,
    endedBy: row.outcome === 'not-detected' ? 'not detected' : null,
    texted: 0,
    acknowledged: 0,
    medianResponseS: null,
    worstResponseS: null,
    escalationStepsReached: 0,
    detectionS: null,
    sensorOutcome: row.outcome,
  };
}

export class SensorDrills {
  private timer: NodeJS.Timeout | null = null;
  private readonly selectOne;
  private readonly selectDue;
  private readonly markNotDetected;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly host: DrillHost,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    db.exec(`CREATE TABLE IF NOT EXISTS sensor_drills (
      drill_id TEXT PRIMARY KEY, zone_id TEXT NOT NULL, started_at INTEGER NOT NULL, started_by TEXT NOT NULL, dry_run INTEGER NOT NULL,
      audience TEXT, ignition_node TEXT NOT NULL, nodes TEXT NOT NULL, speed REAL NOT NULL, inject_at INTEGER NOT NULL,
      ignition_at INTEGER NOT NULL, ends_at INTEGER NOT NULL, not_detected_after INTEGER NOT NULL, first_reading_at INTEGER,
      suspected_at INTEGER, suspected_reading_at INTEGER, confirmed_at INTEGER, confirmed_reading_at INTEGER,
      outcome TEXT NOT NULL DEFAULT 'running', ended_at INTEGER);
      CREATE INDEX IF NOT EXISTS sensor_drills_zone ON sensor_drills (zone_id, started_at);`);
    this.selectOne = db.prepare('SELECT * FROM sensor_drills WHERE drill_id = ?');
    // Checked every second: the running drills past their bound.
    this.selectDue = db.prepare(`SELECT drill_id FROM sensor_drills WHERE outcome = 'running' AND not_detected_after <= ?`);
    this.markNotDetected = db.prepare(`UPDATE sensor_drills SET outcome = 'not-detected', ended_at = ? WHERE drill_id = ? AND outcome = 'running'`);
  }

  row(drillId: string): SensorDrillRow | null {
    const r = this.selectOne.get(drillId);
    return r ? rowSchema.parse(r) : null;
  }

  /** Records a sensor drill; nothing is texted until rules detects the fire. */
  start(req: SensorDrillStart): { ok: true } | { ok: false; reason: string } {
    if (this.row(req.drillId)) return { ok: false, reason: `drill ${req.drillId} exists already` };
    const now = this.now();
    this.db
      .prepare(
        `INSERT INTO sensor_drills (drill_id, zone_id, started_at, started_by, dry_run, audience, ignition_node, nodes, speed, inject_at, ignition_at, ends_at, not_detected_after)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(req.drillId, req.zoneId, now, req.startedBy, req.dryRun ? 1 : 0, req.audience ? JSON.stringify(req.audience) : null, req.plume.ignitionNode, JSON.stringify(req.plume.nodes), req.plume.speed, req.plume.injectAt, req.plume.ignitionAt, req.plume.endsAt, Math.max(now, req.plume.endsAt) + NOT_DETECTED_GRACE_MS);
    sensorDrillsTotal.inc({ outcome: 'started' });
    this.log.info({ drillId: req.drillId, zoneId: req.zoneId, ignitionNode: req.plume.ignitionNode, speed: req.plume.speed, dryRun: req.dryRun }, 'sensor drill started: waiting for rules to detect its plume');
    return { ok: true };
  }

  /**
   * One message on `ews/v1/drill/events/+/+`. Alert drills' own announcements (depth alert) are not
   * for us; a sensor drill's fire-suspected or fire-confirmed records its time and, the first time,
   * opens the drill alert. Null when taken, else why it is refused (a dead letter).
   */
  onDrillEventPayload(payload: Buffer): Refusal | null {
    const decoded = decodeJson(payload, undefined);
    if (!decoded.ok) return decoded;
    const refused = this.onDrillEvent(decoded.json);
    return refused === null ? null : refusal('schema', refused);
  }

  onDrillEvent(json: unknown): string | null {
    const parsed = drillEventSchema.safeParse(json);
    if (!parsed.success) return describeZodError(parsed.error);
    const e = parsed.data;
    if (e.drill.depth !== 'sensor') return null;
    const row = this.row(e.drill.id);
    if (!row) {
      this.log.warn({ drillId: e.drill.id, eventId: e.eventId, kind: e.kind }, 'drill event for a sensor drill nobody started here: dropped');
      return null;
    }
    if (e.zoneId !== row.zone_id) return `drill ${row.drill_id} is in ${row.zone_id}, the event in ${e.zoneId}`;
    if (e.kind !== 'fire-suspected' && e.kind !== 'fire-confirmed') return null;
    if (row.outcome === 'not-detected') {
      this.log.warn({ drillId: row.drill_id, kind: e.kind }, 'sensor drill detection after it ended as not detected: recorded nowhere');
      return null;
    }
    this.record(row, e, e.kind);
    return null;
  }

  private record(row: SensorDrillRow, e: DrillEvent, kind: 'fire-suspected' | 'fire-confirmed'): void {
    const now = this.now();
    const readingAt = Date.parse(e.ts);
    const firstReadingAt = row.first_reading_at ?? isoMs(e.detail.firstReadingAt);
    const column = kind === 'fire-suspected' ? 'suspected' : 'confirmed';
    if ((column === 'suspected' ? row.suspected_at : row.confirmed_at) !== null) return; // redelivered, or a second incident
    // The alert first, then the times: a crash between them leaves the event unacknowledged, and its
    // redelivery records the times (the alert, keyed by the drill id, does not open twice).
    if (row.outcome === 'running') {
      sensorDrillsTotal.inc({ outcome: 'detected' });
      const audience = row.audience === null ? null : z.array(audienceSchema).parse(JSON.parse(row.audience));
      const r = this.host.startDrill({ drillId: row.drill_id, kind, zoneId: row.zone_id, audience, dryRun: row.dry_run === 1, startedBy: row.started_by, depth: 'sensor' });
      if (!r.ok) this.log.error({ drillId: row.drill_id, reason: r.reason }, 'sensor drill detected but its drill alert could not open');
    } else if (kind === 'fire-confirmed' && this.host.confirmDrill(row.drill_id, e.ts)) {
      this.log.info({ drillId: row.drill_id }, 'sensor drill confirmed: the drill alert widens to the confirmed-fire route');
    }
    this.db
      .prepare(`UPDATE sensor_drills SET ${column}_at = ?, ${column}_reading_at = ?, first_reading_at = ?, outcome = 'detected' WHERE drill_id = ?`)
      .run(now, readingAt, firstReadingAt, row.drill_id);
    this.log.info({ drillId: row.drill_id, kind: e.kind, secondsAfterIgnition: Math.round((readingAt - row.ignition_at) / 1000) }, 'sensor drill: rules detected the plume');
  }

  /** Ends the drills nothing was detected in by their bound. */
  expire(): string[] {
    const now = this.now();
    const due = this.selectDue.all(now) as { drill_id: string }[];
    for (const d of due) {
      this.markNotDetected.run(now, d.drill_id);
      sensorDrillsTotal.inc({ outcome: 'not-detected' });
      this.log.warn({ drillId: d.drill_id }, 'sensor drill ended: NOT DETECTED by its bound (plume end + grace)');
    }
    return due.map((d) => d.drill_id);
  }

  startTimer(everyMs = 1000): void {
    this.timer = setInterval(() => {
      try {
        this.expire();
      } catch (err) {
        this.log.warn({ err: String(err) }, 'sensor drill bound check failed');
      }
    }, everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** The drill's report with its sensor part; a sensor drill without an alert yet has an empty one. */
  report(drillId: string): DrillReport | null {
    const row = this.row(drillId);
    const base = this.host.drillReport(drillId);
    if (!row) return base ? { ...base, previous: this.withSensor(base.previous) } : null;
    const firstSmsAt = base ? Math.min(...base.units.flatMap((u) => u.members.map((m) => m.textedAt ?? Infinity))) : Infinity;
    const sensor = sensorPart(row, Number.isFinite(firstSmsAt) ? firstSmsAt : null);
    const previous = this.list(row.zone_id).filter((p) => p.startedAt < row.started_at || (p.startedAt === row.started_at && p.drillId < row.drill_id));
    const drill = base ? { ...base.drill, startedAt: row.started_at, detectionS: sensor.detectionS, sensorOutcome: row.outcome } : summaryWithoutAlert(row);
    return { drill, units: base?.units ?? [], previous, sensor };
  }

  /** Every drill (alert and sensor), oldest first, with the sensor drills' detection times (the trend). */
  list(zoneId?: string): DrillSummary[] {
    const listed = this.withSensor(this.host.listDrills(zoneId));
    const known = new Set(listed.map((d) => d.drillId));
    const rows = (zoneId ? this.db.prepare('SELECT * FROM sensor_drills WHERE zone_id = ?').all(zoneId) : this.db.prepare('SELECT * FROM sensor_drills').all()).map((r) => rowSchema.parse(r));
    const pending = rows.filter((r) => !known.has(r.drill_id)).map(summaryWithoutAlert);
    return [...listed, ...pending].sort((a, b) => a.startedAt - b.startedAt || (a.drillId < b.drillId ? -1 : 1));
  }

  private withSensor(summaries: DrillSummary[]): DrillSummary[] {
    return summaries.map((s) => {
      const row = s.depth === 'sensor' ? this.row(s.drillId) : null;
      return row ? { ...s, startedAt: row.started_at, detectionS: sensorPart(row, null).detectionS, sensorOutcome: row.outcome } : s;
    });
  }
}
