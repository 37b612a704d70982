// Sensor drills from the board's form and the schedule: what this service checks before asking the drill
// player, the request it publishes (topic, schema, QoS 1, refused when the broker does not take it), and
// `POST /api/drills` (its HTTP server on a local port): a request without a plume → 202 with the drill id
// chosen; the player's start with that id → 200 once, 409 when repeated.
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { drillRequestSchema, drillStartResponseSchema } from '../contracts/alerts-api.ts';
import { openDatabase } from '../platform/sqlite.ts';
import { freePort } from '../test/harness/ports.ts';
import { laiChauContext } from '../test/support/alerts-fixtures.ts';
import { AlertService } from './core.ts';
import { drillRequestPublisher, sensorDrillRefusal } from './drill-requests.ts';
import { createAlertsHttpServer, listenAlertsHttp } from './http.ts';
import { AlertOutbox } from './outbox.ts';
import { SensorDrills } from './sensor-drills.ts';
import { DryRunTransport } from './transports.ts';

const ctx = laiChauContext();
const site = ctx.roster.site;
const log = pino({ level: 'silent' });
const T = Date.parse('2027-01-04T01:30:00Z');

describe('a zone and node a sensor drill can be asked for', () => {
  it.each([
    { zone: 'san-thang', node: undefined, refusal: null },
    { zone: 'san-thang', node: 'san-thang-07', refusal: null },
    { zone: 'san-thang', node: 'nam-loong-01', refusal: 'node nam-loong-01 is not in zone san-thang' },
    { zone: 'nowhere', node: undefined, refusal: 'unknown zone nowhere' },
  ])('$zone $node → $refusal', ({ zone, node, refusal }) => {
    expect(sensorDrillRefusal(site, zone, node)).toBe(refusal);
  });
});

describe('the request published for the drill player', () => {
  const ask = { drillId: 'san-thang-20270104-0130-abcd', zoneId: 'san-thang', speed: 60, dryRun: true, startedBy: 'Lò Văn A (m01)' };
  it('goes to ews/v1/drill/requests/<zone> at QoS 1 with the time it was asked, as the schema says', async () => {
    const publishAsync = vi.fn(async () => undefined);
    const request = drillRequestPublisher({ site, client: () => ({ connected: true, publishAsync }) as never, log, now: () => T });
    expect(await request(ask)).toStrictEqual({ ok: true });
    expect(publishAsync).toHaveBeenCalledOnce();
    const [topic, payload, opts] = publishAsync.mock.calls[0] as unknown as [string, string, { qos: number }];
    expect(topic).toBe('ews/v1/drill/requests/san-thang');
    expect(opts).toStrictEqual({ qos: 1 });
    expect(drillRequestSchema.parse(JSON.parse(payload))).toStrictEqual({ ...ask, requestedAt: T });
  });
  it('is refused at once while the broker session is down, after the bound when no PUBACK comes, and for a zone without the node', async () => {
    const publishAsync = vi.fn(() => new Promise<undefined>(() => {}));
    const down = drillRequestPublisher({ site, client: () => ({ connected: false, publishAsync }) as never, log });
    expect(await down(ask)).toMatchObject({ ok: false, status: 503 });
    expect(publishAsync).not.toHaveBeenCalled();
    const silent = drillRequestPublisher({ site, client: () => ({ connected: true, publishAsync }) as never, log, pubackTimeoutMs: 30 });
    expect(await silent(ask)).toStrictEqual({ ok: false, status: 503, reason: 'the broker did not take the request: no PUBACK within 30 ms' });
    expect(await silent({ ...ask, node: 'nam-loong-01' })).toStrictEqual({ ok: false, status: 422, reason: 'node nam-loong-01 is not in zone san-thang' });
  });
});

describe('POST /api/drills for a sensor drill', () => {
  const API_KEY = 'board-api-key-0123456789';
  const dir = mkdtempSync(join(tmpdir(), 'alerts-drill-req-'));
  let http: Server;
  let service: AlertService;
  let base = '';
  const requestSensorDrill = vi.fn(async () => ({ ok: true as const }));
  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const db = openDatabase(join(dir, 'alerts.sqlite'));
    const outbox = new AlertOutbox(db, { policy: ctx.policy, publicUrl: base, validityS: 900 });
    service = new AlertService({ ctx, outbox, transport: new DryRunTransport(log), log, segmentsPerSecond: 100, burst: 100, concurrency: 2, retry: { baseMs: 5, capMs: 40 }, validityS: 900 });
    service.start();
    const sensorDrills = new SensorDrills(db, service, log);
    http = createAlertsHttpServer({ host: '127.0.0.1', port, service, outbox, sensorDrills, requestSensorDrill, log, publicUrl: base, twilioAuthToken: undefined, apiKey: API_KEY, health: () => ({ ok: true }) });
    await listenAlertsHttp(http, '127.0.0.1', port);
  });
  afterAll(async () => {
    await service.stop();
    await new Promise<void>((r) => http.close(() => r()));
    http.closeAllConnections();
    rmSync(dir, { recursive: true, force: true });
  });
  const post = async (body: unknown) => {
    const res = await fetch(`${base}/api/drills`, { method: 'POST', headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('without a plume: handed to the drill player, 202 with the drill id it will start under', async () => {
    const r = await post({ zoneId: 'san-thang', depth: 'sensor', speed: 60, dryRun: true, startedBy: 'Lò Văn A (m01)' });
    expect(r.status).toBe(202);
    const answer = drillStartResponseSchema.parse(r.body);
    expect(answer).toMatchObject({ requested: true, recipients: 0, alertId: `drill-${answer.drillId}` });
    expect(answer.drillId).toMatch(/^san-thang-\d{8}-\d{4}-[a-z2-9]{4}$/);
    expect(requestSensorDrill).toHaveBeenCalledExactlyOnceWith({ drillId: answer.drillId, zoneId: 'san-thang', speed: 60, dryRun: true, startedBy: 'Lò Văn A (m01)' });
  });

  it('the player\'s start with the requested id: 200 once, 409 when the request comes again', async () => {
    const now = Date.now();
    const plume = { ignitionNode: 'san-thang-07', nodes: ['san-thang-07'], speed: 60, injectAt: now, ignitionAt: now - 60_000, endsAt: now + 45_000 };
    const start = { zoneId: 'san-thang', depth: 'sensor', dryRun: true, startedBy: 'schedule', drillId: 'san-thang-20270104-0130-wxyz', plume };
    expect(await post(start)).toMatchObject({ status: 200, body: { drillId: 'san-thang-20270104-0130-wxyz' } });
    expect(await post(start)).toStrictEqual({ status: 409, body: { error: 'drill san-thang-20270104-0130-wxyz exists already' } });
  });

  it.each([
    { name: 'speed on an alert drill', body: { zoneId: 'san-thang', speed: 60 }, status: 400 },
    { name: 'speed beside a plume', body: { zoneId: 'san-thang', depth: 'sensor', speed: 60, plume: { ignitionNode: 'san-thang-07', nodes: ['san-thang-07'], speed: 60, injectAt: 1, ignitionAt: 1, endsAt: 2 } }, status: 400 },
  ])('refuses $name', async ({ body, status }) => {
    expect((await post(body)).status).toBe(status);
  });
});
