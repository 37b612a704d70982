// The service end to end in one process, against a local double of Twilio's Messages API
// (test/support/twilio-double.ts checks every request against the official CreateMessage contract and
// answers scripted 429/500/21211/dropped connections) and the real HTTP server.
import { afterAll, assert, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Server } from 'node:http';
import { openDatabase } from '../platform/sqlite.ts';
import { metricsRegistry } from '../platform/metrics.ts';
import { freePort, waitFor } from '../test/harness/ports.ts';
import { countSegments } from './gsm.ts';
import { createAlertsHttpServer, listenAlertsHttp } from './http.ts';
import { AlertOutbox } from './outbox.ts';
import { resolveAudiences } from './routing.ts';
import { AlertService } from './core.ts';
import { laiChauContext } from '../test/support/alerts-fixtures.ts';
import { TwilioTransport } from './transports.ts';
import { TwilioMessagesDouble, type Fault } from '../test/support/twilio-double.ts';
import type { FireEvent } from '../contracts/payloads.ts';
import { apiAckResponseSchema, apiAlertsResponseSchema } from '../contracts/alerts-api.ts';

const SID = `AC${'1'.repeat(32)}`;
const TOKEN = 'test-auth-token-0123456789';
const MG = `MG${'2'.repeat(32)}`;
const API_KEY = 'board-api-key-0123456789';
const ctx = laiChauContext();
const log = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'alerts-svc-'));
const double = new TwilioMessagesDouble(SID, TOKEN);
let http: Server;
let base = '';
let service: AlertService;
let outbox: AlertOutbox;

beforeAll(async () => {
  await double.start();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const db = openDatabase(join(dir, 'alerts.sqlite'));
  // Twilio as in Vietnam: an alphanumeric sender that cannot receive replies, so the SMS carry the link.
  outbox = new AlertOutbox(db, { policy: ctx.policy, publicUrl: base, validityS: 900, ackMode: 'link' });
  const transport = new TwilioTransport({ accountSid: SID, authToken: TOKEN, messagingServiceSid: MG, statusCallback: `${base}/twilio/status`, apiBaseUrl: double.baseUrl, timeoutMs: 5000 });
  service = new AlertService({ ctx, outbox, transport, log, segmentsPerSecond: 5000, burst: 100, concurrency: 8, retry: { baseMs: 5, capMs: 40 }, validityS: 900 });
  service.start();
  http = createAlertsHttpServer({ host: '127.0.0.1', port, service, outbox, log, publicUrl: base, twilioAuthToken: TOKEN, twilioInbound: true, apiKey: API_KEY, health: () => ({ ok: true }) });
  await listenAlertsHttp(http, '127.0.0.1', port);
});

afterAll(async () => {
  await service.stop();
  await new Promise<void>((r) => http.close(() => r()));
  http.closeAllConnections();
  await double.close();
  rmSync(dir, { recursive: true, force: true });
});

let seq = 0;
const event = (kind: FireEvent['kind'], zoneId: string, extra: Partial<FireEvent> = {}): FireEvent => ({ eventId: `svc-${++seq}`, kind, zoneId, ts: new Date().toISOString(), detail: {}, ...extra });
const settled = (alertId: string) => () => {
  const c = outbox.countsByState(alertId);
  return c.queued === 0 && c.sending === 0;
};

