// Against a real broker (and the real ingest): emulated nodes, will messages, buffering and
// catch-up, replay into the broker, the recorder, and a scenario end to end into ingest's store.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import Database from 'better-sqlite3';
import { nodeStatusSchema, type NodeStatus, type Reading } from '../../contracts/payloads.ts';
import { indexSite } from '../../contracts/site.ts';
import { topics } from '../../contracts/topics.ts';
import { startBroker, type RunningBroker } from '../../broker/server.ts';
import { startIngest } from '../../ingest/service.ts';
import { derivePassword } from '../../platform/credentials.ts';
import { createLogger } from '../../platform/logger.ts';
import { waitFor } from '../harness/ports.ts';
import { simulate, scenarioNodes } from '../../simulator/engine.ts';
import { MqttReadingSink, NodeFleet, recordReadings, type BrokerAccess } from '../../simulator/mqtt-io.ts';
import type { ReadingSink } from '../../simulator/replay.ts';
import { runLive } from '../../simulator/run.ts';
import { loadScenario, withStart } from '../../simulator/scenario.ts';
import { sampleSite } from '../../test/support/simulator-fixtures.ts';

const secret = 'test-secret-for-the-simulator-0123456789';
const logger = createLogger('test', process.env.SIM_TEST_LOG ?? 'silent');
const dataDir = mkdtempSync(join(tmpdir(), 'ews-sim-mqtt-'));
let broker: RunningBroker;
let access: BrokerAccess;

beforeAll(async () => {
  broker = await startBroker({
    host: '127.0.0.1',
    port: 0,
    wsPort: 0,
    dataDir,
    secret,
    nodeIds: new Set(sampleSite().nodes.map((n) => n.id)),
    queueLimit: 100_000,
    logger,
  });
  access = { url: `mqtt://127.0.0.1:${broker.port}`, secret };
});

