// The board's HTTP server (fastify): sign-in with per-person credentials (scrypt, rate-limited,
// CSRF-protected), a read-only kiosk link for wall screens, sessions in board.sqlite, the page and
// its bundle, the view as JSON and as server-sent events, the 24-hour series, acknowledgements
// (members only, CSRF), drills (members only: start, acknowledge and end with CSRF; reports), and
// the daily bulletin. Nothing but the sign-in page and the kiosk link answers without a session.
import { createHash } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySession from '@fastify/session';
import cron from 'node-cron';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Counter } from 'prom-client';
import { z } from 'zod';
import { describeZodError, nodeIdSchema } from '../contracts/payloads.ts';
import type { Site } from '../contracts/site.ts';
import type { Logger } from '../platform/logger.ts';
import { metricsRegistry } from '../platform/metrics.ts';
import { sessionUserSchema, SqliteSessionStore, tokenMatches, verifyPassword, type BoardUser, type SessionUser } from './auth.ts';
import { buildBulletin, renderBulletinHtml } from './bulletin.ts';
import type { Asset } from './bundle.ts';
import { FetchError } from './fetch-json.ts';
import type { MapGeometry } from './geometry.ts';
import { escapeHtml, t, type Lang } from './i18n.ts';
import type { LiveHub } from './live.ts';
import type { BoardService } from './service.ts';
import type { BoardStore } from './store.ts';
import { localDate } from './view.ts';
import type { AlertsClient } from './alerts-client.ts';
import { drillRefusalVi, drillReportCsv, renderDrillListHtml, renderDrillReportHtml, sensorDrillRequestedVi, type ScheduledDrillRun } from './drill-view.ts';
import { DRILL_KINDS } from '../contracts/alerts-api.ts';

declare module 'fastify' {
  interface Session {
    user?: SessionUser;
    /** Fingerprint of the kiosk token a kiosk session was opened with: a new token ends old screens. */
    kiosk?: string;
  }
}

const loginsTotal = new Counter({ name: 'ews_board_logins_total', help: 'Sign-in attempts by result', labelNames: ['result'] as const, registers: [metricsRegistry] });
const acksTotal = new Counter({ name: 'ews_board_acks_total', help: 'Acknowledgements from the board by result', labelNames: ['result'] as const, registers: [metricsRegistry] });

export const loginBodySchema = z.object({ user: z.string().trim().min(1).max(64), password: z.string().min(1).max(256), _csrf: z.string().max(200).optional() });
export const ackBodySchema = z.object({ alertId: nodeIdSchema }).strict();
/** The board's form that starts a drill (README "Drills"). */
export const drillFormSchema = z
  .object({
    zoneId: nodeIdSchema,
    kind: z.enum(DRILL_KINDS),
    dryRun: z.literal('on').optional(),
    /** alert: the drill alert at once; sensor: the drill player plays a simulated plume, the alert opens when rules detects it. */
    depth: z.enum(['alert', 'sensor']).default('alert'),
    /** Sensor drills: the fire minutes this many times faster than real time (blank = 1, real time). */
    speed: z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().min(1).max(10_000).optional()),
    /** Sensor drills: the fire starts 120 m upwind of this node (blank = the zone's first); the alerts service checks it is of the zone. */
    node: z.preprocess((v) => (v === '' ? undefined : v), nodeIdSchema.optional()),
    _csrf: z.string().max(200).optional(),
  })
  .strict();
export const seriesQuerySchema = z.union([z.object({ zone: nodeIdSchema }).strict(), z.object({ node: nodeIdSchema }).strict()]);
const dateSchema = z.iso.date();

export interface BoardHttpOptions {
  site: Site;
  service: BoardService;
  store: BoardStore;
  hub: LiveHub;
  geometry: MapGeometry;
  assets: { js: Asset; css: Asset };
  users: ReadonlyMap<string, BoardUser>;
  kioskToken: string | undefined;
  sessionSecret: string;
  sessionHours: number;
  /** Served over https (BOARD_PUBLIC_URL): Secure cookies and HSTS. */
  secure: boolean;
  /** Origin of configured map tiles (allowed as image source), or null. */
  tileOrigin: string | null;
  log: Logger;
  /** The alerts API client (drills are started, listed and reported through it); null = no drills page. */
  alerts?: AlertsClient | null;
  /** PDF of the bulletin from its HTML (Chromium); absent = no PDF route. */
  pdf?: (html: string) => Promise<Buffer>;
  now?: () => number;
  /** Rate limits (tests use the defaults; the numbers are per client address). */
  loginPerMinute?: number;
}

