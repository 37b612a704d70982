// At its cap the spool stops acknowledging: the broker keeps the rest for ingest's session, and
// everything arrives once InfluxDB is back. Real broker and ingest in-process, real influxd.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../broker/server.ts';
import { startIngest, type RunningIngest } from '../../ingest/service.ts';
import { indexSite } from '../../contracts/site.ts';
import { createLogger } from '../../platform/logger.ts';
import { derivePassword } from '../../platform/credentials.ts';
import { V1HttpLineWriter } from '../../platform/influx-writer.ts';
import { loadSiteFile } from '../../platform/site-file.ts';
import { InfluxdProcess, integrationSkipReason } from '../harness/influxd.ts';
import { waitFor } from '../harness/ports.ts';
import { connectAs, publishReadings, readingStream, tempDataDir, TEST_SECRET, SITE_FILE } from '../harness/services.ts';
import { skipTitle } from '../harness/skip.ts';

const skip = integrationSkipReason();

describe.skipIf(skip)(skipTitle('ingest spool cap (in-process broker and ingest, real influxd)', skip), () => {
  const site = loadSiteFile(SITE_FILE);
  let influx: InfluxdProcess;
  let data: ReturnType<typeof tempDataDir>;
  let broker: RunningBroker;
  let url: string;
  let ingest: RunningIngest;

  beforeAll(async () => {
    influx = await InfluxdProcess.start('ews');
    data = tempDataDir('spool-cap');
    const logger = createLogger('spool-cap-test', 'silent');
    broker = await startBroker({ host: '127.0.0.1', port: 0, wsPort: 0, dataDir: data.dir, secret: TEST_SECRET, nodeIds: new Set(site.nodes.map((n) => n.id)), queueLimit: 100_000, logger });
    url = `mqtt://127.0.0.1:${broker.port}`;
    ingest = await startIngest({
      mqttUrl: url,
      clientId: 'ingest-cap',
      username: 'svc-ingest',
      password: derivePassword(TEST_SECRET, 'svc-ingest'),
      site: indexSite(site),
      databaseFile: join(data.dir, 'ingest.sqlite'),
      writer: new V1HttpLineWriter(influx.url, 'ews', { timeoutMs: 2000 }),
      limits: { maxPayloadBytes: 4096, maxFutureMs: 300_000, maxAgeMs: 30 * 86_400_000 },
      batchSize: 100,
      flushMs: 50,
      spoolMaxRows: 150,
      localRetentionRows: 1,
      logger,
    });
  });

  afterAll(async () => {
    await ingest?.close();
    await broker?.close();
    await influx?.destroy();
    data?.remove();
  });

  it('spool at its cap applies backpressure; nothing is lost when InfluxDB returns', { timeout: 120_000 }, async () => {
    await waitFor(() => ingest.connected, 10_000, 'ingest connected');
    await new Promise((r) => setTimeout(r, 300));
    await influx.stop();
    const pub = await connectAs(url, 'svc-simulator');
    await publishReadings(pub, readingStream(site.nodes.map((n) => n.id), 1000, Date.now() - 86_400_000));
    await pub.endAsync();
    await new Promise((r) => setTimeout(r, 1000));
    expect(ingest.store.spoolDepth, 'spool holds exactly its cap').toBe(150);
    await influx.restart();
    await expect.poll(() => influx.count('reading', 'temperature'), { timeout: 60_000, interval: 250, message: 'points in InfluxDB' }).toBe(1000);
    expect(ingest.store.spoolDepth).toBe(0);
  });
});
