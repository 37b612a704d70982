// Every InfluxQL query of every generated dashboard (panels and annotations, for every value of the
// zone variable) runs, with Grafana's macros expanded, against Debian's real influxd filled through
// the real pipeline: `fire-ews simulate` (a fire near San Thàng in a 25.5-hour run over the whole
// site, so a full 13:00-to-13:00 rain day exists and the second official value carries FWI, plus a
// stuck humidity sensor) → `fire-ews broker` → `fire-ews ingest`
// (pipeline stats every second) and `fire-ews rules` (RULES_CLOCK=readings) → InfluxDB. Each query
// must return the columns its panel expects, with data.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { MqttClient } from 'mqtt';
import { InfluxdProcess, integrationSkipReason, type InfluxSeries } from '../harness/influxd.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { connectAs, makeReading, ServiceProcess, serviceEnv, tempDataDir, SITE_FILE } from '../harness/services.ts';
import { topics } from '../../contracts/topics.ts';
import { loadSiteFile } from '../../platform/site-file.ts';
import { alertLine, pipelineLine } from '../../platform/pipeline-stats.ts';
import { GENERATED_DIR } from '../../dashboards/generate.ts';
import { expandQuery, expectedColumns, queriesOf, selectShape, type DashboardJson, type FoundQuery } from '../../dashboards/queries.ts';

const skip = integrationSkipReason();
const ROOT = new URL('../..', import.meta.url).pathname;
const run = promisify(execFile);
const site = loadSiteFile(SITE_FILE);
const HOUR = 3_600_000;
/** The zone with the fire: every zone-detail query must have data for it. */
const FIRE_ZONE = 'san-thang';

const DURATION_H = 25.5;

/** 12:00 Asia/Ho_Chi_Minh the day before the latest 13:30 local already past: the run ends before now. */
function scenarioStart(now = Date.now()): number {
  const local = new Date(now + 7 * HOUR);
  let end = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate(), 13, 30) - 7 * HOUR;
  if (end > now - 60_000) end -= 24 * HOUR;
  return end - DURATION_H * HOUR;
}

/**
 * The fire-san-thang fire without its spreading front: a front that reaches a node burns it (link
 * down), and `simulate --fast` then never finishes (QoS 1 publishes in flight on the dropped link are
 * never acknowledged; reported to the simulator's owner). A stuck humidity sensor gives a node fault.
 */
function scenarioYaml(startMs: number): string {
  return [
    'name: dashboards-fire-day',
    'description: Fire near San Thang and a stuck sensor, over one 13:00-to-13:00 rain day (dashboard query test).',
    `start: ${new Date(startMs).toISOString()}`,
    `duration: ${DURATION_H * 60}m`,
    'seed: 409',
    'weather:',
    '  mode: dry-spell',
    '  windFromDeg: 135',
    '  days: [ { day: 0, regime: dry }, { day: 1, regime: dry } ]',
    'events:',
    '  - { type: fire, at: 1h, near: san-thang-07, offsetM: 120, bearingDeg: 135, duration: 3h, spreadMPerMin: 0 }',
    '  - { type: stuck, node: san-thang-02, sensor: humidity, at: 20h, duration: 2h }',
    '',
  ].join('\n');
}

const dashboards: DashboardJson[] = ['city-overview.json', 'zone-detail.json', 'sensor-fleet.json', 'pipeline.json'].map(
  (f) => JSON.parse(readFileSync(join(GENERATED_DIR, f), 'utf8')) as DashboardJson,
);

/** Every column name present in a result: value columns and tags (table results carry tags per series). */
function resultColumns(series: InfluxSeries[]): Set<string> {
  const cols = new Set<string>();
  for (const s of series) {
    for (const c of s.columns) cols.add(c);
    for (const t of Object.keys(s.tags ?? {})) cols.add(t);
  }
  return cols;
}

function hasValue(series: InfluxSeries[], column: string): boolean {
  return series.some((s) => {
    if (s.tags && column in s.tags) return (s.tags[column] ?? '') !== '';
    const i = s.columns.indexOf(column);
    return i >= 0 && s.values.some((row) => row[i] !== null && row[i] !== '');
  });
}

