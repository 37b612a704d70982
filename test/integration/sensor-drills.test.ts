// A sensor drill end to end through the real parts, each a process as an operator runs it: the broker
// (`fire-ews broker`, the site's ACL), `fire-ews ingest` into a real InfluxDB (Debian's influxd 1.6),
// `fire-ews rules`, `fire-ews alerts run` (dry-run transport), and `fire-ews drill --depth sensor`
// playing the simulated plume as svc-simulator at 90×. Proves: the plume's readings are stored as
// `drill_reading` points only (the real `reading` queries the dashboards and the board run see none);
// rules detects the fire in the drill's own state and publishes marked drill events only; the drill
// alert opens from the first detection with DIEN TAP messages; the report's detection figures are those
// of the events rules published; rules SIGKILLed mid-drill and restarted continues the drill (its state is
// in its database), judges every one of the 520 readings (those the broker replays after a newer one of
// their node wait in the reorder hold) and finds exactly what the drill detector finds on the same
// plume; a real fire during the drill goes out at once; a node's account cannot publish a drill reading.
import { afterAll, assert, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { drillReportSchema, type DrillReport } from '../../contracts/alerts-api.ts';
import { drillEventSchema, type DrillEvent } from '../../contracts/payloads.ts';
import { topics } from '../../contracts/topics.ts';
import { derivePassword } from '../../platform/credentials.ts';
import { loadSiteFile } from '../../platform/site-file.ts';
import { InfluxdProcess, integrationSkipReason } from '../harness/influxd.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { connectAs, ServiceProcess, serviceEnv, tempDataDir, SITE_FILE, TEST_SECRET } from '../harness/services.ts';
import { skipTitle } from '../harness/skip.ts';
import Database from 'better-sqlite3';
import { DEFAULT_RULES_CONFIG } from '../../rules/config.ts';
import { DrillDetections } from '../../rules/drill-detection.ts';
import { DRILL_FIRE_MIN, planDrillPlume } from '../../simulator/drill-plume.ts';

const skip = integrationSkipReason();
const ROOT = new URL('../..', import.meta.url).pathname;
const run = promisify(execFile);
const site = loadSiteFile(SITE_FILE);
const API_KEY = 'sensor-drill-test-api-key-0123456789';
const SPEED = 90;
const ZONE = 'san-thang';

describe.skipIf(skip)(skipTitle('a sensor drill through broker, ingest, InfluxDB, rules and alerts (processes), fire-ews drill --depth sensor', skip), () => {
  let influx: InfluxdProcess;
  let data: ReturnType<typeof tempDataDir>;
  let env: Record<string, string>;
  let broker: ServiceProcess;
  let ingest: ServiceProcess;
  let rules: ServiceProcess;
  let alerts: ServiceProcess;
  let alertsUrl: string;
  const watchers: MqttClient[] = [];
  const drillSeen: { topic: string; payload: unknown }[] = [];
  const realSeen: string[] = [];

  beforeAll(async () => {
    influx = await InfluxdProcess.start('ews');
    data = tempDataDir('sensor-drills');
    const port = await freePort();
    const alertsPort = await freePort();
    alertsUrl = `http://127.0.0.1:${alertsPort}`;
    env = serviceEnv(data.dir, {
      MQTT_PORT: String(port),
      MQTT_URL: `mqtt://127.0.0.1:${port}`,
      INFLUX_URL: influx.url,
      INFLUX_API: 'v1',
      INFLUX_DATABASE: 'ews',
      INGEST_FLUSH_MS: '100',
      ALERTS_HTTP_PORT: String(alertsPort),
      ALERTS_PUBLIC_URL: alertsUrl,
      ALERTS_API_KEY: API_KEY,
      ALERTS_URL: alertsUrl,
    });
    broker = new ServiceProcess('broker', env).start();
    // Start-up on a shared 2-core machine: four tsx processes compiling at once can take well over 20 s.
    await broker.waitForLog('MQTT broker listening', 60_000);
    ingest = new ServiceProcess('ingest', env).start();
    rules = new ServiceProcess('rules', env).start();
    alerts = new ServiceProcess('alerts run', env).start();
    await ingest.waitForLog('ingest subscribed', 60_000);
    await rules.waitForLog('rules subscribed', 60_000);
    await alerts.waitForLog('alerts subscribed', 60_000);
    // A consumer of the drill subtree, and one of real events and alerts as the board is (svc-board's ACL).
    const observer = await connectAs(env.MQTT_URL ?? '', 'svc-observer', { clientId: 'sensor-drill-observer' });
    observer.on('message', (topic, payload) => drillSeen.push({ topic, payload: JSON.parse(payload.toString('utf8')) as unknown }));
    await observer.subscribeAsync('ews/v1/drill/#', { qos: 1 });
    const board = await connectAs(env.MQTT_URL ?? '', 'svc-board', { clientId: 'sensor-drill-board' });
    board.on('message', (topic) => realSeen.push(topic));
    await board.subscribeAsync({ [topics.allEvents]: { qos: 1 }, [topics.allAlerts]: { qos: 1 } });
    watchers.push(observer, board);
  }, 180_000);

  afterAll(async () => {
    for (const w of watchers) await w.endAsync().catch(() => undefined);
    await alerts?.stop();
    await rules?.stop();
    await ingest?.stop();
    await broker?.stop();
    await influx?.destroy();
    data?.remove();
  });

  const report = async (drillId: string): Promise<DrillReport> => {
    const res = await fetch(`${alertsUrl}/api/drills/${drillId}`, { headers: { 'x-api-key': API_KEY } });
    return drillReportSchema.parse(await res.json());
  };
  const count = async (q: string): Promise<number> => Number((await influx.query(q, 'ews'))[0]?.values[0]?.[1] ?? 0);

  it('the plume is stored apart, detected in the drill state, and opens the DIEN TAP drill alert; the report gives the detection times rules published', async () => {
    // A node's own account may not publish a drill reading, even for itself (the broker refuses it).
    const nodeClient = await mqtt.connectAsync(env.MQTT_URL ?? '', { clientId: 'san-thang-07', username: 'san-thang-07', password: derivePassword(TEST_SECRET, 'san-thang-07'), reconnectPeriod: 0 });
    const forged = { nodeId: 'san-thang-07', seq: 1, ts: new Date().toISOString(), temperatureC: 60, humidityPct: 10, smoke: 4000, drill: { id: 'forged-drill', depth: 'sensor' } };
    nodeClient.publish(topics.drillReading('san-thang-07'), JSON.stringify(forged), { qos: 0 });
    const refused = await broker.waitForLog('publish refused; closing the connection', 10_000);
    expect(refused).toMatchObject({ clientId: 'san-thang-07', topic: 'ews/v1/drill/readings/san-thang-07', reason: 'node san-thang-07 may publish only its own readings and status' });
    await nodeClient.endAsync(true).catch(() => undefined);

    const t0 = Date.now();
    const cliRun = run(process.execPath, [join(ROOT, 'bin/fire-ews.js'), 'drill', '--zone', ZONE, '--depth', 'sensor', '--speed', String(SPEED), '--node', 'san-thang-07', '--dry-run'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      timeout: 120_000,
      killSignal: 'SIGKILL',
    });
    const listAlerts = async () => {
      const res = await fetch(`${alertsUrl}/api/alerts?state=all&drills=include`, { headers: { 'x-api-key': API_KEY } });
      return ((await res.json()) as { alerts: { alertId: string; zoneId: string; drill?: { id: string; depth: string }; deliveries: { state: string; recipientId: string }[] }[] }).alerts;
    };

    // rules is killed (SIGKILL) while the fire readings flow and started again: the drill's detection state
    // is in its database and the broker keeps the readings for its session, so the figures do not change.
    await waitFor(async () => (await count(`SELECT count("smoke") FROM "drill_reading"`)) > 170, 60_000, 'clean air stored and the fire readings flowing', 100);
    const killedAt = Date.now();
    expect(await rules.stop('SIGKILL')).toBeNull();
    const restartedAt = rules.logs.length;
    rules.start();
    await rules.waitForLog('rules subscribed', 60_000, restartedAt);
    const backAt = Date.now();
    await rules.waitForLog('rules state recovered', 1000, restartedAt);

    // A real fire in the zone while the drill runs (as rules publishes it): its SMS go out at once,
    // the drill goes on, and real consumers see only the real event.
    await waitFor(async () => (await listAlerts()).some((a) => a.drill?.depth === 'sensor'), 60_000, 'the sensor drill alert opened', 200);
    const realRules = await connectAs(env.MQTT_URL ?? '', 'svc-rules', { clientId: 'sensor-drill-test-rules' });
    watchers.push(realRules);
    const real = { eventId: 'real-confirmed-san-thang', kind: 'fire-confirmed', zoneId: ZONE, nodeId: 'san-thang-03', ts: new Date().toISOString(), detail: {} };
    const realAt = Date.now();
    await realRules.publishAsync(topics.event('fire-confirmed', ZONE), JSON.stringify(real), { qos: 1 });
    await waitFor(async () => ((await listAlerts()).find((a) => a.alertId === real.eventId)?.deliveries ?? []).some((d) => d.state === 'sent'), 20_000, 'first real SMS sent', 100);
    expect((Date.now() - realAt) / 1000, 'the real alert is not held back by the sensor drill (README: 20 s bound)').toBeLessThan(20);

    const cli = await cliRun;
    const started = /^drill (\S+) started \(sensor\): plume at 8 nodes of san-thang, fire 120 m upwind of san-thang-07 at (\S+) \(readings' clock\), 90× real time/m.exec(cli.stdout);
    assert(started, cli.stdout + cli.stderr);
    const [, drillId = '', ignitionIso = ''] = started;
    const ignitionAt = Date.parse(ignitionIso);
    expect(cli.stdout).toContain(`plume played: 520 drill readings; report: fire-ews drill-report ${drillId}`);
    const playedS = (Date.now() - t0) / 1000;
    expect(playedS, '45 minutes of fire at 90× plus the clean air at once').toBeGreaterThan(25);

    // Rules' drill events, marked; the confirmation may still be on its way.
    const events = () => drillSeen.filter((m) => m.topic.startsWith('ews/v1/drill/events/')).map((m) => drillEventSchema.parse(m.payload)).filter((e) => e.drill.id === drillId);
    await waitFor(() => events().some((e) => e.kind === 'fire-confirmed'), 20_000, 'the drill fire confirmed by rules');
    // Once each, though rules was killed mid-drill (a re-published one keeps its event id).
    const unique = new Map(events().map((e) => [e.eventId, e]));
    expect([...unique.values()].map((e) => [e.eventId, e.kind])).toStrictEqual([[`${drillId}-1`, 'fire-suspected'], [`${drillId}-2`, 'fire-confirmed']]);
    const byKind = (kind: DrillEvent['kind']) => events().find((e) => e.kind === kind);
    const suspected = byKind('fire-suspected');
    const confirmed = byKind('fire-confirmed');
    assert(suspected && confirmed);
    expect(suspected.drill).toStrictEqual({ id: drillId, depth: 'sensor' });
    expect(suspected.eventId.startsWith(drillId)).toBe(true);
    expect(suspected.detail.incidentId).toBe(`${drillId}-incident`);
    expect(suspected.nodeId).toBe('san-thang-07');

    // The report: exactly the times of the events rules published, and the drill alert's SMS.
    await waitFor(async () => (await report(drillId)).sensor?.confirmedAt !== null, 10_000, 'confirmation recorded');
    const r = await report(drillId);
    const s = r.sensor;
    assert(s);
    expect(s.outcome).toBe('detected');
    expect(s.ignitionAt).toBe(ignitionAt);
    expect(s.suspectedReadingAt).toBe(Date.parse(suspected.ts));
    expect(s.confirmedReadingAt).toBe(Date.parse(confirmed.ts));
    expect(s.detectionS).toBe(Math.round((Date.parse(suspected.ts) - ignitionAt) / 1000));
    expect(s.confirmationS).toBe(Math.round((Date.parse(confirmed.ts) - ignitionAt) / 1000));
    expect(s.firstReadingAt).toBe(Date.parse(String(suspected.detail.firstReadingAt)));
    expect(s.firstReadingAt).toBeGreaterThanOrEqual(s.plumeInjectedAt);
    expect(s.suspectedAt).toBeGreaterThanOrEqual(s.firstReadingAt ?? Infinity);
    expect(s.firstSmsAt).toBeGreaterThanOrEqual(s.suspectedAt ?? Infinity);
    // How many of the 520 plume readings rules judged in the drill state (kept in its database). Every one:
    // the readings the broker replays after a newer one of their node (around the restart) wait in the
    // drill's reorder hold and are judged in time order (rules/drill-detection.ts).
    const judged = () => {
      const db = new Database(join(data.dir, 'rules.sqlite'), { readonly: true });
      try {
        const row = db.prepare('SELECT state FROM drill_detections WHERE drill_id = ?').get(drillId) as { state: string } | undefined;
        return row ? (JSON.parse(row.state) as { readings: number; late?: number }) : null;
      } finally {
        db.close();
      }
    };
    await waitFor(() => judged()?.readings === 520, 10_000, 'rules judged every plume reading', 200);
    expect(judged()?.late ?? 0).toBe(0);
    // The same plume (the CLI's plan, rebuilt from its ignition time) judged by the drill detector in this
    // process, without a kill: the figures are exactly these.
    const fireMs = DRILL_FIRE_MIN * 60_000;
    const plan = planDrillPlume(site, ZONE, drillId, ignitionAt + fireMs - fireMs / SPEED, { speed: SPEED, ignitionNode: 'san-thang-07' });
    expect(plan.ignitionAtMs).toBe(ignitionAt);
    const expected = new DrillDetections(site, DEFAULT_RULES_CONFIG.detection);
    const pureEvents = plan.messages.flatMap((m) => {
      const out = expected.onMessage(topics.drillReading(m.reading.nodeId), Buffer.from(JSON.stringify(m.reading)), m.atWallMs);
      return out.ok ? out.events : [];
    });
    pureEvents.push(...expected.flushDue(Infinity).flatMap((c) => c.events));
    const pure = pureEvents.map((e) => Math.round((Date.parse(e.ts) - ignitionAt) / 1000));
    console.log(`# sensor drill: rules judged ${judged()?.readings} of 520 plume readings; the same plume without a kill: suspected ${pure[0]} s, confirmed ${pure[1]} s`);
    expect([s.detectionS, s.confirmationS]).toStrictEqual(pure);
    console.log(`# sensor drill at ${SPEED}×: rules SIGKILLed ${((killedAt - t0) / 1000).toFixed(1)} s after the CLI started, subscribed again ${((backAt - killedAt) / 1000).toFixed(1)} s later; fire-suspected ${s.detectionS} s and confirmed ${s.confirmationS} s after ignition, reached alerts ${(((s.suspectedAt ?? 0) - s.plumeInjectedAt) / 1000).toFixed(1)} s and ${(((s.confirmedAt ?? 0) - s.plumeInjectedAt) / 1000).toFixed(1)} s after the plume started; first drill SMS ${(((s.firstSmsAt ?? 0) - (s.suspectedAt ?? 0)) / 1000).toFixed(2)} s after the suspicion`);
    // The kill was before the suspicion: the state that found it had to survive the kill.
    expect(killedAt).toBeLessThan(s.suspectedAt ?? 0);
    // Detection between 5 and 20 minutes of fire, confirmation after the 30-minute persistence.
    expect(s.detectionS).toBeGreaterThan(300);
    expect(s.detectionS).toBeLessThan(1200);
    expect(s.confirmationS).toBeGreaterThanOrEqual((s.detectionS ?? 0) + 1800 - 120);
    // The suspected-fire route: the leaders of the teams covering the zone.
    const leaders = site.teams.filter((t) => t.zones.includes(ZONE)).map((t) => t.leader);
    expect(r.units.flatMap((u) => u.members.map((m) => m.memberId)).sort()).toStrictEqual([...leaders].sort());
    expect(r.drill).toMatchObject({ depth: 'sensor', kind: 'fire-suspected', dryRun: true, texted: leaders.length, detectionS: s.detectionS, sensorOutcome: 'detected' });

    // The drill alert's messages: DIEN TAP, dry run (recorded, never handed to a transport).
    const listed = await listAlerts();
    expect(listed.find((a) => a.alertId === `drill-${drillId}`)?.drill).toStrictEqual({ id: drillId, depth: 'sensor' });
    expect(drillSeen.some((m) => m.topic === topics.drillAlert(`drill-${drillId}`))).toBe(true);
    const drillSms = alerts.logs.filter((l) => l.msg === 'dry-run drill SMS (not sent)' && l.alertId === `drill-${drillId}`);
    expect(drillSms.length).toBe(leaders.length);
    for (const l of drillSms) expect(String(l.body).startsWith('DIEN TAP')).toBe(true);

    // InfluxDB: every plume reading is a drill_reading point of this drill; none is a reading point;
    // the forged one of the node's account is nowhere.
    await waitFor(async () => (await count(`SELECT count("smoke") FROM "drill_reading" WHERE "drill" = '${drillId}'`)) === 520, 10_000, '520 drill readings stored');
    expect(await count(`SELECT count("smoke") FROM "reading"`)).toBe(0);
    expect(await count(`SELECT count("smoke") FROM "drill_reading" WHERE "drill" = 'forged-drill'`)).toBe(0);
    const perNode = await influx.query(`SELECT count("smoke") FROM "drill_reading" WHERE "drill" = '${drillId}' GROUP BY "node"`, 'ews');
    expect(perNode.map((x) => [x.tags?.node, x.values[0]?.[1]])).toStrictEqual(site.nodes.filter((n) => n.zone === ZONE).map((n) => [n.id, 65]));

    // Consumers of real events and alerts saw the real fire only, never the drill.
    expect(realSeen.filter((t) => t.includes('drill'))).toStrictEqual([]);
    expect(realSeen).toContain(topics.event('fire-confirmed', ZONE));
    expect(realSeen).toContain(topics.alert(real.eventId));
    expect(new Set(realSeen)).toStrictEqual(new Set([topics.event('fire-confirmed', ZONE), topics.alert(real.eventId)]));
  }, 150_000);
});
