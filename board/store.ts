// The board's own SQLite file (`board.sqlite`): every danger value, event, node status and alert
// lifecycle message it took from the broker (committed before the PUBACK, so a restart loses
// nothing the broker handed over), messages it refused, and the board members' sessions.
import { z } from 'zod';
import { alertLifecycleSchema, dangerSchema, eventSchema, nodeStatusSchema, type AlertLifecycle, type Danger, type FireEvent, type NodeStatus } from '../contracts/payloads.ts';
import type { SqliteDatabase } from '../platform/sqlite.ts';

/** Events and provisional values older than this are pruned; official values are kept (one per zone a day). */
export const KEEP_EVENTS_MS = 30 * 86_400_000;
/** At most this many recent events are held in memory for the view. */
export const MAX_EVENTS_IN_MEMORY = 5000;

const json = <T extends z.ZodType>(schema: T) => z.string().transform((s, ctx) => {
  try {
    return schema.parse(JSON.parse(s)) as z.infer<T>;
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `stored row does not parse: ${(err as Error).message}` });
    return z.NEVER;
  }
});

export class BoardStore {
  /** `readOnly`: a reader of another process's file (the bulletin command) creates nothing. */
  constructor(
    readonly db: SqliteDatabase,
    readOnly = false,
  ) {
    if (readOnly) return;
    db.exec(`
      CREATE TABLE IF NOT EXISTS danger (zone_id TEXT NOT NULL, date TEXT NOT NULL, official INTEGER NOT NULL, ts_ms INTEGER NOT NULL, json TEXT NOT NULL, received_at INTEGER NOT NULL, PRIMARY KEY (zone_id, date, official, ts_ms));
      CREATE TABLE IF NOT EXISTS events (event_id TEXT PRIMARY KEY, kind TEXT NOT NULL, zone_id TEXT NOT NULL, ts_ms INTEGER NOT NULL, json TEXT NOT NULL, received_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS events_ts ON events (ts_ms);
      CREATE TABLE IF NOT EXISTS node_status (node_id TEXT PRIMARY KEY, json TEXT NOT NULL, received_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS alert_lifecycle (event_id TEXT PRIMARY KEY, json TEXT NOT NULL, received_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS refused (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, reason TEXT NOT NULL, excerpt TEXT NOT NULL, received_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS sessions (sid TEXT PRIMARY KEY, json TEXT NOT NULL, expires_at INTEGER NOT NULL);
    `);
  }

  saveDanger(d: Danger, now: number): void {
    this.db
      .prepare('INSERT INTO danger (zone_id, date, official, ts_ms, json, received_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET json = excluded.json, received_at = excluded.received_at')
      .run(d.zoneId, d.date, d.official ? 1 : 0, Date.parse(d.ts), JSON.stringify(d), now);
  }

  /** The newest official and provisional value of each zone. */
  latestDanger(): { official: Map<string, Danger>; provisional: Map<string, Danger> } {
    const official = new Map<string, Danger>();
    const provisional = new Map<string, Danger>();
    const rows = this.db.prepare('SELECT json, official FROM danger d WHERE ts_ms = (SELECT max(ts_ms) FROM danger e WHERE e.zone_id = d.zone_id AND e.official = d.official)').all() as { json: string; official: number }[];
    for (const r of rows) {
      const d = json(dangerSchema).parse(r.json);
      (r.official ? official : provisional).set(d.zoneId, d);
    }
    return { official, provisional };
  }

  /** Official values of the days from..to (inclusive), per zone and date. */
  officialBetween(from: string, to: string): Danger[] {
    return (this.db.prepare('SELECT json FROM danger WHERE official = 1 AND date >= ? AND date <= ? ORDER BY date, zone_id, ts_ms').all(from, to) as { json: string }[]).map((r) => json(dangerSchema).parse(r.json));
  }

  /** Returns false when the event was already stored (a redelivery). */
  saveEvent(e: FireEvent, now: number): boolean {
    return (
      this.db.prepare('INSERT INTO events (event_id, kind, zone_id, ts_ms, json, received_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING').run(e.eventId, e.kind, e.zoneId, Date.parse(e.ts), JSON.stringify(e), now).changes === 1
    );
  }

  recentEvents(sinceMs: number, limit = MAX_EVENTS_IN_MEMORY): FireEvent[] {
    return (this.db.prepare('SELECT json FROM events WHERE ts_ms >= ? ORDER BY ts_ms DESC LIMIT ?').all(sinceMs, limit) as { json: string }[]).map((r) => json(eventSchema).parse(r.json)).reverse();
  }

  saveStatus(s: NodeStatus, now: number): void {
    this.db.prepare('INSERT INTO node_status (node_id, json, received_at) VALUES (?, ?, ?) ON CONFLICT (node_id) DO UPDATE SET json = excluded.json, received_at = excluded.received_at').run(s.nodeId, JSON.stringify(s), now);
  }

  statuses(): Map<string, NodeStatus & { receivedAt: number }> {
    const rows = this.db.prepare('SELECT json, received_at FROM node_status').all() as { json: string; received_at: number }[];
    return new Map(rows.map((r) => {
      const s = json(nodeStatusSchema).parse(r.json);
      return [s.nodeId, { ...s, receivedAt: r.received_at }];
    }));
  }

  saveLifecycle(a: AlertLifecycle, now: number): void {
    this.db.prepare('INSERT INTO alert_lifecycle (event_id, json, received_at) VALUES (?, ?, ?) ON CONFLICT (event_id) DO UPDATE SET json = excluded.json, received_at = excluded.received_at').run(a.eventId, JSON.stringify(a), now);
  }

  lifecycle(eventId: string): AlertLifecycle | null {
    const row = this.db.prepare('SELECT json FROM alert_lifecycle WHERE event_id = ?').get(eventId) as { json: string } | undefined;
    return row ? json(alertLifecycleSchema).parse(row.json) : null;
  }

  refuse(topic: string, reason: string, payload: Buffer, now: number): void {
    this.db.prepare('INSERT INTO refused (topic, reason, excerpt, received_at) VALUES (?, ?, ?, ?)').run(topic.slice(0, 200), reason.slice(0, 500), payload.subarray(0, 256).toString('utf8'), now);
    // Bounded: a misbehaving publisher cannot fill the disk.
    this.db.prepare('DELETE FROM refused WHERE id <= (SELECT max(id) FROM refused) - 10000').run();
  }

  refusedCount(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM refused').get() as { n: number }).n;
  }

  prune(now: number): void {
    this.db.prepare('DELETE FROM events WHERE ts_ms < ?').run(now - KEEP_EVENTS_MS);
    this.db.prepare('DELETE FROM danger WHERE official = 0 AND received_at < ?').run(now - KEEP_EVENTS_MS);
    this.db.prepare('DELETE FROM alert_lifecycle WHERE received_at < ?').run(now - KEEP_EVENTS_MS);
    this.db.prepare('DELETE FROM sessions WHERE expires_at < ?').run(now);
  }
}
