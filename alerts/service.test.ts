// The service end to end in one process, against a local double of Twilio's Messages API
// (alerts/twilio-double.ts checks every request against the official CreateMessage contract and
// answers scripted 429/500/21211/dropped connections) and the real HTTP server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Server } from 'node:http';
import { openDatabase } from '../platform/sqlite.ts';
import { freePort, waitFor } from '../test/harness/ports.ts';
import { countSegments } from './gsm.ts';
import { createAlertsHttpServer, listenAlertsHttp } from './http.ts';
import { AlertOutbox } from './outbox.ts';
import { resolveAudiences } from './routing.ts';
import { AlertService } from './service.ts';
import { laiChauContext } from './test-fixtures.ts';
import { TwilioTransport } from './transports.ts';
import { TwilioMessagesDouble } from './twilio-double.ts';
import type { FireEvent } from '../contracts/payloads.ts';

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

before(async () => {
  await double.start();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const db = openDatabase(join(dir, 'alerts.sqlite'));
  outbox = new AlertOutbox(db, { policy: ctx.policy, publicUrl: base, validityS: 900 });
  const transport = new TwilioTransport({ accountSid: SID, authToken: TOKEN, messagingServiceSid: MG, statusCallback: `${base}/twilio/status`, apiBaseUrl: double.baseUrl, timeoutMs: 5000 });
  service = new AlertService({ ctx, outbox, transport, log, segmentsPerSecond: 5000, burst: 100, concurrency: 8, retry: { baseMs: 5, capMs: 40 }, validityS: 900 });
  service.start();
  http = createAlertsHttpServer({ host: '127.0.0.1', port, service, outbox, log, publicUrl: base, twilioAuthToken: TOKEN, apiKey: API_KEY, health: () => ({ ok: true, detail: {} }) });
  await listenAlertsHttp(http, '127.0.0.1', port);
});

after(async () => {
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

test('a San Thàng confirmed fire: one valid CreateMessage request per recipient, nothing else', async () => {
  const e = event('fire-confirmed', 'san-thang', { nodeId: 'san-thang-03' });
  service.handleEvent(e);
  await waitFor(settled(e.eventId), 20_000, 'all San Thàng messages sent');
  const expected = resolveAudiences(ctx.roster, ['team-members', 'commune-board', 'city-board'], 'san-thang');
  const reqs = double.requests.filter((r) => r.form.Body?.includes('San Thang'));
  assert.deepEqual(double.violations, []);
  assert.equal(reqs.length, expected.length);
  assert.deepEqual(reqs.map((r) => r.form.To).sort(), expected.map((r) => r.phone).sort());
  for (const r of reqs) {
    assert.equal(r.form.MessagingServiceSid, MG);
    assert.equal(r.form.StatusCallback, `${base}/twilio/status`);
    assert.ok(Number(r.form.ValidityPeriod) > 0 && Number(r.form.ValidityPeriod) <= 900);
    const c = countSegments(r.form.Body ?? '');
    assert.deepEqual([c.encoding, c.segments], ['GSM-7', 1]);
    assert.match(r.form.Body ?? '', /^PCCR LAI CHAU: CHAY RUNG tai San Thang \(san-thang-03\) \d\d:\d\d\. .* nhan \d{4} hoac http:\/\/127\.0\.0\.1:\d+\/ack\/[A-Za-z0-9]{10}$/);
  }
  assert.equal(new Set(reqs.map((r) => r.form.Body)).size, reqs.length, 'each person has an own ack link');
  assert.equal(outbox.countsByState(e.eventId).sent, expected.length);
});

test('429, 500 and a dropped connection are retried with backoff; 21211 is failed once and not retried', async () => {
  const leaders = resolveAudiences(ctx.roster, ['team-leaders'], 'dong-phong');
  assert.ok(leaders.length >= 2);
  const flaky = leaders[0]!.phone;
  const invalid = leaders[1]!.phone;
  let flakyCalls = 0;
  double.faults = ({ to }) => {
    if (to === invalid) return { status: 400, code: 21211, message: `The 'To' number ${to} is not a valid phone number.` };
    if (to !== flaky) return null;
    flakyCalls += 1;
    if (flakyCalls === 1) return { status: 429, code: 20429, message: 'Too Many Requests' };
    if (flakyCalls === 2) return { status: 500, code: 20500, message: 'Internal Server Error' };
    if (flakyCalls === 3) return 'drop-connection';
    return null;
  };
  const e = event('fire-suspected', 'dong-phong');
  service.handleEvent(e);
  await waitFor(settled(e.eventId), 20_000, 'suspected-fire messages settled');
  double.faults = () => null;
  const rows = outbox.rows().filter((r) => r.alert_id === e.eventId);
  const flakyRow = rows.find((r) => r.phone === flaky);
  const invalidRow = rows.find((r) => r.phone === invalid);
  assert.equal(flakyRow?.state, 'sent');
  assert.equal(flakyRow?.attempts, 4);
  assert.equal(double.requests.filter((r) => r.form.To === flaky && r.form.Body?.includes('Dong Phong')).length, 4);
  assert.equal(invalidRow?.state, 'failed');
  assert.equal(invalidRow?.error_code, '21211');
  assert.equal(invalidRow?.attempts, 1);
  assert.equal(double.requests.filter((r) => r.form.To === invalid && r.form.Body?.includes('Dong Phong')).length, 1);
  assert.ok(rows.filter((r) => r !== flakyRow && r !== invalidRow).every((r) => r.state === 'sent'));
  assert.deepEqual(double.violations, []);
});

test('status callbacks: a valid signature updates the outbox; invalid or missing → 403 and no change; malformed → 400', async () => {
  const sent = outbox.rows('sent');
  const a = sent[0]!;
  const b = sent[1]!;
  assert.equal(await double.sendStatusCallback(a.provider_id!, 'delivered', { signature: 'valid' }), 200);
  assert.equal(await double.sendStatusCallback(b.provider_id!, 'undelivered', { signature: 'invalid', errorCode: '30003' }), 403);
  assert.equal(await double.sendStatusCallback(b.provider_id!, 'undelivered', { signature: 'missing' }), 403);
  const state = (id: number) => outbox.rows().find((r) => r.id === id)?.state;
  assert.equal(state(a.id), 'delivered');
  assert.equal(state(b.id), 'sent');
  assert.equal(await double.sendStatusCallback(b.provider_id!, 'undelivered', { signature: 'valid', errorCode: '30003' }), 200);
  assert.equal(state(b.id), 'undelivered');
  assert.equal(outbox.rows().find((r) => r.id === b.id)?.error_code, '30003');
  // a late "sent" never moves a delivered row back
  assert.equal(await double.sendStatusCallback(a.provider_id!, 'sent', { signature: 'valid' }), 200);
  assert.equal(state(a.id), 'delivered');
  // correctly signed but not a status callback
  const { default: twilio } = await import('twilio');
  const params = { MessageSid: 'nope', MessageStatus: 'delivered' };
  const res = await fetch(`${base}/twilio/status`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature(TOKEN, `${base}/twilio/status`, params) },
    body: new URLSearchParams(params).toString(),
  });
  assert.equal(res.status, 400);
  assert.match(((await res.json()) as { error: string }).error, /MessageSid: expected a Message SID/);
});

