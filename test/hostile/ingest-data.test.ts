// Data that must not be lost or miscounted, through real `fire-ews broker` and `fire-ews ingest`
// processes and Debian's influxd. Measured before the fixes: a status stamped 9999-12-31 made
// InfluxDB refuse a batch and ingest set aside 1,304 valid readings with it; dead letters of one
// reason and node in one millisecond collapsed into one point (9,963 of 10,380 counted); a second
// reading at the same time overwrote the first silently; /healthz said ok while disconnected.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { MqttClient } from 'mqtt';
import { topics } from '../../contracts/topics.ts';
import { InfluxdProcess, integrationSkipReason } from '../harness/influxd.ts';
import { freePort } from '../harness/ports.ts';
import { connectAs, makeReading, publishReadings, readingStream, ServiceProcess, serviceEnv, tempDataDir } from '../harness/services.ts';
import { skipTitle } from '../harness/skip.ts';

const skip = integrationSkipReason();
const DAY = 86_400_000;

describe.skipIf(skip)(skipTitle('ingest keeps every good line and counts every bad one', skip), () => {
  let influx: InfluxdProcess;
  let data: ReturnType<typeof tempDataDir>;
  let broker: ServiceProcess;
  let ingest: ServiceProcess;
  let url: string;
  let healthUrl: string;
  let simulator: MqttClient;
  const sqlite = <T>(sql: string) => {
    const db = new Database(join(data.dir, 'ingest.sqlite'), { readonly: true });
    try {
      return db.prepare(sql).all() as T[];
    } finally {
      db.close();
    }
  };
  const influxNumber = async (q: string) => {
    const v = (await influx.query(q, 'ews'))[0]?.values[0]?.[1];
    return typeof v === 'number' ? v : 0;
  };

  beforeAll(async () => {
    influx = await InfluxdProcess.start('ews');
    data = tempDataDir('ingest-data');
    const port = await freePort();
    const httpPort = await freePort();
    url = `mqtt://127.0.0.1:${port}`;
    healthUrl = `http://127.0.0.1:${httpPort}/healthz`;
    broker = new ServiceProcess('broker', serviceEnv(data.dir, { MQTT_PORT: String(port) })).start();
    await broker.waitForLog('MQTT broker listening');
    ingest = new ServiceProcess('ingest', serviceEnv(data.dir, { MQTT_URL: url, INFLUX_URL: influx.url, INFLUX_API: 'v1', INFLUX_DATABASE: 'ews', INGEST_FLUSH_MS: '100', EWS_HTTP_PORT: String(httpPort) })).start();
    await ingest.waitForLog('ingest subscribed');
    simulator = await connectAs(url, 'svc-simulator');
  });

  afterAll(async () => {
    await simulator?.endAsync().catch(() => undefined);
    await ingest?.stop();
    await broker?.stop();
    await influx?.destroy();
    data?.remove();
  });

  it('a status stamped 9999-12-31 among 1,304 readings is dead-lettered; every reading is stored, nothing set aside', async () => {
    const end = Date.now() - DAY;
    const readings = [...readingStream(['nam-loong-01', 'nam-loong-02'], 1304, end)];
    const from = Date.parse(readings[0]!.ts);
    await publishReadings(simulator, readings.slice(0, 650));
    await simulator.publishAsync(topics.status('nam-loong-01'), JSON.stringify({ nodeId: 'nam-loong-01', status: 'online', ts: '9999-12-31T23:59:59Z' }), { qos: 1 });
    await publishReadings(simulator, readings.slice(650));
    await expect.poll(() => influxNumber(`SELECT count(temperature) FROM reading WHERE time >= ${from}ms AND time <= ${end}ms`), { timeout: 30_000 }).toBe(1304);
    expect(sqlite<{ n: number }>('SELECT count(*) AS n FROM rejected_lines')[0]?.n).toBe(0);
    expect(sqlite<{ code: string; reason: string }>("SELECT code, reason FROM dead_letters WHERE topic = 'ews/v1/status/nam-loong-01'")).toStrictEqual([
      { code: 'future-timestamp', reason: expect.stringMatching(/^timestamp 9999-12-31T23:59:59Z is \d+ s in the future/) },
    ]);
  });

  it('1,000 dead letters of one reason and node, sent as fast as possible, are 1,000 points', async () => {
    const before = await influxNumber("SELECT sum(\"count\") FROM dead_letter WHERE reason = 'malformed-json'");
    const inFlight: Promise<unknown>[] = [];
    for (let i = 0; i < 1000; i++) inFlight.push(simulator.publishAsync(topics.reading('quyet-thang-01'), `{"broken":${i}`, { qos: 1 }));
    await Promise.all(inFlight);
    await expect.poll(() => influxNumber("SELECT sum(\"count\") FROM dead_letter WHERE reason = 'malformed-json'"), { timeout: 30_000 }).toBe(before + 1000);
    // The same count as the durable table, which has one row per dead letter.
    expect(sqlite<{ n: number }>("SELECT count(*) AS n FROM dead_letters WHERE code = 'malformed-json'")[0]?.n).toBe(before + 1000);
  });

  it('a second reading of a node at the same time with other values is dead-lettered; the first stays', async () => {
    const ts = Date.now() - 2 * DAY;
    const first = makeReading('san-thang-08', 10, ts);
    const stuckClock = { ...makeReading('san-thang-08', 11, ts), temperatureC: 41.5 };
    await publishReadings(simulator, [first, first, stuckClock]);
    await expect.poll(() => sqlite<{ reason: string }>("SELECT reason FROM dead_letters WHERE code = 'duplicate-timestamp'"), { timeout: 10_000 }).toStrictEqual([
      { reason: `reading seq 11 has the time ${first.ts} of seq 10 with different values; the first is kept` },
    ]);
    await expect.poll(() => influxNumber(`SELECT count(temperature) FROM reading WHERE node = 'san-thang-08' AND time = ${ts}ms`), { timeout: 10_000 }).toBe(1);
    expect(await influxNumber(`SELECT last(temperature) FROM reading WHERE node = 'san-thang-08' AND time = ${ts}ms`)).toBe(first.temperatureC);
  });

  it('/healthz is 503 while ingest is cut off from the broker and 200 again once it is back', async () => {
    expect((await fetch(healthUrl)).status).toBe(200);
    await broker.stop('SIGKILL');
    await expect.poll(async () => (await fetch(healthUrl)).status, { timeout: 15_000 }).toBe(503);
    expect(await (await fetch(healthUrl)).json()).toMatchObject({ ok: false, detail: { mqtt: false, spoolFull: false, influx: 'ok' } });
    broker.start();
    await broker.waitForLog('MQTT broker listening', 30_000, broker.logs.length);
    await expect.poll(async () => (await fetch(healthUrl)).status, { timeout: 30_000 }).toBe(200);
  });
});
