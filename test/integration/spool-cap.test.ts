
import { expect, it } from 'vitest';
import { join } from 'node:path';
import { startBroker } from '../../broker/server.ts';
import { startIngest } from '../../ingest/service.ts';
import { indexSite } from '../../contracts/site.ts';
import { createLogger } from '../../platform/logger.ts';
import { derivePassword } from '../../platform/credentials.ts';
import { V1HttpLineWriter } from '../../platform/influx-writer.ts';
import { loadSiteFile } from '../../platform/site-file.ts';
import { InfluxdProcess, integrationSkipReason } from '../harness/influxd.ts';
import { waitFor } from '../harness/ports.ts';
import { connectAs, publishReadings, readingStream, tempDataDir, TEST_SECRET, SITE_FILE } from '../harness/services.ts';

it.skipIf(integrationSkipReason())('spool at its cap applies backpressure; nothing is lost when InfluxDB returns', { timeout: 120_000 }, async () => {
  const site = loadSiteFile(SITE_FILE);
  const influx = await InfluxdProcess.start('ews');
  const data = tempDataDir('spool-cap');
  const logger = createLogger('spool-cap-test', 'silent');
  const broker = await startBroker({ host: '127.0.0.1', port: 0, wsPort: 0, dataDir: data.dir, secret: TEST_SECRET, nodeIds: new Set(site.nodes.map((n) => n.id)), queueLimit: 100_000, logger });
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const ingest = await startIngest({
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
  try {
    await waitFor(() => ingest.connected, 10_000, 'ingest connected');
    await new Promise((r) => setTimeout(r, 300));
    await influx.stop();
    const pub = await connectAs(url, 'svc-simulator');
    await publishReadings(pub, readingStream(site.nodes.map((n) => n.id), 1000, Date.now() - 86_400_000));
    await pub.endAsync();
    await new Promise((r) => setTimeout(r, 1000));
    expect(ingest.store.spoolDepth, 'spool holds exactly its cap').toBe(150);
    await influx.restart();
    await waitFor(async () => (await influx.count('reading', 'temperature')) === 1000, 60_000, '1000 points', 250);
    expect(ingest.store.spoolDepth).toBe(0);
  } finally {
    await ingest.close();
    await broker.close();
    await influx.destroy();
    data.remove();
  }
});
