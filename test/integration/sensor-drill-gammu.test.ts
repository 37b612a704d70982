// A sensor drill over the modem path, every part a real process: the broker (`fire-ews broker`),
// `fire-ews rules`, `fire-ews alerts run` with ALERTS_TRANSPORT=gammu next to Debian's gammu-smsd
// (Gammu's dummy phone, test/harness/gammu-smsd.ts), and `fire-ews drill --depth sensor` playing the
// plume as svc-simulator at a high speed (not a dry run). Proves: the plume detected by rules opens the
// drill alert whose DIEN TAP SMS go through gammu-smsd-inject into gammu-smsd's outbox and are transmitted
// (moved to its sent folder) in GSM-7 within the policy's segment budget; a reply to the modem from one
// leader with the code acknowledges the drill (channel `modem`); the report's figures for that leader are
// exactly the times of the SMS and of the acknowledgement; rules' confirmation widens the drill to the
// confirmed-fire route (DIEN TAP CHAY RUNG, a new code) through the modem too. (Ingest and InfluxDB are left out here: the
// plume reaches rules over MQTT; test/integration/sensor-drills.test.ts runs them.)
import { afterAll, assert, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { MqttClient } from 'mqtt';
import { parseDocument } from 'yaml';
import { drillReportSchema, type DrillReport } from '../../contracts/alerts-api.ts';
import { drillEventSchema } from '../../contracts/payloads.ts';
import { countSegments } from '../../alerts/gsm.ts';
import { loadSiteWithPolicy } from '../../alerts/policy.ts';
import { buildRoster, resolveAudiences } from '../../alerts/routing.ts';
import { GammuSmsd, gammuSkipReason } from '../harness/gammu-smsd.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { connectAs, ServiceProcess, serviceEnv, tempDataDir, SITE_FILE } from '../harness/services.ts';
import { skipTitle } from '../harness/skip.ts';

const skip = gammuSkipReason();
const ROOT = new URL('../..', import.meta.url).pathname;
const run = promisify(execFile);
const API_KEY = 'sensor-drill-gammu-api-key-0123456789';
// 45 minutes of fire in 22.5 s: the suspicion comes ≈ 5 s into the fire, the confirmation ≈ 21 s (+ rules' 2 s reorder hold).
const SPEED = 120;
const ZONE = 'san-thang';

describe.skipIf(skip)(skipTitle('a sensor drill over gammu-smsd (dummy phone): broker, rules, alerts run on the gammu transport, fire-ews drill --depth sensor', skip), () => {
  let data: ReturnType<typeof tempDataDir>;
  let gammu: GammuSmsd;
  let env: Record<string, string>;
  let broker: ServiceProcess;
  let rules: ServiceProcess;
  let alerts: ServiceProcess;
  let alertsUrl: string;
  let siteFile: string;
  let observer: MqttClient | undefined;
  const drillEvents: unknown[] = [];

  beforeAll(async () => {
    data = tempDataDir('sensor-drill-gammu');
    // A real transport refuses the sample roster: the copy is marked as an operator's copy is (its +8400…
    // phones only reach the dummy phone here).
    const doc = parseDocument(readFileSync(SITE_FILE, 'utf8'));
    doc.setIn(['site', 'sampleData'], false);
    siteFile = join(data.dir, 'site.yaml');
    writeFileSync(siteFile, doc.toString({ lineWidth: 0 }));
    gammu = await GammuSmsd.start();
    const port = await freePort();
    const alertsPort = await freePort();
    alertsUrl = `http://127.0.0.1:${alertsPort}`;
    env = serviceEnv(data.dir, {
      EWS_SITE_FILE: siteFile,
      MQTT_PORT: String(port),
      MQTT_URL: `mqtt://127.0.0.1:${port}`,
      ALERTS_HTTP_PORT: String(alertsPort),
      ALERTS_PUBLIC_URL: alertsUrl,
      ALERTS_API_KEY: API_KEY,
      ALERTS_URL: alertsUrl,
      ALERTS_TRANSPORT: 'gammu',
      GAMMU_SMSD_CONFIG: gammu.configFile,
    });
    broker = new ServiceProcess('broker', env).start();
    await broker.waitForLog('MQTT broker listening', 60_000);
    rules = new ServiceProcess('rules', env).start();
    alerts = new ServiceProcess('alerts run', env).start();
    await rules.waitForLog('rules subscribed', 60_000);
    await alerts.waitForLog('alerts subscribed', 60_000);
    observer = await connectAs(env.MQTT_URL ?? '', 'svc-observer', { clientId: 'sensor-drill-gammu-observer' });
    observer.on('message', (topic, payload) => {
      if (topic.startsWith('ews/v1/drill/events/')) drillEvents.push(JSON.parse(payload.toString('utf8')) as unknown);
    });
    await observer.subscribeAsync('ews/v1/drill/events/#', { qos: 1 });
  }, 180_000);

  afterAll(async () => {
    await observer?.endAsync().catch(() => undefined);
    await alerts?.stop();
    await rules?.stop();
    await broker?.stop();
    await gammu?.stop();
    data?.remove();
  });

  const report = async (drillId: string): Promise<DrillReport> => {
    const res = await fetch(`${alertsUrl}/api/drills/${drillId}`, { headers: { 'x-api-key': API_KEY } });
    return drillReportSchema.parse(await res.json());
  };

  it('the plume detected → DIEN TAP SMS through gammu-smsd (GSM-7, in budget); a modem reply acknowledges; exact report figures', async () => {
    const { site, policy } = loadSiteWithPolicy(siteFile);
    const roster = buildRoster(site);
    const leaders = resolveAudiences(roster, ['team-leaders'], ZONE);
    expect(leaders.length).toBeGreaterThanOrEqual(1);

    const cliRun = run(process.execPath, [join(ROOT, 'bin/fire-ews.js'), 'drill', '--zone', ZONE, '--depth', 'sensor', '--speed', String(SPEED), '--node', 'san-thang-07'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      timeout: 120_000,
      killSignal: 'SIGKILL',
    });
    // The suspicion's SMS to the covering teams' leaders, transmitted by gammu-smsd (one a second); the first
    // leader to get it replies to the modem with its code at once (before rules confirms the fire).
    const isSuspicion = (text: string) => text.startsWith('DIEN TAP: NGHI CHAY tai San Thang');
    let toLeader: ReturnType<GammuSmsd['sentMessages']>[number] | undefined;
    await waitFor(() => (toLeader = gammu.sentMessages().find((m) => isSuspicion(m.text))) !== undefined, 60_000, 'gammu-smsd transmitted a drill SMS', 50);
    assert(toLeader);
    const leader = leaders.find((p) => p.phone === toLeader?.number);
    assert(leader, `${toLeader.number} is a leader of a team covering ${ZONE}`);
    const code = /Tra loi (\d{4}) de xac nhan$/.exec(toLeader.text)?.[1];
    assert(code, toLeader.text);
    const repliedAt = Date.now();
    gammu.receive(leader.phone, `da nhan ${code}`);
    expect(gammu.log()).toMatch(new RegExp(`Transmitted OUT\\S+ \\(total: \\d+\\) to \\${leader.phone}`));
    await waitFor(() => leaders.every((p) => gammu.sentMessages().some((m) => m.number === p.phone && isSuspicion(m.text))), 60_000, 'gammu-smsd transmitted the drill SMS to every leader', 100);
    const cli = await cliRun;
    const started = /^drill (\S+) started \(sensor\)/m.exec(cli.stdout);
    assert(started, cli.stdout + cli.stderr);
    const drillId = started[1] ?? '';
    await waitFor(async () => (await report(drillId)).drill.acknowledged === 1, 30_000, 'the drill acknowledged by the modem reply', 200);

    // Exact figures: the leader's row and acknowledgement as the alerts service recorded them.
    const listed = (await (await fetch(`${alertsUrl}/api/alerts?state=all&drills=include`, { headers: { 'x-api-key': API_KEY } })).json()) as { alerts: { alertId: string; acks: { at: number; channel: string; by: string }[] }[] };
    const ack = listed.alerts.find((a) => a.alertId === `drill-${drillId}`)?.acks[0];
    assert(ack);
    expect(ack).toMatchObject({ channel: 'modem', by: `${leader.name} (${leader.id})` });
    expect(ack.at).toBeGreaterThanOrEqual(repliedAt);
    const r = await report(drillId);
    const members = r.units.flatMap((u) => u.members);
    const member = members.find((m) => m.memberId === leader.id);
    assert(member && member.textedAt !== null);
    expect(member).toMatchObject({ ackChannel: 'modem', ackedAt: ack.at, delivered: null, responseS: (ack.at - member.textedAt) / 1000 });
    expect(member.textedAt).toBeLessThan(ack.at);
    const suspected = drillEvents.map((e) => drillEventSchema.parse(e)).find((e) => e.drill.id === drillId && e.kind === 'fire-suspected');
    assert(suspected);
    expect(r.sensor?.suspectedReadingAt).toBe(Date.parse(suspected.ts));
    expect(r.sensor?.firstSmsAt).toBe(Math.min(...members.map((m) => m.textedAt ?? Infinity)));
    expect(r.drill).toMatchObject({ depth: 'sensor', dryRun: false, acknowledged: 1, medianResponseS: member.responseS, worstResponseS: member.responseS, sensorOutcome: 'detected' });
    for (const p of leaders) expect(members.find((m) => m.memberId === p.id)?.textedAt, p.id).not.toBeNull();

    // Rules confirmed the fire: the drill widens as a real confirmation would — the confirmed route (all the
    // covering teams' members, the commune board, the city board), DIEN TAP CHAY RUNG with a new code, through
    // gammu-smsd (GSM-7, in budget); the leader's figures above stay his first acknowledgement.
    await waitFor(async () => (await report(drillId)).sensor?.confirmedAt != null, 20_000, 'the confirmation recorded', 200);
    const confirmedTo = resolveAudiences(roster, ['team-members', 'commune-board', 'city-board'], ZONE);
    const deliveries = async () => ((await (await fetch(`${alertsUrl}/api/alerts?state=all&drills=include`, { headers: { 'x-api-key': API_KEY } })).json()) as { alerts: { alertId: string; deliveries: { recipientId: string; step: string }[] }[] }).alerts.find((a) => a.alertId === `drill-${drillId}`)?.deliveries ?? [];
    expect((await deliveries()).filter((d) => d.step === 'confirmed').map((d) => d.recipientId).sort()).toStrictEqual(confirmedTo.map((p) => p.id).sort());
    const isConfirmation = (text: string) => text.startsWith('DIEN TAP: CHAY RUNG tai San Thang');
    await waitFor(() => gammu.sentMessages().some((m) => isConfirmation(m.text)), 30_000, 'gammu-smsd transmitted a confirmation', 100);
    const confirmation = gammu.sentMessages().find((m) => isConfirmation(m.text));
    assert(confirmation);
    const newCode = /Tra loi (\d{4}) de xac nhan$/.exec(confirmation.text)?.[1];
    expect(newCode).toMatch(/^\d{4}$/);
    expect(newCode).not.toBe(code);
    expect(confirmedTo.map((p) => p.phone)).toContain(confirmation.number);
    for (const m of gammu.sentMessages().filter((x) => isSuspicion(x.text) || isConfirmation(x.text))) {
      const count = countSegments(m.text);
      expect(count.encoding, m.text).toBe('GSM-7');
      expect(count.segments, m.text).toBeLessThanOrEqual(policy.maxSegments);
    }
    expect((await report(drillId)).units.flatMap((u) => u.members).find((m) => m.memberId === leader.id)).toMatchObject({ ackedAt: ack.at, ackChannel: 'modem', responseS: member.responseS });
    console.log(`# sensor drill over the modem at ${SPEED}×: detected ${r.sensor?.detectionS} s after ignition; ${leaders.length} DIEN TAP SMS transmitted by gammu-smsd; the leader's reply acknowledged ${member.responseS} s after the SMS was injected (${((ack.at - repliedAt) / 1000).toFixed(1)} s after the reply reached the dummy phone)`);
  }, 150_000);
});
