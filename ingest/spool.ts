// Ingest's durable state in SQLite: the spool every accepted message passes through before
// InfluxDB (a LineSpool, platform/line-spool.ts, tables `spool` and `rejected_lines`), the local
// store used when no InfluxDB is configured, and dead letters (platform/dead-letters.ts). A message
// is acknowledged to the broker only after its row is here.
import type { SqliteDatabase } from '../platform/sqlite.ts';
import { LineSpool, type SpooledLine } from '../platform/line-spool.ts';
import { DeadLetterTable } from '../platform/dead-letters.ts';

export type SpoolRow = SpooledLine;

export class IngestStore {
  /** Counted here, not with count(*): ingest asks for it on every message. */
  private depth: number;
  private readonly spool: LineSpool;
  private readonly insertLocal;
  /** Messages ingest refused (platform/dead-letters.ts). */
  readonly deadLetterTable: DeadLetterTable;

  constructor(private readonly db: SqliteDatabase) {
    this.spool = new LineSpool(db, 'spool', 'rejected_lines');
    db.exec('CREATE TABLE IF NOT EXISTS local_readings (id INTEGER PRIMARY KEY AUTOINCREMENT, line TEXT NOT NULL, ts_ms INTEGER NOT NULL);');
    this.deadLetterTable = new DeadLetterTable(db);
    this.insertLocal = db.prepare<[string, number]>('INSERT INTO local_readings (line, ts_ms) VALUES (?, ?)');
    this.depth = this.spool.depth();
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
    this.spool.append(line, tsMs);
    this.depth += 1;
  }

  /** Oldest rows first: the spool drains in arrival order. */
  peek(limit: number): SpoolRow[] {
    return this.spool.peek(limit);
  }

  /** With no InfluxDB, the local table is the destination; oldest rows beyond `keepRows` are pruned. */
  readonly moveToLocal = (rows: readonly SpoolRow[], keepRows: number): void => {
    this.db.transaction(() => {
      for (const r of rows) this.insertLocal.run(r.line, r.tsMs);
      this.depth = Math.max(0, this.depth - this.spool.release(rows));
      this.db.prepare('DELETE FROM local_readings WHERE id <= (SELECT max(id) FROM local_readings) - ?').run(keepRows);
    })();
  };

  /**
   * Finishes a batch written to InfluxDB: the lines it refused for their content are kept in
   * rejected_lines with the error (not retried forever), and the whole batch leaves the spool.
   */
  readonly settle = (rows: readonly SpoolRow[], refused: readonly { index: number; error: string }[]): void => {
    this.depth = Math.max(0, this.depth - this.spool.settle(rows, refused));
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