it('a San Thàng confirmed fire: one valid CreateMessage request per recipient, nothing else', async () => {
  const e = event('fire-confirmed', 'san-thang', { nodeId: 'san-thang-03' });
  service.handleEvent(e);
  await waitFor(settled(e.eventId), 20_000, 'all San Thàng messages sent');
  const expected = resolveAudiences(ctx.roster, ['team-members', 'commune-board', 'city-board'], 'san-thang');
  const reqs = double.requests.filter((r) => r.form.Body?.includes('San Thang'));
  expect(double.violations).toStrictEqual([]);
  expect(reqs).toHaveLength(expected.length);
  expect(reqs.map((r) => r.form.To).sort()).toStrictEqual(expected.map((r) => r.phone).sort());
  for (const r of reqs) {
    expect(r.form.MessagingServiceSid).toBe(MG);
    expect(r.form.StatusCallback).toBe(`${base}/twilio/status`);
    expect(Number(r.form.ValidityPeriod)).toBeGreaterThan(0);
    expect(Number(r.form.ValidityPeriod)).toBeLessThanOrEqual(900);
    expect(countSegments(r.form.Body ?? '')).toMatchObject({ encoding: 'GSM-7', segments: 1 });
    expect(r.form.Body ?? '').toMatch(/^PCCR LAI CHAU: CHAY RUNG tai San Thang, 1,8 km huong Bac, \d\d:\d\d\. To BVR xuat quan ngay\. Xac nhan: http:\/\/127\.0\.0\.1:\d+\/ack\/[A-Za-z0-9]{10}$/);
  }
  expect(new Set(reqs.map((r) => r.form.Body)).size, 'each person has an own ack link').toBe(reqs.length);
  // Twilio's answer is recorded: through a Messaging Service the status is accepted and num_segments 0 (no sender yet).
  expect(new Set(outbox.rows().filter((r) => r.alert_id === e.eventId).map((r) => `${r.provider_status}/${r.provider_segments}`))).toStrictEqual(new Set(['accepted/null']));
  expect(outbox.countsByState(e.eventId).sent).toBe(expected.length);
});

it('429, 500 and a dropped connection are retried with backoff; 21211 is failed once and not retried', async () => {
  const leaders = resolveAudiences(ctx.roster, ['team-leaders'], 'dong-phong');
  expect(leaders.length).toBeGreaterThanOrEqual(2);
  const flaky = leaders[0]!.phone;
  const invalid = leaders[1]!.phone;
  // The flaky number fails three times in three ways, then goes through.
  const flakyFault = vi
    .fn<() => Fault | null>()
    .mockReturnValueOnce({ status: 429, code: 20429, message: 'Too Many Requests' })
    .mockReturnValueOnce({ status: 500, code: 20500, message: 'Internal Server Error' })
    .mockReturnValueOnce('drop-connection')
    .mockReturnValue(null);
  double.faults = ({ to }) => {
    if (to === invalid) return { status: 400, code: 21211, message: `The 'To' number ${to} is not a valid phone number.` };
    return to === flaky ? flakyFault() : null;
  };
  const e = event('fire-suspected', 'dong-phong');
  service.handleEvent(e);
  await waitFor(settled(e.eventId), 20_000, 'suspected-fire messages settled');
  double.faults = () => null;
  expect(flakyFault).toHaveBeenCalledTimes(4);
  const rows = outbox.rows().filter((r) => r.alert_id === e.eventId);
  const flakyRow = rows.find((r) => r.phone === flaky);
  const invalidRow = rows.find((r) => r.phone === invalid);
  expect(flakyRow?.state).toBe('sent');
  expect(flakyRow?.attempts).toBe(4);
  expect(double.requests.filter((r) => r.form.To === flaky && r.form.Body?.includes('Dong Phong'))).toHaveLength(4);
  expect(invalidRow?.state).toBe('failed');
  expect(invalidRow?.error_code).toBe('21211');
  expect(invalidRow?.attempts).toBe(1);
  expect(double.requests.filter((r) => r.form.To === invalid && r.form.Body?.includes('Dong Phong'))).toHaveLength(1);
  expect(rows.filter((r) => r !== flakyRow && r !== invalidRow && r.state !== 'sent')).toStrictEqual([]);
  expect(double.violations).toStrictEqual([]);
});

