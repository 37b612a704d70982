// The board's HTTP rules through fastify's inject (no socket): nothing without a session, sign-in
// with scrypt and CSRF, rate-limited sign-in, kiosk read-only, acknowledgements only from members
// with a CSRF token, revoked members and rotated kiosk tokens shut out, sessions surviving a restart.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { openDatabase } from '../platform/sqlite.ts';
import type { AlertsClient } from './alerts-client.ts';
import { hashPassword, type BoardUser } from './auth.ts';
import { buildMapGeometry } from './geometry.ts';
import { createBoardHttp } from './http.ts';
import { LiveHub } from './live.ts';
import type { ReadingsSource } from './readings.ts';
import { emptySeries } from './series.ts';
import { BoardService } from './service.ts';
import { BoardStore } from './store.ts';
import { danger, SITE } from '../test/support/board-fixtures.ts';

const log = pino({ level: 'silent' });
const KIOSK = 'kiosk-token-0123456789-0123456789-abc';
const PASSWORD = 'a long board password';
const db = openDatabase(':memory:');
const store = new BoardStore(db);
const readings: ReadingsSource = { kind: 'local', description: 'test', lastSeen: async () => new Map(), series: async (ids, _f, w) => emptySeries(w, ids), close: () => {} };
const acknowledge = vi.fn(async (_alertId: string, _by: string) => ({ alreadyAcknowledged: false }));
const alerts = { openAlerts: async () => [], acknowledge } as unknown as AlertsClient;
const service = new BoardService({ site: SITE, store, readings, alerts, log });
const hub = new LiveHub(5, () => service.current());
let users: Map<string, BoardUser>;
let app: FastifyInstance;

async function makeApp(o: { users?: Map<string, BoardUser>; kiosk?: string } = {}): Promise<FastifyInstance> {
  const a = await createBoardHttp({
    site: SITE,
    service,
    store,
    hub,
    geometry: buildMapGeometry(SITE),
    assets: { js: { body: Buffer.from('console.log(1)'), type: 'text/javascript', hash: 'js1' }, css: { body: Buffer.from('body{}'), type: 'text/css', hash: 'css1' } },
    users: o.users ?? users,
    kioskToken: o.kiosk ?? KIOSK,
    sessionSecret: 'a-session-secret-of-at-least-32-characters',
    sessionHours: 12,
    secure: false,
    tileOrigin: null,
    log,
    loginPerMinute: 5,
  });
  await a.ready();
  return a;
}

/** Cookie header from every Set-Cookie of a response, merged into a jar. */
function jar(res: LightMyRequestResponse, prev: Record<string, string> = {}): Record<string, string> {
  const out = { ...prev };
  for (const c of res.cookies) out[c.name] = c.value;
  return out;
}
const cookieHeader = (j: Record<string, string>) => Object.entries(j).map(([k, v]) => `${k}=${v}`).join('; ');

async function loginForm(a = app, ip = '10.0.0.1'): Promise<{ jar: Record<string, string>; csrf: string }> {
  const res = await a.inject({ method: 'GET', url: '/login', remoteAddress: ip });
  expect(res.statusCode).toBe(200);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(res.body)?.[1] ?? '';
  expect(csrf).not.toBe('');
  return { jar: jar(res), csrf };
}

async function signIn(a = app, ip = '10.0.0.1'): Promise<Record<string, string>> {
  const form = await loginForm(a, ip);
  const res = await a.inject({ method: 'POST', url: '/login', remoteAddress: ip, headers: { cookie: cookieHeader(form.jar), 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ user: 'city-board-m01', password: PASSWORD, _csrf: form.csrf }).toString() });
  expect(res.statusCode, res.body).toBe(303);
  return jar(res, form.jar);
}

async function pageCsrf(j: Record<string, string>, a = app): Promise<{ jar: Record<string, string>; csrf: string; body: string }> {
  const res = await a.inject({ method: 'GET', url: '/', headers: { cookie: cookieHeader(j) } });
  expect(res.statusCode).toBe(200);
  return { jar: jar(res, j), csrf: /name="csrf-token" content="([^"]*)"/.exec(res.body)?.[1] ?? '', body: res.body };
}

beforeAll(async () => {
  users = new Map([['city-board-m01', { memberId: 'city-board-m01', name: 'Giàng Thanh Mai', unit: 'Ban Chỉ huy', hash: await hashPassword(PASSWORD) }]]);
  service.handleMessage('ews/v1/danger/san-thang', Buffer.from(JSON.stringify(danger('san-thang', '2026-03-20', 4, 6000))));
  service.recompute();
  app = await makeApp();
});

afterAll(async () => {
  await app.close();
  hub.close();
  await service.stop();
});

