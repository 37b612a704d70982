// Every InfluxQL query of every generated dashboard (panels and annotations, for every value of the
// zone variable) runs, with Grafana's macros expanded, against Debian's real influxd filled through
// the real pipeline: `fire-ews simulate --out` (a fire near San Thàng that burns its nearest node, in
// a 25.5-hour run over the whole site, so a full 13:00-to-13:00 rain day exists and the second official
// value carries FWI; a stuck humidity sensor; a node powered off for 2 h; a temperature sensor stuck
// until the end), `fire-ews replay --fast`
// → `fire-ews broker` → `fire-ews ingest`
// (pipeline stats every second), `fire-ews rules` (RULES_CLOCK=readings) and `fire-ews alerts run`
// (dry-run SMS; one alert acknowledged through its API) → InfluxDB. Each query must return the
// columns its panel expects, with data.
import { afterAll, assert, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { MqttClient } from 'mqtt';
import { InfluxdProcess, integrationSkipReason, type InfluxSeries } from '../harness/influxd.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { connectAs, makeReading, ServiceProcess, serviceEnv, tempDataDir, SITE_FILE } from '../harness/services.ts';
import { skipTitle } from '../harness/skip.ts';
import { topics } from '../../contracts/topics.ts';
import { loadSiteFile } from '../../platform/site-file.ts';
import { GENERATED_DIR } from '../../dashboards/generate.ts';
import { CITY_OVERVIEW_UID } from '../../dashboards/city-overview.ts';
import { expandQuery, expectedColumns, panelRange, queriesOf, selectShape, type DashboardJson, type FoundQuery, type PanelJson } from '../../dashboards/queries.ts';
import { applyTransformations, influxTable, type Row } from '../harness/grafana-table.ts';

const skip = integrationSkipReason();
const ROOT = new URL('../..', import.meta.url).pathname;
const run = promisify(execFile);
const site = loadSiteFile(SITE_FILE);
const HOUR = 3_600_000;
/** The zone with the fire: every zone-detail query must have data for it. */
const FIRE_ZONE = 'san-thang';
const API_KEY = 'dashboards-test-api-key-0123456789';

const DURATION_H = 25.5;

/** 12:00 Asia/Ho_Chi_Minh the day before the latest 13:30 local already past: the run ends before now. */
function scenarioStart(now = Date.now()): number {
  const local = new Date(now + 7 * HOUR);
  let end = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate(), 13, 30) - 7 * HOUR;
  if (end > now - 60_000) end -= 24 * HOUR;
  return end - DURATION_H * HOUR;
}

/** The node whose temperature sensor sticks 24 h in and stays stuck: still faulty when the run ends. */
const FAULTY_AT_END = { node: 'quyet-thang-03', zone: 'quyet-thang' };