test('ack by link: GET only shows the page, POST acknowledges and records who; expired and unknown links refused', async () => {
  const e = event('fire-suspected', 'tan-phong');
  service.handleEvent(e);
  await waitFor(settled(e.eventId), 10_000, 'tan-phong messages sent');
  const body = double.requests.find((r) => r.form.Body?.includes('Tan Phong'))?.form.Body ?? '';
  const link = /(http:\S+\/ack\/[A-Za-z0-9]{10})$/.exec(body)?.[1] ?? '';
  assert.ok(link);
  const get = await fetch(link);
  assert.equal(get.status, 200);
  assert.match(await get.text(), /<form method="post">/);
  assert.equal(service.engineState.alerts[e.eventId]?.status, 'active', 'GET must not acknowledge');
  const post = await fetch(link, { method: 'POST' });
  assert.equal(post.status, 200);
  assert.match(await post.text(), /Đã ghi nhận/);
  const alert = service.engineState.alerts[e.eventId];
  assert.equal(alert?.status, 'acknowledged');
  assert.equal(alert?.ack?.channel, 'link');
  const to = double.requests.find((r) => r.form.Body === body)?.form.To;
  const person = ctx.roster.byPhone.get(to ?? '')?.[0];
  assert.ok(person && alert?.ack?.by.includes(person.id));
  assert.equal(outbox.rows().find((r) => r.body === body)?.state, 'acknowledged');
  const again = await fetch(link, { method: 'POST' });
  assert.match(await again.text(), /đã được xác nhận trước đó/);
  assert.deepEqual(outbox.acksFor(e.eventId).map((a) => [a.channel, a.effective]), [['link', 1], ['link', 0]]);
  // expired
  outbox.db.prepare('INSERT INTO ack_tokens (token, alert_id, recipient_id, expires_at) VALUES (?, ?, ?, ?)').run('Expired234', e.eventId, person.id, Date.now() - 1);
  assert.equal((await fetch(`${base}/ack/Expired234`)).status, 410);
  assert.equal((await fetch(`${base}/ack/Expired234`, { method: 'POST' })).status, 410);
  assert.equal((await fetch(`${base}/ack/Unknown234`, { method: 'POST' })).status, 404);
  assert.equal((await fetch(`${base}/ack/x'or'1=1`)).status, 404);
});

