// Two `fire-ews broker` processes on one real redis-server (BROKER_PERSISTENCE=redis,
// BROKER_EMITTER=redis): a node connected to broker A reaches ingest connected to broker B; a
// persistent session opened on A resumes on B with what was queued meanwhile; the per-client queue
// cap holds across the brokers; the ACL and authentication are the same as with one broker; a bad
// cluster configuration is one line naming the variable (exit 2).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type IConnackPacket, type MqttClient } from 'mqtt';
import { derivePassword } from '../../platform/credentials.ts';
import { topics } from '../../contracts/topics.ts';
import { loadSiteFile } from '../../platform/site-file.ts';
import { freePort } from '../harness/ports.ts';
import { RedisProcess, redisSkipReason } from '../harness/redis.ts';
import { connectAs, makeReading, publishReadings, readingStream, ServiceProcess, serviceEnv, SITE_FILE, storedReadings, tempDataDir, TEST_SECRET } from '../harness/services.ts';
import { skipTitle } from '../harness/skip.ts';

const skip = redisSkipReason();
const ROOT = new URL('../..', import.meta.url).pathname;
const nodeIds = loadSiteFile(SITE_FILE).nodes.map((n) => n.id);

/** Resumes a persistent svc-ingest session and collects what it receives, from the first message (listening before CONNECT). */
async function resumeCollecting(url: string, clientId: string): Promise<{ client: MqttClient; got: Set<string>; sessionPresent: boolean }> {
  const got = new Set<string>();
  const client = mqtt.connect(url, { clientId, clean: false, username: 'svc-ingest', password: derivePassword(TEST_SECRET, 'svc-ingest'), reconnectPeriod: 200 });
  client.on('message', (_topic, payload) => {
    const r = JSON.parse(payload.toString()) as { nodeId: string; seq: number };
    got.add(`${r.nodeId}#${r.seq}`);
  });
  const connack = await new Promise<IConnackPacket>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  return { client, got, sessionPresent: connack.sessionPresent };
}

