// Danger values and events reach a real InfluxDB (Debian's influxd 1.6, INFLUX_API=v1) through the
// rules spool, including across an InfluxDB outage.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { pino } from 'pino';
import type { RunningBroker } from '../../broker/server.ts';
import { loadEnv } from '../../contracts/config.ts';
import { topics } from '../../contracts/topics.ts';
import { derivePassword } from '../../platform/credentials.ts';
import { createLineWriter } from '../../platform/influx-writer.ts';
import { loadSiteFile } from '../../platform/site-file.ts';
import { InfluxdProcess, integrationSkipReason } from '../harness/influxd.ts';
import { connectAs, SITE_FILE, TEST_SECRET, tempDataDir, startSiteBroker } from '../harness/services.ts';
import { waitFor } from '../harness/ports.ts';
import { skipTitle } from '../harness/skip.ts';
import { DEFAULT_RULES_CONFIG } from '../../rules/config.ts';
import { startRules } from '../../rules/service.ts';
import { reading } from '../../test/support/rules-fixtures.ts';

const skip = integrationSkipReason();
const site = loadSiteFile(SITE_FILE);
const silent = pino({ level: 'silent' });
let tmp: ReturnType<typeof tempDataDir>;
let influx: InfluxdProcess;
let broker: RunningBroker;
let url: string;
let publisher: MqttClient;

const T0 = Date.parse('2026-03-20T12:40:00+07:00');
const SILENT = 'san-thang-02';

async function publishMinutes(from: number, to: number, silentFrom = 6): Promise<number> {
  let n = 0;
  for (let m = from; m < to; m++) {
    for (const node of site.nodes) {
      if (node.id === SILENT && m >= silentFrom && m < 46) continue;
      await publisher.publishAsync(topics.reading(node.id), JSON.stringify(reading(node.id, m, T0 + m * 60_000, node.sensors.includes('rain') ? { rainMm: 0 } : {})), { qos: 1 });
      n += 1;
    }
  }
  return n;
}

describe.skipIf(skip)(skipTitle('rules → InfluxDB, in-process rules and broker, real influxd', skip), () => {
  beforeAll(async () => {
    tmp = tempDataDir('rules-influx');
    influx = await InfluxdProcess.start('ews');
    ({ broker, url } = await startSiteBroker(join(tmp.dir, 'broker'), 100_000));
    publisher = await connectAs(url, 'svc-simulator');
  });

  afterAll(async () => {
    await publisher?.endAsync();
    await broker?.close();
    await influx?.destroy();
    tmp?.remove();
  });

  it('danger (official and provisional) and events are written to InfluxDB, and survive an InfluxDB outage', async () => {
    const env = loadEnv({ INFLUX_URL: influx.url, INFLUX_API: 'v1', INFLUX_DATABASE: 'ews', INFLUX_TIMEOUT_MS: '2000' });
    const rules = await startRules({
      mqttUrl: url,
      clientId: 'ews-rules-influx',
      username: 'svc-rules',
      password: derivePassword(TEST_SECRET, 'svc-rules'),
      site,
      config: DEFAULT_RULES_CONFIG,
      clockMode: 'readings',
      databaseFile: join(tmp.dir, 'rules.sqlite'),
      writer: createLineWriter(env, silent),
      timezone: 'Asia/Ho_Chi_Minh',
      provisionalCron: '0 * * * *',
      tickS: 10,
      checkpointEvery: 1000,
      checkpointS: 30,
      influxBatch: 1000,
      logger: silent,
    });
    try {
      await scenario(rules);
    } finally {
      await rules.close();
    }
  });
});

async function scenario(rules: Awaited<ReturnType<typeof startRules>>): Promise<void> {
  await waitFor(() => rules.connected, 10_000, 'rules connected');
  let n = await publishMinutes(0, 45);
  await waitFor(() => rules.store.journalTotal() === n, 20_000, 'readings processed');
  await waitFor(async () => (await influx.count('danger', 'quality')) === 2 * site.zones.length && (await influx.count('event', 'event_id')) === 1, 20_000, 'points in InfluxDB');

  const official = await influx.query('SELECT * FROM "danger" WHERE "official" = \'true\' GROUP BY "zone"', 'ews');
  expect(official).toHaveLength(site.zones.length);
  for (const s of official) {
    const row = Object.fromEntries(s.columns.map((c, i) => [c, s.values[0]![i]]));
    expect(row, `official danger of ${s.tags?.zone}`).toMatchObject({
      time: Date.parse('2026-03-20T13:00:00+07:00'),
      level: expect.any(Number),
      nesterov_p: expect.any(Number),
      t13: expect.any(Number),
      rh13: expect.any(Number),
      d13: expect.any(Number),
      rain24h: expect.any(Number),
    });
    expect(['ok', 'estimated', 'unavailable']).toContain(String(row.quality));
  }
  const provisional = await influx.query('SELECT count("quality") FROM "danger" WHERE "official" = \'false\'', 'ews');
  expect(provisional[0]?.values[0]?.[1]).toBe(site.zones.length);
  const ev = await influx.query('SELECT "event_id", "kind", "node", "zone" FROM "event"', 'ews');
  expect(ev[0]?.values.map((v) => v.slice(2))).toStrictEqual([['node-offline', SILENT, 'san-thang']]);
  expect(String(ev[0]?.values[0]?.[1])).toMatch(/^san-thang-02-offline-/);

  // InfluxDB down: the node comes back (node-online), the line waits in the spool.
  await influx.stop();
  n += await publishMinutes(45, 48);
  await waitFor(() => rules.store.journalTotal() === n, 20_000, 'readings processed');
  await waitFor(() => rules.store.spoolDepth() >= 1, 10_000, 'the event line is spooled');
  await influx.restart();
  await waitFor(async () => (await influx.count('event', 'event_id')) === 2, 40_000, 'spooled line written after the outage');
  // The spool row is released once the write has returned, a moment after InfluxDB shows the point.
  await waitFor(() => rules.store.spoolDepth() === 0, 5000, 'the spool emptied');
  const kinds = await influx.query('SELECT "event_id" FROM "event" GROUP BY "kind"', 'ews');
  expect(kinds.map((s) => s.tags?.kind).sort()).toStrictEqual(['node-offline', 'node-online']);
}
