// 10,000 fuzzed payloads (fast-check, fixed seed) through real `fire-ews broker` and `fire-ews
// ingest` processes, with 1,000 valid readings interleaved: nothing crashes, every bad payload is
// dead-lettered once with a reason code and a reason, every valid reading is stored.
// Each bad payload is bad by construction (the generators), not by asking the validator.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import type { MqttClient } from 'mqtt';
import { topics } from '../../contracts/topics.ts';
import { loadSiteFile } from '../../platform/site-file.ts';
import { freePort } from '../harness/ports.ts';
import { connectAs, makeReading, ServiceProcess, serviceEnv, SITE_FILE, tempDataDir } from '../harness/services.ts';

const SEED = 0x11_0b57;
const BAD = 10_000;
const GOOD = 1_000;
const nodeIds = loadSiteFile(SITE_FILE).nodes.map((n) => n.id);
const DAY = 86_400_000;
const now = Date.now();
const CODES = ['too-large', 'malformed-json', 'schema', 'unknown-node', 'topic-mismatch', 'future-timestamp', 'too-old'];

const node = fc.constantFrom(...nodeIds);
const baseReading = fc.tuple(node, fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: 300 * 60 })).map(([nodeId, seq, minutesAgo]) => makeReading(nodeId, seq, now - minutesAgo * 60_000));
const notANumber = fc.oneof(fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.integer()), fc.object());
type Message = { topic: string; payload: Buffer };
const msg = (topic: string, payload: string | Uint8Array): Message => ({ topic, payload: Buffer.from(payload) });

const badMessage: fc.Arbitrary<Message> = fc.oneof(
  // Bytes that are not a JSON reading at all.
  fc.tuple(node, fc.uint8Array({ maxLength: 300 })).map(([n, bytes]) => msg(topics.reading(n), Buffer.concat([Buffer.from('\u0000'), bytes]))),
  fc.tuple(node, fc.string({ maxLength: 200 })).map(([n, s]) => msg(topics.reading(n), `{${s}`)),
  // A reading with one field of the wrong type, out of range, missing, or one field too many.
  fc.tuple(baseReading, fc.constantFrom('temperatureC', 'humidityPct', 'smoke', 'seq', 'ts'), notANumber).map(([r, k, v]) => msg(topics.reading(r.nodeId), JSON.stringify({ ...r, [k]: v }))),
  fc.tuple(baseReading, fc.oneof(fc.double({ min: 100.001, max: 1e12, noNaN: true }), fc.double({ max: -0.001, min: -1e12, noNaN: true }))).map(([r, h]) => msg(topics.reading(r.nodeId), JSON.stringify({ ...r, humidityPct: h }))),
  fc.tuple(baseReading, fc.constantFrom('nodeId', 'seq', 'ts', 'temperatureC', 'humidityPct', 'smoke')).map(([r, k]) => {
    const copy: Record<string, unknown> = { ...r };
    delete copy[k];
    return msg(topics.reading(r.nodeId), JSON.stringify(copy));
  }),
  fc.tuple(baseReading, fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !['nodeId', 'seq', 'ts', 'temperatureC', 'humidityPct', 'smoke', 'rainMm', 'windMs', 'batteryV', 'rssiDbm'].includes(k))).map(([r, k]) =>
    msg(topics.reading(r.nodeId), JSON.stringify({ ...r, [k]: 1 })),
  ),
  // Clocks gone wrong, another node's id, a node the site does not know, an oversized payload.
  fc.tuple(baseReading, fc.integer({ min: 1, max: 1000 })).map(([r, d]) => msg(topics.reading(r.nodeId), JSON.stringify({ ...r, ts: new Date(now + d * DAY).toISOString() }))),
  fc.tuple(baseReading, fc.integer({ min: 401, max: 20_000 })).map(([r, d]) => msg(topics.reading(r.nodeId), JSON.stringify({ ...r, ts: new Date(now - d * DAY).toISOString() }))),
  fc.tuple(baseReading, node).filter(([r, other]) => r.nodeId !== other).map(([r, other]) => msg(topics.reading(other), JSON.stringify(r))),
  fc.tuple(baseReading, fc.integer({ min: 1, max: 99 })).map(([r, k]) => msg(topics.reading(`ghost-${k}`), JSON.stringify({ ...r, nodeId: `ghost-${k}` }))),
  fc.tuple(node, fc.integer({ min: 4097, max: 60_000 })).map(([n, size]) => msg(topics.reading(n), 'x'.repeat(size))),
);