afterAll(async () => {
  await broker.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const PROBE_SEQ = 999_999;

class MemorySink implements ReadingSink {
  readings: Reading[] = [];
  probes = 0;
  write(r: Reading) {
    if (r.seq === PROBE_SEQ) this.probes++;
    else this.readings.push(r);
  }
  async close() {}
}

/** Starts the recorder and returns once its subscription is live. */
async function startRecorder(maxReadings?: number) {
  const sink = new MemorySink();
  const abort = new AbortController();
  const done = recordReadings({ access, sink, signal: abort.signal, maxReadings, clientId: `rec-${Math.random().toString(36).slice(2)}` });
  // The recorder subscribes right after connecting; give the SUBACK a moment by probing with a reading.
  const probe = await MqttReadingSink.open(access, 'probe');
  const probeReading: Reading = { nodeId: 'tan-phong-01', seq: PROBE_SEQ, ts: new Date().toISOString(), temperatureC: 1, humidityPct: 1, smoke: 1 };
  await waitFor(
    async () => {
      await probe.write(probeReading);
      return sink.probes > 0;
    },
    5000,
    'the recorder subscription',
    100,
  );
  await probe.close();
  return { sink, stop: async () => (abort.abort(), done) };
}

async function observeStatus() {
  const client = await mqtt.connectAsync(access.url, { username: 'svc-observer', password: derivePassword(secret, 'svc-observer'), clientId: 'status-observer', clean: true });
  const statuses: NodeStatus[] = [];
  client.on('message', (_topic, payload) => statuses.push(nodeStatusSchema.parse(JSON.parse(payload.toString()))));
  await client.subscribeAsync(topics.allStatus, { qos: 1 });
  return { statuses, close: () => client.endAsync() };
}

it('emulated nodes publish a scenario with their own credentials; the recorder captures every reading', { timeout: 30_000 }, async () => {
  const recorder = await startRecorder();
  const scenario = { ...loadScenario('fire-san-thang'), duration: 30 * 60_000, nodes: { zones: ['san-thang'] } };
  const nodes = scenarioNodes(scenario, sampleSite());
  const run = simulate(scenario, nodes);
  const fleet = new NodeFleet(access);
  await fleet.connectAll(nodes.map((n) => n.id));
  const counts = await runLive({ run, fleet, speed: Infinity });
  await fleet.closeAll();
  const expected = [...run.messages].flatMap((m) => (m.kind === 'reading' ? [m.reading] : []));
  expect(counts.readings).toBe(expected.length);
  expect(counts.readings).toBeGreaterThanOrEqual(8 * 30);
  await waitFor(() => recorder.sink.readings.length >= counts.readings, 5000, 'all readings recorded');
  const stats = await recorder.stop();
  expect(stats.recorded - recorder.sink.probes).toBe(counts.readings);
  const key = (r: Reading) => `${r.nodeId}#${r.seq}`;
  expect(recorder.sink.readings.map(key).sort()).toStrictEqual(expected.map(key).sort());
  expect(recorder.sink.readings.find((r) => r.nodeId === 'san-thang-05' && r.seq === 7)).toStrictEqual(expected.find((r) => r.nodeId === 'san-thang-05' && r.seq === 7));
});

// fire-san-thang burns a node (its link drops mid-run); node-faults takes nodes offline and back.
it.each(['fire-san-thang', 'node-faults'])('a --fast run whose nodes lose their link finishes, and what the broker had not acknowledged is sent again: %s', { timeout: 30_000 }, async (name) => {
  const recorder = await startRecorder();
  const scenario = loadScenario(name);
  const nodes = scenarioNodes(scenario, sampleSite());
  const run = simulate(scenario, nodes);
  const fleet = new NodeFleet(access);
  await fleet.connectAll(nodes.map((n) => n.id));
  const counts = await runLive({ run, fleet, speed: Infinity });
  await fleet.closeAll();
  expect(counts.linkEvents, `${name} has link events`).toBeGreaterThan(0);
  // A reading sent while its node is up, or buffered and then sent after reconnecting, must arrive.
  const up = new Map<string, boolean>();
  const pendingByNode = new Map<string, Reading[]>();
  const expected = new Set<string>();
  const key = (r: Reading) => `${r.nodeId}#${r.seq}@${r.ts}`;
  for (const m of run.messages) {
    if (m.kind === 'link') {
      up.set(m.nodeId, m.up);
      if (m.up) for (const r of pendingByNode.get(m.nodeId)?.splice(0) ?? []) expected.add(key(r));
    } else if (up.get(m.nodeId) ?? true) expected.add(key(m.reading));
    else pendingByNode.set(m.nodeId, [...(pendingByNode.get(m.nodeId) ?? []), m.reading]);
  }
  // Still on a node whose link never came back (burnt, browned out): never handed over, so not expected.
  for (const n of fleet.nodes.values()) for (const r of n.pending) expected.delete(key(r));
  await waitFor(() => new Set(recorder.sink.readings.map(key)).size >= expected.size, 15_000, `${name}: ${expected.size} readings recorded`).catch(() => undefined);
  await recorder.stop();
  const got = new Set(recorder.sink.readings.map(key));
  const missing = [...expected].filter((k) => !got.has(k));
  expect(missing.slice(0, 20), `${name}: ${missing.length} of ${expected.size} lost`).toStrictEqual([]);
});

it('a node that loses its link leaves a will, buffers, and catches up in order when it is back', { timeout: 30_000 }, async () => {
  const recorder = await startRecorder();
  const observer = await observeStatus();
  const fleet = new NodeFleet(access);
  await fleet.connectAll(['nam-loong-02']);
  const node = fleet.node('nam-loong-02');
  await waitFor(() => observer.statuses.some((s) => s.nodeId === 'nam-loong-02' && s.status === 'online'), 5000, 'online status');
  const r = (seq: number): Reading => ({ nodeId: 'nam-loong-02', seq, ts: new Date(Date.now() - (10 - seq) * 60_000).toISOString(), temperatureC: 20, humidityPct: 50, smoke: 200 });
  await node.send(r(0));
  await fleet.idle();
  await node.linkDown();
  await waitFor(() => observer.statuses.some((s) => s.nodeId === 'nam-loong-02' && s.status === 'offline' && s.reason === 'connection lost'), 5000, 'the will');
  for (let seq = 1; seq <= 5; seq++) node.send(r(seq));
  expect(node.buffered).toBe(5);
  await node.connect();
  await waitFor(() => recorder.sink.readings.length >= 6, 5000, 'the catch-up burst');
  expect(recorder.sink.readings.map((x) => x.seq)).toStrictEqual([0, 1, 2, 3, 4, 5]);
  expect(node.buffered).toBe(0);
  await fleet.closeAll('test over');
  await waitFor(() => observer.statuses.at(-1)?.reason === 'test over', 5000, 'the goodbye status');
  await recorder.stop();
  await observer.close();
});

it('a node with a wrong password is refused (credentials are per node)', { timeout: 30_000 }, async () => {
  const fleet = new NodeFleet({ ...access, secret: 'another-secret-entirely-0123456789' });
  await expect(fleet.connectAll(['san-thang-01'])).rejects.toThrow(/Not authorized|Bad username/i);
  await fleet.closeAll().catch(() => undefined);
});

it('end to end: a scenario through emulated nodes and the broker into the real ingest store', { timeout: 30_000 }, async () => {
  const ingestDir = mkdtempSync(join(tmpdir(), 'ews-sim-ingest-'));
  const site = sampleSite();
  const ingest = await startIngest({
    mqttUrl: access.url,
    clientId: 'ews-ingest-sim-test',
    username: 'svc-ingest',
    password: derivePassword(secret, 'svc-ingest'),
    site: indexSite(site),
    databaseFile: join(ingestDir, 'ingest.sqlite'),
    writer: null,
    limits: { maxPayloadBytes: 4096, maxFutureMs: 300_000, maxAgeMs: 400 * 86_400_000 },
    batchSize: 500,
    flushMs: 50,
    spoolMaxRows: 100_000,
    localRetentionRows: 1_000_000,
    logger,
  });
  try {
    const db = new Database(join(ingestDir, 'ingest.sqlite'), { readonly: true, fileMustExist: true });
    const storedReadings = () => {
      const rows = db.prepare("SELECT line FROM local_readings WHERE line LIKE 'reading,%'").all() as { line: string }[];
      return new Set(rows.map(({ line }) => `${/node=([a-z0-9-]+)/.exec(line)?.[1]}#${/seq=(\d+)i/.exec(line)?.[1]}`));
    };
    // Ingest's subscription is live once a probe reading reaches its store.
    const probe = await MqttReadingSink.open(access, 'ingest-probe');
    const probeReading: Reading = { nodeId: 'tan-phong-01', seq: PROBE_SEQ, ts: new Date().toISOString(), temperatureC: 1, humidityPct: 1, smoke: 1 };
    await waitFor(async () => (await probe.write(probeReading), storedReadings().has(`tan-phong-01#${PROBE_SEQ}`)), 10_000, 'ingest subscribed', 200);
    await probe.close();
    // Recent timestamps, so ingest's age limit holds whenever this runs.
    const scenario = withStart({ ...loadScenario('fire-san-thang'), duration: 20 * 60_000 }, Date.now() - 3600_000);
    const nodes = scenarioNodes(scenario, site);
    const fleet = new NodeFleet(access);
    await fleet.connectAll(nodes.map((n) => n.id));
    const run = simulate(scenario, nodes);
    const counts = await runLive({ run, fleet, speed: Infinity });
    await fleet.closeAll();
    const sent = new Set([...run.messages].flatMap((m) => (m.kind === 'reading' ? [`${m.nodeId}#${m.reading.seq}`] : [])));
    expect(counts.readings).toBe(sent.size);
    expect(sent.size).toBeGreaterThanOrEqual(33 * 20);
    sent.add(`tan-phong-01#${PROBE_SEQ}`);
    await waitFor(() => storedReadings().size >= sent.size, 15_000, `ingest storing ${sent.size} readings`).catch((err: Error) => {
      const got = storedReadings(); throw new Error(`${err.message}; missing ${[...sent].filter((k) => !got.has(k)).join(" ")}; dead letters: ${JSON.stringify(ingest.store.deadLetters(3))}`);
    });
    expect([...storedReadings()].sort()).toStrictEqual([...sent].sort());
    db.close();
    expect(ingest.store.deadLetters()).toStrictEqual([]);
  } finally {
    await ingest.close();
    rmSync(ingestDir, { recursive: true, force: true });
  }
});
