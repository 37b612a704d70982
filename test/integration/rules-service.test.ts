// The rules service against a real broker (in-process): contract checks with dead letters,
// events and danger on their topics (danger official retained, provisional live only), and a
// restart of the service object from its SQLite file without duplicate events.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { pino } from 'pino';
import type { RunningBroker } from '../../broker/server.ts';
import { dangerSchema, deadLetterSchema, eventSchema, type Danger, type FireEvent } from '../../contracts/payloads.ts';
import { topics } from '../../contracts/topics.ts';
import { derivePassword } from '../../platform/credentials.ts';
import { loadSiteFile } from '../../platform/site-file.ts';
import { connectAs, SITE_FILE, TEST_SECRET, tempDataDir, startSiteBroker } from '../harness/services.ts';
import { waitFor } from '../harness/ports.ts';
import { DEFAULT_RULES_CONFIG } from '../../rules/config.ts';
import { startRules, type RulesServiceOptions } from '../../rules/service.ts';
import { reading } from '../../test/support/rules-fixtures.ts';

const site = loadSiteFile(SITE_FILE);
const silent = pino({ level: 'silent' });
const tmp = tempDataDir('rules-svc');
let broker: RunningBroker;
let url: string;
let publisher: MqttClient;
let observer: MqttClient;
const received: { topic: string; payload: string; retain: boolean }[] = [];

beforeAll(async () => {
  ({ broker, url } = await startSiteBroker(join(tmp.dir, 'broker'), 100_000));
  publisher = await connectAs(url, 'svc-simulator');
  observer = await connectAs(url, 'svc-observer');
  observer.on('message', (topic, payload, packet) => received.push({ topic, payload: payload.toString(), retain: packet.retain }));
  await observer.subscribeAsync(['ews/v1/events/+/+', 'ews/v1/danger/+', 'ews/v1/deadletter/+'], { qos: 1 });
});

afterAll(async () => {
  await publisher.endAsync();
  await observer.endAsync();
  await broker.close();
  tmp.remove();
});

function options(): RulesServiceOptions {
  return {
    mqttUrl: url,
    clientId: 'ews-rules-test',
    username: 'svc-rules',
    password: derivePassword(TEST_SECRET, 'svc-rules'),
    site,
    config: DEFAULT_RULES_CONFIG,
    clockMode: 'readings',
    databaseFile: join(tmp.dir, 'rules.sqlite'),
    writer: null,
    timezone: 'Asia/Ho_Chi_Minh',
    provisionalCron: '0 * * * *',
    tickS: 10,
    checkpointEvery: 500,
    checkpointS: 30,
    influxBatch: 1000,
    logger: silent,
  };
}

const MIN = 60_000;
const T0 = Date.parse('2026-03-20T12:40:00+07:00');
const SILENT_NODE = 'san-thang-02';

/** Every node once a minute from minute `from` to `to` (exclusive); SILENT_NODE stops after minute 5. */
async function publishMinutes(from: number, to: number): Promise<number> {
  let n = 0;
  for (let m = from; m < to; m++) {
    for (const node of site.nodes) {
      if (node.id === SILENT_NODE && m > 5) continue;
      const r = reading(node.id, m, T0 + m * MIN);
      await publisher.publishAsync(topics.reading(node.id), JSON.stringify(r), { qos: 1 });
      n += 1;
    }
  }
  return n;
}

const events = () => received.filter((m) => m.topic.startsWith('ews/v1/events/')).map((m) => eventSchema.parse(JSON.parse(m.payload)) as FireEvent);
const dangers = () => received.filter((m) => m.topic.startsWith('ews/v1/danger/')).map((m) => ({ d: dangerSchema.parse(JSON.parse(m.payload)) as Danger, retain: m.retain }));

