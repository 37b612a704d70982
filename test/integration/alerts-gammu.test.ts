
import { assert, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { loadAlertsEnv } from '../../alerts/config.ts';
import { runAlertsService } from '../../alerts/main.ts';
import { loadSiteWithPolicy } from '../../alerts/policy.ts';
import { buildRoster, resolveAudiences } from '../../alerts/routing.ts';
import { GammuTransport } from '../../alerts/transports.ts';
import { topics } from '../../contracts/topics.ts';
import { GammuSmsd, gammuSkipReason } from '../harness/gammu-smsd.ts';
import { waitFor } from '../harness/ports.ts';
import { SITE_FILE } from '../harness/services.ts';
import { startAlertsTestBed } from '../harness/alerts.ts';

const SECRET = 'gammu-test-broker-secret-0123';
const ESCALATE_AFTER_S = 12;

it.skipIf(gammuSkipReason())('gammu-smsd (dummy phone): alerts transmitted, a modem reply with the ack code acknowledges and stops escalation', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'alerts-gammu-'));
  // The committed site, with a short escalation for suspected fires: leaders first, then one ranger.
  const doc = parseDocument(readFileSync(SITE_FILE, 'utf8'));
  const routes = doc.getIn(['alerts', 'routes']) as { items: unknown[] };
  const suspectedIndex = (doc.toJS() as { alerts: { routes: { kinds: string[] }[] } }).alerts.routes.findIndex((r) => r.kinds.includes('fire-suspected'));
  expect(suspectedIndex >= 0 && routes.items.length > suspectedIndex).toBeTruthy();
  doc.setIn(['alerts', 'routes', suspectedIndex], doc.createNode({ kinds: ['fire-suspected'], to: ['team-leaders'], groupWaitS: 0, ack: true, escalation: [{ afterS: ESCALATE_AFTER_S, to: ['member:rangers-m01'] }] }));
  const siteFile = join(dir, 'site.yaml');
  writeFileSync(siteFile, doc.toString({ lineWidth: 0 }));
  const { site } = loadSiteWithPolicy(siteFile);
  const roster = buildRoster(site);

  const gammu = await GammuSmsd.start();
  const bed = await startAlertsTestBed(dir, siteFile, site, SECRET);
  const { log, broker } = bed;
  const env = loadAlertsEnv({
    ...bed.env,
    ALERTS_TRANSPORT: 'gammu', GAMMU_SMSD_CONFIG: gammu.configFile, // inbox and error folders are read from it
  });
  const running = await runAlertsService(env, log);
  const publisher = await bed.connectRules('gammu-test-rules');
  try {
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
    expect(toLeader.text).toMatch(/^PCCR LAI CHAU: NGHI CHAY tai Tan Phong \(tan-phong-02\) \d\d:\d\d\. Kiem tra ngay\. Da nhan: nhan (\d{4}) hoac http:\/\/127\.0\.0\.1:\d+\/ack\/\w{10}$/);
    expect(toLeader.text, 'the SMS carries the alert code').toContain(` nhan ${code} `);
    expect(gammu.log()).toMatch(new RegExp(`Transmitted OUT\\S+ \\(total: \\d+\\) to \\${leader.phone}`));

    // A reply from a number not on the roster is read but acknowledges nothing.
    gammu.receive('+84009999999', `Da nhan ${code}`);
    // The leader replies to the modem.
    gammu.receive(leader.phone, `da nhan ${code}, dang di`);
    await waitFor(() => alertOf(acked.eventId)?.status === 'acknowledged', 10_000, 'acknowledged by the modem reply', 100);
    const after = alertOf(acked.eventId)!;
    expect(after.ack?.channel).toBe('modem');
    expect(after.ack?.by).toBe(`${leader.name} (${leader.id})`);
    expect(after.acks.length, 'only the roster phone acknowledged').toBe(1);
    expect((after.ack?.at ?? Infinity) - after.openedAt, 'acknowledged before the escalation was due').toBeLessThan(ESCALATE_AFTER_S * 1000);
    expect(gammu.log()).toMatch(/Received message from: \+84009999999/);

    // The unacknowledged alert escalates to the ranger; the acknowledged one does not.
    const ranger = roster.byId.get('rangers-m01')!;
    await waitFor(() => gammu.sentMessages().some((m) => m.number === ranger.phone), (ESCALATE_AFTER_S + 15) * 1000, 'escalation of the open alert transmitted', 200);
    await new Promise((r) => setTimeout(r, 2500));
    const toRanger = gammu.sentMessages().filter((m) => m.number === ranger.phone);
    expect(toRanger.length, 'one escalation message (the acknowledged alert did not escalate)').toBe(1);
    expect(toRanger[0]?.text ?? '').toMatch(/NHAC LAI NGHI CHAY tai Quyet Tien/);
    expect(alertOf(open.eventId)?.stepsDone).toBe(1);
    expect(alertOf(acked.eventId)?.stepsDone).toBe(0);
    const counts = alertOf(acked.eventId)!.outbox;
    expect(Object.values(counts).reduce((a, b) => a + b, 0), 'no escalation row for the acknowledged alert').toBe(leaders(acked.zone).length);
    expect(gammu.sentMessages().length, 'nothing else transmitted').toBe(expected.length + 1);
    expect(gammu.queued()).toStrictEqual([]);
    console.log(`# gammu: ${expected.length} first messages transmitted by gammu-smsd within ${firstSent} ms; modem reply acknowledged ${after.ack!.at - after.openedAt} ms after the alert opened`);
  } finally {
    await publisher.endAsync();
    await running.close();
    await broker.close();
    await gammu.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

it.skipIf(gammuSkipReason())('gammu transport: a multi-segment message (UCS-2 accented, NFC; GSM-7) is injected as EMS and transmitted whole, not cut at one segment', async () => {
  const gammu = await GammuSmsd.start();
  try {
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
    expect(gsm.ok).toBeTruthy();
    await waitFor(() => gammu.sentMessages().length === 2, 10_000, 'second transmitted', 100);
    expect(gammu.sentMessages().find((m) => m.number === '+84001000124')?.text).toBe(long);
  } finally {
    await gammu.stop();
  }
});
