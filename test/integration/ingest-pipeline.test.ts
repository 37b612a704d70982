// End to end through real processes: `fire-ews broker` and `fire-ews ingest` as child processes,
// Debian's influxd on a free port, readings published over MQTT as nodes and the simulator do.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import type { MqttClient } from 'mqtt';
import { InfluxdProcess, integrationSkipReason } from '../harness/influxd.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { connectAs, makeReading, publishReadings, readingStream, ServiceProcess, serviceEnv, tempDataDir, SITE_FILE } from '../harness/services.ts';
import { skipTitle } from '../harness/skip.ts';
import { loadSiteFile } from '../../platform/site-file.ts';
import { topics } from '../../contracts/topics.ts';
import { deadLetterSchema } from '../../contracts/payloads.ts';

const skip = integrationSkipReason();
const nodeIds = loadSiteFile(SITE_FILE).nodes.map((n) => n.id);
const DAY = 86_400_000;

describe.skipIf(skip)(skipTitle('broker → ingest → InfluxDB, nothing lost', skip), () => {
  let influx: InfluxdProcess;
  let data: ReturnType<typeof tempDataDir>;
  let broker: ServiceProcess;
  let ingest: ServiceProcess;
  let mqttUrl: string;
  let publisher: MqttClient;
  let env: Record<string, string>;

  beforeAll(async () => {
    influx = await InfluxdProcess.start('ews');
    data = tempDataDir('pipeline');
    const port = await freePort();
    mqttUrl = `mqtt://127.0.0.1:${port}`;
    env = serviceEnv(data.dir, {
      MQTT_PORT: String(port),
      MQTT_URL: mqttUrl,
      INFLUX_URL: influx.url,
      INFLUX_API: 'v1',
      INFLUX_DATABASE: 'ews',
      INGEST_FLUSH_MS: '100',
      EWS_LOG_LEVEL: process.env.EWS_TEST_LOG_LEVEL ?? 'info',
    });
    broker = new ServiceProcess('broker', env).start();
    await broker.waitForLog('MQTT broker listening');
    ingest = new ServiceProcess('ingest', env).start();
    await ingest.waitForLog('ingest subscribed');
    publisher = await connectAs(mqttUrl, 'svc-simulator');
  });

  afterAll(async () => {
    await publisher?.endAsync().catch(() => undefined);
    await ingest?.stop();
    await broker?.stop();
    await influx?.destroy();
    data?.remove();
  });

  const countBetween = (fromMs: number, toMs: number) => influx.readingsBetween(fromMs, toMs);
  const waitForCount = (fromMs: number, toMs: number, expected: number, timeoutMs?: number) => influx.waitForReadingsBetween(fromMs, toMs, expected, timeoutMs);

  it('10,000 readings published → exactly 10,000 points, values intact', async () => {
    const end = Date.now() - 1 * DAY;
    const readings = [...readingStream(nodeIds, 10_000, end)];
    const from = Math.min(...readings.map((r) => Date.parse(r.ts)));
    expect(await publishReadings(publisher, readings)).toBe(10_000);
    expect(await waitForCount(from, end, 10_000)).toBe(10_000);

    const series = await influx.query(`SELECT temperature, humidity, smoke, battery, seq FROM reading WHERE time >= ${from}ms AND time <= ${end}ms GROUP BY node`, 'ews');
    const stored = new Map<string, (string | number | boolean | null)[]>();
    for (const s of series) for (const row of s.values) stored.set(`${s.tags?.node}|${row[0]}`, row);
    expect(stored.size).toBe(10_000);
    for (const r of readings) {
      const row = stored.get(`${r.nodeId}|${Date.parse(r.ts)}`);
      expect(row?.slice(1), `${r.nodeId} seq ${r.seq}`).toStrictEqual([r.temperatureC, r.humidityPct, r.smoke, r.batteryV, r.seq]);
    }
  });

  it('bad input is dead-lettered with a reason and the next valid reading is still stored', async () => {
    const observer = await connectAs(mqttUrl, 'svc-observer');
    const deadLetters: string[] = [];
    const qos: number[] = [];
    observer.on('message', (_t, payload, packet) => {
      deadLetters.push(deadLetterSchema.parse(JSON.parse(payload.toString())).reason);
      qos.push(packet.qos);
    });
    await observer.subscribeAsync(topics.deadLetter('ingest'), { qos: 1 });

    const now = Date.now();
    const good = makeReading('san-thang-03', 1, now - 2 * DAY);
    const bad: [string, string, RegExp][] = [
      [topics.reading('san-thang-03'), '{"nodeId":"san-thang-03",', /malformed JSON/],
      [topics.reading('san-thang-03'), JSON.stringify({ ...good, smoke: undefined }), /smoke: Invalid input/],
      [topics.reading('san-thang-03'), JSON.stringify({ ...good, humidityPct: '55' }), /humidityPct: Invalid input: expected number/],
      [topics.reading('san-thang-03'), JSON.stringify(good).replace(/"temperatureC":[0-9.]+/, '"temperatureC":1e999'), /temperatureC/],
      [topics.reading('san-thang-03'), '{"nodeId":"san-thang-03","temperatureC":NaN}', /malformed JSON/],
      [topics.reading('san-thang-03'), JSON.stringify({ ...good, humidityPct: 150 }), /humidityPct: Too big/],
      [topics.reading('san-thang-03'), JSON.stringify({ ...good, temperatureC: -100 }), /temperatureC: Too small/],
      [topics.reading('san-thang-03'), JSON.stringify({ ...good, ts: new Date(now + DAY).toISOString() }), /in the future/],
      [topics.reading('ghost-01'), JSON.stringify({ ...good, nodeId: 'ghost-01' }), /not in the site registry/],
      [topics.reading('san-thang-03'), JSON.stringify({ ...good, nodeId: 'san-thang-04' }), /does not match topic node/],
      [topics.reading('san-thang-03'), 'x'.repeat(10_000), /10000 bytes exceeds 4096/],
    ];
    for (const [topic, payload] of bad) await publisher.publishAsync(topic, payload, { qos: 1 });
    await publishReadings(publisher, [good]);
    expect(await waitForCount(Date.parse(good.ts), Date.parse(good.ts), 1)).toBe(1);

    const db = new Database(join(data.dir, 'ingest.sqlite'), { readonly: true });
    const rows = db.prepare('SELECT reason, topic, payload_excerpt AS excerpt FROM dead_letters ORDER BY id DESC LIMIT ?').all(bad.length) as { reason: string; topic: string; excerpt: string }[];
    db.close();
    rows.reverse();
    expect(rows).toHaveLength(bad.length);
    expect(rows).toMatchObject(bad.map(([topic, , reason]) => ({ topic, reason: expect.stringMatching(reason) })));
    expect(rows[rows.length - 1]!.excerpt.length, 'payload excerpt is truncated').toBeLessThanOrEqual(256);
    await waitFor(() => deadLetters.length >= bad.length, 5000, 'dead letters on MQTT');
    expect(deadLetters.slice(0, bad.length), 'dead letters on MQTT').toStrictEqual(bad.map(([, , reason]) => expect.stringMatching(reason)));
    expect(new Set(qos), 'dead letters are published at QoS 1 (one policy for every service)').toStrictEqual(new Set([1]));
    await observer.endAsync();
    expect(ingest.running, 'ingest is still running').toBe(true);
  });

  it('the broker refuses wrong passwords, node subscriptions, foreign topics and 1 MB payloads; valid readings still flow', async () => {
    await expect(connectAs(mqttUrl, 'san-thang-05', { password: 'wrong' })).rejects.toThrow(/Bad username or password|Not authorized/);
    await expect(connectAs(mqttUrl, 'ghost-99')).rejects.toThrow(/Bad username or password|Not authorized/);

    const node = await connectAs(mqttUrl, 'san-thang-05', { clientId: 'san-thang-05' });
    // SUBACK 0x80: mqtt.js turns a refused subscription into an error.
    await expect(node.subscribeAsync(topics.allReadings, { qos: 1 }), 'a node may not subscribe').rejects.toThrow(/Subscribe error/);
    await expect(publisher.subscribeAsync('$SYS/#', { qos: 0 }), '$SYS is closed').rejects.toThrow(/Subscribe error/);

    // A node publishing for another node is disconnected (MQTT 3.1.1 has no negative PUBACK).
    const closed = new Promise<void>((resolve) => node.once('close', () => resolve()));
    void node.publishAsync(topics.reading('san-thang-06'), JSON.stringify(makeReading('san-thang-06', 1, Date.now())), { qos: 1 }).catch(() => undefined);
    await closed;
    await node.endAsync(true);
    await broker.waitForLog('publish refused; closing the connection');

    const big = await connectAs(mqttUrl, 'san-thang-07', { clientId: 'san-thang-07' });
    const bigClosed = new Promise<void>((resolve) => big.once('close', () => resolve()));
    void big.publishAsync(topics.reading('san-thang-07'), Buffer.alloc(1024 * 1024, 0x20), { qos: 1 }).catch(() => undefined);
    await bigClosed;
    await big.endAsync(true);
    await expect
      .poll(() => broker.logs.map((l) => l.reason).filter((r) => typeof r === 'string'), { timeout: 5000, message: 'the 1 MB packet was refused from its header' })
      .toContainEqual(expect.stringMatching(/^declared packet of 1048\d{3} bytes exceeds 66560$/));

    const valid = await connectAs(mqttUrl, 'san-thang-05');
    const r = makeReading('san-thang-05', 100, Date.now() - 3 * DAY);
    await publishReadings(valid, [r]);
    await valid.endAsync();
    expect(await waitForCount(Date.parse(r.ts), Date.parse(r.ts), 1)).toBe(1);
  });

  it('InfluxDB stopped mid-stream and restarted → every reading present', async () => {
    const end = Date.now() - 4 * DAY;
    const readings = [...readingStream(nodeIds, 4000, end)];
    const from = Date.parse(readings[0]!.ts);
    await publishReadings(publisher, readings.slice(0, 1000));
    await influx.stop();
    await publishReadings(publisher, readings.slice(1000, 3000));
    await ingest.waitForLog(/InfluxDB write failed/);
    await sleep(1500);
    await influx.restart();
    await publishReadings(publisher, readings.slice(3000));
    expect(await waitForCount(from, end, 4000, 90_000)).toBe(4000);
    await ingest.waitForLog(/InfluxDB writes succeed again/);
  });

  it('ingest killed with SIGKILL mid-stream and restarted → every reading present, no duplicates', async () => {
    const end = Date.now() - 5 * DAY;
    const readings = [...readingStream(nodeIds, 6000, end)];
    const from = Date.parse(readings[0]!.ts);
    const publishing = publishReadings(publisher, readings, 100);
    await waitFor(async () => (await countBetween(from, end)) > 500, 30_000, 'some readings stored', 50);
    await ingest.stop('SIGKILL');
    await publishing; // the broker keeps queueing for ingest's persistent session
    ingest.start();
    await ingest.waitForLog('ingest subscribed', 20_000, ingest.logs.length);
    expect(await waitForCount(from, end, 6000, 90_000)).toBe(6000);
  });

  it('ingest killed between the INSERTs and the COMMIT of a group → that group is re-delivered: every reading present once', async () => {
    const end = Date.now() - 7 * DAY;
    const readings = [...readingStream(nodeIds, 4000, end)];
    const from = Date.parse(readings[0]!.ts);
    expect(await ingest.stop('SIGTERM')).toBe(0);
    // The test hook (contracts/config.ts) makes ingest SIGKILL itself inside a transaction.
    const hooked = new ServiceProcess('ingest', { ...env, NODE_ENV: 'test', EWS_TEST_KILL_INGEST_BEFORE_COMMIT: '1500' }).start();
    await hooked.waitForLog('ingest subscribed');
    // Many in flight: messages reach ingest faster than one commit each, so groups form.
    const publishing = publishReadings(publisher, readings, 1000);
    await waitFor(() => !hooked.running, 30_000, 'ingest to kill itself before a COMMIT', 50).finally(() => hooked.stop('SIGKILL'));
    await publishing; // the rest is queued for ingest's persistent session
    // The hook's last words go to stderr synchronously (the log buffer dies with the process).
    const killed = /\{"msg":"TEST HOOK: SIGKILL between INSERT and COMMIT".*\}/.exec(hooked.stderrText);
    expect(killed, `killed by the hook; stderr: ${hooked.stderrText}`).not.toBeNull();
    const { messagesInTransaction } = JSON.parse(killed![0]) as { messagesInTransaction: number };
    expect(messagesInTransaction, 'several messages shared the killed transaction').toBeGreaterThan(1);
    ingest.start();
    await ingest.waitForLog('ingest subscribed', 20_000, ingest.logs.length);
    expect(await waitForCount(from, end, 4000, 90_000)).toBe(4000);
  });

  it('broker restarted while ingest is offline with messages queued → all delivered afterwards', async () => {
    const end = Date.now() - 6 * DAY;
    const readings = [...readingStream(nodeIds, 3000, end)];
    const from = Date.parse(readings[0]!.ts);
    expect(await ingest.stop('SIGTERM'), 'ingest exits 0 on SIGTERM').toBe(0);
    await publishReadings(publisher, readings);
    await publisher.endAsync();
    // aedes acknowledges QoS 1 just before it writes the message to the session store; let it settle.
    await sleep(500);
    await broker.stop('SIGKILL');
    expect(await countBetween(from, end), 'nothing was stored while ingest was down').toBe(0);
    broker.start();
    await broker.waitForLog('MQTT broker listening', 20_000, broker.logs.length);
    ingest.start();
    await ingest.waitForLog('ingest subscribed', 20_000, ingest.logs.length);
    expect(await waitForCount(from, end, 3000, 90_000)).toBe(3000);
    publisher = await connectAs(mqttUrl, 'svc-simulator');
  });
});
