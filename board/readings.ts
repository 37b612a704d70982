// Where the board reads sensor data: InfluxDB when INFLUX_URL is set (InfluxQL through /query, the
// language the dashboards use, on 1.x, 2.x and 3.x), else the local SQLite store ingest writes
// without InfluxDB (`local_readings`, opened read-only). Two questions: when did each node last
// report, and the last 24 hours of a zone or a node.
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { z } from 'zod';
import type { Env } from '../contracts/config.ts';
import { parseLineProtocolLine } from '../contracts/reading-files.ts';
import { TOPIC_ID_PATTERN } from '../contracts/topics.ts';
import { fetchJson } from './fetch-json.ts';
import { bucketReadings, emptySeries, seriesSchema, type ReadingPoint, type Series } from './series.ts';

export interface SeriesFilter {
  zoneId?: string;
  nodeId?: string;
}

export interface ReadingsSource {
  readonly kind: 'influx' | 'local';
  readonly description: string;
  /** Observation time (ms) of each node's newest reading. */
  lastSeen(now: number): Promise<Map<string, number>>;
  series(nodeIds: readonly string[], filter: SeriesFilter, window: { from: number; to: number; stepMs: number }): Promise<Series>;
  close(): void;
}

/** Rows read per call from the local store at most (a 24-hour window of the 33 nodes is ≈ 48,000). */
export const LOCAL_SCAN_LIMIT = 500_000;
const NODE_TAG = /^reading,node=((?:[^,\\ ]|\\.)+),/;

export class LocalStoreReadings implements ReadingsSource {
  readonly kind = 'local' as const;
  private db: Database.Database | null = null;
  private cursor = 0;
  private readonly last = new Map<string, number>();

  constructor(private readonly file: string) {}

  get description(): string {
    return `local store ${this.file}`;
  }

