// The board's drill pages in a real browser (Debian's chromium through playwright-core) against the
// real services as child processes: `fire-ews broker`, `alerts run` (dry-run SMS; a suspected-fire
// drill escalates after 20 s in a copy of the site file) and `board`. Proves: a signed-in member
// finds the drills from the main page's link (the kiosk screen has none and cannot open them), starts
// a drill with the form, and ends it from its report page; the alerts service then sends none of its
// escalation, and records who ended it. A screenshot of the report goes to test-output/board-drills/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parseDocument } from 'yaml';
import type { Browser } from 'playwright-core';
import { hashPassword } from '../../board/auth.ts';
import { browserSkipReason, launchChromium, outputDir, pngStats } from '../harness/browser.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { SITE_FILE, ServiceProcess, TEST_SECRET, tempDataDir } from '../harness/services.ts';
import { skipTitle } from '../harness/skip.ts';

const skip = browserSkipReason();
const API_KEY = 'board-drills-browser-api-key-0123';
const KIOSK = 'kiosk-token-for-the-drills-browser-test-0123456789';
const MEMBER = 'city-board-m01';
const PASSWORD = 'correct horse battery';
const ESCALATE_AFTER_S = 20;

let tmp: ReturnType<typeof tempDataDir>;
const procs: ServiceProcess[] = [];
let boardUrl = '';
let chromium: { browser: Browser; close: () => Promise<void> };
const out = skip ? '' : outputDir('board-drills');

function start(command: string, env: Record<string, string>): ServiceProcess {
  const p = new ServiceProcess(command, { EWS_SITE_FILE: join(tmp.dir, 'site.yaml'), EWS_BROKER_SECRET: TEST_SECRET, EWS_HTTP_PORT: '0', EWS_LOG_LEVEL: 'info', ...env }).start();
  procs.push(p);
  return p;
}

/** The drill's outbox rows by step (alerts.sqlite, read-only). */
function steps(drillId: string): string[] {
  const db = new Database(join(tmp.dir, 'alerts', 'alerts.sqlite'), { readonly: true });
  try {
    return (db.prepare('SELECT step FROM outbox WHERE drill_id = ?').all(drillId) as { step: string }[]).map((r) => r.step);
  } finally {
    db.close();
  }
}