export const KIOSK_SESSION_MS = 30 * 86_400_000;
/** At most this many password checks at once (each holds 32 MiB for ~100 ms). */
const MAX_CONCURRENT_CHECKS = 4;
/** Checked when the member id is unknown, so both cases take the same time. */
const DUMMY_HASH = 'scrypt.15.8.1.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

const fingerprint = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);
const langOf = (req: FastifyRequest): Lang => (/(^|;\s*)ews_lang=en(;|$)/.test(req.headers.cookie ?? '') ? 'en' : 'vi');
const wantsHtml = (req: FastifyRequest) => req.method === 'GET' && !req.url.startsWith('/api/') && !req.url.startsWith('/assets/');

function page(lang: Lang, title: string, body: string, extraHead = ''): string {
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>${extraHead}</head><body>${body}</body></html>`;
}

const LOGIN_CSS = `body{font-family:"Noto Sans","DejaVu Sans",system-ui,sans-serif;background:#f3f4f1;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center;color:#1b1b1b}
form{background:#fff;padding:28px 32px;border-radius:10px;box-shadow:0 2px 12px #0002;width:min(92vw,380px)}h1{font-size:1.35rem;margin:0 0 4px;color:#b71c1c}p{margin:0 0 16px;color:#555;font-size:.92rem}
label{display:block;font-weight:600;margin:12px 0 4px}input{width:100%;box-sizing:border-box;font-size:1.1rem;padding:10px;border:1px solid #999;border-radius:6px}
button{margin-top:18px;width:100%;font-size:1.1rem;padding:12px;border:0;border-radius:6px;background:#b71c1c;color:#fff;font-weight:700;cursor:pointer}.error{color:#b71c1c;font-weight:600}`;

function loginPage(lang: Lang, siteName: string, csrf: string, error: string | null): string {
  const w = t(lang);
  return page(
    lang,
    `${w.signIn} — ${w.title}`,
    `<form method="post" action="/login" id="login"><h1>${escapeHtml(w.title)}</h1><p>${escapeHtml(siteName)}</p>${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}` +
      `<input type="hidden" name="_csrf" value="${escapeHtml(csrf)}"><label for="user">${escapeHtml(w.user)}</label><input id="user" name="user" autocomplete="username" required autocapitalize="none" spellcheck="false">` +
      `<label for="password">${escapeHtml(w.password)}</label><input id="password" name="password" type="password" autocomplete="current-password" required><button type="submit">${escapeHtml(w.signIn)}</button><p style="margin-top:14px">${escapeHtml(w.signInNote)}</p></form>`,
    `<style>${LOGIN_CSS}</style>`,
  );
}

/** JSON inside <script type="application/json">: `<` escaped so no `</script>` can end it. */
const inlineJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c');

export async function createBoardHttp(o: BoardHttpOptions): Promise<FastifyInstance> {
  const now = o.now ?? Date.now;
  const secure = o.secure;
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024, trustProxy: secure });  // logger off: the board logs through pino itself, so no per-request lines

  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        // The panels set sizes and level colours in style attributes.
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', ...(o.tileOrigin ? [o.tileOrigin] : [])],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
        baseUri: ["'none'"],
      },
    },
    // Plain http on a board's LAN must keep working: no upgrade of requests, HSTS only behind https.
    hsts: secure ? { maxAge: 15_552_000 } : false,
  });
  await app.register(fastifyRateLimit, { global: true, max: 600, timeWindow: '1 minute', cache: 10_000 });
  await app.register(fastifyCookie, { secret: o.sessionSecret });
  await app.register(fastifyFormbody);
  await app.register(fastifySession, {
    secret: o.sessionSecret,
    cookieName: 'ews_board_session',
    store: new SqliteSessionStore(o.store.db),
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', secure, path: '/', maxAge: o.sessionHours * 3_600_000 },
  });
  await app.register(fastifyCsrf, { cookieKey: 'ews_board_csrf', cookieOpts: { signed: true, httpOnly: true, sameSite: 'strict', path: '/', secure } });

  const users = o.users;
  /** The signed-in member or kiosk of a request, or null (also for a revoked member or an outdated kiosk token). */
  function who(req: FastifyRequest): SessionUser | null {
    const parsed = sessionUserSchema.safeParse(req.session.user);
    if (!parsed.success) return null;
    const u = parsed.data;
    if (u.role === 'member') return users.has(u.memberId) ? u : null;
    return o.kioskToken && req.session.kiosk === fingerprint(o.kioskToken) ? u : null;
  }

  const PUBLIC = new Set(['/login', '/favicon.ico']);
  app.addHook('preHandler', async (req, reply) => {
    const path = req.url.split('?', 1)[0] ?? '/';
    if (PUBLIC.has(path) || path.startsWith('/kiosk/')) return;
    if (who(req)) return;
    if (wantsHtml(req)) return reply.redirect('/login', 302);
    return reply.code(401).header('cache-control', 'no-store').send({ error: 'sign in first (or open the kiosk link)' });
  });

  app.get('/favicon.ico', async (_req, reply) => reply.code(204).send());

  app.get('/login', async (req, reply) => {
    if (who(req)) return reply.redirect('/', 302);
    const csrf = reply.generateCsrf();
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(loginPage(langOf(req), o.site.site.name, csrf, null));
  });

  let checking = 0;
  app.post(
    '/login',
    {
      config: { rateLimit: { max: o.loginPerMinute ?? 10, timeWindow: '1 minute', errorResponseBuilder: (req) => ({ statusCode: 429, error: 'Too Many Requests', message: t(langOf(req)).tooMany }) } },
      preHandler: app.csrfProtection,
    },
    async (req, reply) => {
      const lang = langOf(req);
      const body = loginBodySchema.safeParse(req.body);
      const fail = async (status: number, message: string) => reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(loginPage(lang, o.site.site.name, reply.generateCsrf(), message));
      if (!body.success) return fail(400, t(lang).badLogin);
      if (checking >= MAX_CONCURRENT_CHECKS) return fail(503, t(lang).tooMany);
      checking += 1;
      let ok = false;
      const user = users.get(body.data.user);
      try {
        ok = (await verifyPassword(body.data.password, user?.hash ?? DUMMY_HASH)) && user !== undefined;
      } finally {
        checking -= 1;
      }
      if (!ok || !user) {
        loginsTotal.inc({ result: 'refused' });
        o.log.warn({ user: body.data.user.slice(0, 64), ip: req.ip }, 'board sign-in refused');
        return fail(401, t(lang).badLogin);
      }
      await req.session.regenerate();
      req.session.user = { role: 'member', memberId: user.memberId, name: user.name };
      loginsTotal.inc({ result: 'ok' });
      o.log.info({ memberId: user.memberId, ip: req.ip }, 'board member signed in');
      return reply.redirect('/', 303);
    },
  );

  app.post('/logout', { preHandler: app.csrfProtection }, async (req, reply) => {
    await req.session.destroy();
    return reply.redirect('/login', 303);
  });

  app.get<{ Params: { token: string } }>('/kiosk/:token', { config: { rateLimit: { max: 10, timeWindow: '1 minute' } } }, async (req, reply) => {
    if (!tokenMatches(req.params.token, o.kioskToken)) {
      o.log.warn({ ip: req.ip }, 'kiosk link with a wrong token');
      return reply.code(404).type('text/html; charset=utf-8').send(page(langOf(req), 'Not found', '<p>Not found</p>'));
    }
    await req.session.regenerate();
    req.session.user = { role: 'kiosk' };
    req.session.kiosk = fingerprint(o.kioskToken as string);
    // A wall screen stays signed in for 30 days and renews the cookie with every page load.
    req.session.cookie.maxAge = KIOSK_SESSION_MS;
    return reply.redirect('/', 302);
  });

  // The page: a shell around the first view (rendered at once, then kept live by /api/stream).
  app.get('/', async (req, reply) => {
    const user = who(req) as SessionUser;
    const lang = langOf(req);
    const csrf = user.role === 'member' ? reply.generateCsrf() : '';
    const { version, view } = o.service.current();
    // `drills`: the page links to /drills (members only, and only with an alerts service to run them).
    const boot = { version, view, geometry: o.geometry, user: user.role === 'member' ? { role: 'member', name: user.name, memberId: user.memberId } : { role: 'kiosk' }, lang, drills: user.role === 'member' && Boolean(o.alerts) };
    const head =
      `<link rel="stylesheet" href="/assets/board.css?v=${o.assets.css.hash}"><meta name="csrf-token" content="${escapeHtml(csrf)}">` +
      `<script type="module" src="/assets/board.js?v=${o.assets.js.hash}"></script><meta name="theme-color" content="#7f0000">`;
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(page(lang, `${t(lang).title} — ${o.site.site.name}`, `<script type="application/json" id="boot">${inlineJson(boot)}</script><div id="app" aria-live="polite"><p style="padding:2rem">${escapeHtml(t(lang).title)}…</p></div>`, head));
  });

  for (const [name, asset] of Object.entries(o.assets)) {
    app.get(`/assets/board.${name}`, async (_req, reply) => reply.type(asset.type).header('cache-control', 'private, max-age=31536000, immutable').header('etag', `"${asset.hash}"`).send(asset.body));
  }

  app.get('/api/session', async (req) => who(req));

  app.get('/api/state', async (_req, reply) => {
    const { version, json } = o.service.current();
    return reply.type('application/json; charset=utf-8').header('cache-control', 'no-store').header('etag', `"${version}"`).send(json);
  });

  app.get('/api/stream', (req, reply) => {
    const last = req.headers['last-event-id'];
    reply.hijack();
    if (!o.hub.add(reply.raw, typeof last === 'string' ? last : undefined)) {
      reply.raw.writeHead(503, { 'content-type': 'application/json', 'retry-after': '30' });
      reply.raw.end(JSON.stringify({ error: 'too many open board pages' }));
    }
  });

  app.get('/api/series', async (req, reply) => {
    const q = seriesQuerySchema.safeParse(req.query);
    if (!q.success) return reply.code(400).send({ error: `expected ?zone=<id> or ?node=<id>: ${describeZodError(q.error)}` });
    const filter = 'zone' in q.data ? { zoneId: q.data.zone } : { nodeId: q.data.node };
    const known = filter.zoneId ? o.site.zones.some((z) => z.id === filter.zoneId) : o.site.nodes.some((n) => n.id === filter.nodeId);
    if (!known) return reply.code(404).send({ error: 'no such zone or node in the site file' });
    try {
      return await o.service.series(filter);
    } catch (err) {
      return reply.code(502).send({ error: (err as Error).message });
    }
  });

  app.post('/api/ack', { preHandler: app.csrfProtection }, async (req, reply) => {
    const user = who(req) as SessionUser;
    if (user.role !== 'member') return reply.code(403).send({ error: 'the kiosk view is read-only: sign in to acknowledge' });
    const body = ackBodySchema.safeParse(req.body);
    if (!body.success) return reply.code(400).send({ error: describeZodError(body.error) });
    try {
      const r = await o.service.acknowledge(body.data.alertId, `${user.name} (${user.memberId})`);
      acksTotal.inc({ result: r.alreadyAcknowledged ? 'already' : 'ok' });
      o.log.info({ alertId: body.data.alertId, memberId: user.memberId }, 'alert acknowledged on the board');
      return { ok: true, alreadyAcknowledged: r.alreadyAcknowledged };
    } catch (err) {
      acksTotal.inc({ result: 'failed' });
      const status = err instanceof FetchError && err.status === 404 ? 404 : 502;
      o.log.warn({ alertId: body.data.alertId, err: (err as Error).message }, 'acknowledgement from the board failed');
      return reply.code(status).send({ error: (err as Error).message });
    }
  });

  let printing = false;
  // The site file's drill schedule (the alerts service runs it): node-cron's own next match, shown on /drills.
  const schedule = o.site.drills.map((d) => ({ d, task: cron.createTask(d.cron, () => {}, { timezone: o.site.alerts?.timezone ?? o.site.site.timezone }) }));
  app.addHook('onClose', async () => {
    for (const { task } of schedule) await task.destroy();
  });
  const scheduleRuns = (): ScheduledDrillRun[] => schedule.map(({ d, task }) => ({ zone: d.zone, kind: d.kind, depth: d.depth, cron: d.cron, dryRun: d.dryRun, next: nextRunMs(task) }));
  // Drills: signed-in members only (a wall screen neither starts nor reads them).
  const member = (req: FastifyRequest): Extract<SessionUser, { role: 'member' }> | null => {
    const u = who(req);
    return u?.role === 'member' ? u : null;
  };
  const html = (reply: FastifyReply, status: number, body: string) => reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);
  const drillListPage = async (alerts: AlertsClient, reply: FastifyReply, status: number, message: string | null) => {
    const { drills, skipped } = await alerts.drills();
    return html(reply, status, renderDrillListHtml(o.site, drills, reply.generateCsrf(), message, scheduleRuns(), skipped));
  };
  app.get('/drills', async (req, reply) => {
    if (!member(req)) return reply.code(403).send({ error: 'drills are for signed-in board members' });
    if (!o.alerts) return reply.code(404).send({ error: 'no alerts service configured (BOARD_ALERTS_URL)' });
    try {
      const requested = nodeIdSchema.safeParse((req.query as Record<string, unknown> | undefined)?.requested);
      return await drillListPage(o.alerts, reply, 200, requested.success ? sensorDrillRequestedVi(requested.data) : null);
    } catch (err) {
      return reply.code(502).send({ error: (err as Error).message });
    }
  });
  app.post('/drills', { preHandler: app.csrfProtection }, async (req, reply) => {
    const user = member(req);
    if (!user) return reply.code(403).send({ error: 'drills are for signed-in board members' });
    if (!o.alerts) return reply.code(404).send({ error: 'no alerts service configured (BOARD_ALERTS_URL)' });
    const form = drillFormSchema.safeParse(req.body);
    if (!form.success) return reply.code(400).send({ error: describeZodError(form.error) });
    try {
      const startedBy = `${user.name} (${user.memberId})`;
      if (form.data.depth === 'sensor') {
        // The alerts service asks the drill player (README "Drills"); the drill has no report until the player starts it.
        const { speed, node } = form.data;
        const r = await o.alerts.startDrill({ zoneId: form.data.zoneId, depth: 'sensor', dryRun: form.data.dryRun === 'on', startedBy, ...(speed !== undefined ? { speed } : {}), ...(node !== undefined ? { node } : {}) });
        o.log.info({ drillId: r.drillId, memberId: user.memberId, zoneId: form.data.zoneId, depth: 'sensor', node }, 'sensor drill requested from the board');
        return reply.redirect(`/drills?requested=${encodeURIComponent(r.drillId)}`, 303);
      }
      const r = await o.alerts.startDrill({ zoneId: form.data.zoneId, kind: form.data.kind, dryRun: form.data.dryRun === 'on', startedBy });
      o.log.info({ drillId: r.drillId, memberId: user.memberId, zoneId: form.data.zoneId }, 'drill started from the board');
      return reply.redirect(`/drills/${r.drillId}`, 303);
    } catch (err) {
      // A refusal (a node outside the zone, a zone without sensor nodes): the form again, with the reason in Vietnamese.
      if (err instanceof FetchError && err.status === 422) {
        o.log.info({ memberId: user.memberId, zoneId: form.data.zoneId, reason: err.detail }, 'drill from the board refused by the alerts service');
        try {
          return await drillListPage(o.alerts, reply, 422, drillRefusalVi(o.site, err.detail ?? err.message));
        } catch {
          return reply.code(422).send({ error: err.message });
        }
      }
      return reply.code(502).send({ error: (err as Error).message });
    }
  });
  app.post<{ Params: { id: string } }>('/drills/:id/ack', { preHandler: app.csrfProtection }, async (req, reply) => {
    const user = member(req);
    if (!user) return reply.code(403).send({ error: 'sign in to acknowledge' });
    const id = nodeIdSchema.safeParse(req.params.id);
    if (!id.success || !o.alerts) return reply.code(404).send({ error: 'not found' });
    try {
      await o.alerts.acknowledge(`drill-${id.data}`, `${user.name} (${user.memberId})`, user.memberId);
      return reply.redirect(`/drills/${id.data}`, 303);
    } catch (err) {
      return reply.code(err instanceof FetchError && err.status === 404 ? 404 : 502).send({ error: (err as Error).message });
    }
  });
  app.post<{ Params: { id: string } }>('/drills/:id/end', { preHandler: app.csrfProtection }, async (req, reply) => {
    const user = member(req);
    if (!user) return reply.code(403).send({ error: 'drills are for signed-in board members' });
    const id = nodeIdSchema.safeParse(req.params.id);
    if (!id.success || !o.alerts) return reply.code(404).send({ error: 'not found' });
    try {
      await o.alerts.endDrill(id.data, `${user.name} (${user.memberId})`);
      o.log.info({ drillId: id.data, memberId: user.memberId }, 'drill ended from the board');
      return reply.redirect(`/drills/${id.data}`, 303);
    } catch (err) {
      return reply.code(err instanceof FetchError && err.status === 404 ? 404 : 502).send({ error: (err as Error).message });
    }
  });
  app.get<{ Params: { id: string } }>('/drills/:id', async (req, reply) => {
    if (!member(req)) return reply.code(403).send({ error: 'drills are for signed-in board members' });
    const m = /^([a-z0-9][a-z0-9-]{0,62})(\.csv|\.pdf)?$/.exec(req.params.id);
    if (!m?.[1] || !o.alerts) return reply.code(404).send({ error: 'not found' });
    let report;
    try {
      report = await o.alerts.drillReport(m[1]);
    } catch (err) {
      return reply.code(err instanceof FetchError && err.status === 404 ? 404 : 502).send({ error: (err as Error).message });
    }
    if (m[2] === '.csv') return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="dien-tap-${m[1]}.csv"`).header('cache-control', 'no-store').send(drillReportCsv(report));
    if (m[2] === '.pdf') {
      if (!o.pdf) return reply.code(404).send({ error: 'PDF printing is not available here (Chromium)' });
      if (printing) return reply.code(503).header('retry-after', '10').send({ error: 'another document is being printed; try again in a few seconds' });
      printing = true;
      try {
        const pdf = await o.pdf(renderDrillReportHtml(o.site, report, { print: true }));
        return reply.type('application/pdf').header('content-disposition', `inline; filename="dien-tap-${m[1]}.pdf"`).header('cache-control', 'no-store').send(pdf);
      } catch (err) {
        return reply.code(502).send({ error: (err as Error).message });
      } finally {
        printing = false;
      }
    }
    return html(reply, 200, renderDrillReportHtml(o.site, report, { csrf: reply.generateCsrf() }));
  });

  app.get<{ Params: { date: string } }>('/bulletin/:date', async (req, reply) => {
    const m = /^(.+?)(\.pdf)?$/.exec(req.params.date);
    const date = m?.[1] === 'today' ? localDate(now(), o.site.site.timezone) : m?.[1];
    if (!dateSchema.safeParse(date).success) return reply.code(400).type('text/plain; charset=utf-8').send('expected /bulletin/YYYY-MM-DD');
    const b = buildBulletin(o.site, date as string, o.store.officialBetween(addDaysIso(date as string, -6), date as string));
    const html = renderBulletinHtml(b, o.geometry, o.site, now());
    if (m?.[2]) {
      if (!o.pdf) return reply.code(404).send({ error: 'PDF printing is not available here (Chromium)' });
      // One Chromium at a time (each takes a few hundred MB).
      if (printing) return reply.code(503).header('retry-after', '10').send({ error: 'another bulletin is being printed; try again in a few seconds' });
      printing = true;
      try {
        const pdf = await o.pdf(html);
        return reply.type('application/pdf').header('content-disposition', `inline; filename="ban-tin-chay-rung-${date}.pdf"`).header('cache-control', 'no-store').send(pdf);
      } catch (err) {
        return reply.code(502).send({ error: (err as Error).message });
      } finally {
        printing = false;
      }
    }
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html);
  });

  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: 'not found' }));
  app.setErrorHandler((err: { statusCode?: number; message: string; code?: string }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) o.log.error({ err: err.message, url: req.url }, 'board HTTP handler error');
    // CSRF failures: the page reloads to get a fresh token.
    return reply.code(status).send({ error: status >= 500 ? 'internal error' : err.message, code: err.code });
  });
  return app;
}

/** node-cron's next match of a task, or null where it finds none in its search range (it throws then). */
function nextRunMs(task: { getNextRuns(count: number): Date[] }): number | null {
  try {
    return task.getNextRuns(1)[0]?.getTime() ?? null;
  } catch {
    return null;
  }
}

function addDaysIso(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}