  private open(): Database.Database | null {
    if (this.db) return this.db;
    // Ingest creates the file; until then there is simply nothing to show.
    if (!existsSync(this.file)) return null;
    const db = new Database(this.file, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 2000');
    const table = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'local_readings'").get();
    if (!table) {
      db.close();
      return null;
    }
    this.db = db;
    return db;
  }

  /** First row id whose observation time is at or after `ms` (rows arrive roughly in time order). */
  private firstIdAtOrAfter(db: Database.Database, ms: number): number {
    const bounds = db.prepare('SELECT min(id) AS lo, max(id) AS hi FROM local_readings').get() as { lo: number | null; hi: number | null };
    if (bounds.lo === null || bounds.hi === null) return 0;
    let lo = bounds.lo;
    let hi = bounds.hi + 1;
    const at = db.prepare('SELECT ts_ms FROM local_readings WHERE id >= ? ORDER BY id LIMIT 1');
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const row = at.get(mid) as { ts_ms: number } | undefined;
      if (row && row.ts_ms < ms) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  async lastSeen(now: number): Promise<Map<string, number>> {
    const db = this.open();
    if (!db) return new Map(this.last);
    // Late rows may carry older times, so start a day back the first time, then follow new rows only.
    if (this.cursor === 0) this.cursor = this.firstIdAtOrAfter(db, now - 86_400_000) - 1;
    const rows = db.prepare("SELECT id, line, ts_ms FROM local_readings WHERE id > ? AND line LIKE 'reading,%' ORDER BY id LIMIT ?").all(this.cursor, LOCAL_SCAN_LIMIT) as { id: number; line: string; ts_ms: number }[];
    for (const r of rows) {
      const node = NODE_TAG.exec(r.line)?.[1]?.replace(/\\(.)/g, '$1');
      if (node && (this.last.get(node) ?? 0) < r.ts_ms) this.last.set(node, r.ts_ms);
    }
    const maxId = rows.length ? (rows[rows.length - 1] as { id: number }).id : (db.prepare('SELECT max(id) AS m FROM local_readings').get() as { m: number | null }).m ?? this.cursor;
    this.cursor = Math.max(this.cursor, maxId);
    return new Map(this.last);
  }

  async series(nodeIds: readonly string[], _filter: SeriesFilter, w: { from: number; to: number; stepMs: number }): Promise<Series> {
    const db = this.open();
    if (!db) return emptySeries(w, nodeIds);
    const wanted = new Set(nodeIds);
    // An hour of slack for readings that arrived late (stored after newer ones).
    const start = this.firstIdAtOrAfter(db, w.from - 3_600_000);
    const rows = db.prepare("SELECT line FROM local_readings WHERE id >= ? AND ts_ms >= ? AND ts_ms < ? AND line LIKE 'reading,%' ORDER BY id LIMIT ?").iterate(start, w.from, w.to, LOCAL_SCAN_LIMIT) as IterableIterator<{ line: string }>;
    function* points(): Generator<ReadingPoint> {
      for (const { line } of rows) {
        const node = NODE_TAG.exec(line)?.[1]?.replace(/\\(.)/g, '$1');
        if (!node || !wanted.has(node)) continue;
        const r = parseLineProtocolLine(line);
        if (r.ok !== true) continue;
        yield { nodeId: r.reading.nodeId, tsMs: Date.parse(r.reading.ts), temperatureC: r.reading.temperatureC, humidityPct: r.reading.humidityPct, smoke: r.reading.smoke };
      }
    }
    return bucketReadings(points(), w, nodeIds);
  }

  close(): void {
    this.db?.close();
    this.db = null;
  }
}

const influxResponseSchema = z.object({
  results: z.array(
    z.object({
      statement_id: z.number().optional(),
      error: z.string().optional(),
      series: z
        .array(
          z.object({
            name: z.string(),
            tags: z.record(z.string(), z.string()).optional(),
            columns: z.array(z.string()),
            values: z.array(z.array(z.union([z.number(), z.string(), z.boolean(), z.null()]))),
          }),
        )
        .optional(),
    }),
  ),
  error: z.string().optional(),
});
type InfluxSeries = NonNullable<z.infer<typeof influxResponseSchema>['results'][number]['series']>;

/** Answers are small (one row per node, or 288 buckets × the zone's nodes); anything bigger is refused. */
const INFLUX_MAX_BYTES = 8 * 1024 * 1024;

export class InfluxReadings implements ReadingsSource {
  readonly kind = 'influx' as const;
  constructor(private readonly env: Pick<Env, 'INFLUX_URL' | 'INFLUX_API' | 'INFLUX_TOKEN' | 'INFLUX_BUCKET' | 'INFLUX_DATABASE' | 'INFLUX_RETENTION_POLICY' | 'INFLUX_USERNAME' | 'INFLUX_PASSWORD' | 'INFLUX_TIMEOUT_MS'>) {}

  get description(): string {
    return `InfluxDB ${this.env.INFLUX_URL} (InfluxQL)`;
  }

  async query(q: string): Promise<InfluxSeries> {
    const url = new URL('/query', this.env.INFLUX_URL);
    const v1 = this.env.INFLUX_API === 'v1';
    url.searchParams.set('db', v1 ? this.env.INFLUX_DATABASE : this.env.INFLUX_BUCKET);
    if (v1 && this.env.INFLUX_RETENTION_POLICY) url.searchParams.set('rp', this.env.INFLUX_RETENTION_POLICY);
    url.searchParams.set('epoch', 'ms');
    url.searchParams.set('q', q);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (v1 && this.env.INFLUX_USERNAME) headers.authorization = `Basic ${Buffer.from(`${this.env.INFLUX_USERNAME}:${this.env.INFLUX_PASSWORD ?? ''}`).toString('base64')}`;
    else if (this.env.INFLUX_TOKEN) headers.authorization = `Token ${this.env.INFLUX_TOKEN}`;
    const body = await fetchJson(url.toString(), { headers, timeoutMs: this.env.INFLUX_TIMEOUT_MS, maxBytes: INFLUX_MAX_BYTES }, influxResponseSchema);
    const result = body.results[0];
    const error = body.error ?? result?.error;
    if (error) throw new Error(`InfluxDB: ${error}`);
    return result?.series ?? [];
  }

  async lastSeen(): Promise<Map<string, number>> {
    const series = await this.query('SELECT last("temperature") FROM "reading" WHERE time > now() - 7d GROUP BY "node"');
    const out = new Map<string, number>();
    for (const s of series) {
      const node = s.tags?.node;
      const t = s.values[0]?.[0];
      if (node && typeof t === 'number') out.set(node, t);
    }
    return out;
  }

  async series(nodeIds: readonly string[], filter: SeriesFilter, w: { from: number; to: number; stepMs: number }): Promise<Series> {
    // Ids are topic ids (a-z, 0-9, -): safe inside a quoted InfluxQL string.
    const id = filter.nodeId ?? filter.zoneId ?? '';
    if (!TOPIC_ID_PATTERN.test(id)) throw new Error(`not an id: ${JSON.stringify(id)}`);
    const where = filter.nodeId ? `"node" = '${id}'` : `"zone" = '${id}'`;
    const q = `SELECT mean("temperature") AS "temperature", mean("humidity") AS "humidity", max("smoke") AS "smoke" FROM "reading" WHERE ${where} AND time >= ${w.from}ms AND time < ${w.to}ms GROUP BY time(${Math.round(w.stepMs / 1000)}s), "node" fill(none)`;
    const out = emptySeries(w, nodeIds);
    for (const s of await this.query(q)) {
      const node = out.nodes.find((n) => n.nodeId === s.tags?.node);
      if (!node) continue;
      const col = (name: string) => s.columns.indexOf(name);
      for (const row of s.values) {
        const t = row[0];
        if (typeof t !== 'number') continue;
        const b = Math.floor((t - w.from) / w.stepMs);
        if (b < 0 || b >= out.times.length) continue;
        const num = (i: number) => (typeof row[i] === 'number' ? Math.round((row[i] as number) * 100) / 100 : null);
        node.temperature[b] = num(col('temperature'));
        node.humidity[b] = num(col('humidity'));
        node.smoke[b] = num(col('smoke'));
      }
    }
    return seriesSchema.parse(out);
  }

  close(): void {}
}

export function readingsSource(env: Env & { BOARD_LOCAL_STORE_FILE?: string }, dataDir: string): ReadingsSource {
  if (env.INFLUX_URL) return new InfluxReadings({ ...env, INFLUX_URL: env.INFLUX_URL });
  return new LocalStoreReadings(env.BOARD_LOCAL_STORE_FILE ?? `${dataDir.replace(/\/+$/, '')}/ingest.sqlite`);
}