describe.skipIf(skip)(skipTitle('the board\'s drill pages in a real browser against the real services', skip), () => {
  beforeAll(async () => {
    tmp = tempDataDir('board-drills-browser');
    // A suspected fire escalates to the teams after 20 s (instead of 5 min), so ending the drill visibly stops a step.
    const doc = parseDocument(readFileSync(SITE_FILE, 'utf8'));
    const routes = (doc.toJS() as { alerts: { routes: { kinds: string[] }[] } }).alerts.routes;
    const idx = routes.findIndex((r) => r.kinds.includes('fire-suspected'));
    doc.setIn(['alerts', 'routes', idx, 'escalation'], doc.createNode([{ afterS: ESCALATE_AFTER_S, to: ['team-members'] }]));
    doc.set('drills', doc.createNode([]));
    writeFileSync(join(tmp.dir, 'site.yaml'), doc.toString({ lineWidth: 0 }));

    const mqttPort = await freePort();
    const alertsPort = await freePort();
    const boardPort = await freePort();
    boardUrl = `http://127.0.0.1:${boardPort}`;
    const mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;
    await start('broker', { EWS_DATA_DIR: join(tmp.dir, 'broker'), MQTT_HOST: '127.0.0.1', MQTT_PORT: String(mqttPort), MQTT_WS_PORT: '0' }).waitForLog('MQTT broker listening');
    const alerts = start('alerts run', { MQTT_URL: mqttUrl, EWS_DATA_DIR: join(tmp.dir, 'alerts'), ALERTS_HTTP_PORT: String(alertsPort), ALERTS_PUBLIC_URL: `http://127.0.0.1:${alertsPort}`, ALERTS_API_KEY: API_KEY });
    const board = start('board', {
      MQTT_URL: mqttUrl,
      EWS_DATA_DIR: join(tmp.dir, 'board'),
      BOARD_HTTP_PORT: String(boardPort),
      BOARD_USERS: `${MEMBER}:${await hashPassword(PASSWORD)}`,
      BOARD_KIOSK_TOKEN: KIOSK,
      BOARD_ALERTS_URL: `http://127.0.0.1:${alertsPort}`,
      ALERTS_API_KEY: API_KEY,
      BOARD_LOCAL_STORE_FILE: join(tmp.dir, 'no-ingest.sqlite'),
    });
    await Promise.all([alerts.waitForLog('alerts subscribed', 60_000), board.waitForLog('board connected to the broker', 60_000)]);
    chromium = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await chromium?.close();
    for (const p of procs.reverse()) await p.stop('SIGTERM');
    tmp?.remove();
  });

  it('a member finds the drills from the main page, starts one and ends it from its report: no escalation follows; the kiosk has no link and no access', { timeout: 120_000 }, async () => {
    const context = await chromium.browser.newContext({ viewport: { width: 1920, height: 1080 } });
    const page = await context.newPage();
    await page.goto(`${boardUrl}/login`);
    await page.fill('#user', MEMBER);
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(`${boardUrl}/`), page.click('button[type=submit]')]);
    await page.waitForSelector('body[data-ready="true"]');

    // The main page's link, beside the bulletin's.
    const link = page.locator('nav a#drills-link');
    expect(await link.textContent()).toBe('Diễn tập');
    await Promise.all([page.waitForURL(`${boardUrl}/drills`), link.click()]);
    expect(await page.textContent('h1')).toBe('Diễn tập chữa cháy rừng');

    // Start a dry-run suspected-fire drill of San Thàng from the form.
    await page.selectOption('select[name=zoneId]', 'san-thang');
    await page.selectOption('select[name=kind]', 'fire-suspected');
    await page.check('input[name=dryRun]');
    await Promise.all([page.waitForURL(/\/drills\/san-thang-\d{8}-\d{4}-[a-z2-9]{4}$/), page.click('form[action="/drills"] button[type=submit]')]);
    const drillId = page.url().split('/').pop() as string;
    const startedAt = Date.now();
    expect(await page.textContent('.banner')).toBe('DIỄN TẬP — không phải cháy thật');
    expect(await page.textContent('body')).toContain('đang diễn ra');
    await waitFor(() => steps(drillId).includes('initial'), 10_000, 'the drill\'s first messages recorded');

    // End it from the report, before its escalation is due.
    await Promise.all([page.waitForURL(`${boardUrl}/drills/${drillId}`), page.click('#end-drill')]);
    expect(Date.now() - startedAt, 'ended before the escalation step (slow machine: rerun)').toBeLessThan(ESCALATE_AFTER_S * 1000);
    expect(await page.textContent('body')).toMatch(/kết thúc \d\d\/\d\d \d\d:\d\d \(Giàng Thanh Mai \(city-board-m01\)\)\./);
    expect(await page.locator('#end-drill').count(), 'an ended drill has no end button').toBe(0);
    await page.screenshot({ path: join(out, 'drill-report.png'), fullPage: true });
    const stats = pngStats(join(out, 'drill-report.png'));
    expect(stats.colours).toBeGreaterThan(10);
    expect(stats.darkShare).toBeGreaterThan(0.001);

    // Past the escalation time: the ended drill sent no escalation; the alerts service says who ended it.
    await new Promise((r) => setTimeout(r, Math.max(0, startedAt + (ESCALATE_AFTER_S + 5) * 1000 - Date.now())));
    expect(steps(drillId).filter((s) => s !== 'initial'), 'no escalation after the drill ended').toStrictEqual([]);
    expect(procs[2]?.logs.some((l) => l.msg === 'drill ended from the board' && l.drillId === drillId && l.memberId === MEMBER)).toBe(true);
    const db = new Database(join(tmp.dir, 'alerts', 'alerts.sqlite'), { readonly: true });
    const state = JSON.parse((db.prepare('SELECT json FROM engine_state WHERE id = 1').get() as { json: string }).json) as { alerts: Record<string, { status: string; resolvedBy: string | null }> };
    db.close();
    expect(state.alerts[`drill-${drillId}`]).toMatchObject({ status: 'resolved', resolvedBy: expect.stringMatching(/\(city-board-m01\)$/) as unknown as string });
    await context.close();

    // The kiosk: no link on the wall screen, and the drill pages refuse it.
    const kiosk = await chromium.browser.newContext();
    const wall = await kiosk.newPage();
    await wall.goto(`${boardUrl}/kiosk/${KIOSK}`);
    await wall.waitForSelector('body[data-ready="true"]');
    expect(await wall.locator('#bulletin-link').count()).toBe(1);
    expect(await wall.locator('#drills-link').count()).toBe(0);
    const refused = await wall.goto(`${boardUrl}/drills/${drillId}`);
    expect(refused?.status()).toBe(403);
    await kiosk.close();
  });
});