it('status callbacks: a valid signature updates the outbox; invalid or missing → 403 and no change; malformed → 400', async () => {
  const sent = outbox.rows('sent');
  const a = sent[0]!;
  const b = sent[1]!;
  expect(await double.sendStatusCallback(a.provider_id!, 'delivered', { signature: 'valid' })).toBe(200);
  expect(await double.sendStatusCallback(b.provider_id!, 'undelivered', { signature: 'invalid', errorCode: '30003' })).toBe(403);
  expect(await double.sendStatusCallback(b.provider_id!, 'undelivered', { signature: 'missing' })).toBe(403);
  const state = (id: number) => outbox.rows().find((r) => r.id === id)?.state;
  expect(state(a.id)).toBe('delivered');
  expect(state(b.id)).toBe('sent');
  expect(await double.sendStatusCallback(b.provider_id!, 'undelivered', { signature: 'valid', errorCode: '30003' })).toBe(200);
  expect(state(b.id)).toBe('undelivered');
  expect(outbox.rows().find((r) => r.id === b.id)?.error_code).toBe('30003');
  // a late "sent" never moves a delivered row back
  expect(await double.sendStatusCallback(a.provider_id!, 'sent', { signature: 'valid' })).toBe(200);
  expect(state(a.id)).toBe('delivered');
  // correctly signed but not a status callback
  const { default: twilio } = await import('twilio');
  const params = { MessageSid: 'nope', MessageStatus: 'delivered' };
  const res = await fetch(`${base}/twilio/status`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature(TOKEN, `${base}/twilio/status`, params) },
    body: new URLSearchParams(params).toString(),
  });
  expect(res.status).toBe(400);
  expect(((await res.json()) as { error: string }).error).toMatch(/MessageSid: expected a Message SID/);
});

it('ack by link: GET only shows the page, POST acknowledges and records who; expired and unknown links refused', async () => {
  const e = event('fire-suspected', 'tan-phong', { nodeId: 'tan-phong-02' });
  service.handleEvent(e);
  await waitFor(settled(e.eventId), 10_000, 'tan-phong messages sent');
  const body = double.requests.find((r) => r.form.Body?.includes('Tan Phong'))?.form.Body ?? '';
  const link = /(http:\S+\/ack\/[A-Za-z0-9]{10})$/.exec(body)?.[1] ?? '';
  expect(link, 'the message ends with an ack link').not.toBe('');
  const get = await fetch(link);
  expect(get.status).toBe(200);
  const html = await get.text();
  expect(html).toMatch(/<form method="post">/);
  // Vietnamese: kind, zone and place in words, the node id only in brackets; no raw kind id.
  const place = ctx.roster.site.nodes.find((n) => n.id === 'tan-phong-02')?.place ?? '';
  expect(html).toContain(`<strong>Nghi cháy rừng</strong> — Tân Phong, ${place} (trạm tan-phong-02)`);
  expect(html).not.toMatch(/fire-suspected|tan-phong —/);
  expect(service.engineState.alerts[e.eventId]?.status, 'GET must not acknowledge').toBe('active');
  const post = await fetch(link, { method: 'POST' });
  expect(post.status).toBe(200);
  expect(await post.text()).toMatch(/Đã ghi nhận/);
  const alert = service.engineState.alerts[e.eventId];
  expect(alert?.status).toBe('acknowledged');
  expect(alert?.ack?.channel).toBe('link');
  const to = double.requests.find((r) => r.form.Body === body)?.form.To;
  const person = ctx.roster.byPhone.get(to ?? '')?.[0];
  assert(person);
  expect(alert?.ack?.by).toContain(person.id);
  expect(outbox.rows().find((r) => r.body === body)?.state).toBe('acknowledged');
  const again = await fetch(link, { method: 'POST' });
  expect(await again.text()).toMatch(new RegExp(`Cảnh báo này đã được ${person.name} \\(${person.id}\\) xác nhận trước đó lúc \\d\\d:\\d\\d`));
  expect(outbox.acksFor(e.eventId).map((a) => [a.channel, a.effective])).toStrictEqual([['link', 1], ['link', 0]]);
  // expired
  outbox.db.prepare('INSERT INTO ack_tokens (token, alert_id, recipient_id, expires_at) VALUES (?, ?, ?, ?)').run('Expired234', e.eventId, person.id, Date.now() - 1);
  expect((await fetch(`${base}/ack/Expired234`)).status).toBe(410);
  expect((await fetch(`${base}/ack/Expired234`, { method: 'POST' })).status).toBe(410);
  expect((await fetch(`${base}/ack/Unknown234`, { method: 'POST' })).status).toBe(404);
  expect((await fetch(`${base}/ack/x'or'1=1`)).status).toBe(404);
});

