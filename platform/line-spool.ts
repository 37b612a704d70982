// Line-protocol lines waiting for InfluxDB, in the service's SQLite file (ingest's spool, rules'
// `influx`, alerts' `influx_spool`): appended in the caller's transaction (so a line exists exactly
// when the state change that produced it does), read oldest first, deleted once written. Lines
// InfluxDB refuses for their content are kept in a second table with the reason instead of being
// retried forever. The drain step over it is writeSpoolBatch (platform/spool-drain.ts).
import type { SqliteDatabase } from './sqlite.ts';

export interface SpooledLine {
  id: number;
  line: string;
  /** The point's time (epoch ms) when the service gave it (ingest: lag figures); 0 otherwise. */
  tsMs: number;
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
      CREATE TABLE IF NOT EXISTS ${table} (id INTEGER PRIMARY KEY AUTOINCREMENT, line TEXT NOT NULL, ts_ms INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE IF NOT EXISTS ${refusedTable} (id INTEGER PRIMARY KEY AUTOINCREMENT, line TEXT NOT NULL, error TEXT NOT NULL, at TEXT NOT NULL);
    `);
    // Spools written before the time column (rules, alerts).
    const columns = (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
    if (!columns.includes('ts_ms')) db.exec(`ALTER TABLE ${table} ADD COLUMN ts_ms INTEGER NOT NULL DEFAULT 0`);
    this.insert = db.prepare<[string, number]>(`INSERT INTO ${table} (line, ts_ms) VALUES (?, ?)`);
    this.select = db.prepare<[number]>(`SELECT id, line, ts_ms AS tsMs FROM ${table} ORDER BY id LIMIT ?`);
    this.deleteUpTo = db.prepare<[number]>(`DELETE FROM ${table} WHERE id <= ?`);
    this.insertRefused = db.prepare<[string, string, string]>(`INSERT INTO ${refusedTable} (line, error, at) VALUES (?, ?, ?)`);
    this.count = db.prepare(`SELECT count(*) AS n FROM ${table}`);
  }

  append(line: string, tsMs = 0): void {
    this.insert.run(line, tsMs);
  }

  /** Oldest lines first. */
  peek(limit: number): SpooledLine[] {
    return this.select.all(limit) as SpooledLine[];
  }

  /** Removes lines up to the last of `lines` (peeked together, so they are the oldest); returns how many left. */
  release(lines: readonly SpooledLine[]): number {
    const last = lines[lines.length - 1];
    return last ? this.deleteUpTo.run(last.id).changes : 0;
  }

  /**
   * Finishes a written batch: the lines InfluxDB refused for their content (it will never take
   * them) go to the refused table with the reason, and the whole batch leaves the spool (returns
   * how many lines left it).
   */
  settle(lines: readonly SpooledLine[], refused: readonly { index: number; error: string }[]): number {
    const at = new Date().toISOString();
    return this.db.transaction(() => {
      for (const r of refused) {
        const l = lines[r.index];
        if (l) this.insertRefused.run(l.line, r.error, at);
      }
      return this.release(lines);
    })();
  }

  depth(): number {
    return (this.count.get() as { n: number }).n;
  }
}
