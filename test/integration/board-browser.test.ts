// The situation board in a real browser (Debian's chromium through playwright-core) against the real
// services as child processes: `fire-ews broker`, `ingest` (local store, no InfluxDB), `rules`
// (readings clock, official level computed inside the test's own timeline), `alerts run` (dry-run
// SMS, escalation shortened in a copy of the site file) and `board`. Readings go through the broker
// as the nodes send them. Screenshots (wall 1920×1080, phone 390×844) and the bulletin PDF's first
// page go to test-output/board/, and each is checked for a blank or broken page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { hashPassword } from '../../board/auth.ts';
import { dangerSchema, eventSchema, type Danger, type FireEvent, type Reading } from '../../contracts/payloads.ts';
import { topics } from '../../contracts/topics.ts';
import { derivePassword } from '../../platform/credentials.ts';
import { loadSiteFile } from '../../platform/site-file.ts';
import { browserSkipReason, launchChromium, outputDir, pngStats } from '../harness/browser.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { connectAs, SITE_FILE, ServiceProcess, TEST_SECRET, tempDataDir } from '../harness/services.ts';
import { skipTitle } from '../harness/skip.ts';

const skip = browserSkipReason();
const site = loadSiteFile(SITE_FILE);
const MIN = 60_000;
const API_KEY = 'board-browser-test-api-key-0123';
const KIOSK = 'kiosk-token-for-the-browser-test-0123456789';
const MEMBER = 'city-board-m01';
const PASSWORD = 'correct horse battery';
/** Escalation of a suspected fire in the test's site file: the first step after this many seconds. */
const ESCALATE_AFTER_S = 20;
const FIRE_NODE = 'san-thang-03';
const CONTROL_NODE = 'nam-loong-02';
const OFFLINE_NODE = 'doan-ket-02';

/** Weather per zone at the 13:00-style window: different P, so different levels on the map. */
const CLIMATE: Record<string, [number, number]> = {
  'quyet-thang': [22, 75],
  'tan-phong': [33, 25],
  'quyet-tien': [35, 20],
  'doan-ket': [28, 55],
  'nam-loong': [40, 12],
  'dong-phong': [25, 60],
  'san-thang': [41, 10],
};

let tmp: ReturnType<typeof tempDataDir>;
const procs: Record<string, ServiceProcess> = {};
let mqttUrl = '';
let boardUrl = '';
let boardEnv: Record<string, string> = {};
let publisher: MqttClient;
let observer: MqttClient;
let chromium: { browser: Browser; close: () => Promise<void> };
const dangers: { d: Danger; at: number }[] = [];
const events: { e: FireEvent; at: number }[] = [];
const out = skip ? '' : outputDir('board');
const perNode = new Map<string, number>();
/** Start of the test's timeline (a whole minute, 40 minutes ago). */
const T0 = Math.floor((Date.now() - 40 * MIN) / MIN) * MIN;

function reading(nodeId: string, tsMs: number, smoke = 100): Reading {
  const zone = site.nodes.find((n) => n.id === nodeId)?.zone ?? '';
  const [t, rh] = CLIMATE[zone] ?? [25, 60];
  const k = (perNode.get(nodeId) ?? 0) + 1;
  perNode.set(nodeId, k);
  // Small variation per node: identical values 30 times in a row would be a stuck sensor.
  return { nodeId, seq: k, ts: new Date(tsMs).toISOString(), temperatureC: t + (k % 3) * 0.1, humidityPct: rh + (k % 2), smoke: smoke + (k % 5) };
}

async function publishMinute(m: number, smokeFor: Record<string, number> = {}, skipNodes: readonly string[] = []): Promise<void> {
  await Promise.all(
    site.nodes.filter((n) => !skipNodes.includes(n.id)).map((n) => publisher.publishAsync(topics.reading(n.id), JSON.stringify(reading(n.id, T0 + m * MIN, smokeFor[n.id])), { qos: 1 })),
  );
}

/** The rules' official window: 13:00 of the Lai Châu rules moved to T0 + 15 min (local minute of day). */
function officialMinute(): number {
  const local = new Date(T0 + 15 * MIN + 7 * 3_600_000);
  return local.getUTCHours() * 60 + local.getUTCMinutes();
}

