// Scheduled drills (README "Drills"): the site file's `drills:` entries, each a node-cron expression
// in the site's timezone on the wall clock (a drill involves real people at a real hour, whatever the
// pipeline's clock). At each slot the drill starts as if a member started it — unless a real alert
// of its zone is open or waiting (then the slot is skipped, and why is logged and recorded), or the
// slot's drill exists already. The drill id is the slot's idempotency key: derived from the entry and
// the minute, and its `drills` row is committed with the drill's first SMS, so a restart inside the
// catch-up window never starts a slot twice. Decisions are pure; startDrillSchedule does the I/O.
import { createHash } from 'node:crypto';
import cron, { type ScheduledTask } from 'node-cron';
import { Counter } from 'prom-client';
import { z } from 'zod';
import { drillIdOf, type SkippedDrillSlot } from '../contracts/alerts-api.ts';
import type { ScheduledDrill } from '../contracts/site.ts';
import type { Logger } from '../platform/logger.ts';
import { metricsRegistry } from '../platform/metrics.ts';
import type { SqliteDatabase } from '../platform/sqlite.ts';
import type { DrillRequest, DrillStartResult, EngineState } from './engine.ts';
import type { SensorDrillAskInput, SensorDrillRequester } from './drill-requests.ts';

/** A slot missed by at most this much (the service was restarting) still starts when the service is back. */
export const CATCH_UP_MS = 15 * 60_000;
/**
 * Missed slots are decided this long after start-up, not at once: the events the broker kept for the
 * service's persistent session while it was down arrive first, so a real fire that came meanwhile is
 * known before a missed drill of its zone is considered.
 */
export const CATCH_UP_DELAY_MS = 10_000;
const MINUTE_MS = 60_000;

const scheduledTotal = new Counter({ name: 'ews_alerts_scheduled_drills_total', help: 'Scheduled drill slots by outcome (started, skipped)', labelNames: ['outcome'] as const, registers: [metricsRegistry] });

/** node-cron's own matcher for an expression in a timezone: the behaviour the schedule really has. */
export type SlotMatcher = (at: Date) => boolean;

/** `<zone>-<yyyymmdd>-<hhmm>-<4 chars of the entry>` (UTC, like drills started by hand): one id per entry and minute. */
export function scheduledDrillId(entry: Pick<ScheduledDrill, 'zone' | 'kind' | 'cron'>, slotMs: number): string {
  // The tag hashes the whole zone id, so two long zone ids cut to the same part still get two ids.
  const hash = createHash('sha256').update(`${entry.zone}|${entry.kind}|${entry.cron}`).digest();
  const tag = [...hash.subarray(0, 4)].map((b) => 'abcdefghijkmnpqrstuvwxyz23456789'[b % 32]).join('');
  return drillIdOf(entry.zone, slotMs, tag);
}

/** The minutes in (fromMs, toMs] at which each entry's schedule matches (at most CATCH_UP_MS back), oldest first. */
export function dueSlots(matchers: readonly SlotMatcher[], fromMs: number, toMs: number): { index: number; slotMs: number }[] {
  const from = Math.max(fromMs, toMs - CATCH_UP_MS);
  const slots: { index: number; slotMs: number }[] = [];
  for (let m = Math.floor(from / MINUTE_MS) * MINUTE_MS + MINUTE_MS; m <= toMs; m += MINUTE_MS) {
    matchers.forEach((matches, index) => {
      if (matches(new Date(m))) slots.push({ index, slotMs: m });
    });
  }
  return slots;
}

/** Real alerts of a zone that forbid a drill there: open or acknowledged (not yet over), or an event waiting for its message. Node alerts do not. */
export function realAlertsOf(state: EngineState, zoneId: string): string[] {
  const open = Object.values(state.alerts)
    .filter((a) => !a.drill && a.zoneId === zoneId && a.status !== 'resolved' && a.family !== 'node')
    .map((a) => a.alertId);
  const waiting = Object.values(state.pending)
    .filter((g) => g.zoneId === zoneId && g.family !== 'node')
    .flatMap((g) => g.events.map((e) => e.eventId));
  return [...open, ...waiting];
}

export type SlotDecision =
  | { action: 'start'; drillId: string; request: DrillRequest }
  /** A sensor drill: the drill player is asked to play its plume (alerts/drill-requests.ts) under the slot's drill id. */
  | { action: 'request'; drillId: string; ask: SensorDrillAskInput }
  | { action: 'skip'; drillId: string; reason: string }
  | { action: 'none'; drillId: string; reason: string };

