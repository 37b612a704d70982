// A sensor drill over the modem path, every part a real process: the broker (`fire-ews broker`),
// `fire-ews rules`, `fire-ews alerts run` with ALERTS_TRANSPORT=gammu next to Debian's gammu-smsd
// (Gammu's dummy phone, test/harness/gammu-smsd.ts), and `fire-ews drill --depth sensor` playing the
// plume as svc-simulator at a high speed (not a dry run). Proves: the plume detected by rules opens the
// drill alert whose DIEN TAP SMS go through gammu-smsd-inject into gammu-smsd's outbox and are transmitted
// (moved to its sent folder) in GSM-7 within the policy's segment budget; a reply to the modem from one
// leader with the code acknowledges the drill (channel `modem`); the report's figures for that leader are
// exactly the times of the SMS and of the acknowledgement. (Ingest and InfluxDB are left out here: the
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
// 45 minutes of fire in 15 s: the suspicion comes ≈ 4 s into the fire, the confirmation ≈ 14 s.
const SPEED = 180;
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
    // The suspicion's SMS to every covering team's leader, transmitted by gammu-smsd.
    const isDrillSms = (text: string) => text.startsWith('DIEN TAP: NGHI CHAY tai San Thang');
    await waitFor(() => leaders.every((p) => gammu.sentMessages().some((m) => m.number === p.phone && isDrillSms(m.text))), 60_000, 'gammu-smsd transmitted the drill SMS to every leader', 100);
    const leader = leaders[0];
    assert(leader);
    const toLeader = gammu.sentMessages().find((m) => m.number === leader.phone && isDrillSms(m.text));
    assert(toLeader);
    const code = /Tra loi (\d{4}) de xac nhan$/.exec(toLeader.text)?.[1];
    assert(code, toLeader.text);
    for (const m of gammu.sentMessages().filter((x) => isDrillSms(x.text))) {
      const count = countSegments(m.text);
      expect(count.encoding).toBe('GSM-7');
      expect(count.segments).toBeLessThanOrEqual(policy.maxSegments);
    }
    expect(gammu.log()).toMatch(new RegExp(`Transmitted OUT\\S+ \\(total: \\d+\\) to \\${leader.phone}`));

    // The leader replies to the modem with the code.
    const repliedAt = Date.now();
    gammu.receive(leader.phone, `da nhan ${code}`);
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
    console.log(`# sensor drill over the modem at ${SPEED}×: detected ${r.sensor?.detectionS} s after ignition; ${leaders.length} DIEN TAP SMS transmitted by gammu-smsd; the leader's reply acknowledged ${member.responseS} s after the SMS was injected (${((ack.at - repliedAt) / 1000).toFixed(1)} s after the reply reached the dummy phone)`);
  }, 150_000);
});
