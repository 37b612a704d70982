// The modem path for real: Debian's gammu-smsd with Gammu's dummy phone driver (no modem needed;
// see test/harness/gammu-smsd.ts for the configuration and why each setting is there), the alerts
// service in-process with ALERTS_TRANSPORT=gammu, a real broker. Two suspected fires go out through
// gammu-smsd-inject; gammu-smsd transmits them (moved to sent/); a reply carrying the ack code put in
// the dummy phone's SIM inbox is received by gammu-smsd, read by the service from the smsd inbox and
// acknowledges its alert — whose escalation then never runs, while the unacknowledged one escalates.
import { afterAll, assert, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { parseDocument } from 'yaml';
import { loadAlertsEnv } from '../../alerts/config.ts';
import { startAlertsService, type RunningAlerts } from '../../alerts/service.ts';
import { serveMetrics, serviceContextFromEnv, type Stoppable } from '../../platform/service-shell.ts';
import { loadSiteWithPolicy } from '../../alerts/policy.ts';
import { buildRoster, resolveAudiences, type Roster } from '../../alerts/routing.ts';
import { GammuTransport } from '../../alerts/gammu.ts';
import { topics } from '../../contracts/topics.ts';
import { GammuSmsd, gammuSkipReason } from '../harness/gammu-smsd.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { TwilioMessagesDouble } from '../../test/support/twilio-double.ts';
import { SITE_FILE } from '../harness/services.ts';
import { startAlertsTestBed, type AlertsTestBed } from '../harness/alerts.ts';
import { skipTitle } from '../harness/skip.ts';

const SECRET = 'gammu-test-broker-secret-0123';
const ESCALATE_AFTER_S = 12;
const skip = gammuSkipReason();

describe.skipIf(skip)(skipTitle('gammu-smsd with the dummy phone', skip), () => {
  describe('the alerts service on the gammu transport, with a real broker', () => {
    let dir: string;
    let roster: Roster;
    let gammu: GammuSmsd;
    let bed: AlertsTestBed;
    let running: RunningAlerts;
    let publisher: MqttClient;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'alerts-gammu-'));
      // The committed site, with a short escalation for suspected fires: leaders first, then one ranger.
      const doc = parseDocument(readFileSync(SITE_FILE, 'utf8'));
      const routes = doc.getIn(['alerts', 'routes']) as { items: unknown[] };
      const suspectedIndex = (doc.toJS() as { alerts: { routes: { kinds: string[] }[] } }).alerts.routes.findIndex((r) => r.kinds.includes('fire-suspected'));
      expect(suspectedIndex, 'the committed site has a route for suspected fires').toBeGreaterThanOrEqual(0);
      expect(routes.items.length).toBeGreaterThan(suspectedIndex);
      doc.setIn(['alerts', 'routes', suspectedIndex], doc.createNode({ kinds: ['fire-suspected'], to: ['team-leaders'], groupWaitS: 0, ack: true, escalation: [{ afterS: ESCALATE_AFTER_S, to: ['member:rangers-m01'] }] }));
      // A real transport refuses the sample roster: the copy is marked as not sample data, as an operator's copy is
      // (its +8400… phones stay unusable on a real network; here they only reach the dummy phone).
      doc.setIn(['site', 'sampleData'], false);
      const siteFile = join(dir, 'site.yaml');
      writeFileSync(siteFile, doc.toString({ lineWidth: 0 }));
      const { site } = loadSiteWithPolicy(siteFile);
      roster = buildRoster(site);

      gammu = await GammuSmsd.start();
      bed = await startAlertsTestBed(dir, siteFile, site, SECRET);
      const env = loadAlertsEnv({
        ...bed.env,
        ALERTS_TRANSPORT: 'gammu', GAMMU_SMSD_CONFIG: gammu.configFile, // inbox and error folders are read from it
      });
      running = await startAlertsService(serviceContextFromEnv(env, bed.log));
      publisher = await bed.connectRules('gammu-test-rules');
    });

    afterAll(async () => {
      await publisher?.endAsync();
      await running?.close();
      await bed?.broker.close();
      await gammu?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('gammu-smsd (dummy phone): alerts transmitted, a modem reply with the ack code acknowledges and stops escalation', async () => {
      await waitFor(bed.subscribed, 10_000, 'alerts service subscribed');
      const acked = { zone: 'tan-phong', eventId: 'gammu-suspect-tan-phong' };
      const open = { zone: 'quyet-tien', eventId: 'gammu-suspect-quyet-tien' };
      for (const e of [acked, open]) {
        const event = { eventId: e.eventId, kind: 'fire-suspected', zoneId: e.zone, nodeId: `${e.zone}-02`, ts: new Date().toISOString(), detail: {} };
        await publisher.publishAsync(topics.event('fire-suspected', e.zone), JSON.stringify(event), { qos: 1 });
      }
      const leaders = (zone: string) => resolveAudiences(roster, ['team-leaders'], zone);
      const expected = [...leaders(acked.zone), ...leaders(open.zone)];
      expect(expected.length).toBeGreaterThanOrEqual(2);
      const t0 = Date.now();
      await waitFor(() => expected.every((p) => gammu.sentMessages().some((m) => m.number === p.phone)), 20_000, 'gammu-smsd transmitted every first message', 100);
      const firstSent = Date.now() - t0;
      const alertOf = (eventId: string) => running.service.listAlerts('all').find((a) => a.eventIds.includes(eventId));
      const ackedAlert = alertOf(acked.eventId);
      assert(ackedAlert?.ackCode, 'alert with an ack code');
      const code = ackedAlert.ackCode;
      const leader = leaders(acked.zone)[0]!;
      const toLeader = gammu.sentMessages().find((m) => m.number === leader.phone);
      assert(toLeader);
      // The modem receives replies: the SMS asks for one (and no "nhan: nhan", which unaccented reads "received: received").
      expect(toLeader.text).toMatch(/^PCCR LAI CHAU: NGHI CHAY tai Tan Phong, \d+,\d km huong [A-Za-z ]+, \d\d:\d\d\. Kiem tra ngay\. Tra loi (\d{4}) de xac nhan$/);
      expect(toLeader.text, 'the SMS carries the alert code').toContain(`Tra loi ${code} de xac nhan`);
      expect(gammu.log()).toMatch(new RegExp(`Transmitted OUT\\S+ \\(total: \\d+\\) to \\${leader.phone}`));

      // A reply from a number not on the roster is read but acknowledges nothing.
      gammu.receive('+84009999999', `Da nhan ${code}`);
      // The leader replies to the modem.
      gammu.receive(leader.phone, `da nhan ${code}, dang di`);
      await waitFor(() => alertOf(acked.eventId)?.status === 'acknowledged', 10_000, 'acknowledged by the modem reply', 100);
      const after = alertOf(acked.eventId)!;
      expect(after.ack?.channel).toBe('modem');
      expect(after.ack?.by).toBe(`${leader.name} (${leader.id})`);
      expect(after.acks, 'only the roster phone acknowledged').toHaveLength(1);
      expect((after.ack?.at ?? Infinity) - after.openedAt, 'acknowledged before the escalation was due').toBeLessThan(ESCALATE_AFTER_S * 1000);
      expect(gammu.log()).toMatch(/Received message from: \+84009999999/);

      // The unacknowledged alert escalates to the ranger; the acknowledged one does not.
      const ranger = roster.byId.get('rangers-m01')!;
      await waitFor(() => gammu.sentMessages().some((m) => m.number === ranger.phone), (ESCALATE_AFTER_S + 15) * 1000, 'escalation of the open alert transmitted', 200);
      await new Promise((r) => setTimeout(r, 2500));
      const toRanger = gammu.sentMessages().filter((m) => m.number === ranger.phone);
      expect(toRanger, 'one escalation message (the acknowledged alert did not escalate)').toHaveLength(1);
      // The ranger hears of it for the first time: not a reminder.
      expect(toRanger[0]?.text ?? '').toMatch(/^PCCR LAI CHAU: NGHI CHAY tai Quyet Tien, /);
      expect(alertOf(open.eventId)?.stepsDone).toBe(1);
      expect(alertOf(acked.eventId)?.stepsDone).toBe(0);
      const counts = alertOf(acked.eventId)!.outbox;
      expect(Object.values(counts).reduce((a, b) => a + b, 0), 'no escalation row for the acknowledged alert').toBe(leaders(acked.zone).length);
      expect(gammu.sentMessages(), 'nothing else transmitted').toHaveLength(expected.length + 1);
      expect(gammu.queued()).toStrictEqual([]);
      console.log(`# gammu: ${expected.length} first messages transmitted by gammu-smsd within ${firstSent} ms; modem reply acknowledged ${after.ack!.at - after.openedAt} ms after the alert opened`);
    });
  });

  describe('Twilio refusing our credentials (401/20003), the modem as the other transport', () => {
    let dir: string;
    let gammu: GammuSmsd;
    let bed: AlertsTestBed;
    let running: RunningAlerts;
    let publisher: MqttClient;
    let double: TwilioMessagesDouble;
    let internalPort: number;
    let internal: Stoppable[] = [];
    const SID = `AC${'3'.repeat(32)}`;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'alerts-twilio-down-'));
      const doc = parseDocument(readFileSync(SITE_FILE, 'utf8'));
      doc.setIn(['site', 'sampleData'], false);
      const siteFile = join(dir, 'site.yaml');
      writeFileSync(siteFile, doc.toString({ lineWidth: 0 }));
      const { site } = loadSiteWithPolicy(siteFile);
      // The double of Twilio's Messages API (test/support/twilio-double.ts) knows another token: every request gets 401 with code 20003, as Twilio answers a rotated token.
      double = new TwilioMessagesDouble(SID, 'the-token-after-rotation');
      await double.start();
      gammu = await GammuSmsd.start();
      bed = await startAlertsTestBed(dir, siteFile, site, SECRET);
      internalPort = await freePort();
      const env = loadAlertsEnv({
        ...bed.env,
        EWS_HTTP_PORT: String(internalPort),
        ALERTS_TRANSPORT: 'twilio', TWILIO_ACCOUNT_SID: SID, TWILIO_AUTH_TOKEN: 'the-token-before-rotation', TWILIO_FROM: 'PCCR LCHAU',
        ALERTS_TWILIO_API_BASE_URL: double.baseUrl, ALERTS_RETRY_BASE_MS: '200', ALERTS_RETRY_CAP_MS: '1000',
        GAMMU_SMSD_CONFIG: gammu.configFile, // the other transport: the maintenance notice goes through the modem
      });
      running = await startAlertsService(serviceContextFromEnv(env, bed.log));
      // Its /metrics and /healthz listener, as alerts/main.ts serves it.
      internal = await serveMetrics(bed.log, env.EWS_HTTP_HOST, env.EWS_HTTP_PORT, () => running.health());
      publisher = await bed.connectRules('twilio-down-rules');
    });

    afterAll(async () => {
      await publisher?.endAsync();
      for (const listener of internal) await listener.close();
      await running?.close();
      await bed?.broker.close();
      await gammu?.stop();
      await double?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('the internal /healthz says degraded with the reason, the metric is set, the maintenance contact gets a notice through gammu-smsd, and no alert is failed', async () => {
      await waitFor(bed.subscribed, 10_000, 'alerts service subscribed');
      const event = { eventId: 'twilio-down-suspect', kind: 'fire-suspected', zoneId: 'san-thang', nodeId: 'san-thang-05', ts: new Date().toISOString(), detail: {} };
      await publisher.publishAsync(topics.event('fire-suspected', 'san-thang'), JSON.stringify(event), { qos: 1 });
      await waitFor(() => running.service.transportDegradation !== null, 15_000, 'transport degraded', 100);
      const health = await fetch(`http://127.0.0.1:${internalPort}/healthz`);
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({ ok: false, detail: { mqtt: true, transport: 'twilio', fallbackTransport: 'gammu', degraded: { reason: 'auth', code: '20003', detail: expect.stringMatching(/^401: Authenticate/) } } });
      expect(await (await fetch(`http://127.0.0.1:${internalPort}/metrics`)).text()).toMatch(/ews_alerts_transport_degraded\{transport="twilio",reason="auth"\} 1/);
      const maintenance = loadSiteWithPolicy(join(dir, 'site.yaml')).site.maintenance;
      expect(maintenance.length).toBeGreaterThan(0);
      await waitFor(() => maintenance.every((m) => gammu.sentMessages().some((s) => s.number === m.phone)), 20_000, 'maintenance notice transmitted by gammu-smsd', 100);
      const notice = gammu.sentMessages().find((s) => s.number === maintenance[0]!.phone);
      expect(notice?.text).toMatch(/^PCCR LAI CHAU: LOI gui SMS qua Twilio tu \d\d:\d\d \(20003: sai ma hoac tai khoan bi khoa\)\. Canh bao dang cho\. Kiem tra TWILIO_AUTH_TOKEN, tai khoan Twilio\.$/);
      expect(gammu.sentMessages(), 'one notice per maintenance contact, nothing else through the modem').toHaveLength(maintenance.length);
      await new Promise((r) => setTimeout(r, 1500)); // more retries, still one notice
      expect(gammu.sentMessages()).toHaveLength(maintenance.length);
      const alert = running.service.listAlerts('all').find((a) => a.eventIds.includes(event.eventId));
      expect(alert?.outbox.failed ?? 0, 'the alert waits for the token to be fixed, nothing failed').toBe(0);
      expect(double.violations.filter((v) => !v.startsWith('bad Basic auth')), 'apart from the rejected token, every request kept the contract').toStrictEqual([]);

      // The modem stays the reply path while Twilio sends: a leader's reply with the code to the modem acknowledges.
      assert(alert?.ackCode);
      const leader = loadSiteWithPolicy(join(dir, 'site.yaml')).site.teams.find((t) => t.zones.includes('san-thang'));
      const leaderMember = leader?.members.find((m) => m.id === leader.leader);
      assert(leaderMember);
      gammu.receive(leaderMember.phone, `${alert.ackCode}`);
      await waitFor(() => running.service.engineState.alerts[alert.alertId]?.status === 'acknowledged', 15_000, 'acknowledged by a reply to the modem', 100);
      expect(running.service.engineState.alerts[alert.alertId]?.ack?.channel).toBe('modem');
    });
  });

  describe('the gammu transport alone', () => {
    let gammu: GammuSmsd;

    beforeAll(async () => {
      gammu = await GammuSmsd.start();
    });

    afterAll(async () => {
      await gammu?.stop();
    });

    it('gammu transport: a multi-segment message (UCS-2 accented, NFC; GSM-7) is injected as EMS and transmitted whole, not cut at one segment', async () => {
      const transport = new GammuTransport({ configFile: gammu.configFile, injectCommand: 'gammu-smsd-inject', unicode: true });
      const body = 'PCCR LAI CHAU: CHÁY RỪNG tại San Thàng (san-thang-03) 14:05. Tổ BVR xuất quân ngay. Đã nhận: nhắn 4821'.normalize('NFC');
      const result = await transport.send({ to: '+84001000123', body, segments: 2, validityS: 900, outboxId: 1 });
      assert(result.ok, JSON.stringify(result));
      expect(result.providerId).toMatch(/^gammu:OUT[A-Z]\d{8}_\d{6}_\d+_\+84001000123_sms0\.smsbackup$/);
      await waitFor(() => gammu.sentMessages().length === 1, 10_000, 'transmitted', 100);
      const [sent] = gammu.sentMessages();
      expect(sent?.number).toBe('+84001000123');
      expect(sent?.text).toBe(body);
      expect(`gammu:${sent?.file}`, 'the provider id names the file gammu-smsd moved to sent/').toBe(result.providerId);
      expect(gammu.log(), 'two concatenated parts').toMatch(/Transmitted OUT\S+ \(total: 2\) to \+84001000123/);
      // GSM-7 over one segment goes out whole too (153 septets a part).
      const long = `PCCR LAI CHAU: ${'CHAY RUNG tai San Thang. '.repeat(8)}`.trim();
      const gsm = await new GammuTransport({ configFile: gammu.configFile, injectCommand: 'gammu-smsd-inject', unicode: false }).send({ to: '+84001000124', body: long, segments: 2, validityS: 900, outboxId: 2 });
      expect(gsm).toMatchObject({ ok: true });
      await waitFor(() => gammu.sentMessages().length === 2, 10_000, 'second transmitted', 100);
      expect(gammu.sentMessages().find((m) => m.number === '+84001000124')?.text).toBe(long);
    });
  });
});
