// The alerts service's figures in a real InfluxDB (Debian's influxd 1.6, v1 /write), as the
// dashboards query them: the `alert` measurement at each state change and `pipeline,service=alerts`
// every EWS_PIPELINE_STATS_S seconds — including a state change made while InfluxDB was down.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { parseDocument } from 'yaml';
import { loadAlertsEnv } from '../../alerts/config.ts';
import { startAlertsService, type RunningAlerts } from '../../alerts/service.ts';
import { serviceContextFromEnv } from '../../platform/service-shell.ts';
import Database from 'better-sqlite3';
import { deadLetterSchema, type DeadLetter } from '../../contracts/payloads.ts';
import { topics } from '../../contracts/topics.ts';
import { loadSiteFile } from '../../platform/site-file.ts';
import { InfluxdProcess, integrationSkipReason } from '../harness/influxd.ts';
import { waitFor } from '../harness/ports.ts';
import { SITE_FILE } from '../harness/services.ts';
import { startAlertsTestBed, type AlertsTestBed } from '../harness/alerts.ts';
import { skipTitle } from '../harness/skip.ts';

const SECRET = 'influx-test-broker-secret-0123';
const skip = integrationSkipReason();

describe.skipIf(skip)(skipTitle('the alerts service with a real broker and influxd', skip), () => {
  let dir: string;
  let influx: InfluxdProcess;
  let bed: AlertsTestBed;
  let running: RunningAlerts;
  let publisher: MqttClient;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'alerts-influx-'));
    // Level changes go out at once here (the committed policy holds them 60 s for grouping).
    const doc = parseDocument(readFileSync(SITE_FILE, 'utf8'));
    const routes = (doc.toJS() as { alerts: { routes: { kinds: string[] }[] } }).alerts.routes;
    routes.forEach((r, i) => {
      if (r.kinds.includes('level-changed')) doc.setIn(['alerts', 'routes', i, 'groupWaitS'], 0);
    });
    const siteFile = join(dir, 'site.yaml');
    writeFileSync(siteFile, doc.toString({ lineWidth: 0 }));
    const site = loadSiteFile(siteFile);

    influx = await InfluxdProcess.start('ews');
    bed = await startAlertsTestBed(dir, siteFile, site, SECRET);
    const env = loadAlertsEnv({
      ...bed.env,
      ALERTS_RATE_SEGMENTS_PER_S: '1000', ALERTS_RATE_BURST: '100',
      INFLUX_URL: influx.url, INFLUX_API: 'v1', INFLUX_DATABASE: 'ews', EWS_PIPELINE_STATS_S: '1',
    });
    running = await startAlertsService(serviceContextFromEnv(env, bed.log));
    publisher = await bed.connectRules('influx-test-rules');
  });

  afterAll(async () => {
    await publisher?.endAsync();
    await running?.close();
    await bed?.broker.close();
    await influx?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const publish = (event: Record<string, unknown> & { kind: string; zoneId: string }) =>
    publisher.publishAsync(topics.event(event.kind as 'fire-suspected', event.zoneId), JSON.stringify({ ts: new Date().toISOString(), detail: {}, ...event }), { qos: 1 });
  const alertOf = (eventId: string) => running.service.listAlerts('all').find((a) => a.eventIds.includes(eventId));
  const settled = () => {
    const c = running.service.listAlerts('all').reduce((n, a) => n + (a.outbox.queued ?? 0) + (a.outbox.sending ?? 0), 0);
    return c === 0;
  };
  type Row = { alert_id: string; state: string; acked_by: string; acked_at: number | null; escalation_step: number; level: number | null; zone: string; kind: string };
  const alertRows = async (): Promise<Row[]> => {
    const [series] = await influx.query('SELECT "alert_id", "state", "acked_by", "acked_at", "escalation_step", "level", "zone", "kind" FROM "alert"', 'ews');
    if (!series) return [];
    return series.values.map((v) => Object.fromEntries(series.columns.map((c, i) => [c, v[i]]).filter(([c]) => c !== 'time')) as unknown as Row);
  };
  const fieldTypes = async (m: string) => Object.fromEntries(((await influx.query(`SHOW FIELD KEYS FROM "${m}"`, 'ews'))[0]?.values ?? []).map((v) => [v[0], v[1]]));

  it('alerts → InfluxDB: alert state changes and pipeline,service=alerts points, across an InfluxDB outage', { timeout: 120_000 }, async () => {
    await waitFor(bed.subscribed, 10_000, 'alerts service subscribed');
    await publish({ eventId: 'influx-suspect-tan-phong', kind: 'fire-suspected', zoneId: 'tan-phong', nodeId: 'tan-phong-01' });
    await waitFor(() => alertOf('influx-suspect-tan-phong') !== undefined && settled(), 10_000, 'suspected fire sent');
    const suspected = alertOf('influx-suspect-tan-phong')!;
    const ackedAt = Date.now();
    const ack = running.service.acknowledgeByApi(suspected.alertId, 'Lò Văn Test (board)');
    expect(ack).toMatchObject({ ok: true });
    await publish({ eventId: 'influx-clear-tan-phong', kind: 'fire-cleared', zoneId: 'tan-phong', nodeId: 'tan-phong-01' });
    await waitFor(() => alertOf('influx-suspect-tan-phong')?.status === 'resolved' && settled(), 10_000, 'all-clear sent');
    await waitFor(async () => (await alertRows()).length === 3, 15_000, 'three alert points', 200);

    // InfluxDB down: the level change is spooled and written once it is back.
    await influx.stop();
    const downAt = Date.now();
    await publish({ eventId: 'influx-level-quyet-tien', kind: 'level-changed', zoneId: 'quyet-tien', level: 4, previousLevel: 3 });
    await waitFor(() => alertOf('influx-level-quyet-tien') !== undefined && settled(), 10_000, 'level IV message sent');
    await new Promise((r) => setTimeout(r, 1500));
    const upAt = Date.now();
    await influx.restart();
    await waitFor(async () => (await alertRows()).length === 4, 30_000, 'the spooled level-change point after the outage', 250);

    const rows = await alertRows();
    const level = alertOf('influx-level-quyet-tien')!;
    // The ack time is the service's clock at the acknowledgement; a resolved alert keeps who and when.
    const at = expect.toSatisfy((v: unknown) => typeof v === 'number' && v >= ackedAt && v <= ackedAt + 5_000);
    const suspectedRow = { alert_id: suspected.alertId, escalation_step: 0, level: null, zone: 'tan-phong', kind: 'fire-suspected' };
    expect(rows).toStrictEqual([
      { ...suspectedRow, state: 'active', acked_by: '', acked_at: null },
      { ...suspectedRow, state: 'acknowledged', acked_by: 'Lò Văn Test (board)', acked_at: at },
      { ...suspectedRow, state: 'resolved', acked_by: 'Lò Văn Test (board)', acked_at: at },
      { alert_id: level.alertId, state: 'active', acked_by: '', acked_at: null, escalation_step: 0, level: 4, zone: 'quyet-tien', kind: 'level-changed' },
    ]);
    expect(await fieldTypes('alert')).toStrictEqual({ acked_at: 'integer', acked_by: 'string', alert_id: 'string', escalation_step: 'integer', level: 'integer', state: 'string' });
    expect(((await influx.query('SHOW TAG KEYS FROM "alert"', 'ews'))[0]?.values ?? []).map((v) => v[0])).toStrictEqual(['alert', 'kind', 'zone']);

    // pipeline,service=alerts: cumulative counts; the last point matches the outbox.
    const sentRows = running.service.listAlerts('all').reduce((n, a) => n + (a.outbox.sent ?? 0) + (a.outbox.acknowledged ?? 0), 0);
    await waitFor(
      async () => {
        // Points come every second; wait for a few (a fast run may be only ~3 s old here).
        const [s] = await influx.query(`SELECT last("sms_sent"), count("sms_sent") FROM "pipeline" WHERE "service" = 'alerts'`, 'ews');
        return s?.values[0]?.[1] === sentRows && Number(s?.values[0]?.[2]) >= 3;
      },
      15_000,
      'three pipeline points, the last with every sent SMS',
      250,
    );
    const [last] = await influx.query(`SELECT last("sms_sent") AS sent, last("sms_failed") AS failed, last("sms_acked") AS acked, last("outbox_queued") AS queued, count("sms_sent") AS n FROM "pipeline" WHERE "service" = 'alerts'`, 'ews');
    const [, sent, failed, acked, queued, n] = last?.values[0] ?? [];
    expect({ sent, failed, acked, queued }).toStrictEqual({ sent: sentRows, failed: 0, acked: 1, queued: 0 });
    expect(n, 'pipeline points').toBeTypeOf('number');
    expect(n, 'pipeline points').toBeGreaterThanOrEqual(3);
    expect(await fieldTypes('pipeline')).toStrictEqual({ outbox_queued: 'integer', sms_acked: 'integer', sms_failed: 'integer', sms_sent: 'integer' });
    // The stats kept coming during the outage: points stamped while InfluxDB was down were spooled, then written.
    const [times] = await influx.query(`SELECT "sms_sent" FROM "pipeline" WHERE "service" = 'alerts'`, 'ews');
    const ts = (times?.values ?? []).map((v) => v[0] as number);
    const duringOutage = ts.filter((t) => t >= downAt && t <= upAt);
    expect(duringOutage.length, `pipeline points from the outage (${new Date(downAt).toISOString()} – ${new Date(upAt).toISOString()})`).toBeGreaterThan(0);
    expect(running.service.listAlerts('all')).toHaveLength(2);
    console.log(`# alerts influx: ${rows.length} alert points, ${ts.length} pipeline points, sms_sent ${sentRows}`);
  });

  it('a refused event is a dead letter with its reason code: in alerts.sqlite and on ews/v1/deadletter/alerts at QoS 1', async () => {
    await waitFor(bed.subscribed, 10_000, 'alerts service subscribed');
    const seen: { qos: number; dl: DeadLetter }[] = [];
    bed.broker.aedes.on('publish', (packet) => {
      if (packet.topic === topics.deadLetter('alerts')) seen.push({ qos: packet.qos, dl: deadLetterSchema.parse(JSON.parse(packet.payload.toString())) });
    });
    const event = { eventId: 'dead-letter-tan-phong', kind: 'fire-suspected', zoneId: 'tan-phong', ts: new Date().toISOString(), detail: {} };
    await publisher.publishAsync(topics.event('fire-suspected', 'tan-phong'), 'x'.repeat(1000), { qos: 1 });
    await publisher.publishAsync(topics.event('fire-suspected', 'san-thang'), JSON.stringify(event), { qos: 1 });
    await waitFor(() => seen.length === 2, 10_000, 'two dead letters');
    expect(seen.map((s) => [s.qos, s.dl.code])).toStrictEqual([[1, 'malformed-json'], [1, 'topic-mismatch']]);
    expect(seen[0]!.dl.payloadExcerpt, 'the excerpt of every service: 256 bytes').toHaveLength(256);
    const db = new Database(join(bed.env.EWS_DATA_DIR!, 'alerts.sqlite'), { readonly: true });
    const rows = db.prepare('SELECT service, code FROM dead_letters ORDER BY id').all();
    db.close();
    expect(rows).toStrictEqual([{ service: 'alerts', code: 'malformed-json' }, { service: 'alerts', code: 'topic-mismatch' }]);
    expect(alertOf('dead-letter-tan-phong'), 'nothing of either reached the engine').toBeUndefined();
  });
});
