// The services against Debian's Mosquitto 2 instead of our aedes broker (README "Other MQTT
// brokers"): nodes publish with the accounts and ACL of broker/acl.ts (broker/mosquitto-acl.ts), two
// `fire-ews ingest` processes share `$share/ingest/ews/v1/readings/+` (INGEST_SHARED_GROUP), real
// influxd. Mosquitto 2.0.11 holds the share of a persistent (clean=false) worker that died in that
// worker's session until it reconnects; it does not hand it to the other worker: proved below.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { topics } from '../../contracts/topics.ts';
import { loadSiteFile } from '../../platform/site-file.ts';
import { InfluxdProcess, integrationSkipReason } from '../harness/influxd.ts';
import { MosquittoProcess, mosquittoSkipReason } from '../harness/mosquitto.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { connectAs, makeReading, publishReadings, readingStream, ServiceProcess, serviceEnv, SITE_FILE, tempDataDir, TEST_SECRET } from '../harness/services.ts';
import { skipTitle } from '../harness/skip.ts';

const skip = integrationSkipReason() || mosquittoSkipReason();
const nodeIds = loadSiteFile(SITE_FILE).nodes.map((n) => n.id);
const DAY = 86_400_000;

/** One ingest worker: its own data dir (spool), client id and metrics port. */
class IngestWorker {
  readonly process: ServiceProcess;
  constructor(
    readonly name: string,
    readonly metricsPort: number,
    env: Record<string, string>,
  ) {
    this.process = new ServiceProcess('ingest', { ...env, INGEST_CLIENT_ID: `ews-ingest-${name}`, EWS_HTTP_PORT: String(metricsPort) });
  }

