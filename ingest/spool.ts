// Ingest's durable state in SQLite: the spool every accepted message passes through before
// InfluxDB, the local store used when no InfluxDB is configured, dead letters, and lines
// InfluxDB refused outright. A message is acknowledged to the broker only after its row is here.
import type { SqliteDatabase } from '../platform/sqlite.ts';
import { DeadLetterTable } from '../platform/dead-letters.ts';

export interface SpoolRow {
  id: number;
  line: string;
  tsMs: number;
}

export class IngestStore {
  private depth: number;
  private readonly insertSpool;
  private readonly selectBatch;
  private readonly deleteUpTo;
  /** Messages ingest refused (platform/dead-letters.ts). */
  readonly deadLetterTable: DeadLetterTable;
  private readonly insertLocal;
  private readonly insertRejected;

  constructor(private readonly db: SqliteDatabase) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS spool (id INTEGER PRIMARY KEY AUTOINCREMENT, line TEXT NOT NULL, ts_ms INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS local_readings (id INTEGER PRIMARY KEY AUTOINCREMENT, line TEXT NOT NULL, ts_ms INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS rejected_lines (id INTEGER PRIMARY KEY AUTOINCREMENT, line TEXT NOT NULL, error TEXT NOT NULL, at TEXT NOT NULL);
    `);
    this.insertSpool = db.prepare<[string, number]>('INSERT INTO spool (line, ts_ms) VALUES (?, ?)');
    this.selectBatch = db.prepare<[number]>('SELECT id, line, ts_ms AS tsMs FROM spool ORDER BY id LIMIT ?');
    this.deleteUpTo = db.prepare<[number]>('DELETE FROM spool WHERE id <= ?');
    this.deadLetterTable = new DeadLetterTable(db);
    this.insertLocal = db.prepare<[string, number]>('INSERT INTO local_readings (line, ts_ms) VALUES (?, ?)');
    this.insertRejected = db.prepare<[string, string, string]>('INSERT INTO rejected_lines (line, error, at) VALUES (?, ?, ?)');
    this.depth = (db.prepare('SELECT count(*) AS n FROM spool').get() as { n: number }).n;
  }

  get spoolDepth(): number {
    return this.depth;
  }

  /**
   * Runs `fn` in one transaction (group commit: many appends, one COMMIT). If it throws, every row
   * of it is rolled back and the depth count with them.
   */
  commit<T>(fn: () => T): T {
    const depthBefore = this.depth;
    try {
      return this.db.transaction(fn)();
    } catch (err) {
      this.depth = depthBefore;
      throw err;
    }
  }

  append(line: string, tsMs: number): void {
    this.insertSpool.run(line, tsMs);
    this.depth += 1;
  }

  /** Oldest rows first: the spool drains in arrival order. */
  peek(limit: number): SpoolRow[] {
    return this.selectBatch.all(limit) as SpoolRow[];
  }

  /** Removes rows up to and including `id` once their destination has them. */
  release(rows: readonly SpoolRow[]): void {
    const last = rows[rows.length - 1];
    if (!last) return;
    const removed = this.deleteUpTo.run(last.id).changes;
    this.depth = Math.max(0, this.depth - removed);
  }

  /** With no InfluxDB, the local table is the destination; oldest rows beyond `keepRows` are pruned. */
  readonly moveToLocal = (rows: readonly SpoolRow[], keepRows: number): void => {
    this.db.transaction(() => {
      for (const r of rows) this.insertLocal.run(r.line, r.tsMs);
      this.release(rows);
      this.db.prepare('DELETE FROM local_readings WHERE id <= (SELECT max(id) FROM local_readings) - ?').run(keepRows);
    })();
  };

  /**
   * Finishes a batch written to InfluxDB: the lines it refused for their content are kept in
   * rejected_lines with the error (not retried forever), and the whole batch leaves the spool.
   */
  readonly settle = (rows: readonly SpoolRow[], refused: readonly { index: number; error: string }[]): void => {
    const at = new Date().toISOString();
    this.db.transaction(() => {
      for (const r of refused) {
        const row = rows[r.index];
        if (row) this.insertRejected.run(row.line, r.error, at);
      }
      this.release(rows);
    })();
  };

  deadLetters(limit = 100): ReturnType<DeadLetterTable['recent']> {
    return this.deadLetterTable.recent(limit);
  }

  localReadingCount(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM local_readings').get() as { n: number }).n;
  }

  rejectedLineCount(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM rejected_lines').get() as { n: number }).n;
  }
}
