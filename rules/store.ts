// The rules service's durable state in SQLite (one file, WAL):
//
//  - journal     every input that changes the engine (accepted reading, clock tick) with the time it
//                arrived, written before the message is acknowledged;
//  - checkpoint  the whole engine state (plus the service's dedupe window, clock and schedule) as
//                of a journal id; the journal up to it is then deleted;
//  - outbox      every event and danger value to publish, written in the same transaction as the
//                journal entry that produced it, marked published after the broker's PUBACK;
//  - influx      line-protocol lines for InfluxDB, same transaction, deleted once written;
//  - dead_letters input refused (platform/dead-letters.ts).
//
// Restart = restore the checkpoint, re-apply the journal after it (the engine is deterministic, so
// it reaches exactly the state it had), publish what the outbox still holds. Outbox rows are keyed
// (event id; zone/date/official/ts for danger), so the re-applied entries never add a row twice.
import { LineSpool } from '../platform/line-spool.ts';
import type { SqliteDatabase } from '../platform/sqlite.ts';
import { DeadLetterTable } from '../platform/dead-letters.ts';

export interface JournalEntry {
  id: number;
  kind: 'reading' | 'tick' | 'rebase';
  /** The reading as JSON (kind reading); the new clock epoch as JSON (rebase); empty for a tick. */
  payload: string;
  rxMs: number;
}

export interface OutboxRow {
  seq: number;
  key: string;
  topic: string;
  payload: string;
  retain: boolean;
}

export interface OutboxItem {
  key: string;
  topic: string;
  payload: string;
  retain: boolean;
  /** InfluxDB lines that go with it (written only when the row is new). */
  lines: string[];
}

export class RulesStore {
  private readonly insertJournal;
  private readonly selectJournal;
  private readonly insertOutbox;
  private readonly selectOutbox;
  private readonly markPublishedStmt;
  /** Lines for InfluxDB (tables influx, influx_refused). */
  readonly lines: LineSpool;
  /** Messages rules refused. */
  readonly deadLetters: DeadLetterTable;
  readonly withInflux: boolean;

  constructor(
    readonly db: SqliteDatabase,
    opts: { influx: boolean },
  ) {
    this.withInflux = opts.influx;
    db.exec(`
      CREATE TABLE IF NOT EXISTS journal (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, payload TEXT NOT NULL, rx_ms INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS checkpoint (one INTEGER PRIMARY KEY CHECK (one = 1), journal_id INTEGER NOT NULL, state TEXT NOT NULL, at TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, topic TEXT NOT NULL, payload TEXT NOT NULL, retain INTEGER NOT NULL, published INTEGER NOT NULL DEFAULT 0);
      CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (published, seq);
    `);
    this.insertJournal = db.prepare<[string, string, number]>('INSERT INTO journal (kind, payload, rx_ms) VALUES (?, ?, ?)');
    this.selectJournal = db.prepare<[number]>('SELECT id, kind, payload, rx_ms AS rxMs FROM journal WHERE id > ? ORDER BY id');
    this.insertOutbox = db.prepare<[string, string, string, number]>('INSERT OR IGNORE INTO outbox (key, topic, payload, retain) VALUES (?, ?, ?, ?)');
    this.selectOutbox = db.prepare<[number, number]>('SELECT seq, key, topic, payload, retain FROM outbox WHERE published = 0 AND seq > ? ORDER BY seq LIMIT ?');
    this.markPublishedStmt = db.prepare<[number]>('UPDATE outbox SET published = 1 WHERE seq = ?');
    this.lines = new LineSpool(db, 'influx', 'influx_refused');
    this.deadLetters = new DeadLetterTable(db);
  }

  /** Runs fn in one transaction (all or nothing). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** Inside a transaction: journals one input; returns its id. */
  journal(kind: JournalEntry['kind'], payload: string, rxMs: number): number {
    return Number(this.insertJournal.run(kind, payload, rxMs).lastInsertRowid);
  }

  /** Inside a transaction: queues outputs; returns how many were new (keys seen before are skipped). */
  enqueue(items: readonly OutboxItem[]): number {
    let added = 0;
    for (const it of items) {
      if (this.insertOutbox.run(it.key, it.topic, it.payload, it.retain ? 1 : 0).changes === 0) continue;
      added += 1;
      if (this.withInflux) for (const line of it.lines) this.lines.append(line);
    }
    return added;
  }

  loadCheckpoint(): { journalId: number; state: string } | null {
    const row = this.db.prepare('SELECT journal_id AS journalId, state FROM checkpoint WHERE one = 1').get() as { journalId: number; state: string } | undefined;
    return row ?? null;
  }

  journalAfter(id: number): JournalEntry[] {
    return this.selectJournal.all(id) as JournalEntry[];
  }

  /** Saves the state as of journal id `journalId` and drops the journal up to it. */
  checkpoint(journalId: number, state: string): void {
    this.transaction(() => {
      this.db.prepare("INSERT INTO checkpoint (one, journal_id, state, at) VALUES (1, ?, ?, ?) ON CONFLICT (one) DO UPDATE SET journal_id = excluded.journal_id, state = excluded.state, at = excluded.at").run(journalId, state, new Date().toISOString());
      this.db.prepare('DELETE FROM journal WHERE id <= ?').run(journalId);
      // Published outbox rows are kept a while for their keys (dedupe); prune the old ones.
      this.db.prepare('DELETE FROM outbox WHERE published = 1 AND seq <= (SELECT max(seq) FROM outbox) - 100000').run();
    });
  }

  /** Total journal entries ever written (AUTOINCREMENT survives the checkpoint's deletes). */
  journalTotal(): number {
    const row = this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'journal'").get() as { seq: number } | undefined;
    return row?.seq ?? 0;
  }

  unpublished(afterSeq: number, limit: number): OutboxRow[] {
    return (this.selectOutbox.all(afterSeq, limit) as (Omit<OutboxRow, 'retain'> & { retain: number })[]).map((r) => ({ ...r, retain: r.retain === 1 }));
  }

  markPublished(seq: number): void {
    this.markPublishedStmt.run(seq);
  }

  outboxDepth(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM outbox WHERE published = 0').get() as { n: number }).n;
  }

  spoolDepth(): number {
    return this.lines.depth();
  }

  deadLetterCount(): number {
    return this.deadLetters.count();
  }
}
