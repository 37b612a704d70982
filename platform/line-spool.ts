// Line-protocol lines waiting for InfluxDB, in the service's SQLite file: appended in the caller's
// transaction (so a line exists exactly when the state change that produced it does), read oldest
// first, deleted once written. Lines InfluxDB refuses for their content are kept in a second table
// with the reason instead of being retried forever.
import type { SqliteDatabase } from './sqlite.ts';

export interface SpooledLine {
  id: number;
  line: string;
}

export class LineSpool {
  private readonly insert;
  private readonly select;
  private readonly deleteUpTo;
  private readonly insertRefused;
  private readonly count;

  constructor(
    private readonly db: SqliteDatabase,
    readonly table: string,
    readonly refusedTable: string,
  ) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS ${table} (id INTEGER PRIMARY KEY AUTOINCREMENT, line TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS ${refusedTable} (id INTEGER PRIMARY KEY AUTOINCREMENT, line TEXT NOT NULL, error TEXT NOT NULL, at TEXT NOT NULL);
    `);
    this.insert = db.prepare<[string]>(`INSERT INTO ${table} (line) VALUES (?)`);
    this.select = db.prepare<[number]>(`SELECT id, line FROM ${table} ORDER BY id LIMIT ?`);
    this.deleteUpTo = db.prepare<[number]>(`DELETE FROM ${table} WHERE id <= ?`);
    this.insertRefused = db.prepare<[string, string, string]>(`INSERT INTO ${refusedTable} (line, error, at) VALUES (?, ?, ?)`);
    this.count = db.prepare(`SELECT count(*) AS n FROM ${table}`);
  }

  append(line: string): void {
    this.insert.run(line);
  }

  /** Oldest lines first. */
  peek(limit: number): SpooledLine[] {
    return this.select.all(limit) as SpooledLine[];
  }

  /** Removes lines up to the last of `lines` (peeked together, so they are the oldest). */
  release(lines: readonly SpooledLine[]): void {
    const last = lines[lines.length - 1];
    if (last) this.deleteUpTo.run(last.id);
  }

  /**
   * Finishes a written batch: the lines InfluxDB refused for their content (it will never take
   * them) go to the refused table with the reason, and the whole batch leaves the spool.
   */
  settle(lines: readonly SpooledLine[], refused: readonly { index: number; error: string }[]): void {
    const at = new Date().toISOString();
    this.db.transaction(() => {
      for (const r of refused) {
        const l = lines[r.index];
        if (l) this.insertRefused.run(l.line, r.error, at);
      }
      this.release(lines);
    })();
  }

  depth(): number {
    return (this.count.get() as { n: number }).n;
  }
}
