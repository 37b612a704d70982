// The alerts service's small HTTP server: Twilio status callbacks (signature checked), the ack page
// behind the link in each SMS, the boards' API (API key) and a bare liveness answer (/healthz); the
// port faces the internet, so /metrics and the detailed health are on the internal EWS_HTTP_PORT
// listener instead. Every body is parsed by a zod schema; malformed input gets 400 with the reason.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import twilio from 'twilio';
import { z } from 'zod';
import { apiAckSchema, drillEndSchema, drillIdOf, drillStartSchema, type DrillListResponse, type SkippedDrillSlot } from '../contracts/alerts-api.ts';
import { describeZodError } from '../contracts/payloads.ts';
import type { Logger } from '../platform/logger.ts';
import { Counter } from 'prom-client';
import { metricsRegistry } from '../platform/metrics.ts';
import type { AlertOutbox } from './outbox.ts';
import type { AlertService } from './core.ts';
import { ownValue } from '../platform/records.ts';
import type { AlertRecord } from './engine.ts';
import type { SensorDrills } from './sensor-drills.ts';
import type { SensorDrillRequester } from './drill-requests.ts';
import { alertTime, describeAlertVi } from './templates.ts';

export const MAX_BODY_BYTES = 16 * 1024;

const connectionsRefused = new Counter({ name: 'ews_alerts_http_connections_refused_total', help: 'HTTP connections closed on arrival because the connection cap was reached', registers: [metricsRegistry] });

/** Twilio's status callback form (the fields we use; Twilio sends more, which are kept for the signature). */
export const twilioStatusSchema = z.object({
  MessageSid: z.string().regex(/^(SM|MM)[0-9a-fA-F]{32}$/, 'expected a Message SID'),
  MessageStatus: z.enum(['queued', 'accepted', 'scheduled', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'read', 'canceled', 'receiving', 'received', 'partially_delivered']),
  ErrorCode: z.string().regex(/^\d+$/).optional(),
});

/** Twilio's incoming-message webhook form (the fields we use; the rest is kept for the signature). */
export const twilioInboundSchema = z.object({
  MessageSid: z.string().regex(/^(SM|MM)[0-9a-fA-F]{32}$/, 'expected a Message SID'),
  From: z.string().min(1).max(40),
  Body: z.string().max(1600),
});

export { apiAckSchema } from '../contracts/alerts-api.ts';
export const ackTokenSchema = z.string().regex(/^[A-Za-z0-9]{10}$/);

export interface AlertsHttpOptions {
  host: string;
  port: number;
  service: AlertService;
  outbox: AlertOutbox;
  log: Logger;
  /** ALERTS_PUBLIC_URL: what Twilio signs, and the base of ack links. */
  publicUrl: string;
  twilioAuthToken: string | undefined;
  /** Twilio's incoming-message webhook is served (TWILIO_RECEIVES_REPLIES): a reply with the code acknowledges, as through the modem. */
  twilioInbound?: boolean;
  apiKey: string | undefined;
  /** Sensor drills (`depth: "sensor"`); absent: only alert drills. */
  sensorDrills?: SensorDrills;
  /** Sensor drills from the board's form: a request for the drill player (alerts/drill-requests.ts); absent: a plume is required. */
  requestSensorDrill?: SensorDrillRequester;
  /** The site file's scheduled drill slots that were skipped, newest first (`GET /api/drills`); absent: none. */
  skippedDrillSlots?: (zone: string | undefined) => SkippedDrillSlot[];
  /** Public liveness only: the answer carries no detail (that is on the internal /healthz). */
  health: () => { ok: boolean };
  limits?: AlertsHttpLimits;
}

/**
 * The port faces the internet: a client that sends headers, a body or nothing at all slowly must
 * not hold a socket for minutes, and the number of sockets is capped.
 */
export interface AlertsHttpLimits {
  maxConnections: number;
  /** Whole request headers within this, counted from the connection (a socket that sends nothing is closed too). */
  headersTimeoutMs: number;
  /** Whole request, body included, within this. */
  requestTimeoutMs: number;
  /** A kept-alive socket with no new request for this long is closed. */
  idleTimeoutMs: number;
}

