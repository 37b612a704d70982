// Sensor drills started from the board's form and from the site file's schedule, through the real
// processes as an operator runs them: `fire-ews broker` (the site's ACL), `rules`, `alerts run` (dry-run
// SMS; a copy of the site file whose `drills:` has a `depth: sensor` entry due a minute ago, so the
// start-up catch-up decides it), `drill-player` (svc-simulator) and `board`. Neither alerts nor the board
// plays a plume: alerts publishes a request on ews/v1/drill/requests/<zone>, the player plans the plume,
// starts the drill through the alerts API with the request's drill id and plays it at 90×. Proves: a
// member's sensor drill from the form (ignition at the node chosen there; a node of another zone first
// refused, the reason on the page) and the scheduled one are both detected by rules and end with DIEN
// TAP drill SMS in the outbox; a request kept for the player while it was SIGKILLed, for a drill that
// exists already, is not played again after its restart; a stale request is refused; a node's account
// cannot publish a request. No InfluxDB or ingest here: rules reads the drill readings itself
// (test/integration/sensor-drills.test.ts covers ingest's drill_reading).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { parseDocument } from 'yaml';
import { afterAll, assert, beforeAll, describe, expect, it } from 'vitest';
import { drillReportSchema, type DrillReport } from '../../contracts/alerts-api.ts';
import { topics } from '../../contracts/topics.ts';
import { hashPassword } from '../../board/auth.ts';
import { scheduledDrillId } from '../../alerts/drill-schedule.ts';
import { scheduledDrillSchema } from '../../contracts/site.ts';
import { derivePassword } from '../../platform/credentials.ts';
import { integrationSkipReason } from '../harness/influxd.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { connectAs, ServiceProcess, SITE_FILE, TEST_SECRET, tempDataDir } from '../harness/services.ts';
import { skipTitle } from '../harness/skip.ts';

const skip = integrationSkipReason();
const API_KEY = 'drill-requests-test-api-key-0123456789';
const MEMBER = 'city-board-m01';
const PASSWORD = 'correct horse battery';
const SPEED = 90;
const MINUTE_MS = 60_000;

let tmp: ReturnType<typeof tempDataDir>;
const procs: ServiceProcess[] = [];
let alertsUrl = '';
let boardUrl = '';
let mqttUrl = '';
let broker: ServiceProcess;
let alerts: ServiceProcess;
let player: ServiceProcess;
let playerEnv: Record<string, string>;
let scheduledId = '';

function start(command: string, env: Record<string, string>): ServiceProcess {
  const p = new ServiceProcess(command, { EWS_SITE_FILE: join(tmp.dir, 'site.yaml'), EWS_BROKER_SECRET: TEST_SECRET, EWS_HTTP_PORT: '0', EWS_LOG_LEVEL: 'info', ...env }).start();
  procs.push(p);
  return p;
}

/** `HH:mm` of a wall-clock instant in the site's timezone (Asia/Ho_Chi_Minh, UTC+7, no DST). */
const localMinute = (ms: number) => {
  const d = new Date(ms + 7 * 3_600_000);
  return { minute: d.getUTCMinutes(), hour: d.getUTCHours() };
};

const report = async (drillId: string): Promise<DrillReport | null> => {
  const res = await fetch(`${alertsUrl}/api/drills/${drillId}`, { headers: { 'x-api-key': API_KEY } });
  return res.status === 404 ? null : drillReportSchema.parse(await res.json());
};

/** The drill's SMS as the dry-run outbox holds them (alerts.sqlite, read-only). */
function drillSms(drillId: string): { body: string; state: string }[] {
  const db = new Database(join(tmp.dir, 'alerts', 'alerts.sqlite'), { readonly: true });
  try {
    return db.prepare('SELECT body, state FROM outbox WHERE drill_id = ?').all(drillId) as { body: string; state: string }[];
  } finally {
    db.close();
  }
}