/** What to do at a slot: start its drill, skip it (a real alert of the zone), or nothing (decided before a restart). */
export function decideSlot(entry: ScheduledDrill, slotMs: number, state: EngineState, decidedBefore: (drillId: string) => string | null): SlotDecision {
  const drillId = scheduledDrillId(entry, slotMs);
  const before = decidedBefore(drillId);
  if (before) return { action: 'none', drillId, reason: before };
  const real = realAlertsOf(state, entry.zone);
  if (real.length) return { action: 'skip', drillId, reason: `a real alert of ${entry.zone} is open: ${real.slice(0, 5).join(', ')}` };
  if (entry.depth === 'sensor') {
    return { action: 'request', drillId, ask: { drillId, zoneId: entry.zone, speed: entry.speed ?? 1, ...(entry.node ? { node: entry.node } : {}), ...(entry.audience ? { audience: entry.audience } : {}), dryRun: entry.dryRun, startedBy: 'schedule' } };
  }
  return { action: 'start', drillId, request: { drillId, kind: entry.kind, zoneId: entry.zone, audience: entry.audience ?? null, dryRun: entry.dryRun, startedBy: 'schedule' } };
}

/** A task's next start, or null where node-cron finds none in its search range (it throws; the schema already refuses impossible days). */
export function nextRun(task: Pick<ScheduledTask, 'getNextRuns'> | undefined): Date | null {
  try {
    return task?.getNextRuns(1)[0] ?? null;
  } catch {
    return null;
  }
}

/** A row of `scheduled_drill_slots` as the schedule reads it back. */
const slotRowSchema = z.object({ outcome: z.enum(['started', 'skipped']), reason: z.string().nullable() });

export interface DrillScheduleOptions {
  drills: readonly ScheduledDrill[];
  timezone: string;
  service: { readonly engineState: EngineState; startDrill(req: DrillRequest): DrillStartResult };
  /** Sensor drill slots: the request to the drill player (alerts/drill-requests.ts); absent: such a slot is skipped. */
  requestSensorDrill?: SensorDrillRequester;
  /** The drills tables (the outbox, sensor drills): a slot whose drill is there has started. */
  drillExists: (drillId: string) => boolean;
  /** alerts.sqlite: skipped and started slots are recorded in `scheduled_drill_slots`. */
  db: SqliteDatabase;
  log: Logger;
  now?: () => number;
  /** Default CATCH_UP_DELAY_MS; 0 = at once. */
  catchUpDelayMs?: number;
}

const SLOT_TABLE = `CREATE TABLE IF NOT EXISTS scheduled_drill_slots (
    drill_id TEXT PRIMARY KEY, zone_id TEXT NOT NULL, slot_at INTEGER NOT NULL, outcome TEXT NOT NULL, reason TEXT, decided_at INTEGER NOT NULL)`;
const skippedRowSchema = z.object({ drill_id: z.string(), zone_id: z.string(), slot_at: z.number().int(), reason: z.string().nullable() });

/** The slots skipped, newest first (for `GET /api/drills` and the board): at most `limit`, of one zone or all. */
export function skippedDrillSlots(db: SqliteDatabase, limit: number, zone?: string): SkippedDrillSlot[] {
  db.exec(SLOT_TABLE);
  const rows = db
    .prepare(`SELECT drill_id, zone_id, slot_at, reason FROM scheduled_drill_slots WHERE outcome = 'skipped'${zone ? ' AND zone_id = ?' : ''} ORDER BY slot_at DESC LIMIT ?`)
    .all(...(zone ? [zone, limit] : [limit]));
  return rows.map((raw) => {
    const r = skippedRowSchema.parse(raw);
    return { drillId: r.drill_id, zoneId: r.zone_id, slotAt: r.slot_at, reason: r.reason ?? '' };
  });
}