describe('every dashboard query against a real InfluxDB filled by the real pipeline', { skip, timeout: 300_000 }, () => {
  let influx: InfluxdProcess;
  let data: ReturnType<typeof tempDataDir>;
  let broker: ServiceProcess;
  let ingest: ServiceProcess;
  let rules: ServiceProcess;
  let publisher: MqttClient | undefined;
  let fromMs: number;
  /** When ingest started: the pipeline figures exist only since then. */
  let servicesFromMs: number;
  let toMs: number;
  let zoneValues: string[];

  before(async () => {
    influx = await InfluxdProcess.start('ews');
    data = tempDataDir('dashboards');
    const port = await freePort();
    const mqttUrl = `mqtt://127.0.0.1:${port}`;
    const env = serviceEnv(data.dir, {
      MQTT_PORT: String(port),
      MQTT_URL: mqttUrl,
      INFLUX_URL: influx.url,
      INFLUX_API: 'v1',
      INFLUX_DATABASE: 'ews',
      INGEST_FLUSH_MS: '100',
      EWS_PIPELINE_STATS_S: '1',
      RULES_CLOCK: 'readings',
      EWS_LOG_LEVEL: process.env.EWS_TEST_LOG_LEVEL ?? 'info',
    });
    broker = new ServiceProcess('broker', env).start();
    await broker.waitForLog('MQTT broker listening');
    servicesFromMs = Date.now();
    ingest = new ServiceProcess('ingest', env).start();
    rules = new ServiceProcess('rules', env).start();
    await ingest.waitForLog('ingest subscribed');
    await rules.waitForLog('rules subscribed');

    const t0 = Date.now();
    const step = (what: string) => process.env.EWS_TEST_LOGS && process.stderr.write(`[dashboards-queries] ${((Date.now() - t0) / 1000).toFixed(1)} s ${what}\n`);
    const start = scenarioStart();
    fromMs = start - 60_000;
    const scenarioFile = join(data.dir, 'dashboards-fire-day.yaml');
    writeFileSync(scenarioFile, scenarioYaml(start));
    // 4000× real time rather than --fast: readings then arrive in time order across nodes, as live,
    // so the rules' fleet clock does not run ahead of slower nodes and mark them offline.
    const sim = await run(process.execPath, [join(ROOT, 'bin/fire-ews.js'), 'simulate', '--scenario', scenarioFile, '--speed', '4000'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      maxBuffer: 16 * 1024 * 1024,
      timeout: 120_000,
      killSignal: 'SIGKILL',
    });
    const published = Number(/([\d,]+) readings,/.exec(sim.stderr)?.[1]?.replace(/,/g, ''));
    step(`simulated ${published}`);
    assert.ok(published > 40_000, `simulator published ${published} readings:\n${sim.stderr}`);

    // Bad input, so the dead-letter panels have something to show.
    publisher = await connectAs(mqttUrl, 'svc-simulator');
    await publisher.publishAsync(topics.reading('san-thang-01'), '{"nodeId": "san-thang-01", truncated', { qos: 1 });
    await publisher.publishAsync(topics.reading('ghost-01'), JSON.stringify(makeReading('ghost-01', 1, Date.now() - 60_000)), { qos: 1 });

    await waitFor(async () => (await influx.count('reading', 'temperature')) >= published, 90_000, `${published} readings in InfluxDB`, 250);
    step('readings stored');
    await waitFor(async () => (await influx.count('dead_letter', 'count')) >= 2, 20_000, 'dead letters in InfluxDB', 250);
    // rules: both official values of every zone (the second one is past the last 13:17), and a confirmed fire.
    await waitFor(
      async () => (await influx.query(`SELECT count("level") FROM "danger" WHERE "official" = 'true' GROUP BY "zone"`, 'ews')).filter((s) => s.values[0]?.[1] === 2).length === site.zones.length,
      90_000,
      'two official danger values per zone',
      250,
    );
    step('official danger values');
    await waitFor(async () => (await influx.query(`SELECT count("event_id") FROM "event" WHERE "kind" = 'fire-confirmed'`, 'ews')).length > 0, 30_000, 'a confirmed fire', 250);
    await waitFor(async () => (await influx.count('pipeline', 'readings_stored')) >= 3, 20_000, 'ingest pipeline points', 250);

    // FIXTURE: the alerts service will write the `alert` measurement and `pipeline,service=alerts`
    // points (platform/pipeline-stats.ts formats both); it is not part of this pipeline run yet, so
    // the points it would write for one fire are written here with the same formatter.
    const now = Date.now();
    const lines = [
      alertLine({ alertId: 'fire-san-thang-07-a-suspected', zoneId: FIRE_ZONE, kind: 'fire-suspected', state: 'active', level: 4 }, now - 50_000),
      alertLine({ alertId: 'fire-san-thang-07-a-suspected', zoneId: FIRE_ZONE, kind: 'fire-suspected', state: 'acknowledged', ackedBy: 'Lò Văn Minh', level: 4 }, now - 40_000),
      alertLine({ alertId: 'fire-san-thang-07-a-confirmed', zoneId: FIRE_ZONE, kind: 'fire-confirmed', state: 'active', level: 4 }, now - 30_000),
      alertLine({ alertId: 'level-quyet-thang-x', zoneId: 'quyet-thang', kind: 'level-changed', state: 'resolved', level: 3 }, now - 20_000),
    ];
    for (let i = 0; i < 12; i++) {
      lines.push(pipelineLine('alerts', { ints: { sms_sent: 30 * i, sms_failed: i > 6 ? 2 : 0, sms_acked: 3 * i, outbox_queued: i % 3 } }, now - (12 - i) * 10_000) as string);
    }
    const res = await fetch(`${influx.url}/write?db=ews&precision=ms`, { method: 'POST', body: lines.join('\n') });
    assert.equal(res.status, 204, await res.text());

    toMs = Date.now() + 60_000;
    zoneValues = (dashboards[1]?.templating?.list?.find((v) => v.name === 'zone')?.options ?? []).map((o) => o.value);
  });

  after(async () => {
    await publisher?.endAsync().catch(() => undefined);
    await rules?.stop();
    await ingest?.stop();
    await broker?.stop();
    await influx?.destroy();
    data?.remove();
  });

  /**
   * The time range a query runs over: the whole simulated run, except on the Pipeline dashboard,
   * whose figures exist only since the services started (a board looking at the last minutes).
   */
  const rangeOf = (q: FoundQuery) => (q.dashboard === 'fire-pipeline' ? { fromMs: servicesFromMs, toMs } : { fromMs, toMs });
  /** Runs one query for one zone; returns the series. */
  const execute = (q: FoundQuery, zone: string) => influx.query(expandQuery(q.target.query ?? '', { ...rangeOf(q), variables: { zone } }), 'ews');

  test('the zone variable lists exactly the zones in InfluxDB', async () => {
    const tags = await influx.query('SHOW TAG VALUES FROM "reading" WITH KEY = "zone"', 'ews');
    assert.deepEqual([...zoneValues].sort(), tags[0]?.values.map((v) => v[1]).sort());
  });

  for (const d of dashboards) {
    test(`${d.uid}: every query returns its columns with data`, async () => {
      const failures: string[] = [];
      let ran = 0;
      for (const q of queriesOf(d)) {
        const text = q.target.query ?? '';
        const perZone = text.includes('$zone');
        for (const zone of perZone ? zoneValues : [FIRE_ZONE]) {
          const series = await execute(q, zone);
          ran += 1;
          const where = `${q.where}${perZone ? ` [zone=${zone}]` : ''}`;
          // Zones without a fire need not have detections, but what comes back must have the right shape.
          const mustHaveData = zone === FIRE_ZONE;
          if (series.length === 0) {
            if (mustHaveData) failures.push(`${where}: no data\n    ${text}`);
            continue;
          }
          const cols = resultColumns(series);
          for (const c of expectedColumns(text)) {
            if (!cols.has(c)) failures.push(`${where}: column "${c}" missing (got ${[...cols].join(', ')})`);
            else if (mustHaveData && !hasValue(series, c)) failures.push(`${where}: column "${c}" has no value`);
          }
          if (q.target.resultFormat === 'time_series' && !cols.has('time')) failures.push(`${where}: no time column`);
        }
      }
      assert.ok(ran > 0);
      assert.deepEqual(failures, []);
    });
  }

  test('city overview: every node on the map has a position and its zone has a level to join', async () => {
    const map = dashboards[0]?.panels?.find((p) => p.type === 'geomap');
    const [nodesQ, levelQ, fireQ] = (map?.targets ?? []).map((t) => expandQuery(t.query ?? '', { fromMs, toMs, variables: {} }));
    assert.ok(nodesQ && levelQ && fireQ);
    const nodes = await influx.query(nodesQ, 'ews');
    assert.equal(nodes.length, site.nodes.length, 'one row per node of the site');
    for (const s of nodes) {
      const node = site.nodes.find((n) => n.id === s.tags?.node);
      assert.ok(node, `node ${s.tags?.node} is in the site file`);
      const row = s.values[0] ?? [];
      assert.equal(row[s.columns.indexOf('latitude')], node.lat);
      assert.equal(row[s.columns.indexOf('longitude')], node.lon);
      assert.equal(s.tags?.zone, node.zone);
    }
    const levels = await influx.query(levelQ, 'ews');
    assert.deepEqual(levels.map((s) => s.tags?.zone).sort(), site.zones.map((z) => z.id).sort(), 'every zone has a level to colour its nodes');
    for (const s of levels) assert.ok([1, 2, 3, 4, 5].includes(s.values[0]?.[s.columns.indexOf('level')] as number));
    const fire = await influx.query(fireQ, 'ews');
    assert.ok(fire.some((s) => s.tags?.zone === FIRE_ZONE && /^fire-/.test(String(s.values[0]?.[s.columns.indexOf('fire')]))), 'the fire zone has a fire state');
  });

  test('pipeline: readings/s is positive and matches what ingest stored', async () => {
    const q = queriesOf(dashboards[3] as DashboardJson).find((x) => x.target.query?.includes('readings_stored'));
    assert.ok(q);
    const series = await execute(q, FIRE_ZONE);
    const i = series[0]?.columns.indexOf('readings_per_s') ?? -1;
    const rates = (series[0]?.values ?? []).map((r) => r[i] as number);
    assert.ok(rates.some((r) => r > 0), `rates ${rates.join(', ')}`);
    const stored = await influx.query(`SELECT max("readings_stored") FROM "pipeline" WHERE "service" = 'ingest'`, 'ews');
    assert.ok((stored[0]?.values[0]?.[1] as number) >= (await influx.count('reading', 'temperature')));
    assert.equal(selectShape(q.target.query ?? '').groupByTime, true);
  });
});
