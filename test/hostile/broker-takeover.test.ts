// A sensor node stands in the forest: assume its key is extracted. With any node's password the
// attacker tries to take the service sessions (kick ingest, read or wipe its queue, swallow the
// fire events meant for alerts) and to read a queue through another account's session. Real
// `fire-ews broker` and `fire-ews ingest` processes; ingest keeps readings in its local store.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { derivePassword } from '../../platform/credentials.ts';
import { topics } from '../../contracts/topics.ts';
import { freePort } from '../harness/ports.ts';
import { connectAs, publishReadings, readingStream, ServiceProcess, serviceEnv, tempDataDir, TEST_SECRET } from '../harness/services.ts';

const STOLEN = 'san-thang-01';
const DAY = 86_400_000;

/** One CONNECT with the stolen node key; resolves with the CONNACK outcome. */
async function tryConnect(url: string, clientId: string, clean: boolean, username = STOLEN): Promise<string> {
  try {
    const c = await mqtt.connectAsync(url, { clientId, clean, username, password: derivePassword(TEST_SECRET, username), reconnectPeriod: 0, connectTimeout: 5000 });
    await c.endAsync(true);
    return 'accepted';
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

describe('a stolen node key cannot take over a service session', () => {
  let data: ReturnType<typeof tempDataDir>;
  let broker: ServiceProcess;
  let ingest: ServiceProcess;
  let url: string;
  let metricsUrl: string;
  const storedReadings = () => {
    const db = new Database(join(data.dir, 'ingest.sqlite'), { readonly: true });
    try {
      return (db.prepare("SELECT count(*) AS n FROM local_readings WHERE line LIKE 'reading,%'").get() as { n: number }).n;
    } finally {
      db.close();
    }
  };

  beforeAll(async () => {
    data = tempDataDir('takeover');
    const port = await freePort();
    const httpPort = await freePort();
    url = `mqtt://127.0.0.1:${port}`;
    metricsUrl = `http://127.0.0.1:${httpPort}/metrics`;
    broker = new ServiceProcess('broker', serviceEnv(data.dir, { MQTT_PORT: String(port), EWS_HTTP_PORT: String(httpPort) })).start();
    await broker.waitForLog('MQTT broker listening');
    ingest = new ServiceProcess('ingest', serviceEnv(data.dir, { MQTT_URL: url, INGEST_FLUSH_MS: '50' })).start();
    await ingest.waitForLog('ingest subscribed');
  });

  afterAll(async () => {
    await ingest?.stop();
    await broker?.stop();
    data?.remove();
  });

  it('every service client id is refused to a node key, repeatedly, while ingest stays connected and stores every reading', async () => {
    const connectsBefore = ingest.logs.filter((l) => l.msg === 'ingest connected to broker').length;
    const node = await connectAs(url, 'san-thang-02');
    const readings = [...readingStream(['san-thang-02'], 2000, Date.now() - DAY)];
    const publishing = publishReadings(node, readings, 50);
    const outcomes: string[] = [];
    // The measured attack reconnected every 150 ms; here every service id, clean and persistent.
    for (let round = 0; round < 8; round++) {
      for (const id of ['ews-ingest', 'ews-rules', 'ews-alerts', 'ews-ingest-2']) outcomes.push(await tryConnect(url, id, round % 2 === 0));
      await sleep(150);
    }
    await publishing;
    await node.endAsync();
    expect(outcomes).toHaveLength(32);
    expect(new Set(outcomes)).toStrictEqual(new Set(['Connection refused: Identifier rejected']));
    await expect.poll(storedReadings, { timeout: 30_000, message: 'every acknowledged reading stored' }).toBe(2000);
    expect(ingest.logs.filter((l) => l.msg === 'ingest connected to broker').length, 'ingest was never kicked').toBe(connectsBefore);
    expect(ingest.logs.some((l) => l.msg === 'ingest lost the broker connection'), 'ingest never lost its connection').toBe(false);
    await broker.waitForLog('client id takeover refused');
    const metrics = await (await fetch(metricsUrl)).text();
    expect(metrics).toMatch(/ews_broker_rejected_total\{action="connect",reason="client-id"\} [1-9]/);
  });

  it("a node may not take another node's id, nor another service's account an ews- id", async () => {
    expect(await tryConnect(url, 'san-thang-02', true)).toBe('Connection refused: Identifier rejected');
    expect(await tryConnect(url, 'node-san-thang-01', true)).toBe('Connection refused: Identifier rejected');
    expect(await tryConnect(url, 'ews-ingest', false, 'svc-observer')).toBe('Connection refused: Identifier rejected');
    expect(await tryConnect(url, 'san-thang-03', false, 'svc-simulator')).toBe('Connection refused: Identifier rejected');
    expect(await tryConnect(url, STOLEN, true)).toBe('accepted');
  });

  it("with ingest down, its queue can be neither read nor wiped; ingest gets all 1,000 readings back", async () => {
    expect(await ingest.stop('SIGTERM')).toBe(0);
    const before = storedReadings();
    const node = await connectAs(url, 'san-thang-03');
    await publishReadings(node, readingStream(['san-thang-03'], 1000, Date.now() - 2 * DAY));
    await node.endAsync();
    // Read (persistent session: the queue would be replayed to it) and wipe (clean session).
    expect(await tryConnect(url, 'ews-ingest', false)).toBe('Connection refused: Identifier rejected');
    expect(await tryConnect(url, 'ews-ingest', true)).toBe('Connection refused: Identifier rejected');
    ingest.start();
    await ingest.waitForLog('ingest subscribed', 30_000, ingest.logs.length);
    await expect.poll(storedReadings, { timeout: 30_000, message: 'the queued readings' }).toBe(before + 1000);
  });

  it("a queue replayed to an account whose ACL does not cover it delivers nothing", async () => {
    // The observer's persistent session (not an ews- id) collects readings while it is away…
    const observer = await connectAs(url, 'svc-observer', { clientId: 'wall-screen', clean: false });
    await observer.subscribeAsync(topics.allReadings, { qos: 1 });
    await observer.endAsync();
    const node = await connectAs(url, 'san-thang-04');
    await publishReadings(node, readingStream(['san-thang-04'], 20, Date.now() - 3 * DAY));
    // …and the simulator account, which may read nothing, picks that session up.
    const intruder = await connectAs(url, 'svc-simulator', { clientId: 'wall-screen', clean: false });
    const received: string[] = [];
    intruder.on('message', (topic) => received.push(topic));
    await broker.waitForLog('delivery refused', 10_000);
    await publishReadings(node, readingStream(['san-thang-04'], 5, Date.now() - 3 * DAY + 3_600_000));
    await sleep(1000);
    expect(received, 'neither the replayed queue nor live messages').toStrictEqual([]);
    await intruder.endAsync();
    await node.endAsync();
  });
});