it('bad input is dead-lettered on ews/v1/deadletter/rules and never stops the service; readings produce events and danger', async () => {
  const rules = await startRules(options());
  await waitFor(() => rules.connected, 10_000, 'rules connected');
  const bad: [string, string][] = [
    [topics.reading('san-thang-01'), '{not json'],
    [topics.reading('san-thang-01'), JSON.stringify({ nodeId: 'san-thang-01', seq: 1, ts: 'yesterday', temperatureC: 20, humidityPct: 50, smoke: 100 })],
    [topics.reading('san-thang-01'), JSON.stringify({ ...reading('san-thang-03', 1, T0), extra: 1 })],
    [topics.reading('san-thang-01'), JSON.stringify(reading('san-thang-03', 1, T0))],
    [topics.status('san-thang-01'), JSON.stringify({ nodeId: 'san-thang-01', status: 'sleeping' })],
  ];
  for (const [topic, payload] of bad) await publisher.publishAsync(topic, payload, { qos: 1 });
  await waitFor(() => received.filter((m) => m.topic === topics.deadLetter('rules')).length === bad.length, 10_000, 'dead letters');
  const dls = received.filter((m) => m.topic === topics.deadLetter('rules')).map((m) => deadLetterSchema.parse(JSON.parse(m.payload)));
  expect(dls.map((d) => d.code)).toStrictEqual(['malformed-json', 'schema', 'schema', 'topic-mismatch', 'schema']);
  expect(rules.store.deadLetters.recent(bad.length).map((d) => d.code).reverse(), 'the same codes in SQLite').toStrictEqual(dls.map((d) => d.code));
  expect(rules.store.deadLetterCount()).toBe(bad.length);
  expect(rules.store.journalTotal(), 'nothing from bad input reached the engine').toBe(0);

  // 12:40 → 13:25 local: the 13:00 provisional value, the official one at 13:17, a node offline.
  const n = await publishMinutes(0, 45);
  await waitFor(() => rules.store.journalTotal() === n && rules.store.outboxDepth() === 0, 20_000, 'all readings processed and published');
  await waitFor(() => dangers().filter((x) => x.d.official).length === site.zones.length, 10_000, 'official danger received');
  const offline = events().filter((e) => e.kind === 'node-offline');
  expect(offline.map((e) => e.nodeId)).toStrictEqual([SILENT_NODE]);
  expect(received.map((m) => m.topic)).toContain(topics.event('node-offline', 'san-thang'));
  const official = dangers().filter((x) => x.d.official);
  expect(official.map((x) => x.d.zoneId).sort()).toStrictEqual(site.zones.map((z) => z.id).sort());
  for (const { d } of official) expect(d, d.zoneId).toMatchObject({ date: '2026-03-20', ts: '2026-03-20T13:00:00+07:00' });
  const provisional = dangers().filter((x) => !x.d.official);
  expect(provisional, 'one provisional value per zone at 13:00').toHaveLength(site.zones.length);
  expect(provisional.filter((x) => x.retain), 'provisional values are live only, not retained').toStrictEqual([]);

  // A late subscriber gets the official value retained for every zone.
  const late = await connectAs(url, 'svc-observer');
  const retained: Danger[] = [];
  late.on('message', (_t, payload, packet) => packet.retain && retained.push(dangerSchema.parse(JSON.parse(payload.toString()))));
  await late.subscribeAsync(topics.allDanger, { qos: 1 });
  await waitFor(() => retained.length === site.zones.length, 5000, 'retained danger');
  expect(retained.filter((d) => !d.official), 'only the official value is retained').toStrictEqual([]);
  await late.endAsync();

  // A redelivered reading (same node, seq, time) is skipped.
  const before = rules.store.journalTotal();
  await publisher.publishAsync(topics.reading('san-thang-01'), JSON.stringify(reading('san-thang-01', 44, T0 + 44 * MIN)), { qos: 1 });
  await publisher.publishAsync(topics.reading('san-thang-01'), JSON.stringify(reading('san-thang-01', 45, T0 + 45 * MIN)), { qos: 1 });
  await waitFor(() => rules.store.journalTotal() === before + 1, 5000, 'next reading');
  await rules.close();
});

it('a restarted service continues from SQLite: no event is emitted twice', async () => {
  const eventsBefore = events().length;
  const ids = new Set(events().map((e) => e.eventId));
  const rules = await startRules(options());
  await waitFor(() => rules.connected, 10_000, 'rules connected');
  expect(rules.core.now, 'the clock continues where it stopped').toBe(Date.parse('2026-03-20T13:25:00+07:00'));
  // The silent node comes back: node-online, and nothing already emitted comes again.
  const n0 = rules.store.journalTotal();
  await publisher.publishAsync(topics.reading(SILENT_NODE), JSON.stringify(reading(SILENT_NODE, 46, T0 + 46 * MIN)), { qos: 1 });
  await waitFor(() => rules.store.journalTotal() === n0 + 1 && rules.store.outboxDepth() === 0, 10_000, 'reading processed');
  await waitFor(() => events().length > eventsBefore, 5000, 'node-online');
  const fresh = events().slice(eventsBefore);
  expect(fresh.map((e) => `${e.kind}:${e.nodeId}`)).toStrictEqual([`node-online:${SILENT_NODE}`]);
  expect(fresh.filter((e) => ids.has(e.eventId)), 'no event id emitted before').toStrictEqual([]);
  await rules.close();
});
