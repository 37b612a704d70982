// A drill through the alerts service and its HTTP API in one process (like service.test.ts), against
// the local double of Twilio's Messages API (test/support/twilio-double.ts, checked against the official
// CreateMessage contract). The service's wall clock is injected, so acknowledgements arrive at known
// times and the report's figures are exact.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { pino } from 'pino';
import { apiAlertsResponseSchema, drillListResponseSchema, drillReportSchema, drillStartResponseSchema, type DrillReport } from '../contracts/alerts-api.ts';
import { PipelineClock } from '../platform/clock.ts';
import { openDatabase } from '../platform/sqlite.ts';
import { freePort, waitFor } from '../test/harness/ports.ts';
import { countSegments } from './gsm.ts';
import { createAlertsHttpServer, listenAlertsHttp } from './http.ts';
import { AlertOutbox } from './outbox.ts';
import { resolveAudiences } from './routing.ts';
import { AlertService } from './core.ts';
import { laiChauContext } from '../test/support/alerts-fixtures.ts';
import { TwilioTransport } from './transports.ts';
import { TwilioMessagesDouble } from '../test/support/twilio-double.ts';

const SID = `AC${'1'.repeat(32)}`;
const TOKEN = 'test-auth-token-0123456789';
const MG = `MG${'2'.repeat(32)}`;
const API_KEY = 'board-api-key-0123456789';
const ctx = laiChauContext();
const dir = mkdtempSync(join(tmpdir(), 'alerts-drill-'));
const double = new TwilioMessagesDouble(SID, TOKEN);
const T0 = Date.parse('2026-03-02T01:30:00Z');
let wall = T0;
let http: Server;
let base = '';
let service: AlertService;
let outbox: AlertOutbox;

beforeAll(async () => {
  await double.start();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  outbox = new AlertOutbox(openDatabase(join(dir, 'alerts.sqlite')), { policy: ctx.policy, publicUrl: base, validityS: 900 });
  const transport = new TwilioTransport({ accountSid: SID, authToken: TOKEN, messagingServiceSid: MG, statusCallback: `${base}/twilio/status`, apiBaseUrl: double.baseUrl, timeoutMs: 5000 });
  const now = () => wall;
  service = new AlertService({ ctx, outbox, transport, log: pino({ level: 'silent' }), segmentsPerSecond: 5000, burst: 1000, concurrency: 8, retry: { baseMs: 5, capMs: 40 }, validityS: 900, now, clock: new PipelineClock(false, now) });
  service.start();
  http = createAlertsHttpServer({ host: '127.0.0.1', port, service, outbox, log: pino({ level: 'silent' }), publicUrl: base, twilioAuthToken: TOKEN, apiKey: API_KEY, health: () => ({ ok: true }) });
  await listenAlertsHttp(http, '127.0.0.1', port);
});

afterAll(async () => {
  await service.stop();
  await new Promise<void>((r) => http.close(() => r()));
  http.closeAllConnections();
  await double.close();
  rmSync(dir, { recursive: true, force: true });
});