/** Schedules every entry with node-cron (and, CATCH_UP_DELAY_MS later, starts the slots missed during the CATCH_UP_MS before start-up). */
export function startDrillSchedule(o: DrillScheduleOptions): { stop(): void } {
  if (o.drills.length === 0) return { stop: () => {} };
  const now = o.now ?? Date.now;
  o.db.exec(SLOT_TABLE);
  const recorded = o.db.prepare('SELECT outcome, reason FROM scheduled_drill_slots WHERE drill_id = ?');
  const record = o.db.prepare('INSERT OR IGNORE INTO scheduled_drill_slots (drill_id, zone_id, slot_at, outcome, reason, decided_at) VALUES (?, ?, ?, ?, ?, ?)');
  // Sensor slots whose request the broker has not acknowledged yet (the catch-up may meet the same slot).
  const requesting = new Set<string>();
  const decidedBefore = (drillId: string): string | null => {
    if (o.drillExists(drillId) || requesting.has(drillId)) return 'started already';
    const raw = recorded.get(drillId);
    if (raw === undefined) return null;
    const row = slotRowSchema.parse(raw);
    return `${row.outcome} already${row.reason ? `: ${row.reason}` : ''}`;
  };

  const run = (index: number, slotMs: number) => {
    const entry = o.drills[index] as ScheduledDrill;
    try {
      const d = decideSlot(entry, slotMs, o.service.engineState, decidedBefore);
      const slot = { drillId: d.drillId, zoneId: entry.zone, kind: entry.kind, slot: new Date(slotMs).toISOString() };
      if (d.action === 'none') return o.log.debug({ ...slot, reason: d.reason }, 'scheduled drill slot decided before');
      if (d.action === 'request') return requestSlot(entry, slotMs, d, slot);
      const r = d.action === 'start' ? o.service.startDrill(d.request) : null;
      const skipped = d.action === 'skip' ? d.reason : r && !r.ok ? r.reason : null;
      record.run(d.drillId, entry.zone, slotMs, skipped ? 'skipped' : 'started', skipped, now());
      scheduledTotal.inc({ outcome: skipped ? 'skipped' : 'started' });
      if (skipped) o.log.warn({ ...slot, reason: skipped }, 'scheduled drill skipped');
      else o.log.info({ ...slot, dryRun: entry.dryRun, recipients: r?.ok ? r.alert.notified.length : 0 }, 'scheduled drill started');
    } catch (err) {
      o.log.error({ err: String(err), zoneId: entry.zone, slot: new Date(slotMs).toISOString() }, 'scheduled drill failed');
    }
  };

  // A sensor slot is recorded once the broker has taken its request (PUBACK): a crash before that leaves the
  // slot undecided for the catch-up, and a request sent twice carries the same drill id (the player and
  // the API refuse it the second time).
  const requestSlot = (entry: ScheduledDrill, slotMs: number, d: { drillId: string; ask: SensorDrillAskInput }, slot: Record<string, unknown>) => {
    const ask = o.requestSensorDrill ?? (async () => ({ ok: false as const, status: 422 as const, reason: 'sensor drills cannot be requested from this service' }));
    requesting.add(d.drillId);
    void ask(d.ask)
      .then((r) => {
        const skipped = r.ok ? null : r.reason;
        record.run(d.drillId, entry.zone, slotMs, skipped ? 'skipped' : 'started', skipped, now());
        scheduledTotal.inc({ outcome: skipped ? 'skipped' : 'started' });
        if (skipped) o.log.warn({ ...slot, reason: skipped }, 'scheduled drill skipped');
        else o.log.info({ ...slot, depth: 'sensor', speed: d.ask.speed, dryRun: entry.dryRun }, 'scheduled sensor drill requested from the drill player');
      })
      .catch((err: unknown) => o.log.error({ ...slot, err: String(err) }, 'scheduled drill failed'))
      .finally(() => requesting.delete(d.drillId));
  };

  const tasks: ScheduledTask[] = o.drills.map((entry, index) =>
    cron.createTask(entry.cron, (ctx) => run(index, Math.floor(ctx.date.getTime() / MINUTE_MS) * MINUTE_MS), { timezone: o.timezone, name: `drill-schedule-${index}` }),
  );
  const startedAt = now();
  const catchUp = () => {
    for (const { index, slotMs } of dueSlots(tasks.map((t) => (d: Date) => t.match(d)), startedAt - CATCH_UP_MS, now())) run(index, slotMs);
  };
  const delay = o.catchUpDelayMs ?? CATCH_UP_DELAY_MS;
  const catchUpTimer = delay > 0 ? setTimeout(catchUp, delay) : null;
  if (!catchUpTimer) catchUp();
  for (const t of tasks) void t.start();
  o.log.info({ drills: o.drills.map((d, i) => ({ zoneId: d.zone, kind: d.kind, cron: d.cron, next: nextRun(tasks[i])?.toISOString() ?? null })), timezone: o.timezone }, 'drill schedule');
  return {
    stop() {
      if (catchUpTimer) clearTimeout(catchUpTimer);
      for (const t of tasks) void t.destroy();
    },
  };
}