/** The cookies a response sets, as one Cookie header (merged over `jar`). */
function withCookies(jar: Record<string, string>, res: Response): Record<string, string> {
  const next = { ...jar };
  for (const c of res.headers.getSetCookie()) {
    const [pair = ''] = c.split(';');
    const i = pair.indexOf('=');
    next[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return next;
}
const cookieHeader = (jar: Record<string, string>) => Object.entries(jar).map(([k, v]) => `${k}=${v}`).join('; ');
const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';

describe.skipIf(skip)(skipTitle('sensor drills from the board\'s form and the schedule, played by the drill player (processes)', skip), () => {
  beforeAll(async () => {
    tmp = tempDataDir('drill-requests');
    // The schedule: a dry-run sensor drill of Nậm Loỏng due two minutes ago (node-cron, the site's local
    // time): alerts' start-up catch-up (CATCH_UP_MS) asks the player for it 10 s after start.
    const due = Math.floor((Date.now() - 2 * MINUTE_MS) / MINUTE_MS) * MINUTE_MS;
    const { minute, hour } = localMinute(due);
    const entry = { zone: 'nam-loong', cron: `${minute} ${hour} * * *`, depth: 'sensor', speed: SPEED, dryRun: true };
    scheduledId = scheduledDrillId(scheduledDrillSchema.parse(entry), due);
    const doc = parseDocument(readFileSync(SITE_FILE, 'utf8'));
    doc.set('drills', doc.createNode([entry]));
    writeFileSync(join(tmp.dir, 'site.yaml'), doc.toString({ lineWidth: 0 }));

    const mqttPort = await freePort();
    const alertsPort = await freePort();
    const boardPort = await freePort();
    alertsUrl = `http://127.0.0.1:${alertsPort}`;
    boardUrl = `http://127.0.0.1:${boardPort}`;
    mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;
    broker = start('broker', { EWS_DATA_DIR: join(tmp.dir, 'broker'), MQTT_HOST: '127.0.0.1', MQTT_PORT: String(mqttPort), MQTT_WS_PORT: '0' });
    await broker.waitForLog('MQTT broker listening', 60_000);
    // The player first: its persistent session must exist before alerts' catch-up publishes the scheduled request.
    playerEnv = { MQTT_URL: mqttUrl, EWS_DATA_DIR: join(tmp.dir, 'player'), ALERTS_URL: alertsUrl, ALERTS_API_KEY: API_KEY };
    player = start('drill-player', playerEnv);
    const rules = start('rules', { MQTT_URL: mqttUrl, EWS_DATA_DIR: join(tmp.dir, 'rules') });
    await player.waitForLog('drill player subscribed', 60_000);
    await rules.waitForLog('rules subscribed', 60_000);
    alerts = start('alerts run', { MQTT_URL: mqttUrl, EWS_DATA_DIR: join(tmp.dir, 'alerts'), ALERTS_HTTP_PORT: String(alertsPort), ALERTS_PUBLIC_URL: alertsUrl, ALERTS_API_KEY: API_KEY });
    const board = start('board', {
      MQTT_URL: mqttUrl,
      EWS_DATA_DIR: join(tmp.dir, 'board'),
      BOARD_HTTP_PORT: String(boardPort),
      BOARD_USERS: `${MEMBER}:${await hashPassword(PASSWORD)}`,
      BOARD_ALERTS_URL: alertsUrl,
      ALERTS_API_KEY: API_KEY,
      BOARD_LOCAL_STORE_FILE: join(tmp.dir, 'no-ingest.sqlite'),
    });
    await Promise.all([alerts.waitForLog('alerts subscribed', 60_000), board.waitForLog('board connected to the broker', 60_000)]);
  }, 240_000);

  afterAll(async () => {
    for (const p of procs.reverse()) await p.stop('SIGTERM');
    tmp?.remove();
  });

  it('a member asks for a sensor drill on the board\'s form and the schedule asks for one: the player plays both, rules detects both, DIEN TAP SMS go out', { timeout: 240_000 }, async () => {
    // Sign in (the login form's CSRF token and cookie), then the drills page's form.
    let jar: Record<string, string> = {};
    const loginPage = await fetch(`${boardUrl}/login`);
    jar = withCookies(jar, loginPage);
    const login = await fetch(`${boardUrl}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: cookieHeader(jar), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ user: MEMBER, password: PASSWORD, _csrf: csrfOf(await loginPage.text()) }).toString(),
    });
    expect(login.status, "signed in: redirected to the board").toBe(303);
    jar = withCookies(jar, login);
    const drillsPage = await fetch(`${boardUrl}/drills`, { headers: { cookie: cookieHeader(jar) } });
    expect(drillsPage.status).toBe(200);
    jar = withCookies(jar, drillsPage);
    const formHtml = await drillsPage.text();
    expect(formHtml).toContain('<select name="depth">');
    expect(formHtml).toContain('<option value="san-thang-07">');
    // A node of another zone: the alerts service refuses it (422) and the member reads why, on the page; nothing is requested.
    const wrongNode = await fetch(`${boardUrl}/drills`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: cookieHeader(jar), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ zoneId: 'san-thang', kind: 'fire-confirmed', depth: 'sensor', speed: String(SPEED), node: 'quyet-thang-01', dryRun: 'on', _csrf: csrfOf(formHtml) }).toString(),
    });
    expect(wrongNode.status).toBe(422);
    jar = withCookies(jar, wrongNode);
    const refusedHtml = await wrongNode.text();
    expect(refusedHtml).toContain('<p role="alert">Trạm quyet-thang-01 không thuộc khu vực San Thàng: ');
    // The member then chooses San Thàng's node 07 (not the zone's first) as the ignition node.
    const askedAt = Date.now();
    const asked = await fetch(`${boardUrl}/drills`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: cookieHeader(jar), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ zoneId: 'san-thang', kind: 'fire-confirmed', depth: 'sensor', speed: String(SPEED), node: 'san-thang-07', dryRun: 'on', _csrf: csrfOf(refusedHtml) }).toString(),
    });
    expect(asked.status, await asked.clone().text()).toBe(303);
    const location = asked.headers.get('location') ?? '';
    const requested = /^\/drills\?requested=(san-thang-\d{8}-\d{4}-[a-z2-9]{4})$/.exec(location);
    assert(requested, location);
    const boardId = requested[1] as string;
    const notice = await (await fetch(`${boardUrl}${location}`, { headers: { cookie: cookieHeader(jar) } })).text();
    expect(notice).toContain(`Đã yêu cầu diễn tập cảm biến ${boardId}`);

    // Both drills: started by the player under the requested ids, detected by rules, DIEN TAP drill SMS.
    for (const [drillId, startedBy] of [
      [boardId, 'Giàng Thanh Mai (city-board-m01)'],
      [scheduledId, 'schedule'],
    ] as const) {
      await waitFor(async () => (await report(drillId))?.sensor?.outcome === 'detected', 150_000, `sensor drill ${drillId} detected`, 500);
      const r = await report(drillId);
      assert(r?.sensor);
      expect(r.drill).toMatchObject({ drillId, depth: 'sensor', dryRun: true, startedBy });
      expect(r.sensor.speed).toBe(SPEED);
      expect(r.sensor.ignitionNode, 'the form\'s node; the schedule\'s default, the zone\'s first').toBe(drillId === boardId ? 'san-thang-07' : 'nam-loong-01');
      expect(r.sensor.detectionS, 'seconds of fire from ignition to detection').toBeGreaterThan(0);
      await waitFor(() => drillSms(drillId).length > 0, 20_000, `${drillId}: drill SMS in the outbox`);
      const sms = drillSms(drillId);
      const s = r.sensor;
      // The figures of this run (printed, not asserted: a shared 2-core machine).
      console.log(`${startedBy === 'schedule' ? 'scheduled' : 'board'} sensor drill ${drillId}: detected ${s.detectionS} s of fire after ignition; ${drillId === boardId ? `form → plume injected ${((s.plumeInjectedAt - askedAt) / 1000).toFixed(1)} s, form → first DIEN TAP SMS ${(((s.firstSmsAt ?? NaN) - askedAt) / 1000).toFixed(1)} s; ` : ''}${sms.length} SMS`);
      for (const m of sms) expect(m.body.startsWith('DIEN TAP'), m.body).toBe(true);
      expect(sms.every((m) => m.state === 'sent'), 'dry run: recorded as sent, handed to no transport').toBe(true);
    }
    // Each plume plays to its end (45 minutes of fire at 90×), whatever rules found meanwhile.
    const played = () => player.logs.filter((l) => l.msg === 'sensor drill plume played').map((l) => [l.drillId, l.sent]);
    await waitFor(() => played().length === 2, 90_000, 'both plumes played to their end');
    expect(played()).toContainEqual([boardId, 520]);
    expect(new Set(played().map(([id]) => id))).toStrictEqual(new Set([boardId, scheduledId]));
    expect(alerts.logs.some((l) => l.msg === 'scheduled sensor drill requested from the drill player' && l.drillId === scheduledId)).toBe(true);

    // A request kept for the player while it was down, for a drill that exists (a redelivery after a
    // crash): not played again once it is back. Published as svc-alerts, as the alerts service does.
    expect(await player.stop('SIGKILL')).toBeNull();
    const asAlerts = await connectAs(mqttUrl, 'svc-alerts', { clientId: 'ews-alerts-test-requests' });
    const again = { drillId: boardId, zoneId: 'san-thang', requestedAt: Date.now(), speed: SPEED, dryRun: true, startedBy: 'Giàng Thanh Mai (city-board-m01)' };
    await asAlerts.publishAsync(topics.drillRequest('san-thang'), JSON.stringify(again), { qos: 1 });
    const restartedAt = player.logs.length;
    player.start();
    await player.waitForLog('sensor drill request for a drill that exists already (a redelivery): not played again', 60_000, restartedAt);
    // A stale request (older than the player's 10-minute bound) is refused and logged.
    const stale = { ...again, drillId: 'san-thang-20200101-0000-abcd', requestedAt: Date.now() - 11 * MINUTE_MS };
    await asAlerts.publishAsync(topics.drillRequest('san-thang'), JSON.stringify(stale), { qos: 1 });
    expect(await player.waitForLog('sensor drill request refused', 10_000, restartedAt)).toMatchObject({ drillId: stale.drillId, outcome: 'stale' });
    await asAlerts.endAsync();
    expect(player.logs.slice(restartedAt).some((l) => l.msg === 'sensor drill requested: plume playing')).toBe(false);

    // A node's own account cannot ask for a drill: the broker refuses the publish and closes it.
    const node = await mqtt.connectAsync(mqttUrl, { clientId: 'san-thang-07', username: 'san-thang-07', password: derivePassword(TEST_SECRET, 'san-thang-07'), reconnectPeriod: 0 });
    const brokerAt = broker.logs.length;
    node.publish(topics.drillRequest('san-thang'), JSON.stringify({ ...again, drillId: 'san-thang-forged' }), { qos: 0 });
    expect(await broker.waitForLog('publish refused; closing the connection', 10_000, brokerAt)).toMatchObject({ clientId: 'san-thang-07', topic: 'ews/v1/drill/requests/san-thang', reason: 'node san-thang-07 may publish only its own readings and status' });
    await node.endAsync(true).catch(() => undefined);
    expect(await report('san-thang-forged')).toBeNull();
  });
});