describe('without a session nothing answers', () => {
  it.each(['/', '/bulletin/2026-03-20'])('GET %s → the sign-in page', async (url) => {
    const res = await app.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('/login');
  });

  it.each(['/api/state', '/api/stream', '/api/series?zone=san-thang', '/assets/board.js', '/assets/board.css', '/api/session'])('GET %s → 401', async (url) => {
    const res = await app.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(401);
  });

  it('POST /api/ack → 401 and nothing reaches the alerts service', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/ack', payload: { alertId: 'x' } });
    expect(res.statusCode).toBe(401);
    expect(acknowledge).not.toHaveBeenCalled();
  });

  it('security headers: a strict content security policy, no framing', async () => {
    const res = await app.inject({ method: 'GET', url: '/login' });
    expect(res.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(res.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(res.headers['content-security-policy']).not.toMatch(/upgrade-insecure-requests/);
  });
});

describe('sign-in', () => {
  it('a member signs in with the password; the page carries the view, the user and a CSRF token; the session cookie is httpOnly and SameSite', async () => {
    const form = await loginForm(app, '10.0.1.1');
    const res = await app.inject({ method: 'POST', url: '/login', remoteAddress: '10.0.1.1', headers: { cookie: cookieHeader(form.jar), 'content-type': 'application/x-www-form-urlencoded' }, payload: `user=city-board-m01&password=${encodeURIComponent(PASSWORD)}&_csrf=${encodeURIComponent(form.csrf)}` });
    expect(res.statusCode).toBe(303);
    const session = res.cookies.find((c) => c.name === 'ews_board_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    const page = await pageCsrf(jar(res, form.jar));
    expect(page.csrf.length).toBeGreaterThan(10);
    const boot = JSON.parse(/<script type="application\/json" id="boot">(.*?)<\/script>/s.exec(page.body)?.[1] ?? '{}') as { user: { name: string }; view: { zones: { id: string; official: { level: number } | null }[] } };
    expect(boot.user.name).toBe('Giàng Thanh Mai');
    expect(boot.view.zones.find((z) => z.id === 'san-thang')?.official?.level).toBe(4);
    expect((await app.inject({ method: 'GET', url: '/api/state', headers: { cookie: cookieHeader(page.jar) } })).statusCode).toBe(200);
  });

  it.each([
    ['a wrong password', 'city-board-m01', 'wrong password!', 401],
    ['an unknown member', 'nobody-m99', PASSWORD, 401],
    ['a member not allowed to sign in (team member)', 'team-sth-1-m01', PASSWORD, 401],
  ])('%s is refused with the same answer', async (_what, user, password, status) => {
    const form = await loginForm(app, '10.0.2.1');
    const res = await app.inject({ method: 'POST', url: '/login', remoteAddress: '10.0.2.1', headers: { cookie: cookieHeader(form.jar), 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ user, password, _csrf: form.csrf }).toString() });
    expect(res.statusCode).toBe(status);
    expect(res.body).toContain('Sai mã thành viên hoặc mật khẩu');
    expect(res.cookies.map((c) => c.name)).not.toContain('ews_board_session');
  });

  it('a sign-in without its CSRF token is refused before the password is checked', async () => {
    const res = await app.inject({ method: 'POST', url: '/login', remoteAddress: '10.0.3.1', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ user: 'city-board-m01', password: PASSWORD }).toString() });
    expect(res.statusCode).toBe(403);
  });

  it('sign-in is rate-limited per address (here 5 a minute): the 6th attempt gets 429 even with the right password', async () => {
    const ip = '10.0.4.1';
    for (let i = 0; i < 5; i++) {
      const form = await loginForm(app, ip);
      const r = await app.inject({ method: 'POST', url: '/login', remoteAddress: ip, headers: { cookie: cookieHeader(form.jar), 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ user: 'city-board-m01', password: `guess ${i} guess`, _csrf: form.csrf }).toString() });
      expect(r.statusCode).toBe(401);
    }
    const form = await loginForm(app, ip);
    const blocked = await app.inject({ method: 'POST', url: '/login', remoteAddress: ip, headers: { cookie: cookieHeader(form.jar), 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ user: 'city-board-m01', password: PASSWORD, _csrf: form.csrf }).toString() });
    expect(blocked.statusCode).toBe(429);
    // another address is not affected
    await signIn(app, '10.0.4.2');
  });
});