  /** Readings this process received (ews_ingest_received_total{kind="reading"}) since it started. */
  async readingsReceived(): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`)).text();
    const m = /^ews_ingest_received_total\{kind="reading"\} (\d+)/m.exec(text);
    return m ? Number(m[1]) : 0;
  }
}

describe.skipIf(skip)(skipTitle('Mosquitto 2 → two ingest workers on a shared subscription → InfluxDB', skip), () => {
  let influx: InfluxdProcess;
  let mosquitto: MosquittoProcess;
  let data: ReturnType<typeof tempDataDir>;
  let workers: IngestWorker[];
  let publisher: MqttClient;

  beforeAll(async () => {
    influx = await InfluxdProcess.start('ews');
    data = tempDataDir('mosquitto-ingest');
    const mosquittoDir = join(data.dir, 'mosquitto');
    mkdirSync(mosquittoDir);
    mosquitto = await MosquittoProcess.start(mosquittoDir, TEST_SECRET, nodeIds);
    workers = [];
    for (const name of ['a', 'b']) {
      const dir = join(data.dir, `ingest-${name}`);
      mkdirSync(dir);
      const env = serviceEnv(dir, {
        MQTT_URL: mosquitto.url,
        INFLUX_URL: influx.url,
        INFLUX_API: 'v1',
        INFLUX_DATABASE: 'ews',
        INGEST_FLUSH_MS: '100',
        INGEST_SHARED_GROUP: 'ingest',
        EWS_LOG_LEVEL: process.env.EWS_TEST_LOG_LEVEL ?? 'info',
      });
      workers.push(new IngestWorker(name, await freePort(), env));
    }
    for (const w of workers) w.process.start();
    for (const w of workers) {
      const subscribed = await w.process.waitForLog('ingest subscribed');
      expect(subscribed.filters).toStrictEqual(['$share/ingest/ews/v1/readings/+', '$share/ingest/ews/v1/status/+', '$share/ingest/ews/v1/drill/readings/+']);
    }
    publisher = await connectAs(mosquitto.url, 'svc-simulator');
  });

  afterAll(async () => {
    await publisher?.endAsync().catch(() => undefined);
    for (const w of workers ?? []) await w.process.stop();
    await mosquitto?.stop();
    await influx?.destroy();
    data?.remove();
  });

  const countBetween = (fromMs: number, toMs: number) => influx.readingsBetween(fromMs, toMs);
  const waitForCount = (fromMs: number, toMs: number, expected: number, timeoutMs?: number) => influx.waitForReadingsBetween(fromMs, toMs, expected, timeoutMs);

  it('a node publishes its own reading with its derived password; one it publishes for another node is refused by the ACL', async () => {
    const at = Date.now() - 5 * DAY;
    const node = await connectAs(mosquitto.url, 'nam-loong-01');
    try {
      await node.publishAsync(topics.reading('nam-loong-02'), JSON.stringify(makeReading('nam-loong-02', 1, at)), { qos: 1 });
      await node.publishAsync(topics.reading('nam-loong-01'), JSON.stringify(makeReading('nam-loong-01', 1, at)), { qos: 1 });
    } finally {
      await node.endAsync();
    }
    await waitForCount(at, at, 1);
    const series = await influx.query(`SELECT seq FROM reading WHERE time = ${at}ms GROUP BY node`, 'ews');
    expect(series.map((s) => s.tags?.node)).toStrictEqual(['nam-loong-01']);
    // A wrong password is refused at CONNECT.
    await expect(connectAs(mosquitto.url, 'nam-loong-03', { password: 'not-the-derived-password' })).rejects.toThrow(/Not authorized|Bad username or password/);
    // What the ACL cannot express (README "Other MQTT brokers"): Mosquitto lets a node's account use
    // another node's client id, which our broker refuses.
    const impostor = await connectAs(mosquitto.url, 'nam-loong-04', { clientId: 'nam-loong-05' });
    expect(impostor.connected).toBe(true);
    await impostor.endAsync();
  });

  it('6,000 readings are split between the two workers, each stored exactly once with its values', async () => {
    const end = Date.now() - 4 * DAY;
    const readings = [...readingStream(nodeIds, 6000, end)];
    const from = Math.min(...readings.map((r) => Date.parse(r.ts)));
    const [a0, b0] = await Promise.all(workers.map((w) => w.readingsReceived()));
    expect(await publishReadings(publisher, readings)).toBe(6000);
    expect(await waitForCount(from, end, 6000)).toBe(6000);

    const [a, b] = (await Promise.all(workers.map((w) => w.readingsReceived()))) as [number, number];
    // Each reading went to one worker only (a plain subscription would give both all 6,000), and
    // Mosquitto hands a shared group's messages round-robin: both workers did part of the work.
    expect(a - (a0 ?? 0) + (b - (b0 ?? 0))).toBe(6000);
    expect(a - (a0 ?? 0)).toBeGreaterThan(1000);
    expect(b - (b0 ?? 0)).toBeGreaterThan(1000);

    const series = await influx.query(`SELECT temperature, humidity, smoke, seq FROM reading WHERE time >= ${from}ms AND time <= ${end}ms GROUP BY node`, 'ews');
    const stored = new Map<string, (string | number | boolean | null)[]>();
    for (const s of series) for (const row of s.values) stored.set(`${s.tags?.node}|${row[0]}`, row);
    expect(stored.size).toBe(6000);
    for (const r of readings) expect(stored.get(`${r.nodeId}|${Date.parse(r.ts)}`)?.slice(1), `${r.nodeId} seq ${r.seq}`).toStrictEqual([r.temperatureC, r.humidityPct, r.smoke, r.seq]);
  });

  it('kill -9 of one worker mid-stream: its share waits in its session, and after its restart every acknowledged reading is stored exactly once', async () => {
    const [a, b] = workers as [IngestWorker, IngestWorker];
    const end = Date.now() - 3 * DAY;
    const readings = [...readingStream(nodeIds, 8000, end)];
    const from = Math.min(...readings.map((r) => Date.parse(r.ts)));
    // The first quarter is published (and PUBACKed by Mosquitto) while both workers run…
    expect(await publishReadings(publisher, readings.slice(0, 2000))).toBe(2000);
    const killedAt = await a.process.stop('SIGKILL');
    expect(killedAt).toBeNull();
    // …the rest while worker a is dead: every one is acknowledged by the broker.
    expect(await publishReadings(publisher, readings.slice(2000))).toBe(6000);

    // Worker b stores its share and then nothing more arrives: Mosquitto 2.0.11 keeps the dead
    // worker's share queued in its persistent session rather than giving it to b.
    let before = 0;
    await waitFor(
      async () => {
        const n = await countBetween(from, end);
        const settled = n === before && n > 0;
        before = n;
        return settled;
      },
      30_000,
      'worker b idle',
      1500,
    );
    expect(before).toBeGreaterThan(3000);
    expect(before).toBeLessThan(8000);

    // Worker a comes back under its client id: Mosquitto delivers what it held for it.
    a.process.start();
    await a.process.waitForLog('ingest subscribed');
    expect(await waitForCount(from, end, 8000)).toBe(8000);

    const series = await influx.query(`SELECT seq FROM reading WHERE time >= ${from}ms AND time <= ${end}ms GROUP BY node`, 'ews');
    const seen = new Set<string>();
    for (const s of series) for (const row of s.values) seen.add(`${s.tags?.node}|${row[1]}`);
    expect(seen.size).toBe(8000);
    expect(await b.readingsReceived()).toBeGreaterThan(0);
  });
});