export const DEFAULT_HTTP_LIMITS: AlertsHttpLimits = { maxConnections: 200, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, idleTimeoutMs: 30_000 };

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  return parseJson(await readBody(req));
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw new HttpError(400, `body is not JSON: ${(err as Error).message}`);
  }
}

/** A form Twilio posted (status callback, incoming message), its X-Twilio-Signature checked against `url`: 403 otherwise. */
async function signedTwilioForm(req: IncomingMessage, log: Logger, authToken: string, url: string, what: string): Promise<Record<string, string>> {
  const params = Object.fromEntries(new URLSearchParams(await readBody(req)));
  const signature = req.headers['x-twilio-signature'];
  if (typeof signature !== 'string' || !twilio.validateRequest(authToken, signature, url, params)) {
    log.warn({ ip: req.socket.remoteAddress }, `${what} with a missing or invalid X-Twilio-Signature refused`);
    throw new HttpError(403, 'invalid X-Twilio-Signature');
  }
  return params;
}

/** `<zone>-<yyyymmdd>-<hhmm>-<4 random>` (UTC, contracts/alerts-api.ts `drillIdOf`): sortable, readable, unique enough for a few drills a month. */
export function newDrillId(zoneId: string, nowMs: number): string {
  const rand = [...randomBytes(4)].map((b) => 'abcdefghijkmnpqrstuvwxyz23456789'[b % 32]).join('');
  return drillIdOf(zoneId, nowMs, rand);
}

