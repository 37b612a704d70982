// The durable SQLite outbox and alert store. Every engine step commits, in one transaction, the new
// engine state and the outbox rows it produced; every SMS is recorded before it is sent and marked
// after. Rows are keyed by (alert, recipient, step), so the same message can never be queued twice.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Delivery } from '../contracts/alerts-api.ts';
import { LineSpool } from '../platform/line-spool.ts';
import { lineOf } from '../contracts/measurements.ts';
import { alertLine } from '../platform/pipeline-stats.ts';
import { DRILL_KINDS } from '../contracts/alerts-api.ts';
import type { SqliteDatabase } from '../platform/sqlite.ts';
import { CONFIRMED_STEP, emptyEngineState, type AckChannel, type EngineOutput, type EngineState, type LifecycleNote, type Notification } from './engine.ts';
import type { AlertPolicy } from './policy.ts';
import type { Recipient } from './routing.ts';
import { ACK_TOKEN_LENGTH, ackLink, renderMessage, type AckMode } from './templates.ts';
import { ownValue } from '../platform/records.ts';

export const OUTBOX_STATES = ['queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'acknowledged', 'cancelled'] as const;
export type OutboxState = (typeof OUTBOX_STATES)[number];

export const outboxRowSchema = z.object({
  id: z.number().int(),
  alert_id: z.string(),
  recipient_id: z.string(),
  step: z.string(),
  phone: z.string(),
  body: z.string(),
  segments: z.number().int(),
  priority: z.number().int(),
  state: z.enum(OUTBOX_STATES),
  attempts: z.number().int(),
  next_attempt_at: z.number(),
  created_at: z.number(),
  updated_at: z.number(),
  expires_at: z.number(),
  provider_id: z.string().nullable(),
  error_code: z.string().nullable(),
  error_detail: z.string().nullable(),
  in_flight_at_restart: z.number().int(),
  /** What the provider answered: Twilio's `status` (queued, accepted…) and `num_segments` (billed segments). */
  provider_status: z.string().nullable(),
  provider_segments: z.number().int().nullable(),
  /** A drill's message (README "Drills"); with dry_run it is recorded as sent but handed to no transport. */
  drill_id: z.string().nullable(),
  dry_run: z.number().int(),
  /** Wall time it was handed to the transport, and of its delivery report. */
  sent_at: z.number().nullable(),
  delivered_at: z.number().nullable(),
});
export type OutboxRow = z.infer<typeof outboxRowSchema>;

const ackTokenRowSchema = z.object({ token: z.string(), alert_id: z.string(), recipient_id: z.string(), expires_at: z.number() });
export type AckTokenRow = z.infer<typeof ackTokenRowSchema>;

const ackRowSchema = z.object({ alert_id: z.string(), by: z.string(), channel: z.string(), at: z.number(), effective: z.number().int(), detail: z.string().nullable(), recipient_id: z.string().nullable() });
export type AckRow = z.infer<typeof ackRowSchema>;

export const drillRowSchema = z.object({
  drill_id: z.string(),
  alert_id: z.string(),
  zone_id: z.string(),
  kind: z.enum(DRILL_KINDS),
  depth: z.enum(['alert', 'sensor']),
  dry_run: z.number().int(),
  started_at: z.number(),
  started_by: z.string(),
  ended_at: z.number().nullable(),
  escalation_steps: z.number().int(),
  /** Who ended it (`api`, a board member, `drill time over`); null while it runs. */
  ended_by: z.string().nullable(),
});
export type DrillRow = z.infer<typeof drillRowSchema>;

/** `drill,drill=<id>,zone=<zone>,kind=<event kind> state="queued|acknowledged|escalated|resolved",escalation_step=<n>i`: the dashboards' drill annotation. */
export function drillLine(drillId: string, zoneId: string, kind: string, state: string, escalationStep: number, tsMs: number): string {
  return lineOf('drill', { drill: drillId, zone: zoneId, kind }, { escalation_step: escalationStep, drill_id: drillId, state }, tsMs) as string;
}

const engineStateSchema = z.custom<EngineState>((v) => typeof v === 'object' && v !== null && 'alerts' in v && 'pending' in v && 'lastSent' in v && 'seen' in v);

const TOKEN_ALPHABET = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** An unguessable link token: 10 characters of a 56-letter alphabet ≈ 58 bits. */
export function newAckToken(): string {
  const bytes = randomBytes(ACK_TOKEN_LENGTH * 2);
  let out = '';
  for (let i = 0; out.length < ACK_TOKEN_LENGTH && i < bytes.length; i++) {
    const b = bytes[i] ?? 0;
    if (b < 224) out += TOKEN_ALPHABET[b % 56]; // 224 = 4 × 56: no modulo bias
  }
  return out.length === ACK_TOKEN_LENGTH ? out : newAckToken();
}

export interface OutboxOptions {
  policy: AlertPolicy;
  publicUrl: string;
  /** How long a message may wait (queue + retries) before it is pointless; also Twilio's validityPeriod. */
  validityS: number;
  /** Whether messages ask for a reply with the code (the transport receives SMS) or carry only the link; default reply. */
  ackMode?: AckMode;
  /**
   * With InfluxDB configured: an `alert` line (platform/pipeline-stats.ts) is spooled in the same
   * transaction as each alert state change, and at most this many lines wait for InfluxDB. 0/absent: no spool.
   */
  influxSpoolMaxLines?: number;
}

/** Cumulative SMS figures since the process started (the `pipeline,service=alerts` point). */
export interface SmsCounts {
  sent: number;
  failed: number;
  acked: number;
}

/** Lifecycle note → the `alert` measurement's state; an escalation or a lost signal writes the alert's state as it is (with its step). */
const ALERT_POINT_STATE: Partial<Record<LifecycleNote['state'], 'active' | 'acknowledged' | 'resolved'>> = { queued: 'active', acknowledged: 'acknowledged', resolved: 'resolved' };

export class AlertOutbox {
  readonly counts: SmsCounts = { sent: 0, failed: 0, acked: 0 };
  private droppedLines = 0;
  /** Lines for InfluxDB (tables influx_spool, influx_refused). */
  readonly lines: LineSpool;
  constructor(
    readonly db: SqliteDatabase,
    private readonly opts: OutboxOptions,
  ) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS engine_state (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL, updated_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        alert_id TEXT NOT NULL, recipient_id TEXT NOT NULL, step TEXT NOT NULL,
        phone TEXT NOT NULL, body TEXT NOT NULL, segments INTEGER NOT NULL, priority INTEGER NOT NULL,
        state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
        provider_id TEXT, error_code TEXT, error_detail TEXT, in_flight_at_restart INTEGER NOT NULL DEFAULT 0,
        UNIQUE (alert_id, recipient_id, step)
      );
      CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, priority, next_attempt_at, id);
      CREATE INDEX IF NOT EXISTS outbox_provider ON outbox (provider_id);
      CREATE TABLE IF NOT EXISTS ack_tokens (token TEXT PRIMARY KEY, alert_id TEXT NOT NULL, recipient_id TEXT NOT NULL, expires_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS acks (id INTEGER PRIMARY KEY AUTOINCREMENT, alert_id TEXT NOT NULL, by TEXT NOT NULL, channel TEXT NOT NULL, at INTEGER NOT NULL, effective INTEGER NOT NULL, detail TEXT);
    `);
    // Columns added after the first release (provider answers, drills); a file written by an older version gets them empty.
    const addColumns = (table: string, columns: Record<string, string>) => {
      const have = new Set((db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name));
      for (const [name, type] of Object.entries(columns)) if (!have.has(name)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${type}`);
    };
    addColumns('outbox', { provider_status: 'TEXT', provider_segments: 'INTEGER', drill_id: 'TEXT', dry_run: 'INTEGER NOT NULL DEFAULT 0', sent_at: 'INTEGER', delivered_at: 'INTEGER' });
    addColumns('acks', { recipient_id: 'TEXT' });
    db.exec(`
      CREATE TABLE IF NOT EXISTS drills (
        drill_id TEXT PRIMARY KEY, alert_id TEXT NOT NULL UNIQUE, zone_id TEXT NOT NULL, kind TEXT NOT NULL, depth TEXT NOT NULL,
        dry_run INTEGER NOT NULL, started_at INTEGER NOT NULL, started_by TEXT NOT NULL, ended_at INTEGER,
        escalation_steps INTEGER NOT NULL DEFAULT 0, ended_by TEXT
      );
      CREATE INDEX IF NOT EXISTS drills_zone ON drills (zone_id, started_at);
    `);
    addColumns('drills', { ended_by: 'TEXT' });
    this.lines = new LineSpool(db, 'influx_spool', 'influx_refused');
  }

  loadState(): EngineState {
    const row = this.db.prepare('SELECT json FROM engine_state WHERE id = 1').get() as { json: string } | undefined;
    return row ? engineStateSchema.parse(JSON.parse(row.json)) : emptyEngineState();
  }

  /** Commits an engine step: the new state, the rendered outbox rows, cancellations. Returns rows inserted. */
  commit(state: EngineState, output: EngineOutput, now: number): number {
    let inserted = 0;
    const tx = this.db.transaction(() => {
      this.db.prepare('INSERT INTO engine_state (id, json, updated_at) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET json = excluded.json, updated_at = excluded.updated_at').run(JSON.stringify(state), now);
      for (const alertId of output.stopped) {
        // Acknowledged or resolved: repeats and escalation not yet sent are dropped; first messages (a drill's confirmation too) still go out.
        this.db.prepare(`UPDATE outbox SET state = 'cancelled', updated_at = ? WHERE alert_id = ? AND state = 'queued' AND step NOT IN ('initial', 'clear', ?)`).run(now, alertId, CONFIRMED_STEP);
      }
      for (const y of output.yielded ?? []) {
        // A real alert reached these people: the drill's messages to them that have not gone out are dropped, first ones too.
        const cancel = this.db.prepare(`UPDATE outbox SET state = 'cancelled', updated_at = ?, error_detail = 'a real alert reached this person during the drill' WHERE alert_id = ? AND recipient_id = ? AND state = 'queued'`);
        for (const id of y.recipientIds) cancel.run(now, y.alertId, id);
      }
      for (const n of output.notifications) for (const r of n.recipients) inserted += this.insertMessage(n, r, now);
      for (const note of output.lifecycle) {
        const a = ownValue(state.alerts, note.alertId);
        if (!a?.drill) continue;
        if (note.state === 'queued') {
          this.db
            .prepare(`INSERT OR IGNORE INTO drills (drill_id, alert_id, zone_id, kind, depth, dry_run, started_at, started_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
            .run(a.drill.id, a.alertId, a.zoneId, a.drill.kind, a.drill.depth, a.drill.dryRun ? 1 : 0, now, a.drill.startedBy);
        }
        const ended = a.status === 'resolved' ? 1 : 0;
        this.db
          // MAX: a sensor drill's confirmation starts the confirmed route's steps from 0; the report keeps the most reached.
          .prepare(`UPDATE drills SET escalation_steps = MAX(escalation_steps, ?), ended_at = CASE WHEN ? THEN COALESCE(ended_at, ?) ELSE ended_at END, ended_by = CASE WHEN ? THEN COALESCE(ended_by, ?) ELSE ended_by END WHERE alert_id = ?`)
          .run(a.stepsDone, ended, now, ended, a.resolvedBy, a.alertId);
      }
      if (this.opts.influxSpoolMaxLines) {
        for (const note of output.lifecycle) {
          // An escalation step or a lost signal keeps the alert's status (the city overview shows the step it reached).
          const a = ownValue(state.alerts, note.alertId);
          if (!a) continue;
          if (a.drill) {
            // Never an `alert` point: the dashboards count those as real alerts. A drill has its own measurement (an annotation).
            this.appendLine(drillLine(a.drill.id, a.zoneId, a.kind, note.state, a.stepsDone, now));
            continue;
          }
          const pointState = ALERT_POINT_STATE[note.state] ?? a.status;
          const line = alertLine(
            {
              alertId: a.alertId,
              zoneId: a.zoneId,
              kind: a.kind,
              state: pointState,
              ackedBy: a.ack?.by,
              ackedAt: a.ack?.at,
              escalationStep: a.stepsDone,
              level: a.kind === 'level-changed' ? (a.level ?? undefined) : undefined,
            },
            now,
          );
          this.appendLine(line);
        }
      }
    });
    tx();
    return inserted;
  }

  private insertMessage(n: Notification, r: Recipient, now: number): number {
    const exists = this.db.prepare('SELECT 1 FROM outbox WHERE alert_id = ? AND recipient_id = ? AND step = ?').get(n.alertId, r.id, n.step);
    if (exists) return 0;
    let link = '';
    if (n.ackable) {
      const token = newAckToken();
      this.db.prepare('INSERT INTO ack_tokens (token, alert_id, recipient_id, expires_at) VALUES (?, ?, ?, ?)').run(token, n.alertId, r.id, now + this.opts.policy.ackTokenTtlS * 1000);
      link = ackLink(this.opts.publicUrl, token);
    }
    const msg = renderMessage(this.opts.policy, n.messageKind, { ...n.fields, link }, this.opts.ackMode ?? 'reply', { drill: n.drill !== undefined });
    this.db
      .prepare(
        `INSERT INTO outbox (alert_id, recipient_id, step, phone, body, segments, priority, state, next_attempt_at, created_at, updated_at, expires_at, drill_id, dry_run)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?)`,
      )
      .run(n.alertId, r.id, n.step, r.phone, msg.body, msg.count.segments, n.priority, now, now, now, now + this.opts.validityS * 1000, n.drill?.id ?? null, n.drill?.dryRun ? 1 : 0);
    return 1;
  }

  /**
   * At start-up: rows left in `sending` were in flight when the process died. Twilio may or may not
   * have accepted them, so they are queued again (at-least-once) and flagged; the caller logs them as
   * possible duplicates.
   */
  recoverInFlight(now: number): OutboxRow[] {
    const rows = this.db.prepare(`SELECT * FROM outbox WHERE state = 'sending'`).all().map((r) => outboxRowSchema.parse(r));
    this.db.prepare(`UPDATE outbox SET state = 'queued', in_flight_at_restart = in_flight_at_restart + 1, updated_at = ? WHERE state = 'sending'`).run(now);
    return rows;
  }

  /** Takes the most urgent due message and marks it `sending` (committed before the request goes out). */
  claimNext(now: number): OutboxRow | null {
    const tx = this.db.transaction((): OutboxRow | null => {
      // Past its validity a fire alert is stale: fail it rather than deliver it hours late.
      this.db
        .prepare(`UPDATE outbox SET state = 'failed', error_code = 'expired', error_detail = 'validity period passed before it could be sent', updated_at = ? WHERE state = 'queued' AND expires_at <= ?`)
        .run(now, now);
      const row = this.db.prepare(`SELECT * FROM outbox WHERE state = 'queued' AND next_attempt_at <= ? ORDER BY priority, id LIMIT 1`).get(now);
      if (!row) return null;
      const parsed = outboxRowSchema.parse(row);
      this.db.prepare(`UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated_at = ? WHERE id = ?`).run(now, parsed.id);
      return { ...parsed, state: 'sending', attempts: parsed.attempts + 1 };
    });
    return tx();
  }

  /** Earliest next_attempt_at among queued rows (for the sender's sleep). */
  nextDueAt(): number | null {
    const row = this.db.prepare(`SELECT MIN(next_attempt_at) AS t FROM outbox WHERE state = 'queued'`).get() as { t: number | null };
    return row.t;
  }

  markSent(id: number, providerId: string, now: number, provider: { status?: string | undefined; segments?: number | undefined } = {}): void {
    this.counts.sent += this.db
      .prepare(`UPDATE outbox SET state = 'sent', provider_id = ?, provider_status = ?, provider_segments = ?, error_code = NULL, error_detail = NULL, updated_at = ?, sent_at = COALESCE(sent_at, ?) WHERE id = ? AND state = 'sending'`)
      .run(providerId, provider.status ?? null, provider.segments ?? null, now, now, id).changes;
  }

  markRetry(id: number, nextAt: number, code: string, detail: string, now: number): void {
    this.db.prepare(`UPDATE outbox SET state = 'queued', next_attempt_at = ?, error_code = ?, error_detail = ?, updated_at = ? WHERE id = ? AND state = 'sending'`).run(nextAt, code, detail, now, id);
  }

  markFailed(id: number, code: string, detail: string, now: number): void {
    this.counts.failed += this.db.prepare(`UPDATE outbox SET state = 'failed', error_code = ?, error_detail = ?, updated_at = ? WHERE id = ? AND state = 'sending'`).run(code, detail, now, id).changes;
  }

  /**
   * Applies a delivery report. Twilio's order is queued → sending → sent → delivered | undelivered |
   * failed, and callbacks may arrive out of order: only a row still `sending` or `sent` moves, to a
   * final state; a final state (delivered, undelivered, failed) or an acknowledged row never changes.
   * Returns rows changed.
   */
  applyDeliveryStatus(providerId: string, status: 'sent' | 'delivered' | 'undelivered' | 'failed', errorCode: string | null, now: number): number {
    if (status === 'sent') return 0;
    const changes = this.db
      .prepare(
        // Only forward: from sending/sent to a final state (a late `undelivered` never undoes `delivered`).
        `UPDATE outbox SET state = ?, error_code = COALESCE(?, error_code), updated_at = ?, delivered_at = CASE WHEN ? = 'delivered' THEN COALESCE(delivered_at, ?) ELSE delivered_at END
         WHERE provider_id = ? AND state IN ('sent', 'sending')`,
      )
      .run(status, errorCode, now, status, now, providerId).changes;
    // A message that turns out undelivered or failed after it was handed over counts as failed once.
    if (status === 'failed' || status === 'undelivered') this.counts.failed += changes;
    return changes;
  }

  findToken(token: string): AckTokenRow | null {
    const row = this.db.prepare('SELECT * FROM ack_tokens WHERE token = ?').get(token);
    return row ? ackTokenRowSchema.parse(row) : null;
  }

  /** Records an acknowledgement (also late or repeated ones) and marks the person's messages for it. */
  recordAck(alertId: string, by: string, channel: AckChannel, effective: boolean, detail: string | null, recipientId: string | null, now: number): void {
    this.db.transaction(() => {
      this.db.prepare('INSERT INTO acks (alert_id, by, channel, at, effective, detail, recipient_id) VALUES (?, ?, ?, ?, ?, ?, ?)').run(alertId, by, channel, now, effective ? 1 : 0, detail, recipientId);
      if (effective) this.counts.acked += 1;
      if (recipientId) {
        this.db.prepare(`UPDATE outbox SET state = 'acknowledged', updated_at = ? WHERE alert_id = ? AND recipient_id = ? AND state IN ('sent', 'delivered', 'undelivered')`).run(now, alertId, recipientId);
      }
    })();
  }

  acksFor(alertId: string): AckRow[] {
    return this.db.prepare('SELECT alert_id, by, channel, at, effective, detail, recipient_id FROM acks WHERE alert_id = ? ORDER BY id').all(alertId).map((r) => ackRowSchema.parse(r));
  }

  /** Every drill of a zone (or all), oldest first. */
  drills(zoneId?: string): DrillRow[] {
    const rows = zoneId ? this.db.prepare('SELECT * FROM drills WHERE zone_id = ? ORDER BY started_at, drill_id').all(zoneId) : this.db.prepare('SELECT * FROM drills ORDER BY started_at, drill_id').all();
    return rows.map((r) => drillRowSchema.parse(r));
  }

  drill(drillId: string): DrillRow | null {
    const row = this.db.prepare('SELECT * FROM drills WHERE drill_id = ?').get(drillId);
    return row ? drillRowSchema.parse(row) : null;
  }

  /** The outbox rows of one alert (a drill report reads them). */
  rowsForAlert(alertId: string): OutboxRow[] {
    return this.db.prepare('SELECT * FROM outbox WHERE alert_id = ? ORDER BY id').all(alertId).map((r) => outboxRowSchema.parse(r));
  }

  /** Each SMS of an alert: recipient, step, state (the boards show who was texted and where it stands). */
  deliveriesFor(alertId: string): Delivery[] {
    return (
      this.db.prepare('SELECT recipient_id, step, state, updated_at, error_code FROM outbox WHERE alert_id = ? ORDER BY id').all(alertId) as {
        recipient_id: string;
        step: string;
        state: OutboxState;
        updated_at: number;
        error_code: string | null;
      }[]
    ).map((r) => ({ recipientId: r.recipient_id, step: r.step, state: r.state, updatedAt: r.updated_at, errorCode: r.error_code }));
  }

  countsByState(alertId?: string): Record<OutboxState, number> {
    const rows = (
      alertId
        ? this.db.prepare('SELECT state, COUNT(*) AS n FROM outbox WHERE alert_id = ? GROUP BY state').all(alertId)
        : this.db.prepare('SELECT state, COUNT(*) AS n FROM outbox GROUP BY state').all()
    ) as { state: OutboxState; n: number }[];
    const out = Object.fromEntries(OUTBOX_STATES.map((s) => [s, 0])) as Record<OutboxState, number>;
    for (const r of rows) out[r.state] = r.n;
    return out;
  }

  /** Spools one line for InfluxDB (dropped, and counted, when the spool is full or disabled). */
  appendLine(line: string): boolean {
    const cap = this.opts.influxSpoolMaxLines ?? 0;
    if (cap <= 0 || this.lines.depth() >= cap) {
      this.droppedLines += 1;
      return false;
    }
    this.lines.append(line);
    return true;
  }

  get spoolDropped(): number {
    return this.droppedLines;
  }

  rows(where: 'all' | OutboxState = 'all'): OutboxRow[] {
    const stmt = where === 'all' ? this.db.prepare('SELECT * FROM outbox ORDER BY id') : this.db.prepare('SELECT * FROM outbox WHERE state = ? ORDER BY id');
    return (where === 'all' ? stmt.all() : stmt.all(where)).map((r) => outboxRowSchema.parse(r));
  }
}