it('the first acknowledgement of a superseded or a cleared alert says so, not "acknowledged before"', async () => {
  const linkOf = (alertId: string) => /(http:\S+\/ack\/[A-Za-z0-9]{10})$/.exec(outbox.rows().find((r) => r.alert_id === alertId)?.body ?? '')?.[1];
  const pages = async (link: string) => [await (await fetch(link)).text(), await (await fetch(link, { method: 'POST' })).text()];
  const suspected = event('fire-suspected', 'quyet-thang', { nodeId: 'quyet-thang-02' });
  service.handleEvent(suspected);
  await waitFor(settled(suspected.eventId), 10_000, 'quyet-thang suspicion sent');
  const confirmed = event('fire-confirmed', 'quyet-thang', { nodeId: 'quyet-thang-02' });
  service.handleEvent(confirmed);
  await waitFor(settled(confirmed.eventId), 10_000, 'quyet-thang confirmation sent');
  expect(service.engineState.alerts[suspected.eventId]?.status).toBe('resolved');
  const suspectedLink = linkOf(suspected.eventId);
  assert(suspectedLink);
  // A more serious alert replaced it: never "it is over".
  for (const html of await pages(suspectedLink)) {
    expect(html).toMatch(/đã được thay bằng một cảnh báo mới hơn, nghiêm trọng hơn: hãy làm theo tin nhắn mới nhất/);
    expect(html).not.toMatch(/xác nhận trước đó|kết thúc/);
  }
  service.handleEvent(event('fire-cleared', 'quyet-thang', { nodeId: 'quyet-thang-02' }));
  expect(service.engineState.alerts[confirmed.eventId]?.status).toBe('resolved');
  const confirmedLink = linkOf(confirmed.eventId);
  assert(confirmedLink);
  for (const html of await pages(confirmedLink)) {
    expect(html).toMatch(/Cảnh báo này đã kết thúc lúc \d\d:\d\d, trước khi có người xác nhận\. Không cần xác nhận nữa\./);
    expect(html).not.toMatch(/xác nhận trước đó/);
  }
  expect([...outbox.acksFor(suspected.eventId), ...outbox.acksFor(confirmed.eventId)].map((a) => a.effective), 'recorded as late').toStrictEqual([0, 0]);
});

it('board API: API key required, malformed bodies → 400 with the reason, ack by API and alert list', async () => {
  const e = event('fire-confirmed', 'quyet-tien');
  service.handleEvent(e);
  const post = (body: string, key: string | null) =>
    fetch(`${base}/api/ack`, { method: 'POST', headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}) }, body });
  expect((await post(JSON.stringify({ alertId: e.eventId, by: 'x' }), null)).status).toBe(401);
  expect((await post(JSON.stringify({ alertId: e.eventId, by: 'x' }), 'wrong-key-wrong-key-1234')).status).toBe(401);
  const notJson = await post('{"alertId":', API_KEY);
  expect(notJson.status).toBe(400);
  expect(((await notJson.json()) as { error: string }).error).toMatch(/not JSON/);
  const badShape = await post(JSON.stringify({ alertId: 'Bad Id!', by: '' }), API_KEY);
  expect(badShape.status).toBe(400);
  expect(((await badShape.json()) as { error: string }).error).toMatch(/alertId: .*; by: /);
  expect((await post(JSON.stringify({ alertId: 'no-such-alert', by: 'Ban chỉ huy' }), API_KEY)).status).toBe(404);
  const ok = await post(JSON.stringify({ alertId: e.eventId, by: 'Ban chỉ huy thành phố' }), API_KEY);
  expect(ok.status).toBe(200);
  expect(((await ok.json()) as { alreadyAcknowledged: boolean }).alreadyAcknowledged).toStrictEqual(false);
  expect(service.engineState.alerts[e.eventId]?.ack?.channel).toBe('api');
  const list = await fetch(`${base}/api/alerts`, { headers: { authorization: `Bearer ${API_KEY}` } });
  expect(list.status).toBe(200);
  const alerts = ((await list.json()) as { alerts: { alertId: string; status: string; acks: { by: string }[] }[] }).alerts;
  const mine = alerts.find((a) => a.alertId === e.eventId);
  expect(mine?.status).toBe('acknowledged');
  expect(mine?.acks[0]?.by).toBe('Ban chỉ huy thành phố');
  expect((await fetch(`${base}/api/alerts`)).status).toBe(401);
  expect((await fetch(`${base}/api/ack`, { headers: { 'x-api-key': API_KEY } })).status).toBe(405);
  await waitFor(settled(e.eventId), 10_000, 'quyet-tien messages settled');
});