describe('fuzzed payloads through the real broker and ingest', () => {
  let data: ReturnType<typeof tempDataDir>;
  let broker: ServiceProcess;
  let ingest: ServiceProcess;
  let simulator: MqttClient;

  beforeAll(async () => {
    data = tempDataDir('fuzz');
    const port = await freePort();
    const url = `mqtt://127.0.0.1:${port}`;
    broker = new ServiceProcess('broker', serviceEnv(data.dir, { MQTT_PORT: String(port) })).start();
    await broker.waitForLog('MQTT broker listening');
    // Level error: 10,000 "message dead-lettered" warnings would only slow the test down. Without
    // "ingest subscribed" in the log, the test waits for a first stored reading instead.
    ingest = new ServiceProcess('ingest', serviceEnv(data.dir, { MQTT_URL: url, INGEST_FLUSH_MS: '100', EWS_LOG_LEVEL: 'error' })).start();
    simulator = await connectAs(url, 'svc-simulator');
  });

  afterAll(async () => {
    await simulator?.endAsync().catch(() => undefined);
    await ingest?.stop();
    await broker?.stop();
    data?.remove();
  });

  it(`${BAD.toLocaleString('en')} bad payloads: 0 crashes, 100 % dead-lettered with a reason; ${GOOD.toLocaleString('en')} valid readings among them all stored`, { timeout: 170_000 }, async () => {
    const bad = fc.sample(badMessage, { seed: SEED, numRuns: BAD });
    // Valid readings with their own times (one minute apart per node), unlike any bad one's.
    const good = Array.from({ length: GOOD }, (_, i) => makeReading(nodeIds[i % nodeIds.length] as string, 5_000_000 + i, now - 2 * DAY + i * 60_000));
    const sequence: Message[] = [];
    for (let i = 0, g = 0; i < bad.length; i++) {
      sequence.push(bad[i] as Message);
      if (i % 10 === 9 && g < GOOD) sequence.push(msg(topics.reading(good[g]!.nodeId), JSON.stringify(good[g++])));
    }
    const db = () => new Database(join(data.dir, 'ingest.sqlite'), { readonly: true });
    // Ingest is up once its tables exist and it has subscribed: wait for a first valid reading.
    const probe = makeReading('san-thang-01', 1, now - 3 * DAY);
    await expect
      .poll(
        async () => {
          await simulator.publishAsync(topics.reading(probe.nodeId), JSON.stringify(probe), { qos: 1 });
          try {
            const d = db();
            const n = (d.prepare('SELECT count(*) AS n FROM local_readings').get() as { n: number }).n;
            d.close();
            return n > 0;
          } catch {
            return false;
          }
        },
        { timeout: 60_000, interval: 1000 },
      )
      .toBe(true);

    const inFlight = new Set<Promise<unknown>>();
    for (const m of sequence) {
      const p = simulator.publishAsync(m.topic, m.payload, { qos: 1 }).finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= 200) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);

    await expect
      .poll(
        () => {
          const d = db();
          const n = (d.prepare('SELECT count(*) AS n FROM dead_letters').get() as { n: number }).n;
          d.close();
          return n;
        },
        { timeout: 120_000, interval: 1000, message: `dead letters (ingest running: ${String(ingest.running)}, stderr: ${ingest.stderrText.slice(-500)})` },
      )
      .toBe(BAD);
    const d = db();
    const letters = d.prepare('SELECT code, reason FROM dead_letters').all() as { code: string; reason: string }[];
    d.close();
    expect(letters.filter((l) => !CODES.includes(l.code) || l.reason.length === 0), 'each with a known code and a reason').toStrictEqual([]);
    // Every generator family was exercised.
    expect(new Set(letters.map((l) => l.code))).toStrictEqual(new Set(CODES));
    await expect
      .poll(
        () => {
          const dd = db();
          // The valid readings' sequence numbers are 5,000,000–5,000,999; no bad one is stored at all.
          const n = (dd.prepare("SELECT count(*) AS n FROM local_readings WHERE line LIKE '%seq=5000___i%'").get() as { n: number }).n;
          dd.close();
          return n;
        },
        { timeout: 30_000, message: 'valid readings stored' },
      )
      .toBe(GOOD);
    const all = db();
    expect((all.prepare("SELECT count(*) AS n FROM local_readings WHERE line LIKE 'reading,%'").get() as { n: number }).n, 'the valid readings and the probe, no bad one').toBe(GOOD + 1);
    all.close();
    expect(ingest.running, 'ingest still running').toBe(true);
    expect(broker.running, 'broker still running').toBe(true);
  });
});