function start(name: string, command: string, env: Record<string, string>): ServiceProcess {
  const p = new ServiceProcess(command, { EWS_SITE_FILE: join(tmp.dir, 'site.yaml'), EWS_BROKER_SECRET: TEST_SECRET, EWS_HTTP_PORT: '0', EWS_LOG_LEVEL: 'info', ...env }).start();
  procs[name] = p;
  return p;
}

function latestOfficial(): Map<string, Danger> {
  const m = new Map<string, Danger>();
  for (const { d } of dangers) if (d.official && (!m.has(d.zoneId) || Date.parse(m.get(d.zoneId)!.ts) <= Date.parse(d.ts))) m.set(d.zoneId, d);
  return m;
}

async function signIn(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${boardUrl}/`);
  expect(page.url(), 'an anonymous visit lands on the sign-in page').toBe(`${boardUrl}/login`);
  await page.fill('#user', MEMBER);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL(`${boardUrl}/`), page.click('button[type=submit]')]);
  await page.waitForSelector('body[data-ready="true"]');
  return page;
}

describe.skipIf(skip)(skipTitle('the situation board in a real browser against the real services', skip), () => {
  beforeAll(async () => {
    tmp = tempDataDir('board-browser');
    // The site file with a suspected fire escalating after 20 s (instead of 5 min), so the test sees a step.
    const siteText = readFileSync(SITE_FILE, 'utf8')
      .replace('        - { afterS: 300, to: [ team-members ] }', `        - { afterS: ${ESCALATE_AFTER_S}, to: [ team-members ] }`)
      .replace('        - { afterS: 600, to: [ commune-board ] }', `        - { afterS: ${ESCALATE_AFTER_S + 600}, to: [ commune-board ] }`)
      .replace('        - { afterS: 900, to: [ city-board ] }', `        - { afterS: ${ESCALATE_AFTER_S + 900}, to: [ city-board ] }`);
    expect(siteText).toContain(`afterS: ${ESCALATE_AFTER_S}, to: [ team-members ]`);
    writeFileSync(join(tmp.dir, 'site.yaml'), siteText);
    // Fires more than 1.5 km apart stay separate incidents; the official window sits inside the test's timeline.
    writeFileSync(join(tmp.dir, 'rules.yaml'), `detection:\n  plumeJoinDistanceM: 1500\ndanger:\n  officialMinute: ${officialMinute()}\n`);

    const mqttPort = await freePort();
    mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;
    const alertsPort = await freePort();
    const boardPort = await freePort();
    boardUrl = `http://127.0.0.1:${boardPort}`;
    await start('broker', 'broker', { EWS_DATA_DIR: join(tmp.dir, 'broker'), MQTT_HOST: '127.0.0.1', MQTT_PORT: String(mqttPort), MQTT_WS_PORT: '0' }).waitForLog('MQTT broker listening');
    const client = { MQTT_URL: mqttUrl };
    const ingest = start('ingest', 'ingest', { ...client, EWS_DATA_DIR: join(tmp.dir, 'ingest'), INGEST_FLUSH_MS: '100' });
    const rules = start('rules', 'rules', { ...client, EWS_DATA_DIR: join(tmp.dir, 'rules'), RULES_CLOCK: 'readings', RULES_CONFIG_FILE: join(tmp.dir, 'rules.yaml') });
    const alerts = start('alerts', 'alerts run', { ...client, EWS_DATA_DIR: join(tmp.dir, 'alerts'), ALERTS_HTTP_PORT: String(alertsPort), ALERTS_PUBLIC_URL: `http://127.0.0.1:${alertsPort}`, ALERTS_API_KEY: API_KEY });
    boardEnv = {
      ...client,
      EWS_DATA_DIR: join(tmp.dir, 'board'),
      BOARD_HTTP_PORT: String(boardPort),
      BOARD_USERS: `${MEMBER}:${await hashPassword(PASSWORD)}`,
      BOARD_KIOSK_TOKEN: KIOSK,
      BOARD_ALERTS_URL: `http://127.0.0.1:${alertsPort}`,
      ALERTS_API_KEY: API_KEY,
      BOARD_LOCAL_STORE_FILE: join(tmp.dir, 'ingest', 'ingest.sqlite'),
    };
    const board = start('board', 'board', boardEnv);
    await Promise.all([ingest.waitForLog('ingest subscribed', 30_000), rules.waitForLog('rules subscribed', 30_000), alerts.waitForLog('alerts subscribed', 30_000), board.waitForLog('board connected to the broker', 30_000)]);
    // The alerts service and the board subscribe right after connecting.
    await new Promise((r) => setTimeout(r, 1000));

    observer = await connectAs(mqttUrl, 'svc-observer');
    observer.on('message', (topic, payload) => {
      const at = Date.now();
      if (topic.startsWith('ews/v1/danger/')) dangers.push({ d: dangerSchema.parse(JSON.parse(payload.toString())), at });
      if (topic.startsWith('ews/v1/events/')) events.push({ e: eventSchema.parse(JSON.parse(payload.toString())), at });
    });
    await observer.subscribeAsync([topics.allDanger, topics.allEvents], { qos: 1 });
    publisher = await connectAs(mqttUrl, 'svc-simulator');
    // 35 minutes of every node's readings: the official window closes inside them.
    for (let m = 0; m <= 34; m++) await publishMinute(m);
    await waitFor(() => latestOfficial().size === site.zones.length, 60_000, 'the official level of every zone from the rules service');
    chromium = await launchChromium();
  }, 240_000);

  afterAll(async () => {
    await chromium?.close();
    await publisher?.endAsync();
    await observer?.endAsync();
    for (const p of Object.values(procs).reverse()) await p.stop('SIGTERM');
    tmp?.remove();
  });

  it('nothing answers without a session: the page redirects to sign-in, the API and the bundle say 401; a wrong password is refused', async () => {
    const root = await fetch(`${boardUrl}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/login');
    for (const path of ['/api/state', '/api/stream', '/api/series?zone=san-thang', '/assets/board.js', `/bulletin/${latestOfficial().values().next().value?.date}`]) {
      const r = await fetch(`${boardUrl}${path}`, { redirect: 'manual' });
      expect([401, 302], path).toContain(r.status);
      if (path.startsWith('/api') || path.startsWith('/assets')) expect(r.status, path).toBe(401);
    }
    const ack = await fetch(`${boardUrl}/api/ack`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"alertId":"x"}' });
    expect(ack.status).toBe(401);
    const login = await fetch(`${boardUrl}/login`);
    expect(login.status).toBe(200);
    expect(await login.text()).toMatch(/<form method="post" action="\/login"/);
    expect((await fetch(`${boardUrl}/kiosk/not-the-token-0123456789-0123456789`, { redirect: 'manual' })).status).toBe(404);

    const context = await chromium.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${boardUrl}/login`);
    await page.fill('#user', MEMBER);
    await page.fill('#password', 'wrong password');
    await page.click('button[type=submit]');
    await page.waitForSelector('.error');
    expect(await page.textContent('.error')).toContain('Sai mã thành viên hoặc mật khẩu');
    expect((await context.cookies()).map((c) => c.name)).not.toContain('ews_board_session');
    await context.close();
  });

  it('after sign-in the page shows the 7 zones with the levels the rules service published; a fire appears within 2 s; acknowledging it on the page stops its escalation', async () => {
    const context = await chromium.browser.newContext({ viewport: { width: 1920, height: 1080 } });
    const page = await signIn(context);
    page.on('dialog', (d) => void d.accept());
    const official = latestOfficial();
    for (const z of site.zones) {
      const row = page.locator(`.zone-row[data-zone="${z.id}"]`);
      await expect.poll(() => row.getAttribute('data-level'), { timeout: 5000, message: z.id }).toBe(String(official.get(z.id)?.level ?? ''));
      expect(await row.textContent()).toContain(z.name);
      const label = page.locator(`.map .zone-label[data-zone="${z.id}"]`);
      expect(await label.getAttribute('data-level'), `map label ${z.id}`).toBe(String(official.get(z.id)?.level ?? ''));
      expect(await label.textContent(), 'the level is written on the map').toContain(`Cấp ${['', 'I', 'II', 'III', 'IV', 'V'][official.get(z.id)?.level ?? 0] ?? '–'}`);
    }
    expect(new Set([...official.values()].map((d) => d.level)).size, 'the climate per zone gives several levels').toBeGreaterThan(1);

    // Two fires (one to acknowledge, one left alone as the control): three anomalous smoke readings each.
    for (let m = 35; m <= 38; m++) await publishMinute(m, { [FIRE_NODE]: 900, [CONTROL_NODE]: 900 });
    await waitFor(() => events.filter((x) => x.e.kind === 'fire-suspected').length === 2, 30_000, 'two fire-suspected events from the rules service').catch((err: unknown) => {
      throw new Error(`${String(err)}; events so far: ${JSON.stringify(events.map((x) => [x.e.kind, x.e.nodeId, x.e.ts, x.e.detail.fault ?? '']))}`);
    });
    const fire = events.find((x) => x.e.kind === 'fire-suspected' && x.e.nodeId === FIRE_NODE);
    const control = events.find((x) => x.e.kind === 'fire-suspected' && x.e.nodeId === CONTROL_NODE);
    expect(fire && control).toBeTruthy();
    const incident = String(fire!.e.detail.incidentId);
    await page.waitForSelector(`.fire-card[data-incident="${incident}"]`, { timeout: 10_000 });
    const shownAt = Date.now();
    console.log(`fire-suspected published → on the open page: ${shownAt - fire!.at} ms`);
    expect(shownAt - fire!.at, 'a new fire shows on an open page within 2 s (issue promise)').toBeLessThanOrEqual(2000);
    expect(await page.locator(`.map .fire[data-incident="${incident}"]`).count(), 'the fire is drawn on the map').toBe(1);

    // The alert of that fire, its first SMS, then the acknowledgement from the page.
    const card = page.locator(`.fire-card[data-incident="${incident}"]`);
    await card.locator('.alert[data-status="active"] .ack-button').waitFor({ timeout: 10_000 });
    const alertId = await card.locator('.alert').first().getAttribute('data-alert');
    expect(alertId).toBe(fire!.e.eventId);
    await card.locator('.ack-button').click();
    await card.locator('.alert[data-status="acknowledged"]').waitFor({ timeout: 10_000 });
    expect(await card.locator('.ack.done').textContent()).toMatch(/city-board-m01.*bảng tình hình/);

    // Past the escalation step: the acknowledged alert escalated to nobody; the control alert did.
    const alertsDb = join(tmp.dir, 'alerts', 'alerts.sqlite');
    const steps = (id: string) => {
      const db = new Database(alertsDb, { readonly: true });
      try {
        return (db.prepare('SELECT step, state FROM outbox WHERE alert_id = ?').all(id) as { step: string; state: string }[]).map((r) => r.step);
      } finally {
        db.close();
      }
    };
    await waitFor(() => steps(control!.e.eventId).some((s) => s.startsWith('esc')), (ESCALATE_AFTER_S + 30) * 1000, 'the control alert escalates');
    expect(steps(alertId!).filter((s) => s.startsWith('esc')), 'no escalation after the acknowledgement').toStrictEqual([]);
    expect(steps(alertId!)).toContain('initial');
    const db = new Database(alertsDb, { readonly: true });
    const acks = db.prepare('SELECT by, channel, effective FROM acks WHERE alert_id = ?').all(alertId) as { by: string; channel: string; effective: number }[];
    db.close();
    expect(acks).toStrictEqual([{ by: expect.stringContaining('(city-board-m01)') as unknown as string, channel: 'board', effective: 1 }]);
    // The control alert shows its escalation step on the page.
    await page.locator(`.fire-card[data-incident="${String(control!.e.detail.incidentId)}"] .escalation`).filter({ hasText: '1/3' }).waitFor({ timeout: 10_000 });

    await page.screenshot({ path: join(out, 'board-wall-1920x1080.png') });
    await context.close();
  });

  it('a node going offline turns its marker and its zone freshness; the kiosk link shows the board read-only; phone size', async () => {
    // Live readings at the wall clock, so every node is fresh; one node reports with its own account and a will.
    const node = await mqtt.connectAsync(mqttUrl, {
      clientId: OFFLINE_NODE,
      username: OFFLINE_NODE,
      password: derivePassword(TEST_SECRET, OFFLINE_NODE),
      will: { topic: topics.status(OFFLINE_NODE), payload: Buffer.from(JSON.stringify({ nodeId: OFFLINE_NODE, status: 'offline', reason: 'connection lost' })), qos: 1, retain: true },
      reconnectPeriod: 0,
    });
    await node.publishAsync(topics.status(OFFLINE_NODE), JSON.stringify({ nodeId: OFFLINE_NODE, status: 'online', ts: new Date().toISOString() }), { qos: 1, retain: true });
    let live = true;
    let down = false;
    const loop = (async () => {
      while (live) {
        const now = Date.now();
        await Promise.all(site.nodes.filter((n) => n.id !== OFFLINE_NODE).map((n) => publisher.publishAsync(topics.reading(n.id), JSON.stringify(reading(n.id, now, n.id === FIRE_NODE || n.id === CONTROL_NODE ? 900 : 100)), { qos: 1 })));
        if (!down) await node.publishAsync(topics.reading(OFFLINE_NODE), JSON.stringify(reading(OFFLINE_NODE, now)), { qos: 1 });
        await new Promise((r) => setTimeout(r, 2000));
      }
    })();
    try {
      const context = await chromium.browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
      const page = await context.newPage();
      await page.goto(`${boardUrl}/kiosk/${KIOSK}`);
      await page.waitForSelector('body[data-ready="true"]');
      expect(page.url()).toBe(`${boardUrl}/`);
      const marker = page.locator(`.map .node[data-node="${OFFLINE_NODE}"]`);
      const zoneRow = page.locator('.zone-row[data-zone="doan-ket"]');
      const nodesInZone = site.nodes.filter((n) => n.zone === 'doan-ket').length;
      await expect.poll(() => marker.getAttribute('data-health'), { timeout: 15_000 }).toBe('ok');
      await expect.poll(() => zoneRow.getAttribute('data-freshness'), { timeout: 15_000 }).toBe('ok');
      expect(await zoneRow.locator('.fresh').textContent()).toBe(`${nodesInZone}/${nodesInZone}`);
      // The kiosk view is read-only: no acknowledge button, and the API refuses it.
      expect(await page.locator('.ack-button').count()).toBe(0);
      const kioskAck = await page.evaluate(async () => (await fetch('/api/ack', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"alertId":"x"}' })).status);
      expect([403]).toContain(kioskAck);

      // The node's link drops without a DISCONNECT: the broker publishes its will.
      down = true;
      node.stream.destroy();
      await expect.poll(() => marker.getAttribute('data-health'), { timeout: 5000, message: 'the marker turns offline' }).toBe('offline');
      await expect.poll(() => zoneRow.getAttribute('data-freshness'), { timeout: 5000 }).toBe('partial');
      expect(await zoneRow.locator('.fresh').textContent()).toBe(`${nodesInZone - 1}/${nodesInZone}`);
      expect(await page.locator(`.node-row[data-node="${OFFLINE_NODE}"] .health`).textContent()).toBe('Mất kết nối');

      for (const z of site.zones) expect(await page.locator(`.zone-row[data-zone="${z.id}"]`).textContent()).toContain(z.name);
      await page.screenshot({ path: join(out, 'board-phone-390x844.png'), fullPage: true });
      await page.screenshot({ path: join(out, 'board-phone-390x844-top.png') });
      await context.close();
      // The wall screen as the kiosk shows it with live data (the README's picture).
      const wall = await chromium.browser.newContext({ viewport: { width: 1920, height: 1080 } });
      const kioskPage = await wall.newPage();
      await kioskPage.goto(`${boardUrl}/kiosk/${KIOSK}`);
      await kioskPage.waitForSelector('body[data-ready="true"]');
      await kioskPage.locator(`.map .node[data-node="${OFFLINE_NODE}"][data-health="offline"]`).waitFor({ timeout: 5000 });
      await kioskPage.waitForSelector('.charts .uplot', { timeout: 10_000 });
      await kioskPage.screenshot({ path: join(out, 'board-kiosk-1920x1080.png') });
      await wall.close();
    } finally {
      live = false;
      await loop;
      node.end(true);
    }
  });

  it('the page recovers by itself after the board restarts, with what happened meanwhile (persistent MQTT session, sessions on disk)', async () => {
    const context = await chromium.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await signIn(context);
    await page.waitForSelector('.conn.ok');
    expect(await procs.board!.stop('SIGKILL')).toBeNull();
    await page.waitForSelector('.conn.down', { timeout: 10_000 });
    expect(await page.locator('#banner').textContent()).toContain('Mất kết nối máy chủ');
    // While the board is down, the node comes back and tells the broker.
    await publisher.publishAsync(topics.status(OFFLINE_NODE), JSON.stringify({ nodeId: OFFLINE_NODE, status: 'online', ts: new Date().toISOString() }), { qos: 1, retain: true });
    await publisher.publishAsync(topics.reading(OFFLINE_NODE), JSON.stringify(reading(OFFLINE_NODE, Date.now())), { qos: 1 });
    procs.board = new ServiceProcess('board', { EWS_SITE_FILE: join(tmp.dir, 'site.yaml'), EWS_BROKER_SECRET: TEST_SECRET, EWS_HTTP_PORT: '0', ...boardEnv }).start();
    await procs.board.waitForLog('board connected to the broker', 30_000);
    await page.waitForSelector('.conn.ok', { timeout: 30_000 });
    expect(page.url(), 'still signed in after the restart').toBe(`${boardUrl}/`);
    await expect.poll(() => page.locator(`.map .node[data-node="${OFFLINE_NODE}"]`).getAttribute('data-health'), { timeout: 15_000 }).not.toBe('offline');
    await context.close();
  });

  it('the daily bulletin: a page for the day, its PDF from the board and `fire-ews bulletin --date D --out f.pdf`, in Vietnamese, first page not blank', async () => {
    const date = [...latestOfficial().values()][0]!.date;
    const context = await chromium.browser.newContext();
    const page = await signIn(context);
    await page.goto(`${boardUrl}/bulletin/${date}`);
    expect(await page.textContent('h1')).toBe('BẢN TIN CẤP DỰ BÁO CHÁY RỪNG');
    for (const z of site.zones) expect(await page.locator(`tr[data-zone="${z.id}"]`).getAttribute('data-level'), z.id).toBe(String(latestOfficial().get(z.id)?.level ?? ''));
    const served = await page.request.get(`${boardUrl}/bulletin/${date}.pdf`);
    expect(served.status()).toBe(200);
    expect(served.headers()['content-type']).toBe('application/pdf');
    expect((await served.body()).subarray(0, 5).toString()).toBe('%PDF-');
    await context.close();

    const pdf = join(out, `bulletin-${date}.pdf`);
    const r = spawnSync(process.execPath, ['bin/fire-ews.js', 'bulletin', '--date', date, '--out', pdf], { cwd: new URL('../..', import.meta.url).pathname, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', EWS_SITE_FILE: join(tmp.dir, 'site.yaml'), EWS_DATA_DIR: join(tmp.dir, 'board') }, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`wrote .*bulletin of ${date}, 7/7 zones`));
    expect(readFileSync(pdf).subarray(0, 5).toString()).toBe('%PDF-');
    execFileSync('pdftoppm', ['-png', '-r', '60', '-f', '1', '-l', '1', '-singlefile', pdf, join(out, 'bulletin-page1')]);
    const text = execFileSync('pdftotext', ['-f', '1', '-l', '1', pdf, '-'], { encoding: 'utf8' });
    expect(text, 'accented Vietnamese survives in the PDF').toContain('BẢN TIN CẤP DỰ BÁO CHÁY RỪNG');
    for (const z of site.zones) expect(text).toContain(z.name);
    const missing = spawnSync(process.execPath, ['bin/fire-ews.js', 'bulletin', '--date', '2001-01-01', '--out', join(out, 'none.pdf')], { cwd: new URL('../..', import.meta.url).pathname, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', EWS_SITE_FILE: join(tmp.dir, 'site.yaml'), EWS_DATA_DIR: join(tmp.dir, 'board') }, encoding: 'utf8' });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^no official level for 2001-01-01 in .*board\.sqlite/);
  });

  it('the screenshots and the printed page are not blank or broken', () => {
    for (const [file, w, h] of [
      ['board-wall-1920x1080.png', 1920, 1080],
      ['board-kiosk-1920x1080.png', 1920, 1080],
      ['board-phone-390x844-top.png', 780, 1688],
      ['bulletin-page1.png', 0, 0],
    ] as const) {
      const s = pngStats(join(out, file));
      if (w) expect([s.width, s.height], file).toStrictEqual([w, h]);
      expect(s.colours, `${file}: a real page has many colours`).toBeGreaterThan(200);
      expect(s.luminanceStd, `${file}: not one flat colour`).toBeGreaterThan(20);
      expect(s.darkShare, `${file}: some dark text`).toBeGreaterThan(0.005);
    }
  });
});