const api = async (path: string, init: { method?: string; body?: unknown } = {}) => {
  const res = await fetch(`${base}${path}`, { method: init.method ?? 'GET', headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' }, ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}) });
  return { status: res.status, body: (await res.json()) as unknown };
};
const settled = (alertId: string) => () => {
  const c = outbox.countsByState(alertId);
  return c.queued === 0 && c.sending === 0;
};
const leaders = resolveAudiences(ctx.roster, ['team-leaders'], 'san-thang');
const tokenOf = (alertId: string, recipientId: string) =>
  (outbox.db.prepare('SELECT token FROM ack_tokens WHERE alert_id = ? AND recipient_id = ?').get(alertId, recipientId) as { token: string }).token;

describe('an alert drill of San Thàng (suspected fire, to the team leaders)', () => {
  let drillId = '';
  let alertId = '';
  let report: DrillReport;

  it('starts through the API and texts every leader once, each message marked DIEN TAP in one GSM-7 segment', async () => {
    const started = await api('/api/drills', { method: 'POST', body: { zoneId: 'san-thang', kind: 'fire-suspected', startedBy: 'cli' } });
    expect(started.status).toBe(200);
    const body = drillStartResponseSchema.parse(started.body);
    ({ drillId, alertId } = body);
    expect(body.recipients).toBe(leaders.length);
    await waitFor(settled(alertId), 20_000, 'drill messages sent');
    const reqs = double.requests.filter((r) => r.form.Body?.startsWith('DIEN TAP'));
    expect(reqs.map((r) => r.form.To).sort()).toStrictEqual(leaders.map((l) => l.phone).sort());
    for (const r of reqs) {
      expect(r.form.Body ?? '').toMatch(/^DIEN TAP: NGHI CHAY tai San Thang, \d\d:\d\d\. Kiem tra ngay\. Tra loi \d{4} de xac nhan$/);
      expect(countSegments(r.form.Body ?? '')).toMatchObject({ encoding: 'GSM-7', segments: 1 });
    }
    expect(double.violations).toStrictEqual([]);
  });

  it('is not among the real alerts of GET /api/alerts; with ?drills=include it is, marked', async () => {
    const plain = apiAlertsResponseSchema.parse((await api('/api/alerts')).body);
    expect(plain.alerts.map((a) => a.alertId)).not.toContain(alertId);
    const withDrills = apiAlertsResponseSchema.parse((await api('/api/alerts?drills=include')).body);
    expect(withDrills.alerts.find((a) => a.alertId === alertId)?.drill).toStrictEqual({ id: drillId, depth: 'alert' });
  });

  it('takes acknowledgements by link (+30 s), modem reply (+90 s) and the board (+150 s), and reports them exactly', async () => {
    const [l1, l2, l3] = leaders;
    if (!l1 || !l2 || !l3) throw new Error('fewer than 3 leaders');
    const row1 = outbox.rowsForAlert(alertId).find((r) => r.recipient_id === l1.id);
    expect(await double.sendStatusCallback(row1?.provider_id ?? '', 'delivered', { signature: 'valid' })).toBe(200);
    wall = T0 + 30_000;
    const link = await fetch(`${base}/ack/${tokenOf(alertId, l1.id)}`, { method: 'POST' });
    expect(link.status).toBe(200);
    wall = T0 + 90_000;
    const code = service.engineState.alerts[alertId]?.ackCode ?? '';
    expect(service.acknowledgeByModemReply(l2.phone, `nhan ${code}`)).toMatchObject({ ok: true, already: true });
    wall = T0 + 150_000;
    const board = await api('/api/ack', { method: 'POST', body: { alertId, by: `${l3.name} (${l3.id})`, channel: 'board', memberId: l3.id } });
    expect(board.status).toBe(200);
    const r = await api(`/api/drills/${drillId}`);
    expect(r.status).toBe(200);
    report = drillReportSchema.parse(r.body);
    expect(report.drill).toMatchObject({ drillId, zoneId: 'san-thang', kind: 'fire-suspected', depth: 'alert', dryRun: false, startedAt: T0, texted: leaders.length, acknowledged: 3, medianResponseS: 90, worstResponseS: 150, escalationStepsReached: 0 });
    const member = (id: string) => report.units.flatMap((u) => u.members).find((m) => m.memberId === id);
    expect(member(l1.id)).toMatchObject({ textedAt: T0, delivered: true, ackedAt: T0 + 30_000, ackChannel: 'link', responseS: 30, leader: true, steps: ['initial'] });
    expect(member(l2.id)).toMatchObject({ textedAt: T0, delivered: null, ackedAt: T0 + 90_000, ackChannel: 'modem', responseS: 90 });
    expect(member(l3.id)).toMatchObject({ ackedAt: T0 + 150_000, ackChannel: 'board', responseS: 150 });
    const unitOf = (id: string) => report.units.find((u) => u.members.some((m) => m.memberId === id));
    expect(unitOf(l1.id)).toMatchObject({ texted: 1, acknowledged: 1, neverAcknowledged: 0, medianResponseS: 30, worstResponseS: 30 });
    const silent = leaders.slice(3).map((l) => unitOf(l.id));
    for (const u of silent) expect(u).toMatchObject({ acknowledged: 0, neverAcknowledged: 1, medianResponseS: null, worstResponseS: null });
    expect(report.previous).toStrictEqual([]);
  });

  it('a second, dry-run drill of the zone goes to no transport and lists the first as its trend', async () => {
    wall = T0 + 86_400_000;
    const before = double.requests.length;
    const started = drillStartResponseSchema.parse((await api('/api/drills', { method: 'POST', body: { zoneId: 'san-thang', kind: 'fire-confirmed', dryRun: true, startedBy: 'board' } })).body);
    await waitFor(settled(started.alertId), 20_000, 'dry-run drill recorded');
    expect(double.requests.length).toBe(before);
    const rows = outbox.rowsForAlert(started.alertId);
    expect(rows.every((r) => r.state === 'sent' && r.provider_id?.startsWith('dryrun-drill:') && r.body.startsWith('DIEN TAP: '))).toBe(true);
    const second = drillReportSchema.parse((await api(`/api/drills/${started.drillId}`)).body);
    expect(second.previous.map((p) => [p.drillId, p.acknowledged, p.medianResponseS])).toStrictEqual([[drillId, 3, 90]]);
    expect(second.drill).toMatchObject({ dryRun: true, texted: rows.length, acknowledged: 0 });
    const list = drillListResponseSchema.parse((await api('/api/drills?zone=san-thang')).body);
    expect(list.drills.map((d) => d.drillId)).toStrictEqual([drillId, started.drillId]);
    // Ended by a board member: who ended it is recorded (an empty body, as the CLI's, says `api`).
    expect((await api(`/api/drills/${started.drillId}/end`, { method: 'POST', body: { by: 'Lò Văn Minh (city-board-m01)' } })).status).toBe(200);
    expect(service.engineState.alerts[started.alertId]).toMatchObject({ status: 'resolved', resolvedBy: 'Lò Văn Minh (city-board-m01)' });
    expect(drillReportSchema.parse((await api(`/api/drills/${started.drillId}`)).body).drill).toMatchObject({ endedAt: wall, endedBy: 'Lò Văn Minh (city-board-m01)' });
  });

  it('refuses bad requests with the reason', async () => {
    expect(await api('/api/drills', { method: 'POST', body: { zoneId: 'atlantis' } })).toStrictEqual({ status: 422, body: { error: 'unknown zone atlantis' } });
    const bad = await api('/api/drills', { method: 'POST', body: { zoneId: 'san-thang', kind: 'flood' } });
    expect(bad.status).toBe(400);
    expect(await api('/api/drills/nope')).toStrictEqual({ status: 404, body: { error: 'no drill nope' } });
    expect((await api('/api/drills/nope/end', { method: 'POST', body: { by: 7 } })).status).toBe(400);
    expect(await api('/api/drills/nope/end', { method: 'POST' })).toStrictEqual({ status: 404, body: { error: 'no drill nope' } });
    expect((await fetch(`${base}/api/drills`)).status).toBe(401);
  });
});