function send(res: ServerResponse, status: number, body: string, type = 'application/json; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}
const json = (res: ServerResponse, status: number, value: unknown) => send(res, status, `${JSON.stringify(value)}\n`);

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
function page(res: ServerResponse, status: number, title: string, bodyHtml: string): void {
  send(
    res,
    status,
    `<!doctype html><html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${bodyHtml}</body></html>\n`,
    'text/html; charset=utf-8',
  );
}

function apiKeyMatches(req: IncomingMessage, key: string | undefined): boolean {
  if (!key) throw new HttpError(503, 'ALERTS_API_KEY is not configured');
  const header = req.headers['x-api-key'];
  const given = typeof header === 'string' ? header : (/^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '');
  const a = Buffer.from(given);
  const b = Buffer.from(key);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function createAlertsHttpServer(opts: AlertsHttpOptions): Server {
  const statusUrl = `${opts.publicUrl.replace(/\/+$/, '')}/twilio/status`;
  const inboundUrl = `${opts.publicUrl.replace(/\/+$/, '')}/twilio/inbound`;
  const { site } = opts.service.context.roster;
  const timeZone = opts.service.context.policy.timezone;
  const clock = (ms: number) => alertTime(ms, Date.now(), timeZone);

  /** The alert in words a patrol member reads: kind, zone, place, time (ids only in brackets). */
  function describeHtml(a: AlertRecord): string {
    const d = describeAlertVi(site, a, Date.now(), timeZone);
    return `<p><strong>${escapeHtml(d.what)}</strong> — ${escapeHtml(d.where)}</p><p>Lúc ${escapeHtml(d.when)}</p>`;
  }

  /** Where the alert stands, for someone about to acknowledge or who just did (empty while it waits for one). */
  function alertStateVi(a: AlertRecord): string {
    if (a.status === 'active') return '';
    if (a.status === 'acknowledged') return `Cảnh báo này đã được ${a.ack?.by ?? 'người khác'} xác nhận trước đó${a.ack ? ` lúc ${clock(a.ack.at)}` : ''}.`;
    // Resolved. Superseded means a more serious alert replaced it: never say "it is over" then.
    if (a.resolvedBy?.startsWith('superseded')) return 'Cảnh báo này đã được thay bằng một cảnh báo mới hơn, nghiêm trọng hơn: hãy làm theo tin nhắn mới nhất.';
    const ended = `Cảnh báo này đã kết thúc${a.resolvedAt !== null ? ` lúc ${clock(a.resolvedAt)}` : ''}`;
    return a.ack ? `${ended}; ${a.ack.by} đã xác nhận trước đó.` : `${ended}, trước khi có người xác nhận. Không cần xác nhận nữa.`;
  }

  /**
   * `POST /api/drills` with depth sensor. With its plume (the CLI, the drill player): recorded, nobody texted
   * until rules detects the plume (alerts/sensor-drills.ts); a drill id that exists already → 409 (a
   * redelivered request). Without: a request for the drill player (alerts/drill-requests.ts), answered
   * 202 with the drill id it will start under.
   */
  async function startSensorDrill(res: ServerResponse, d: z.output<typeof drillStartSchema>): Promise<void> {
    const plume = d.plume;
    if (!plume) {
      if (!opts.requestSensorDrill) return json(res, 422, { error: 'sensor drills are not available in this service' });
      const drillId = d.drillId ?? newDrillId(d.zoneId, Date.now());
      if (opts.outbox.drill(drillId) || opts.sensorDrills?.row(drillId)) return json(res, 409, { error: `drill ${drillId} exists already` });
      const r = await opts.requestSensorDrill({ drillId, zoneId: d.zoneId, speed: d.speed ?? 1, ...(d.node ? { node: d.node } : {}), ...(d.audience ? { audience: d.audience } : {}), dryRun: d.dryRun, startedBy: d.startedBy });
      if (!r.ok) return json(res, r.status, { error: r.reason });
      return json(res, 202, { ok: true, drillId, alertId: `drill-${drillId}`, recipients: 0, requested: true });
    }
    if (!opts.sensorDrills) return json(res, 422, { error: 'sensor drills are not available in this service' });
    if (!site.zones.some((z) => z.id === d.zoneId)) return json(res, 422, { error: `unknown zone ${d.zoneId}` });
    const outside = [plume.ignitionNode, ...plume.nodes].filter((n) => site.nodes.find((x) => x.id === n)?.zone !== d.zoneId);
    if (outside.length) return json(res, 422, { error: `not sensor nodes of ${d.zoneId}: ${[...new Set(outside)].join(', ')}` });
    const drillId = d.drillId ?? newDrillId(d.zoneId, Date.now());
    if (opts.outbox.drill(drillId) || opts.sensorDrills.row(drillId)) return json(res, 409, { error: `drill ${drillId} exists already` });
    const r = opts.sensorDrills.start({ drillId, zoneId: d.zoneId, audience: d.audience ?? null, dryRun: d.dryRun, startedBy: d.startedBy, plume });
    if (!r.ok) return json(res, 422, { error: r.reason });
    return json(res, 200, { ok: true, drillId, alertId: `drill-${drillId}`, recipients: 0 });
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const method = req.method ?? 'GET';

    if (path === '/healthz' && method === 'GET') {
      // Liveness for a load balancer or proxy; the detail and /metrics are on EWS_HTTP_PORT (internal).
      const ok = opts.health().ok;
      return json(res, ok ? 200 : 503, { ok });
    }

    if (path === '/twilio/status') {
      if (method !== 'POST') throw new HttpError(405, 'POST only');
      if (!opts.twilioAuthToken) throw new HttpError(404, 'twilio transport not configured');
      const params = await signedTwilioForm(req, opts.log, opts.twilioAuthToken, statusUrl, 'status callback');
      const parsed = twilioStatusSchema.safeParse(params);
      if (!parsed.success) throw new HttpError(400, describeZodError(parsed.error));
      const s = parsed.data.MessageStatus;
      const mapped = s === 'delivered' || s === 'read' ? 'delivered' : s === 'undelivered' ? 'undelivered' : s === 'failed' || s === 'canceled' ? 'failed' : 'sent';
      const changed = opts.outbox.applyDeliveryStatus(parsed.data.MessageSid, mapped, parsed.data.ErrorCode ?? null, Date.now());
      return json(res, 200, { ok: true, updated: changed });
    }

    if (path === '/twilio/inbound') {
      if (method !== 'POST') throw new HttpError(405, 'POST only');
      if (!opts.twilioAuthToken || !opts.twilioInbound) throw new HttpError(404, 'Twilio replies not configured (TWILIO_RECEIVES_REPLIES)');
      const params = await signedTwilioForm(req, opts.log, opts.twilioAuthToken, inboundUrl, 'incoming message');
      const parsed = twilioInboundSchema.safeParse(params);
      if (!parsed.success) throw new HttpError(400, describeZodError(parsed.error));
      const r = opts.service.acknowledgeByReply(parsed.data.From, parsed.data.Body, `twilio ${parsed.data.MessageSid}`);
      opts.log.info({ from: parsed.data.From, messageSid: parsed.data.MessageSid, acknowledged: r.ok, reason: r.ok ? undefined : r.reason }, 'reply through Twilio');
      // Empty TwiML: no answer SMS (each would cost a segment; the ack stops the repeats, which is the answer).
      return send(res, 200, '<?xml version="1.0" encoding="UTF-8"?><Response></Response>\n', 'text/xml; charset=utf-8');
    }

    const ackMatch = /^\/ack\/([^/]*)$/.exec(path);
    if (ackMatch) {
      const token = ackTokenSchema.safeParse(ackMatch[1]);
      if (!token.success) return page(res, 404, 'Liên kết không hợp lệ', '<p>Không tìm thấy cảnh báo.</p>');
      if (method === 'GET') {
        // GET only shows the page: link previews and prefetchers must not acknowledge anything.
        const row = opts.outbox.findToken(token.data);
        if (!row) return page(res, 404, 'Liên kết không hợp lệ', '<p>Không tìm thấy cảnh báo.</p>');
        if (row.expires_at <= Date.now()) return page(res, 410, 'Liên kết đã hết hạn', '<p>Hãy gọi Ban Chỉ huy để báo đã nhận.</p>');
        const alert = ownValue(opts.service.engineState.alerts, row.alert_id);
        const state = alert ? alertStateVi(alert) : '';
        const drillNote = alert?.drill ? '<p><strong>DIỄN TẬP (không phải cháy thật)</strong></p>' : '';
        return page(res, 200, 'Xác nhận đã nhận cảnh báo', `${drillNote}${alert ? describeHtml(alert) : ''}${state ? `<p>${escapeHtml(state)}</p>` : ''}<form method="post"><button type="submit">Tôi đã nhận</button></form>`);
      }
      if (method === 'POST') {
        await readBody(req);
        const r = opts.service.acknowledgeByToken(token.data);
        if (!r.ok) return page(res, r.status, r.status === 410 ? 'Liên kết đã hết hạn' : 'Liên kết không hợp lệ', `<p>${escapeHtml(r.status === 410 ? 'Liên kết này đã hết hạn. Hãy gọi Ban Chỉ huy để báo đã nhận.' : 'Không tìm thấy cảnh báo.')}</p>`);
        const said = r.already ? alertStateVi(r.alert) : 'Cảm ơn. Đã ghi nhận bạn đã nhận cảnh báo; dừng nhắc lại và chuyển cấp.';
        return page(res, 200, 'Đã ghi nhận', `${describeHtml(r.alert)}<p>${escapeHtml(said)}</p>`);
      }
      throw new HttpError(405, 'GET or POST');
    }

    const drillMatch = /^\/api\/drills(?:\/([a-z0-9-]{1,63})(\/end)?)?$/.exec(path);
    if (drillMatch) {
      if (!apiKeyMatches(req, opts.apiKey)) return json(res, 401, { error: 'missing or wrong API key' });
      const [, drillId, end] = drillMatch;
      if (!drillId) {
        const zone = url.searchParams.get('zone') ?? undefined;
        if (method === 'GET') {
          const drills = opts.sensorDrills ? opts.sensorDrills.list(zone) : opts.service.listDrills(zone);
          return json(res, 200, { drills, skipped: opts.skippedDrillSlots?.(zone) ?? [] } satisfies DrillListResponse);
        }
        if (method !== 'POST') throw new HttpError(405, 'GET or POST');
        const parsed = drillStartSchema.safeParse(await readJson(req));
        if (!parsed.success) throw new HttpError(400, describeZodError(parsed.error));
        const d = parsed.data;
        if (d.depth === 'sensor') return await startSensorDrill(res, d);
        const r = opts.service.startDrill({ drillId: newDrillId(d.zoneId, Date.now()), kind: d.kind, zoneId: d.zoneId, audience: d.audience ?? null, dryRun: d.dryRun, startedBy: d.startedBy });
        if (!r.ok) return json(res, 422, { error: r.reason });
        opts.log.info({ drillId: r.alert.drill?.id, zoneId: d.zoneId, kind: d.kind, dryRun: d.dryRun, startedBy: d.startedBy, recipients: r.alert.notified.length }, 'drill started');
        return json(res, 200, { ok: true, drillId: r.alert.drill?.id, alertId: r.alert.alertId, recipients: r.alert.notified.length });
      }
      if (end) {
        if (method !== 'POST') throw new HttpError(405, 'POST only');
        const raw = await readBody(req);
        const parsed = drillEndSchema.safeParse(raw.trim() === '' ? {} : parseJson(raw));
        if (!parsed.success) throw new HttpError(400, describeZodError(parsed.error));
        return opts.service.endDrill(drillId, parsed.data.by) ? json(res, 200, { ok: true }) : json(res, 404, { error: `no drill ${drillId}` });
      }
      if (method !== 'GET') throw new HttpError(405, 'GET only');
      const report = opts.sensorDrills ? opts.sensorDrills.report(drillId) : opts.service.drillReport(drillId);
      return report ? json(res, 200, report) : json(res, 404, { error: `no drill ${drillId}` });
    }

    if (path === '/api/ack' || path === '/api/alerts') {
      if (!apiKeyMatches(req, opts.apiKey)) return json(res, 401, { error: 'missing or wrong API key' });
      if (path === '/api/alerts') {
        if (method !== 'GET') throw new HttpError(405, 'GET only');
        const filter = url.searchParams.get('state') === 'all' ? 'all' : 'open';
        return json(res, 200, { alerts: opts.service.listAlerts(filter, url.searchParams.get('drills') === 'include' ? 'with' : 'without') });
      }
      if (method !== 'POST') throw new HttpError(405, 'POST only');
      const parsed = apiAckSchema.safeParse(await readJson(req));
      if (!parsed.success) throw new HttpError(400, describeZodError(parsed.error));
      const r = opts.service.acknowledgeByApi(parsed.data.alertId, parsed.data.by, parsed.data.channel, parsed.data.memberId ?? null);
      if (!r.ok) return json(res, 404, { error: r.reason });
      return json(res, 200, { ok: true, alreadyAcknowledged: r.already, alert: { alertId: r.alert.alertId, status: r.alert.status, ack: r.alert.ack } });
    }
    throw new HttpError(404, 'not found');
  }

  const limits = opts.limits ?? DEFAULT_HTTP_LIMITS;
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.idleTimeoutMs,
      // How often Node checks the headers and request timeouts (default 30 s: with the default 60 s
      // headers timeout a client that never finished its headers held a socket for minutes).
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, limits.headersTimeoutMs / 4)),
    },
    (req, res) => {
      route(req, res).catch((err: unknown) => {
        if (err instanceof HttpError) return json(res, err.status, { error: err.message });
        opts.log.error({ err: String(err), url: req.url }, 'HTTP handler error');
        if (!res.headersSent) json(res, 500, { error: 'internal error' });
      });
    },
  );
  server.maxConnections = limits.maxConnections;
  let droppedLogged = 0;
  server.on('drop', (data?: { remoteAddress?: string }) => {
    connectionsRefused.inc();
    const now = Date.now();
    if (now - droppedLogged > 60_000) {
      droppedLogged = now;
      opts.log.warn({ remoteAddress: data?.remoteAddress, maxConnections: limits.maxConnections }, 'HTTP connection cap reached; new connections are closed');
    }
  });
  return server;
}

export async function listenAlertsHttp(server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address();
  return typeof a === 'object' && a ? a.port : port;
}