describe.skipIf(skip)(skipTitle('a broker cluster on Redis: two fire-ews broker processes', skip), () => {
  let data: ReturnType<typeof tempDataDir>;
  let redis: RedisProcess;
  const brokers: { proc: ServiceProcess; url: string }[] = [];
  const clusterEnv = () => ({ BROKER_PERSISTENCE: 'redis', BROKER_EMITTER: 'redis', BROKER_REDIS_URL: redis.url, BROKER_QUEUE_LIMIT: '300' });

  beforeAll(async () => {
    data = tempDataDir('cluster');
    redis = await RedisProcess.start(data.dir);
    for (const name of ['a', 'b']) {
      const port = await freePort();
      const proc = new ServiceProcess('broker', serviceEnv(join(data.dir, name), { MQTT_PORT: String(port), ...clusterEnv() })).start();
      await proc.waitForLog('MQTT broker listening');
      brokers.push({ proc, url: `mqtt://127.0.0.1:${port}` });
    }
  }, 60_000);

  afterAll(async () => {
    for (const b of brokers) await b.proc.stop();
    await redis?.stop();
    data?.remove();
  });

  it('both brokers say they run on Redis, each under its own id', () => {
    const [a, b] = brokers.map((x) => x.proc.logs.find((l) => l.msg === 'MQTT broker listening'));
    expect(a).toMatchObject({ persistence: 'redis', emitter: 'redis' });
    expect(b).toMatchObject({ persistence: 'redis', emitter: 'redis' });
    expect(a?.brokerId).not.toBe(b?.brokerId);
  });

  it('a node connected to broker A reaches ingest connected to broker B: 500 readings stored once each', { timeout: 90_000 }, async () => {
    const [a, b] = brokers as [(typeof brokers)[0], (typeof brokers)[0]];
    const ingestDir = join(data.dir, 'ingest');
    const ingest = new ServiceProcess('ingest', serviceEnv(ingestDir, { MQTT_URL: b.url, INGEST_FLUSH_MS: '100' })).start();
    try {
      await ingest.waitForLog('ingest subscribed', 30_000);
      const node = await connectAs(a.url, nodeIds[0] as string);
      const readings = [...readingStream([nodeIds[0] as string], 500)];
      expect(await publishReadings(node, readings)).toBe(500);
      await node.endAsync();
      await expect.poll(() => storedReadings(ingestDir).size, { timeout: 20_000, interval: 500 }).toBe(500);
      expect([...storedReadings(ingestDir).values()].every((n) => n === 1)).toBe(true);
    } finally {
      await ingest.stop();
      // Its persistent session would keep queueing the next tests' readings.
      await (await connectAs(b.url, 'svc-ingest', { clientId: 'ews-ingest', clean: true })).endAsync();
    }
  });

  it('a persistent session opened on A resumes on B: subscriptions and the messages queued while it was away', { timeout: 60_000 }, async () => {
    const [a, b] = brokers as [(typeof brokers)[0], (typeof brokers)[0]];
    const clientId = 'ews-ingest-resume';
    const first = await connectAs(a.url, 'svc-ingest', { clientId, clean: false });
    await first.subscribeAsync(topics.allReadings, { qos: 1 });
    await first.endAsync();
    // Published on A and on B while the session is offline.
    const nodeA = await connectAs(a.url, nodeIds[1] as string);
    const nodeB = await connectAs(b.url, nodeIds[2] as string);
    await publishReadings(nodeA, readingStream([nodeIds[1] as string], 120));
    await publishReadings(nodeB, readingStream([nodeIds[2] as string], 80));
    await nodeA.endAsync();
    await nodeB.endAsync();

    const { client: resumed, got, sessionPresent } = await resumeCollecting(b.url, clientId);
    expect(sessionPresent).toBe(true);
    // No SUBSCRIBE here: the subscription comes from the session stored in Redis.
    await expect.poll(() => got.size, { timeout: 30_000, interval: 200 }).toBe(200);
    await resumed.endAsync();
    // Clean up the session so the next test starts from nothing.
    const cleaner = await connectAs(b.url, 'svc-ingest', { clientId, clean: true });
    await cleaner.endAsync();
  });

  it('the per-client queue cap (BROKER_QUEUE_LIMIT=300) holds across the brokers: 450 offered to an offline session, 300 kept', { timeout: 60_000 }, async () => {
    const [a, b] = brokers as [(typeof brokers)[0], (typeof brokers)[0]];
    const clientId = 'ews-ingest-capped';
    const first = await connectAs(b.url, 'svc-ingest', { clientId, clean: false });
    await first.subscribeAsync(topics.allReadings, { qos: 1 });
    await first.endAsync();
    const nodeA = await connectAs(a.url, nodeIds[3] as string);
    const nodeB = await connectAs(b.url, nodeIds[4] as string);
    // Interleaved on both brokers, so both enqueue into the one Redis list.
    await Promise.all([publishReadings(nodeA, readingStream([nodeIds[3] as string], 225), 20), publishReadings(nodeB, readingStream([nodeIds[4] as string], 225), 20)]);
    await nodeA.endAsync();
    await nodeB.endAsync();

    const { client: resumed, got } = await resumeCollecting(a.url, clientId);
    await expect.poll(() => got.size, { timeout: 30_000, interval: 200 }).toBe(300);
    // Nothing more arrives: the other 150 were refused at the cap (and logged by the broker that refused them).
    await new Promise((r) => setTimeout(r, 1500));
    expect(got.size).toBe(300);
    await resumed.endAsync();
    const refusals = brokers.flatMap((x) => x.proc.logs.filter((l) => l.msg === 'offline session queue full: refusing new messages for this client' && l.clientId === clientId));
    expect(refusals.length).toBeGreaterThan(0);
    const cleaner = await connectAs(a.url, 'svc-ingest', { clientId, clean: true });
    await cleaner.endAsync();
  });

  it('fire-ews simulate with MQTT_URL listing a dead broker and B: the nodes that start on the dead one move on; every reading reaches ingest on A', { timeout: 180_000 }, async () => {
    const [a, b] = brokers as [(typeof brokers)[0], (typeof brokers)[0]];
    const ingestDir = join(data.dir, 'ingest-sim');
    const ingest = new ServiceProcess('ingest', serviceEnv(ingestDir, { MQTT_URL: a.url, INGEST_FLUSH_MS: '100' })).start();
    try {
      await ingest.waitForLog('ingest subscribed', 30_000);
      const dead = `mqtt://127.0.0.1:${await freePort()}`;
      const start = new Date(Date.now() - 3 * 3_600_000).toISOString();
      const args = ['simulate', '--scenario', 'normal-day', '--duration', '30m', '--start', start];
      const recording = join(data.dir, 'sim.ndjson');
      const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...serviceEnv(join(data.dir, 'sim'), { MQTT_URL: `${dead},${b.url}` }) };
      const expected = spawnSync(process.execPath, [join(ROOT, 'bin/fire-ews.js'), ...args, '--out', recording], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
      expect(expected.status, expected.stderr).toBe(0);
      const readings = readFileSync(recording, 'utf8').trim().split('\n').length;
      expect(readings).toBeGreaterThan(900);
      const run = spawnSync(process.execPath, [join(ROOT, 'bin/fire-ews.js'), ...args, '--fast'], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
      expect(run.status, run.stderr).toBe(0);
      await expect.poll(() => storedReadings(ingestDir).size, { timeout: 60_000, interval: 500 }).toBe(readings);
    } finally {
      await ingest.stop();
      await (await connectAs(a.url, 'svc-ingest', { clientId: 'ews-ingest', clean: true })).endAsync();
    }
  });

  it('the ACL and authentication are the ones of a single broker: wrong password, another node\'s topic, another node\'s id all refused on B', { timeout: 30_000 }, async () => {
    const b = brokers[1] as (typeof brokers)[0];
    await expect(connectAs(b.url, nodeIds[5] as string, { password: 'wrong-password-0000' }).then((c) => c.endAsync())).rejects.toThrow(/Not authorized|Bad username/);
    await expect(connectAs(b.url, nodeIds[5] as string, { clientId: nodeIds[6] as string }).then((c) => c.endAsync())).rejects.toThrow(/Identifier rejected|client/i);
    const node = await connectAs(b.url, nodeIds[5] as string);
    const closed = new Promise<void>((resolve) => node.once('close', () => resolve()));
    node.publish(topics.reading(nodeIds[6] as string), JSON.stringify(makeReading(nodeIds[6] as string, 1, Date.now())), { qos: 1 });
    await closed;
    await node.endAsync(true);
    expect(brokers[1]?.proc.logs.some((l) => l.msg === 'publish refused; closing the connection')).toBe(true);
  });
});

describe('broker cluster configuration errors', () => {
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, [join(ROOT, 'bin/fire-ews.js'), 'broker'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...serviceEnv(tempDataDir('cluster-cfg').dir, { MQTT_PORT: '0', ...env }) },
      encoding: 'utf8',
      timeout: 60_000,
    });

  it.each([
    [{ BROKER_PERSISTENCE: 'postgres' }, /BROKER_PERSISTENCE.*must be level .* or redis/],
    [{ BROKER_EMITTER: 'kafka' }, /BROKER_EMITTER.*must be local .* or redis/],
    [{ BROKER_PERSISTENCE: 'redis', BROKER_REDIS_URL: 'http://127.0.0.1:6379' }, /BROKER_REDIS_URL.*redis:\/\//],
    [{ BROKER_EMITTER: 'redis' }, /BROKER_EMITTER.*needs BROKER_PERSISTENCE=redis/],
  ])('%j: exit 2, one message naming the variable', (env, message) => {
    const r = run(env);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('an unreachable Redis: exit 2 naming BROKER_REDIS_URL and what to do, password not shown', async () => {
    const port = await freePort();
    const r = run({ BROKER_PERSISTENCE: 'redis', BROKER_EMITTER: 'redis', BROKER_REDIS_URL: `redis://:s3cret-pass@127.0.0.1:${port}` });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/BROKER_REDIS_URL.*cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1/);
    expect(r.stderr).toMatch(/start redis-server/);
    expect(r.stderr).not.toMatch(/s3cret-pass/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