/**
 * The fire-san-thang fire (its front burns san-thang-07, which then falls silent), a stuck humidity
 * sensor (node fault, cleared), a node powered off for two hours (node offline, then online) and a
 * temperature sensor stuck from 24 h to past the end (a fault still active).
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
    '  - { type: fire, at: 1h, near: san-thang-07, offsetM: 120, bearingDeg: 135, duration: 3h }',
    '  - { type: stuck, node: san-thang-02, sensor: humidity, at: 20h, duration: 2h }',
    '  - { type: power-off, node: nam-loong-03, at: 6h, duration: 2h }',
    `  - { type: stuck, node: ${FAULTY_AT_END.node}, sensor: temperature, at: 24h, duration: 3h }`,
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

describe.skipIf(skip)(skipTitle('every dashboard query against a real InfluxDB filled by the real pipeline', skip), () => {
  let influx: InfluxdProcess;
  let data: ReturnType<typeof tempDataDir>;
  let broker: ServiceProcess;
  let ingest: ServiceProcess;
  let rules: ServiceProcess;
  let alerts: ServiceProcess;
  let publisher: MqttClient | undefined;
  let fromMs: number;
  /** When ingest started: the pipeline figures exist only since then. */
  let servicesFromMs: number;
  let toMs: number;
  let zoneValues: string[];
  /** When the alert was acknowledged through the API. */
  let ackedAtMs: number;

  beforeAll(async () => {
    influx = await InfluxdProcess.start('ews');
    data = tempDataDir('dashboards');
    const port = await freePort();
    const mqttUrl = `mqtt://127.0.0.1:${port}`;
    const alertsPort = await freePort();
    const env = serviceEnv(data.dir, {
      MQTT_PORT: String(port),
      MQTT_URL: mqttUrl,
      INFLUX_URL: influx.url,
      INFLUX_API: 'v1',
      INFLUX_DATABASE: 'ews',
      INGEST_FLUSH_MS: '100',
      EWS_PIPELINE_STATS_S: '1',
      RULES_CLOCK: 'readings',
      ALERTS_HTTP_PORT: String(alertsPort),
      ALERTS_PUBLIC_URL: `http://127.0.0.1:${alertsPort}`,
      ALERTS_API_KEY: API_KEY,
      ALERTS_RATE_SEGMENTS_PER_S: '1000',
      ALERTS_RATE_BURST: '100',
      EWS_LOG_LEVEL: process.env.EWS_TEST_LOG_LEVEL ?? 'info',
    });
    broker = new ServiceProcess('broker', env).start();
    await broker.waitForLog('MQTT broker listening');
    servicesFromMs = Date.now();
    ingest = new ServiceProcess('ingest', env).start();
    rules = new ServiceProcess('rules', env).start();
    alerts = new ServiceProcess('alerts run', env).start();
    await ingest.waitForLog('ingest subscribed');
    await rules.waitForLog('rules subscribed');
    await alerts.waitForLog('alerts subscribed');
    await new Promise((resolve) => setTimeout(resolve, 500)); // its subscription follows the CONNACK

    const t0 = Date.now();
    const step = (what: string) => process.env.EWS_TEST_LOGS && process.stderr.write(`[dashboards-queries] ${((Date.now() - t0) / 1000).toFixed(1)} s ${what}\n`);
    const start = scenarioStart();
    fromMs = start - 60_000;
    const scenarioFile = join(data.dir, 'dashboards-fire-day.yaml');
    const readingsFile = join(data.dir, 'dashboards-fire-day.ndjson');
    writeFileSync(scenarioFile, scenarioYaml(start));
    const cli = (args: string[]) =>
      run(process.execPath, [join(ROOT, 'bin/fire-ews.js'), ...args], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
        maxBuffer: 16 * 1024 * 1024,
        timeout: 120_000,
        killSignal: 'SIGKILL',
      });
    await cli(['simulate', '--scenario', scenarioFile, '--out', readingsFile]);
    // Replayed in time order over one connection (svc-simulator), as fast as PUBACKs allow. Not
    // `simulate` to the broker: its 33 node connections deliver slightly out of order across nodes,
    // and at high speed the rules' readings clock then runs ahead of a lagging node and reports it
    // offline (spurious node-offline, and a zone without FWI when that happens at 13:00); with
    // --fast, `simulate` also never finishes once a node's link drops (reported to its owner).
    const sim = await cli(['replay', readingsFile, '--fast']);
    const published = Number(/([\d,]+) replayed,/.exec(sim.stderr)?.[1]?.replace(/,/g, ''));
    step(`replayed ${published}`);
    expect(published, `simulator published ${published} readings:\n${sim.stderr}`).toBeGreaterThan(40_000);

    // What the nodes' own connections would have said (replay publishes readings only): online, and
    // the burnt node's will. Then bad input, so the dead-letter panels have something to show.
    publisher = await connectAs(mqttUrl, 'svc-simulator');
    for (const node of site.nodes) {
      const status = node.id === 'san-thang-07' ? { status: 'offline', reason: 'connection lost' } : { status: 'online', reason: 'connected' };
      await publisher.publishAsync(topics.status(node.id), JSON.stringify({ nodeId: node.id, ts: new Date().toISOString(), ...status }), { qos: 1, retain: true });
    }
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

    // The fire's alerts went out and were resolved with the all-clear; one more suspected fire (as
    // the rules service would publish it) is acknowledged by a board through the alerts API, so the
    // active-alerts panel has an acknowledged alert with who acknowledged it.
    const rulesPublisher = await connectAs(mqttUrl, 'svc-rules');
    const eventId = `fire-nam-loong-03-dashboards-test-suspected`;
    await rulesPublisher.publishAsync(
      topics.event('fire-suspected', 'nam-loong'),
      JSON.stringify({ eventId, kind: 'fire-suspected', zoneId: 'nam-loong', nodeId: 'nam-loong-03', ts: new Date().toISOString(), detail: {} }),
      { qos: 1 },
    );
    await rulesPublisher.endAsync();
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`http://127.0.0.1:${alertsPort}${path}`, { ...init, headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' } }).then((r) => r.json() as Promise<Record<string, unknown>>);
    let alertId: string | undefined;
    await waitFor(
      async () => {
        const list = (await api('/api/alerts?state=all')).alerts as { alertId: string; eventIds: string[] }[];
        alertId = list.find((a) => a.eventIds.includes(eventId))?.alertId;
        return alertId !== undefined;
      },
      15_000,
      'the alert for the suspected fire',
      200,
    );
    ackedAtMs = Date.now();
    const ack = await api('/api/ack', { method: 'POST', body: JSON.stringify({ alertId, by: 'Lò Văn Minh (ban chỉ huy)' }) });
    expect(ack).toMatchObject({ ok: true });
    await waitFor(async () => (await influx.query(`SELECT count("alert_id") FROM "alert" WHERE "state" = 'acknowledged'`, 'ews')).length > 0, 15_000, 'the acknowledged alert in InfluxDB', 250);
    await waitFor(async () => (await influx.query(`SELECT count("alert_id") FROM "alert" WHERE "state" = 'resolved'`, 'ews')).length > 0, 15_000, 'the resolved fire alert in InfluxDB', 250);
    await waitFor(async () => (await influx.count('pipeline', 'sms_sent')) >= 3, 15_000, 'alerts pipeline points', 250);
    // A dry-run drill of the fire zone: its own annotation, never an alert or an event (README "Drills").
    const drill = await api('/api/drills', { method: 'POST', body: JSON.stringify({ zoneId: FIRE_ZONE, kind: 'fire-confirmed', dryRun: true, startedBy: 'dashboards test' }) });
    expect(drill).toMatchObject({ ok: true });
    drillAlertId = String(drill.alertId);
    await waitFor(async () => (await influx.query(`SELECT count("drill_id") FROM "drill" WHERE "state" = 'queued'`, 'ews')).length > 0, 15_000, 'the drill in InfluxDB', 250);
    // The stuck temperature sensor has been reported (the fault is raised after 30 identical readings).
    await waitFor(
      async () => (await influx.query(`SELECT count("event_id") FROM "event" WHERE "kind" = 'node-fault' AND "node" = '${FAULTY_AT_END.node}'`, 'ews')).length > 0,
      15_000,
      `the fault of ${FAULTY_AT_END.node}`,
      250,
    );
    step('alerts');

    toMs = Date.now() + 60_000;
    zoneValues = (dashboards[1]?.templating?.list?.find((v) => v.name === 'zone')?.options ?? []).map((o) => o.value);
  }, 300_000); // fills InfluxDB through the real pipeline: ≈ 60 s on two busy cores

  afterAll(async () => {
    await publisher?.endAsync().catch(() => undefined);
    await alerts?.stop();
    await rules?.stop();
    await ingest?.stop();
    await broker?.stop();
    await influx?.destroy();
    data?.remove();
  });

  /**
   * The time range a query runs over: the whole simulated run, except on the Pipeline dashboard,
   * whose figures exist only since the services started (a board looking at the last minutes), and
   * on panels with their own relative time (`timeFrom`), which Grafana runs over now − that … now.
   */
  let drillAlertId: string | undefined;
  const rangeOf = (q: FoundQuery) => panelRange(q.panel, q.dashboard === 'fire-pipeline' ? { fromMs: servicesFromMs, toMs } : { fromMs, toMs });
  /** Runs one query for one zone; returns the series. */
  const execute = (q: FoundQuery, zone: string) => influx.query(expandQuery(q.target.query ?? '', { ...rangeOf(q), variables: { zone } }), 'ews');

  it('a drill is never an alert or an event in InfluxDB', async () => {
    assert(drillAlertId);
    for (const [measurement, field] of [['alert', 'alert_id'], ['event', 'event_id']] as const) {
      const rows = await influx.query(`SELECT "${field}" FROM "${measurement}" WHERE "${field}" = '${drillAlertId}'`, 'ews');
      expect(rows, `${measurement} points of the drill`).toStrictEqual([]);
    }
    const drills = await influx.query(`SELECT "drill_id", "state" FROM "drill"`, 'ews');
    expect(drills[0]?.values.map((v) => v[2])).toContain('queued');
  });

  it('the zone variable lists exactly the zones in InfluxDB', async () => {
    const tags = await influx.query('SHOW TAG VALUES FROM "reading" WITH KEY = "zone"', 'ews');
    expect([...zoneValues].sort()).toStrictEqual(tags[0]?.values.map((v) => v[1]).sort());
  });

  it.each(dashboards.map((d) => [d.uid, d] as const))('%s: every query returns its columns with data', async (_uid, d) => {
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
    expect(ran).toBeGreaterThan(0);
    expect(failures).toStrictEqual([]);
  });

  it('city overview: every node on the map has a position and its zone has a level to join', async () => {
    const map = dashboards[0]?.panels?.find((p) => p.type === 'geomap');
    const [nodesQ, levelQ, fireQ] = (map?.targets ?? []).map((t) => expandQuery(t.query ?? '', { fromMs, toMs, variables: {} }));
    assert(nodesQ && levelQ && fireQ, 'the map has its three queries');
    const nodes = await influx.query(nodesQ, 'ews');
    expect(nodes, 'one row per node of the site').toHaveLength(site.nodes.length);
    for (const s of nodes) {
      const node = site.nodes.find((n) => n.id === s.tags?.node);
      assert(node, `node ${s.tags?.node} is in the site file`);
      const row = s.values[0] ?? [];
      expect(row[s.columns.indexOf('latitude')]).toBe(node.lat);
      expect(row[s.columns.indexOf('longitude')]).toBe(node.lon);
      expect(s.tags?.zone).toBe(node.zone);
    }
    const levels = await influx.query(levelQ, 'ews');
    expect(levels.map((s) => s.tags?.zone).sort(), 'every zone has a level to colour its nodes').toStrictEqual(site.zones.map((z) => z.id).sort());
    for (const s of levels) expect([1, 2, 3, 4, 5]).toContain(s.values[0]?.[s.columns.indexOf('level')] as number);
    const fire = await influx.query(fireQ, 'ews');
    const fireZoneStates = fire.filter((s) => s.tags?.zone === FIRE_ZONE).map((s) => String(s.values[0]?.[s.columns.indexOf('fire')]));
    expect(fireZoneStates, 'the fire zone has a fire state').toContainEqual(expect.stringMatching(/^fire-/));
  });

  it('pipeline: readings/s is positive and matches what ingest stored; SMS were counted', async () => {
    const q = queriesOf(dashboards[3] as DashboardJson).find((x) => x.target.query?.includes('readings_stored'));
    assert(q);
    const series = await execute(q, FIRE_ZONE);
    const i = series[0]?.columns.indexOf('readings_per_s') ?? -1;
    const rates = (series[0]?.values ?? []).map((r) => r[i] as number);
    expect(Math.max(...rates), `rates ${rates.join(', ')}`).toBeGreaterThan(0);
    const stored = await influx.query(`SELECT max("readings_stored") FROM "pipeline" WHERE "service" = 'ingest'`, 'ews');
    expect(stored[0]?.values[0]?.[1] as number).toBeGreaterThanOrEqual(await influx.count('reading', 'temperature'));
    expect(selectShape(q.target.query ?? '').groupByTime).toBe(true);
    const sms = await influx.query(`SELECT max("sms_sent") FROM "pipeline" WHERE "service" = 'alerts'`, 'ews');
    expect(sms[0]?.values[0]?.[1] as number, 'the fire alerts were sent (dry run) and counted').toBeGreaterThan(0);
  });

  describe('city overview, per zone and active alerts', () => {
    const city = () => dashboards.find((d) => d.uid === CITY_OVERVIEW_UID) as DashboardJson;
    const panelTitled = (re: RegExp): PanelJson => {
      const p = city().panels?.find((x) => re.test(x.title ?? ''));
      assert(p, `panel ${re}`);
      return p;
    };
    /** The panel's queries run as Grafana would (its own relative time), as tables. */
    const tablesOf = async (p: PanelJson) => {
      const range = panelRange(p, { fromMs, toMs });
      return Promise.all((p.targets ?? []).map(async (t) => ({ refId: t.refId, series: await influx.query(expandQuery(t.query ?? '', { ...range, variables: {} }), 'ews') })));
    };
    const nodesIn = (zone: string) => site.nodes.filter((n) => n.zone === zone).length;

    it('each per-zone query returns one row per zone (what Grafana\'s merge joins on)', async () => {
      const zones = panelTitled(/Each ward\/commune/);
      for (const { refId, series } of await tablesOf(zones)) {
        const rows = series.map((s) => ({ zone: s.tags?.zone, values: s.values.length }));
        expect(new Set(rows.map((r) => r.zone)).size, `${refId}: one series per zone`).toBe(rows.length);
        for (const r of rows) expect(r.values, `${refId} ${r.zone}: one row`).toBe(1);
        // Danger, node counts and data age exist for every zone; health only where a node is unhealthy.
        if (refId !== 'D') expect(rows.map((r) => r.zone).sort(), refId).toStrictEqual(site.zones.map((z) => z.id).sort());
      }
    });

    it('the board reads healthy / offline / faulty per zone, summing to the zone\'s nodes, and the data age', async () => {
      const zones = panelTitled(/Each ward\/commune/);
      const [table] = applyTransformations(
        (await tablesOf(zones)).map((t) => influxTable(t.series)),
        zones.transformations ?? [],
      );
      assert(table);
      const byZone = new Map(table.rows.map((r) => [r.zone as string, r]));
      expect([...byZone.keys()].sort()).toStrictEqual(site.zones.map((z) => z.id).sort());
      const pick = (r: Row | undefined) => ({ nodes: r?.nodes, healthy: r?.healthy, offline: r?.offline ?? 0, faulty: r?.faulty ?? 0 });
      // The fire burnt san-thang-07 (offline); quyet-thang-03's temperature is stuck at the end.
      expect(pick(byZone.get(FIRE_ZONE))).toStrictEqual({ nodes: nodesIn(FIRE_ZONE), healthy: nodesIn(FIRE_ZONE) - 1, offline: 1, faulty: 0 });
      expect(pick(byZone.get(FAULTY_AT_END.zone))).toStrictEqual({ nodes: nodesIn(FAULTY_AT_END.zone), healthy: nodesIn(FAULTY_AT_END.zone) - 1, offline: 0, faulty: 1 });
      expect(byZone.get(FIRE_ZONE)?.healthy_share).toBeCloseTo((nodesIn(FIRE_ZONE) - 1) / nodesIn(FIRE_ZONE), 6);
      for (const [zone, r] of byZone) {
        expect((r.healthy as number) + ((r.offline as number | undefined) ?? 0) + ((r.faulty as number | undefined) ?? 0), zone).toBe(nodesIn(zone));
        expect([1, 2, 3, 4, 5], `${zone} official level`).toContain(r.level);
        expect(['ok', 'estimated'], `${zone} quality`).toContain(r.quality);
        expect([1, 2, 3, 4, 5], `${zone} provisional level`).toContain(r.provisional_level);
        // Data age: minutes from the zone's last reading to the end of the range (1-minute buckets).
        const last = await influx.query(`SELECT last("seq") FROM "reading" WHERE "zone" = '${zone}'`, 'ews');
        const lastMs = last[0]?.values[0]?.[0] as number;
        expect(Math.abs((r.age_min as number) - (toMs - lastMs) / 60_000), `${zone} age ${String(r.age_min)} min`).toBeLessThanOrEqual(1);
      }
    });

    it('active alerts: the acknowledged one shows who, when, and its escalation step', async () => {
      const alerts = panelTitled(/Active alerts/);
      const [{ series } = { series: [] }] = await tablesOf(alerts);
      const rows = influxTable(series).rows;
      const acked = rows.find((r) => r.state === 'acknowledged');
      assert(acked, `an acknowledged alert among ${JSON.stringify(rows)}`);
      expect(acked.acked_by).toBe('Lò Văn Minh (ban chỉ huy)');
      expect(acked.acked_at as number).toBeGreaterThanOrEqual(ackedAtMs);
      expect(acked.acked_at as number).toBeLessThanOrEqual(ackedAtMs + 15_000);
      expect(acked.escalation_step, 'acknowledged before its first escalation (300 s)').toBe(0);
      expect(rows.every((r) => typeof r.escalation_step === 'number'), 'every alert written since the field exists has its step').toBe(true);
    });
  });
});
