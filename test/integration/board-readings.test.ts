// The board's two readings sources give the same answers for the same readings: InfluxDB (Debian's
// influxd 1.6, InfluxQL through /query, v1 settings) and the local SQLite store ingest keeps without
// InfluxDB (table local_readings, read-only). Last reading per node and the 24-hour buckets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { InfluxReadings, LocalStoreReadings } from '../../board/readings.ts';
import { seriesWindow } from '../../board/series.ts';
import { readingToLineProtocol } from '../../contracts/reading-files.ts';
import type { Reading } from '../../contracts/payloads.ts';
import { InfluxdProcess, integrationSkipReason } from '../harness/influxd.ts';
import { freePort } from '../harness/ports.ts';
import { tempDataDir } from '../harness/services.ts';
import { skipTitle } from '../harness/skip.ts';

const skip = integrationSkipReason();
const NOW = Date.now();
const MIN = 60_000;
const NODES = [
  ['san-thang-01', 'san-thang'],
  ['san-thang-02', 'san-thang'],
  ['tan-phong-01', 'tan-phong'],
] as const;

/** 26 hours of readings every 2 minutes; san-thang-02 stops 3 hours ago; a smoke peak at one minute. */
function readings(): { r: Reading; zone: string }[] {
  const out: { r: Reading; zone: string }[] = [];
  NODES.forEach(([nodeId, zone], n) => {
    for (let m = 26 * 60; m >= 1; m -= 2) {
      if (nodeId === 'san-thang-02' && m < 180) continue;
      const ts = Math.floor((NOW - m * MIN) / 1000) * 1000;
      out.push({ zone, r: { nodeId, seq: 100_000 - m, ts: new Date(ts).toISOString(), temperatureC: 20 + n + (m % 7) / 10, humidityPct: 60 - n - (m % 5), smoke: m === 60 ? 950 : 100 + (m % 3) } });
    }
  });
  return out;
}

let tmp: ReturnType<typeof tempDataDir>;
let influxd: InfluxdProcess;
let influx: InfluxReadings;
let local: LocalStoreReadings;

describe.skipIf(skip)(skipTitle('board readings: InfluxDB and the local store agree', skip), () => {
  beforeAll(async () => {
    tmp = tempDataDir('board-readings');
    influxd = await InfluxdProcess.start('ews');
    const data = readings();
    const lines = data.map(({ r, zone }) => readingToLineProtocol(r, zone));
    const res = await fetch(`${influxd.url}/write?db=ews&precision=ms`, { method: 'POST', body: lines.join('\n') });
    expect(res.status).toBe(204);
    // The local store as ingest writes it (same table and columns), in arrival order.
    const file = join(tmp.dir, 'ingest.sqlite');
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE local_readings (id INTEGER PRIMARY KEY AUTOINCREMENT, line TEXT NOT NULL, ts_ms INTEGER NOT NULL)');
    const insert = db.prepare('INSERT INTO local_readings (line, ts_ms) VALUES (?, ?)');
    // Other measurements share the table; they must be ignored.
    insert.run('node_status,node=san-thang-01,zone=san-thang online=true 1', 1);
    for (const { r, zone } of [...data].sort((a, b) => Date.parse(a.r.ts) - Date.parse(b.r.ts))) insert.run(readingToLineProtocol(r, zone), Date.parse(r.ts));
    db.close();
    influx = new InfluxReadings({ INFLUX_URL: influxd.url, INFLUX_API: 'v1', INFLUX_TOKEN: undefined, INFLUX_BUCKET: 'ews', INFLUX_DATABASE: 'ews', INFLUX_RETENTION_POLICY: undefined, INFLUX_USERNAME: undefined, INFLUX_PASSWORD: undefined, INFLUX_TIMEOUT_MS: 10_000 });
    local = new LocalStoreReadings(file);
  }, 120_000);

  afterAll(async () => {
    local?.close();
    await influxd?.destroy();
    tmp?.remove();
  });

  it('the last reading of each node', async () => {
    const expected = new Map(NODES.map(([id]) => [id, Math.max(...readings().filter((x) => x.r.nodeId === id).map((x) => Date.parse(x.r.ts)))]));
    expect(await influx.lastSeen()).toStrictEqual(expected);
    expect(await local.lastSeen(NOW)).toStrictEqual(expected);
    expect(expected.get('san-thang-02')).toBeLessThan(NOW - 3 * 60 * MIN + MIN);
  });

  it('a zone over the last 24 hours: the same 5-minute buckets from both sources, with the smoke peak kept', async () => {
    const w = seriesWindow(NOW);
    const ids = ['san-thang-01', 'san-thang-02'];
    const fromInflux = await influx.series(ids, { zoneId: 'san-thang' }, w);
    const fromLocal = await local.series(ids, { zoneId: 'san-thang' }, w);
    expect(fromInflux.times).toHaveLength(288);
    expect(fromLocal).toStrictEqual(fromInflux);
    const st1 = fromLocal.nodes[0]!;
    expect(Math.max(...st1.smoke.filter((v): v is number => v !== null)), 'max per bucket keeps a short smoke peak').toBe(950);
    const filled = st1.temperature.filter((v) => v !== null).length;
    expect(filled).toBeGreaterThanOrEqual(286);
    // san-thang-02 went silent 3 hours ago: its last 36 buckets are empty, not carried forward.
    expect(fromLocal.nodes[1]!.temperature.slice(-35).every((v) => v === null)).toBe(true);
  });

  it('one node, and a source that cannot answer says why', async () => {
    const w = seriesWindow(NOW);
    const one = await influx.series(['tan-phong-01'], { nodeId: 'tan-phong-01' }, w);
    expect(one).toStrictEqual(await local.series(['tan-phong-01'], { nodeId: 'tan-phong-01' }, w));
    const closed = await freePort();
    const down = new InfluxReadings({ INFLUX_URL: `http://127.0.0.1:${closed}`, INFLUX_API: 'v1', INFLUX_TOKEN: undefined, INFLUX_BUCKET: 'ews', INFLUX_DATABASE: 'ews', INFLUX_RETENTION_POLICY: undefined, INFLUX_USERNAME: undefined, INFLUX_PASSWORD: undefined, INFLUX_TIMEOUT_MS: 2000 });
    await expect(down.lastSeen()).rejects.toThrow(new RegExp(`GET http://127\\.0\\.0\\.1:${closed}/query: ECONNREFUSED`));
    const missingDb = new InfluxReadings({ INFLUX_URL: influxd.url, INFLUX_API: 'v1', INFLUX_TOKEN: undefined, INFLUX_BUCKET: 'ews', INFLUX_DATABASE: 'nope', INFLUX_RETENTION_POLICY: undefined, INFLUX_USERNAME: undefined, INFLUX_PASSWORD: undefined, INFLUX_TIMEOUT_MS: 2000 });
    await expect(missingDb.lastSeen()).rejects.toThrow(/database not found: nope/);
    // No local store yet (ingest has not run): nothing, not an error.
    const none = new LocalStoreReadings(join(tmp.dir, 'absent.sqlite'));
    expect(await none.lastSeen(NOW)).toStrictEqual(new Map());
    expect((await none.series(['tan-phong-01'], { nodeId: 'tan-phong-01' }, w)).nodes[0]!.temperature.every((v) => v === null)).toBe(true);
  });
});
