// The ingest service in this process (so its branches are measured), against the real aedes broker
// on a socket and a line writer double that refuses what InfluxDB refuses (a line with a string
// where a number was written before: HTTP 400). The same behaviour against real processes and a
// real influxd is in test/hostile/ingest-data.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { indexSite } from '../../contracts/site.ts';
import { topics } from '../../contracts/topics.ts';
import type { RunningBroker } from '../../broker/server.ts';
import { derivePassword } from '../../platform/credentials.ts';
import { PermanentWriteError, type LineWriter } from '../../platform/influx-writer.ts';
import { createLogger } from '../../platform/logger.ts';
import { loadSiteFile } from '../../platform/site-file.ts';
import { startIngest, type RunningIngest } from '../../ingest/service.ts';
import { waitFor } from '../harness/ports.ts';
import { connectAs, makeReading, publishReadings, SITE_FILE, startSiteBroker, tempDataDir, TEST_SECRET } from '../harness/services.ts';

/** Accepts lines like InfluxDB; refuses a whole batch (400) when one line is poisoned. */
class RefusingWriter implements LineWriter {
  readonly description = 'double of InfluxDB /write';
  readonly written: string[] = [];
  async write(lines: readonly string[]): Promise<void> {
    const bad = lines.find((l) => l.includes('reason="poison"'));
    if (bad) throw new PermanentWriteError(`400 field type conflict: ${bad.slice(0, 40)}`, 400);
    this.written.push(...lines);
  }
  async close(): Promise<void> {}
}

describe('ingest in process: refused lines, duplicate times, dead-letter points, health', () => {
  let data: ReturnType<typeof tempDataDir>;
  let bed: { broker: RunningBroker; url: string };
  let ingest: RunningIngest;
  let simulator: MqttClient;
  const writer = new RefusingWriter();

  beforeAll(async () => {
    data = tempDataDir('ingest-service');
    bed = await startSiteBroker(join(data.dir, 'broker'));
    ingest = await startIngest({
      mqttUrl: bed.url,
      clientId: 'ews-ingest-in-process',
      username: 'svc-ingest',
      password: derivePassword(TEST_SECRET, 'svc-ingest'),
      site: indexSite(loadSiteFile(SITE_FILE)),
      databaseFile: join(data.dir, 'ingest.sqlite'),
      writer,
      limits: { maxPayloadBytes: 4096, maxFutureMs: 300_000, maxAgeMs: 400 * 86_400_000 },
      batchSize: 500,
      flushMs: 50,
      spoolMaxRows: 100_000,
      localRetentionRows: 1000,
      logger: createLogger('ingest-test', 'silent'),
    });
    simulator = await connectAs(bed.url, 'svc-simulator');
    // Subscribed once a probe reading comes through (published again until it does).
    const probe = makeReading('nam-loong-06', 1, Date.now() - 3 * 86_400_000);
    await waitFor(
      async () => {
        await simulator.publishAsync(topics.reading(probe.nodeId), JSON.stringify(probe), { qos: 1 });
        return writer.written.some((l) => l.startsWith('reading,node=nam-loong-06'));
      },
      20_000,
      'ingest subscribed',
      200,
    );
  });

  afterAll(async () => {
    await simulator?.endAsync().catch(() => undefined);
    await ingest?.close();
    await bed?.broker.close().catch(() => undefined);
    data?.remove();
  });

  it('a poisoned status line is refused alone; the readings of its batch are written', async () => {
    const now = Date.now();
    const readings = Array.from({ length: 200 }, (_, i) => makeReading('nam-loong-03', i + 1, now - 86_400_000 + i * 60_000));
    await publishReadings(simulator, readings.slice(0, 100));
    await simulator.publishAsync(topics.status('nam-loong-03'), JSON.stringify({ nodeId: 'nam-loong-03', status: 'offline', reason: 'poison', ts: new Date(now - 1000).toISOString() }), { qos: 1 });
    await publishReadings(simulator, readings.slice(100));
    await expect.poll(() => writer.written.filter((l) => l.startsWith('reading,node=nam-loong-03')).length, { timeout: 10_000 }).toBe(200);
    expect(ingest.store.rejectedLineCount()).toBe(1);
    expect(ingest.health()).toMatchObject({ ok: true, detail: { mqtt: true, spoolFull: false, influx: 'ok' } });
  });

  it('the same reading twice is written once; another reading at the same time is dead-lettered', async () => {
    const ts = Date.now() - 2 * 86_400_000;
    const first = makeReading('nam-loong-04', 1, ts);
    await publishReadings(simulator, [first, first, { ...first, seq: 2, smoke: 999 }]);
    await expect.poll(() => ingest.store.deadLetters(5).map((d) => d.code), { timeout: 10_000 }).toContain('duplicate-timestamp');
    await expect.poll(() => writer.written.filter((l) => l.startsWith('reading,node=nam-loong-04')).length, { timeout: 10_000 }).toBe(1);
  });

  it('dead letters in one burst get distinct point times, and a status outside the window is one of them', async () => {
    const before = writer.written.filter((l) => l.startsWith('dead_letter,')).length;
    await Promise.all(Array.from({ length: 50 }, (_, i) => simulator.publishAsync(topics.reading('nam-loong-05'), `{"x":${i}`, { qos: 1 })));
    await simulator.publishAsync(topics.status('nam-loong-05'), JSON.stringify({ nodeId: 'nam-loong-05', status: 'online', ts: '9999-12-31T23:59:59Z' }), { qos: 1 });
    await expect.poll(() => writer.written.filter((l) => l.startsWith('dead_letter,')).length, { timeout: 10_000 }).toBe(before + 51);
    const times = writer.written.filter((l) => l.startsWith('dead_letter,')).map((l) => l.split(' ').at(-1));
    expect(new Set(times).size).toBe(times.length);
    expect(ingest.store.deadLetters(1)[0]).toMatchObject({ code: 'future-timestamp', topic: 'ews/v1/status/nam-loong-05' });
  });

  it('health turns false once the broker is gone', async () => {
    await bed.broker.close();
    await expect.poll(() => ingest.health().ok, { timeout: 15_000 }).toBe(false);
    expect(ingest.health().detail).toMatchObject({ mqtt: false });
  });
});
