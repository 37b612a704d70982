// Acknowledged means stored: the broker is SIGKILLed twice while four publishers offer 4,000
// readings/s and ingest is connected. Every reading the broker acknowledged (PUBACK) must reach
// ingest's store once the broker is back. Measured before the fix (aedes sent the PUBACK before the
// message was in its on-disk queue): 306 acknowledged readings lost at 4,000/s.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import { derivePassword } from '../../platform/credentials.ts';
import { topics } from '../../contracts/topics.ts';
import { loadSiteFile } from '../../platform/site-file.ts';
import { freePort } from '../harness/ports.ts';
import { makeReading, ServiceProcess, serviceEnv, SITE_FILE, tempDataDir, TEST_SECRET } from '../harness/services.ts';

const RATE_PER_S = 4000;
const PUBLISHERS = 4;
const TICK_MS = 50;
const nodeIds = loadSiteFile(SITE_FILE).nodes.map((n) => n.id);

describe('broker SIGKILL under load', () => {
  let data: ReturnType<typeof tempDataDir>;
  let broker: ServiceProcess;
  let ingest: ServiceProcess;
  let url: string;

  beforeAll(async () => {
    data = tempDataDir('kill');
    const port = await freePort();
    url = `mqtt://127.0.0.1:${port}`;
    broker = new ServiceProcess('broker', serviceEnv(data.dir, { MQTT_PORT: String(port) })).start();
    await broker.waitForLog('MQTT broker listening');
    ingest = new ServiceProcess('ingest', serviceEnv(data.dir, { MQTT_URL: url, INGEST_FLUSH_MS: '100' })).start();
    await ingest.waitForLog('ingest subscribed');
  });

  afterAll(async () => {
    await ingest?.stop();
    await broker?.stop();
    data?.remove();
  });

  it(`killed twice at ${RATE_PER_S.toLocaleString('en')} readings/s with ingest connected: 0 acknowledged readings missing`, { timeout: 240_000 }, async () => {
    const acked = new Set<string>();
    let offered = 0;
    const publishers: MqttClient[] = [];
    for (let p = 0; p < PUBLISHERS; p++) {
      publishers.push(
        await mqtt.connectAsync(url, { clientId: `load-${p}`, username: 'svc-simulator', password: derivePassword(TEST_SECRET, 'svc-simulator'), clean: true, reconnectPeriod: 250, connectTimeout: 5000 }),
      );
    }
    const seqByNode = new Map<string, number>();
    const base = Date.now() - 30 * 86_400_000;
    let running = true;
    // Offers RATE_PER_S in ticks, round-robin over the site's nodes, each reading with its own time.
    const load = (async () => {
      let tick = 0;
      while (running) {
        const started = Date.now();
        for (let i = 0; i < (RATE_PER_S * TICK_MS) / 1000; i++) {
          const nodeId = nodeIds[(tick * 1000 + i) % nodeIds.length] as string;
          const seq = (seqByNode.get(nodeId) ?? 0) + 1;
          seqByNode.set(nodeId, seq);
          const reading = makeReading(nodeId, seq, base + seq * 1000);
          const client = publishers[i % PUBLISHERS] as MqttClient;
          offered += 1;
          client.publish(topics.reading(nodeId), JSON.stringify(reading), { qos: 1 }, (err) => {
            if (!err) acked.add(`${nodeId}#${seq}`);
          });
        }
        tick += 1;
        await sleep(Math.max(0, TICK_MS - (Date.now() - started)));
      }
    })();

    for (let kill = 0; kill < 2; kill++) {
      await sleep(3000);
      expect(await broker.stop('SIGKILL')).toBeNull();
      await sleep(500);
      broker.start();
      await broker.waitForLog('MQTT broker listening', 30_000, broker.logs.length);
    }
    await sleep(2000);
    running = false;
    await load;
    // Let the publishers' in-flight messages be acknowledged or given up.
    await sleep(3000);
    for (const c of publishers) await c.endAsync(true);
    const ackedCount = acked.size;
    // Enough acknowledged to mean something even on a busy machine (alone here: 20,000–40,000).
    expect(ackedCount, `acknowledged of ${offered} offered`).toBeGreaterThan(2_000);

    const stored = () => {
      const db = new Database(join(data.dir, 'ingest.sqlite'), { readonly: true });
      try {
        const lines = db.prepare("SELECT line FROM local_readings WHERE line LIKE 'reading,%' UNION ALL SELECT line FROM spool WHERE line LIKE 'reading,%'").all() as { line: string }[];
        const keys = new Set<string>();
        for (const { line } of lines) {
          const m = /^reading,node=([a-z0-9-]+),.* .*seq=(\d+)i/.exec(line);
          if (m) keys.add(`${m[1]}#${m[2]}`);
        }
        return keys;
      } finally {
        db.close();
      }
    };
    const missing = () => {
      const have = stored();
      return [...acked].filter((k) => !have.has(k)).length;
    };
    await expect.poll(missing, { timeout: 120_000, interval: 1000, message: `acknowledged readings missing (of ${ackedCount})` }).toBe(0);
  });
});