describe('acknowledgements and the kiosk', () => {
  it('a member acknowledges with the CSRF token; without it nothing reaches the alerts service', async () => {
    const page = await pageCsrf(await signIn(app, '10.0.5.1'));
    const cookie = cookieHeader(page.jar);
    const noToken = await app.inject({ method: 'POST', url: '/api/ack', headers: { cookie }, payload: { alertId: 'fire-x-suspected' } });
    expect(noToken.statusCode).toBe(403);
    const badBody = await app.inject({ method: 'POST', url: '/api/ack', headers: { cookie, 'csrf-token': page.csrf }, payload: { alertId: 'Not An Id' } });
    expect(badBody.statusCode).toBe(400);
    expect(acknowledge).not.toHaveBeenCalled();
    const ok = await app.inject({ method: 'POST', url: '/api/ack', headers: { cookie, 'csrf-token': page.csrf }, payload: { alertId: 'fire-x-suspected' } });
    expect(ok.statusCode).toBe(200);
    expect(acknowledge).toHaveBeenCalledExactlyOnceWith('fire-x-suspected', 'Giàng Thanh Mai (city-board-m01)');
  });

  it('the kiosk link opens a read-only session; a wrong token finds nothing; the kiosk cannot acknowledge', async () => {
    expect((await app.inject({ method: 'GET', url: `/kiosk/${KIOSK}x` })).statusCode).toBe(404);
    const open = await app.inject({ method: 'GET', url: `/kiosk/${KIOSK}` });
    expect(open.statusCode).toBe(302);
    const j = jar(open);
    const session = open.cookies.find((c) => c.name === 'ews_board_session');
    expect(new Date(session?.expires ?? 0).getTime() - Date.now(), 'a wall screen stays signed in for 30 days').toBeGreaterThanOrEqual(29 * 86_400_000);
    const page = await pageCsrf(j);
    expect(page.csrf, 'no CSRF token: the kiosk posts nothing').toBe('');
    expect(page.body).toContain('"role":"kiosk"');
    const res = await app.inject({ method: 'POST', url: '/api/ack', headers: { cookie: cookieHeader(page.jar) }, payload: { alertId: 'fire-x-suspected' } });
    expect(res.statusCode).toBe(403);
    expect(acknowledge).toHaveBeenCalledTimes(1);
  });

  it('sessions survive a restart (they live in board.sqlite); a member removed from BOARD_USERS and a kiosk after a new token are shut out', async () => {
    const member = await signIn(app, '10.0.6.1');
    const kiosk = jar(await app.inject({ method: 'GET', url: `/kiosk/${KIOSK}` }));
    const restarted = await makeApp();
    expect((await restarted.inject({ method: 'GET', url: '/api/state', headers: { cookie: cookieHeader(member) } })).statusCode).toBe(200);
    expect((await restarted.inject({ method: 'GET', url: '/api/state', headers: { cookie: cookieHeader(kiosk) } })).statusCode).toBe(200);
    await restarted.close();
    const changed = await makeApp({ users: new Map(), kiosk: `${KIOSK}-rotated` });
    expect((await changed.inject({ method: 'GET', url: '/api/state', headers: { cookie: cookieHeader(member) } })).statusCode).toBe(401);
    expect((await changed.inject({ method: 'GET', url: '/api/state', headers: { cookie: cookieHeader(kiosk) } })).statusCode).toBe(401);
    await changed.close();
  });

  it('sign-out ends the session', async () => {
    const page = await pageCsrf(await signIn(app, '10.0.7.1'));
    const out = await app.inject({ method: 'POST', url: '/logout', headers: { cookie: cookieHeader(page.jar), 'content-type': 'application/x-www-form-urlencoded' }, payload: `_csrf=${encodeURIComponent(page.csrf)}` });
    expect(out.statusCode).toBe(303);
    expect((await app.inject({ method: 'GET', url: '/api/state', headers: { cookie: cookieHeader(page.jar) } })).statusCode).toBe(401);
  });

  it('series and bulletin answer members; unknown ids and bad dates are refused with the reason', async () => {
    const cookie = cookieHeader(await signIn(app, '10.0.8.1'));
    const series = await app.inject({ method: 'GET', url: '/api/series?zone=san-thang', headers: { cookie } });
    expect(series.statusCode).toBe(200);
    expect((series.json() as { times: number[] }).times).toHaveLength(288);
    expect((await app.inject({ method: 'GET', url: '/api/series?zone=atlantis', headers: { cookie } })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/api/series?zone=San%20Thang', headers: { cookie } })).statusCode).toBe(400);
    const bulletin = await app.inject({ method: 'GET', url: '/bulletin/2026-03-20', headers: { cookie } });
    expect(bulletin.statusCode).toBe(200);
    expect(bulletin.body).toMatch(/<tr data-zone="san-thang" data-level="4">/);
    expect((await app.inject({ method: 'GET', url: '/bulletin/yesterday', headers: { cookie } })).statusCode).toBe(400);
    expect((await app.inject({ method: 'GET', url: '/bulletin/2026-03-20.pdf', headers: { cookie } })).statusCode, 'no PDF printer configured here').toBe(404);
  });
});