test('board API: API key required, malformed bodies → 400 with the reason, ack by API and alert list', async () => {
  const e = event('fire-confirmed', 'quyet-tien');
  service.handleEvent(e);
  const post = (body: string, key: string | null) =>
    fetch(`${base}/api/ack`, { method: 'POST', headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}) }, body });
  assert.equal((await post(JSON.stringify({ alertId: e.eventId, by: 'x' }), null)).status, 401);
  assert.equal((await post(JSON.stringify({ alertId: e.eventId, by: 'x' }), 'wrong-key-wrong-key-1234')).status, 401);
  const notJson = await post('{"alertId":', API_KEY);
  assert.equal(notJson.status, 400);
  assert.match(((await notJson.json()) as { error: string }).error, /not JSON/);
  const badShape = await post(JSON.stringify({ alertId: 'Bad Id!', by: '' }), API_KEY);
  assert.equal(badShape.status, 400);
  assert.match(((await badShape.json()) as { error: string }).error, /alertId: .*; by: /);
  assert.equal((await post(JSON.stringify({ alertId: 'no-such-alert', by: 'Ban chỉ huy' }), API_KEY)).status, 404);
  const ok = await post(JSON.stringify({ alertId: e.eventId, by: 'Ban chỉ huy thành phố' }), API_KEY);
  assert.equal(ok.status, 200);
  assert.deepEqual(((await ok.json()) as { alreadyAcknowledged: boolean }).alreadyAcknowledged, false);
  assert.equal(service.engineState.alerts[e.eventId]?.ack?.channel, 'api');
  const list = await fetch(`${base}/api/alerts`, { headers: { authorization: `Bearer ${API_KEY}` } });
  assert.equal(list.status, 200);
  const alerts = ((await list.json()) as { alerts: { alertId: string; status: string; acks: { by: string }[] }[] }).alerts;
  const mine = alerts.find((a) => a.alertId === e.eventId);
  assert.equal(mine?.status, 'acknowledged');
  assert.equal(mine?.acks[0]?.by, 'Ban chỉ huy thành phố');
  assert.equal((await fetch(`${base}/api/alerts`)).status, 401);
  assert.equal((await fetch(`${base}/api/ack`, { headers: { 'x-api-key': API_KEY } })).status, 405);
  await waitFor(settled(e.eventId), 10_000, 'quyet-tien messages settled');
});

test('modem reply with the ack code from a roster phone acknowledges; a stranger or a wrong code does not', () => {
  const e = event('fire-suspected', 'doan-ket');
  const out = service.handleEvent(e);
  const code = out.notifications[0]?.fields.code ?? '';
  const leader = out.notifications[0]?.recipients[0];
  assert.ok(leader && /^\d{4}$/.test(code));
  assert.equal(service.acknowledgeByModemReply('+84009999999', `OK ${code}`).ok, false);
  assert.equal(service.acknowledgeByModemReply(leader.phone, 'OK 0000').ok, false);
  const r = service.acknowledgeByModemReply(leader.phone, `da nhan ${code}`);
  assert.ok(r.ok);
  assert.equal(service.engineState.alerts[e.eventId]?.ack?.channel, 'modem');
  assert.ok(service.engineState.alerts[e.eventId]?.ack?.by.includes(leader.id));
});

test('/healthz and /metrics answer; unknown paths 404', async () => {
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /ews_alerts_sms_requests_total\{transport="twilio",result="sent"\} \d+/);
  assert.match(metrics, /ews_alerts_sms_requests_total\{transport="twilio",result="retry"\} 3/);
  assert.equal((await fetch(`${base}/nope`)).status, 404);
});

test('the Twilio double itself refuses what breaks the contract (so an empty violation list means something)', async () => {
  const probe = new TwilioMessagesDouble(SID, TOKEN);
  await probe.start();
  try {
    const url = `${probe.baseUrl}/2010-04-01/Accounts/${SID}/Messages.json`;
    const auth = `Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`;
    const form = (o: Record<string, string>) => new URLSearchParams(o).toString();
    const h = { 'content-type': 'application/x-www-form-urlencoded', authorization: auth };
    assert.equal((await fetch(url, { method: 'POST', headers: { ...h, authorization: 'Basic eDp5' }, body: form({ To: '+84001000001', Body: 'x', MessagingServiceSid: MG }) })).status, 401);
    assert.equal((await fetch(url, { method: 'POST', headers: h, body: form({ To: '0912', Body: 'x', MessagingServiceSid: MG }) })).status, 400);
    assert.equal((await fetch(url, { method: 'POST', headers: h, body: form({ To: '+84001000001', Body: 'x', From: 'PCCR', MessagingServiceSid: MG }) })).status, 400);
    assert.equal((await fetch(url, { method: 'POST', headers: h, body: form({ To: '+84001000001', Body: 'x', MessagingServiceSid: MG, ValidityPeriod: '99999', Foo: '1' }) })).status, 400);
    assert.equal((await fetch(url, { method: 'POST', headers: h, body: form({ To: '+84001000001', Body: 'x', MessagingServiceSid: MG }) })).status, 201);
    assert.deepEqual(probe.violations.map((v) => v.split(' ')[0]), ['bad', 'To', 'exactly', 'unknown', 'ValidityPeriod']);
  } finally {
    await probe.close();
  }
});