it('board API: the situation board acknowledges with channel board; the list parses with the shared contract and says who was texted and where each SMS stands', async () => {
  const e = event('fire-suspected', 'nam-loong');
  service.handleEvent(e);
  await waitFor(settled(e.eventId), 10_000, 'nam-loong messages settled');
  const badChannel = await fetch(`${base}/api/ack`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': API_KEY }, body: JSON.stringify({ alertId: e.eventId, by: 'x', channel: 'link' }) });
  expect(badChannel.status, 'only api and board may be claimed through the API').toBe(400);
  const ok = await fetch(`${base}/api/ack`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': API_KEY }, body: JSON.stringify({ alertId: e.eventId, by: 'Lò Văn Chỉ huy (city-m01)', channel: 'board' }) });
  expect(ok.status).toBe(200);
  expect(apiAckResponseSchema.parse(await ok.json()).alert.ack?.channel).toBe('board');
  expect(outbox.acksFor(e.eventId).map((a) => a.channel)).toStrictEqual(['board']);
  const list = apiAlertsResponseSchema.parse(await (await fetch(`${base}/api/alerts`, { headers: { 'x-api-key': API_KEY } })).json());
  const mine = list.alerts.find((a) => a.alertId === e.eventId);
  assert(mine, 'the acknowledged alert is listed');
  expect(mine.ack).toMatchObject({ by: 'Lò Văn Chỉ huy (city-m01)', channel: 'board' });
  const leaders = resolveAudiences(ctx.roster, ['team-leaders'], 'nam-loong').map((r) => r.id);
  expect(mine.deliveries.filter((d) => d.step === 'initial').map((d) => d.recipientId).sort()).toStrictEqual([...leaders].sort());
  expect(new Set(mine.deliveries.map((d) => d.state))).toStrictEqual(new Set(['sent']));
});

it('modem reply with the ack code from a roster phone acknowledges; a stranger or a wrong code does not', () => {
  const e = event('fire-suspected', 'doan-ket');
  const out = service.handleEvent(e);
  const code = out.notifications[0]?.fields.code ?? '';
  const leader = out.notifications[0]?.recipients[0];
  assert(leader);
  expect(code).toMatch(/^\d{4}$/);
  expect(service.acknowledgeByModemReply('+84009999999', `OK ${code}`).ok).toBe(false);
  expect(service.acknowledgeByModemReply(leader.phone, 'OK 0000').ok).toBe(false);
  const r = service.acknowledgeByModemReply(leader.phone, `da nhan ${code}`);
  expect(r.ok).toBe(true);
  expect(service.engineState.alerts[e.eventId]?.ack?.channel).toBe('modem');
  expect(service.engineState.alerts[e.eventId]?.ack?.by).toContain(leader.id);
});

it('the public port answers a bare liveness and no /metrics (those are internal); the metrics count requests; unknown paths 404', async () => {
  const health = await fetch(`${base}/healthz`);
  expect(health.status).toBe(200);
  expect(await health.json()).toStrictEqual({ ok: true });
  expect((await fetch(`${base}/metrics`)).status).toBe(404);
  const metrics = await metricsRegistry.metrics();
  expect(metrics).toMatch(/ews_alerts_sms_requests_total\{transport="twilio",result="sent"\} \d+/);
  expect(metrics).toMatch(/ews_alerts_sms_requests_total\{transport="twilio",result="retry"\} 3/);
  expect((await fetch(`${base}/nope`)).status).toBe(404);
});

it('the Twilio double itself refuses what breaks the contract (so an empty violation list means something)', async () => {
  const probe = new TwilioMessagesDouble(SID, TOKEN);
  await probe.start();
  try {
    const url = `${probe.baseUrl}/2010-04-01/Accounts/${SID}/Messages.json`;
    const auth = `Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`;
    const form = (o: Record<string, string>) => new URLSearchParams(o).toString();
    const h = { 'content-type': 'application/x-www-form-urlencoded', authorization: auth };
    expect((await fetch(url, { method: 'POST', headers: { ...h, authorization: 'Basic eDp5' }, body: form({ To: '+84001000001', Body: 'x', MessagingServiceSid: MG }) })).status).toBe(401);
    expect((await fetch(url, { method: 'POST', headers: h, body: form({ To: '0912', Body: 'x', MessagingServiceSid: MG }) })).status).toBe(400);
    expect((await fetch(url, { method: 'POST', headers: h, body: form({ To: '+84001000001', Body: 'x', From: 'PCCR', MessagingServiceSid: MG }) })).status).toBe(400);
    expect((await fetch(url, { method: 'POST', headers: h, body: form({ To: '+84001000001', Body: 'x', MessagingServiceSid: MG, ValidityPeriod: '99999', Foo: '1' }) })).status).toBe(400);
    expect((await fetch(url, { method: 'POST', headers: h, body: form({ To: '+84001000001', Body: 'x', MessagingServiceSid: MG }) })).status).toBe(201);
    expect(probe.violations.map((v) => v.split(' ')[0])).toStrictEqual(['bad', 'To', 'exactly', 'unknown', 'ValidityPeriod']);
  } finally {
    await probe.close();
  }
});

describe('Twilio as the transport of a deployment', () => {
  const ALERT = 'fire-suspected';
  /** A second service on its own outbox, against the same double, with its own faults. */
  async function serviceWith(opts: { from?: string; faults: (index: number) => Fault | null }) {
    const db = openDatabase(join(dir, `alerts-${Math.random().toString(36).slice(2)}.sqlite`));
    const box = new AlertOutbox(db, { policy: ctx.policy, publicUrl: base, validityS: 900, ackMode: 'link' });
    const transport = new TwilioTransport({ accountSid: SID, authToken: TOKEN, ...(opts.from ? { from: opts.from } : { messagingServiceSid: MG }), apiBaseUrl: double.baseUrl, timeoutMs: 5000 });
    const degraded: string[] = [];
    const recovered: string[] = [];
    const svc = new AlertService({
      ctx, outbox: box, transport, log, segmentsPerSecond: 5000, burst: 100, concurrency: 1, retry: { baseMs: 5, capMs: 20 }, validityS: 900,
      onTransportDegraded: (d) => degraded.push(`${d.reason}/${d.code}`),
      onTransportRecovered: (d) => recovered.push(`${d.reason}/${d.code}`),
    });
    let index = 0;
    double.faults = () => opts.faults(index++);
    svc.start();
    return { svc, box, degraded, recovered };
  }
  afterAll(() => {
    double.faults = () => null;
  });

  it('with a sender number, Twilio\'s status and num_segments are recorded on the row', async () => {
    const { svc, box } = await serviceWith({ from: 'PCCR LCHAU', faults: () => null });
    const e = event(ALERT, 'doan-ket', { nodeId: 'doan-ket-01' });
    svc.handleEvent(e);
    await waitFor(() => box.countsByState(e.eventId).sent > 0 && box.countsByState(e.eventId).queued === 0 && box.countsByState(e.eventId).sending === 0, 10_000, 'sent');
    await svc.stop();
    expect(box.rows().filter((r) => r.alert_id === e.eventId).map((r) => [r.provider_status, r.provider_segments])).toContainEqual(['queued', 1]);
    expect(box.rows().every((r) => r.provider_segments === null || r.provider_segments === r.segments), 'Twilio counted what the service counted').toBe(true);
  });

  it.each([
    { name: '401/20003 (bad or rotated token, suspended account)', fault: { status: 401, code: 20003, message: 'Authenticate' }, failures: 1, reason: 'auth', code: '20003' },
    { name: 'an outage (500 three times)', fault: { status: 500, code: 20500, message: 'Internal Server Error' }, failures: 3, reason: 'outage', code: '20500' },
  ] as const)('$name: the service says degraded (health, metric, callback), keeps the messages and recovers', async ({ fault, failures, reason, code }) => {
    let failing = true;
    const { svc, box, degraded, recovered } = await serviceWith({ faults: () => (failing ? fault : null) });
    const e = event(ALERT, 'nam-loong', { nodeId: 'nam-loong-03', eventId: `deg-${reason}` });
    svc.handleEvent(e);
    await waitFor(() => degraded.length > 0, 10_000, 'degraded');
    expect(double.requests.filter((r) => r.answered === fault.status).length, `degraded after ${failures} failure(s)`).toBeGreaterThanOrEqual(failures);
    expect(svc.transportDegradation).toMatchObject({ reason, code });
    expect(await metricsRegistry.metrics()).toMatch(new RegExp(`ews_alerts_transport_degraded\\{transport="twilio",reason="${reason}"\\} 1`));
    expect(box.countsByState(e.eventId).failed ?? 0, 'no message failed for it').toBe(0);
    failing = false;
    await waitFor(() => box.countsByState(e.eventId).queued === 0 && box.countsByState(e.eventId).sending === 0, 10_000, 'all sent after the fault');
    await svc.stop();
    expect(degraded, 'one notice per episode').toStrictEqual([`${reason}/${code}`]);
    expect(recovered).toStrictEqual([`${reason}/${code}`]);
    expect(svc.transportDegradation).toBeNull();
    expect(await metricsRegistry.metrics()).toMatch(new RegExp(`ews_alerts_transport_degraded\\{transport="twilio",reason="${reason}"\\} 0`));
    expect(await metricsRegistry.metrics()).toMatch(new RegExp(`ews_alerts_transport_errors_total\\{transport="twilio",code="${code}"\\} \\d+`));
    // Nothing was failed for it: every message went out once the provider took them again.
    const rows = box.rows().filter((r) => r.alert_id === e.eventId);
    expect(rows.map((r) => r.state)).toStrictEqual(rows.map(() => 'sent'));
  });
});

describe('Twilio incoming-message webhook (a number that receives replies, TWILIO_RECEIVES_REPLIES)', () => {
  it('a signed reply with the code from a roster phone acknowledges; an invalid or missing signature is refused and acknowledges nothing', async () => {
    // The Đông Phong suspicion of the retry test is still open and unacknowledged.
    const e = Object.values(service.engineState.alerts).find((a) => a.zoneId === 'dong-phong' && a.status === 'active');
    assert(e, 'an open alert');
    const code = e.ackCode ?? '';
    const leader = ctx.roster.byId.get(e.notified[0] ?? '');
    assert(leader && /^\d{4}$/.test(code));
    const eventId = e.alertId;
    const url = `${base}/twilio/inbound`;
    expect((await double.sendIncomingMessage(url, leader.phone, '+14155550100', `Tra loi ${code}`, 'invalid')).status).toBe(403);
    expect((await double.sendIncomingMessage(url, leader.phone, '+14155550100', `${code}`, 'missing')).status).toBe(403);
    expect(service.engineState.alerts[eventId]?.status, 'a forged reply acknowledges nothing').toBe('active');
    const stranger = await double.sendIncomingMessage(url, '+84009999999', '+14155550100', code, 'valid');
    expect(stranger.status).toBe(200);
    expect(service.engineState.alerts[eventId]?.status, 'a phone not on the roster acknowledges nothing').toBe('active');
    const ok = await double.sendIncomingMessage(url, leader.phone, '+14155550100', `ok ${code}`, 'valid');
    expect(ok.status).toBe(200);
    expect(ok.contentType).toMatch(/^text\/xml/);
    expect(ok.body).toMatch(/<Response><\/Response>/);
    const alert = service.engineState.alerts[eventId];
    expect(alert?.status).toBe('acknowledged');
    expect(alert?.ack).toMatchObject({ channel: 'modem', by: `${leader.name} (${leader.id})` });
    expect(outbox.acksFor(eventId).map((a) => a.detail)).toStrictEqual([expect.stringMatching(new RegExp(`^twilio SM[0-9a-f]{32}: ok ${code}$`))]);
  });
});
