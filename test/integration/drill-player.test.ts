// The drill player's own loop, run inside the test process (so its code is measured) against the
// real `fire-ews broker` (the site's ACL) and a real `fire-ews alerts run` (dry-run SMS): a request
// published as svc-alerts is planned, started through the alerts API under the requested drill id and
// played on ews/v1/drill/readings/<node> — every reading of the plan, each marked with the drill —,
// and the same request delivered again is refused as a duplicate without a second plume. The whole
// chain with rules, the board and the schedule as processes: drill-requests.test.ts.
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drillReportSchema } from '../../contracts/alerts-api.ts';
import { topics } from '../../contracts/topics.ts';
import { createLogger } from '../../platform/logger.ts';
import { metricsRegistry } from '../../platform/metrics.ts';
import { loadSiteFile } from '../../platform/site-file.ts';
import { startDrillPlayer, type RunningDrillPlayer } from '../../simulator/drill-player.ts';
import { planDrillPlume } from '../../simulator/drill-plume.ts';
import { integrationSkipReason } from '../harness/influxd.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { connectAs, ServiceProcess, SITE_FILE, TEST_SECRET, tempDataDir } from '../harness/services.ts';
import { skipTitle } from '../harness/skip.ts';

const skip = integrationSkipReason();
const API_KEY = 'drill-player-test-api-key-0123456789';
const SPEED = 600;

let tmp: ReturnType<typeof tempDataDir>;
const procs: ServiceProcess[] = [];
let alertsUrl = '';
let mqttUrl = '';
let player: RunningDrillPlayer | null = null;
let observer: MqttClient | null = null;

const outcomes = async (): Promise<Record<string, number>> => {
  const metric = await metricsRegistry.getSingleMetric('ews_simulator_drill_requests_total')?.get();
  return Object.fromEntries((metric?.values ?? []).map((v) => [String(v.labels.outcome), v.value]));
};

describe.skipIf(skip)(skipTitle('the drill player in this process: a request played through the real broker and alerts API, a repeat refused', skip), () => {
  beforeAll(async () => {
    tmp = tempDataDir('drill-player');
    const mqttPort = await freePort();
    const alertsPort = await freePort();
    mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;
    alertsUrl = `http://127.0.0.1:${alertsPort}`;
    const start = (command: string, env: Record<string, string>) => {
      const p = new ServiceProcess(command, { EWS_SITE_FILE: SITE_FILE, EWS_BROKER_SECRET: TEST_SECRET, EWS_HTTP_PORT: '0', EWS_LOG_LEVEL: 'info', ...env }).start();
      procs.push(p);
      return p;
    };
    const broker = start('broker', { EWS_DATA_DIR: join(tmp.dir, 'broker'), MQTT_HOST: '127.0.0.1', MQTT_PORT: String(mqttPort), MQTT_WS_PORT: '0' });
    await broker.waitForLog('MQTT broker listening', 60_000);
    const alerts = start('alerts run', { MQTT_URL: mqttUrl, EWS_DATA_DIR: join(tmp.dir, 'alerts'), ALERTS_HTTP_PORT: String(alertsPort), ALERTS_PUBLIC_URL: alertsUrl, ALERTS_API_KEY: API_KEY });
    await alerts.waitForLog('alerts subscribed', 60_000);
  }, 180_000);

  afterAll(async () => {
    await player?.close();
    await observer?.endAsync();
    for (const p of procs.reverse()) await p.stop('SIGTERM');
    tmp?.remove();
  });

  it('plays a requested plume under the requested id, every reading marked; the same request again is a duplicate', { timeout: 120_000 }, async () => {
    const site = loadSiteFile(SITE_FILE);
    // Ingest's account may read drill readings (broker/acl.ts): count what the plume puts on the broker.
    observer = await connectAs(mqttUrl, 'svc-ingest');
    const readings: { topic: string; drillId: unknown; nodeId: unknown }[] = [];
    observer.on('message', (topic, payload) => {
      const r = JSON.parse(payload.toString()) as { nodeId?: unknown; drill?: { id?: unknown } };
      readings.push({ topic, drillId: r.drill?.id, nodeId: r.nodeId });
    });
    await observer.subscribeAsync(topics.allDrillReadings, { qos: 1 });

    player = startDrillPlayer({ site, access: { url: mqttUrl, secret: TEST_SECRET }, api: { url: alertsUrl, key: API_KEY }, log: createLogger('drill-player', 'warn') });
    await waitFor(() => player?.client.connected === true, 30_000, 'the drill player connected');
    const before = await outcomes();

    const drillId = `san-thang-player-${Date.now().toString(36)}`;
    const request = { drillId, zoneId: 'san-thang', requestedAt: Date.now(), speed: SPEED, node: 'san-thang-04', dryRun: true, startedBy: 'drill-player test' };
    const asAlerts = await connectAs(mqttUrl, 'svc-alerts');
    await asAlerts.publishAsync(topics.drillRequest('san-thang'), JSON.stringify(request), { qos: 1 });

    // The alerts service records the drill under the requested id, with the plume the player planned.
    await waitFor(async () => (await fetch(`${alertsUrl}/api/drills/${drillId}`, { headers: { 'x-api-key': API_KEY } })).status === 200, 30_000, 'the drill recorded by alerts');
        // 45 minutes of fire at 600× ≈ 4.5 s after the warm-up.
    await waitFor(() => player?.playing().size === 0, 60_000, 'the plume played to its end');
    const report = drillReportSchema.parse(await (await fetch(`${alertsUrl}/api/drills/${drillId}`, { headers: { 'x-api-key': API_KEY } })).json());
    expect(report.drill.depth).toBe('sensor');
    expect(report.sensor?.ignitionNode).toBe('san-thang-04');
    const zoneNodes = new Set(site.nodes.filter((n) => n.zone === 'san-thang').map((n) => n.id));
    // Every reading of the plan (its size does not depend on the hour planned) reached the broker under
    // the drill's mark, at the zone's nodes only.
    const planned = planDrillPlume(site, 'san-thang', drillId, Date.now(), { speed: SPEED, ignitionNode: 'san-thang-04' }).messages.length;
    await waitFor(() => readings.length >= planned, 10_000, 'every planned drill reading on the broker');
    const mine = readings.filter((r) => r.drillId === drillId);
    expect(mine).toHaveLength(planned);
    expect(readings).toHaveLength(planned);
    expect(new Set(mine.map((r) => r.nodeId)).size).toBe(report.sensor?.nodes.length);
    expect(mine.every((r) => zoneNodes.has(String(r.nodeId)) && r.topic === topics.drillReading(String(r.nodeId)))).toBe(true);

    // Delivered again (a publisher's retry): refused by the player, nothing played.
    await asAlerts.publishAsync(topics.drillRequest('san-thang'), JSON.stringify(request), { qos: 1 });
    await waitFor(async () => ((await outcomes()).duplicate ?? 0) > (before.duplicate ?? 0), 10_000, 'the repeated request refused');
    const after = await outcomes();
    expect((after.played ?? 0) - (before.played ?? 0)).toBe(1);
    expect(player.playing().size).toBe(0);
    await asAlerts.endAsync();
  });
});
