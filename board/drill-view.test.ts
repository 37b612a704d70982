// The board's drill pages: the report's figures as the page and the CSV show them (a report built by
// hand, so every number is known), and the HTTP rules — only signed-in members start, read and
// acknowledge drills, with CSRF; the kiosk and strangers get nothing (fastify inject, no socket).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import type { DrillReport } from '../contracts/alerts-api.ts';
import { sensorDrillRefusal } from '../alerts/drill-requests.ts';
import { FetchError } from '../platform/fetch-json.ts';
import { openDatabase } from '../platform/sqlite.ts';
import type { AlertsClient } from './alerts-client.ts';
import { hashPassword } from './auth.ts';
import { drillRefusalVi, drillReportCsv, renderDrillListHtml, renderDrillReportHtml, sensorDrillRequestedVi, seconds } from './drill-view.ts';
import { buildMapGeometry } from './geometry.ts';
import { createBoardHttp } from './http.ts';
import { LiveHub } from './live.ts';
import type { ReadingsSource } from './readings.ts';
import { emptySeries } from './series.ts';
import { BoardService } from './service.ts';
import { BoardStore } from './store.ts';
import { SITE } from '../test/support/board-fixtures.ts';

const T0 = Date.parse('2026-03-02T01:30:00Z');
const summary = { drillId: 'san-thang-20260302-0130-abcd', alertId: 'drill-san-thang-20260302-0130-abcd', zoneId: 'san-thang', kind: 'fire-suspected' as const, depth: 'alert' as const, dryRun: false, startedAt: T0, startedBy: 'cli', endedAt: null, endedBy: null, texted: 2, acknowledged: 1, medianResponseS: 30, worstResponseS: 30, escalationStepsReached: 1, detectionS: null, sensorOutcome: null };
const REPORT: DrillReport = {
  drill: summary,
  units: [
    {
      unit: 'team:team-stg-1',
      name: 'Tổ BVR San Thàng 1',
      texted: 2,
      acknowledged: 1,
      neverAcknowledged: 1,
      medianResponseS: 30,
      worstResponseS: 30,
      members: [
        { memberId: 'm1', name: 'Lò Văn A', leader: true, textedAt: T0, delivered: true, deliveredAt: T0 + 4000, ackedAt: T0 + 30_000, ackChannel: 'link', responseS: 30, steps: ['initial'], yieldedToReal: false },
        { memberId: 'm2', name: '=cmd, "x"', leader: false, textedAt: T0 + 300_000, delivered: null, deliveredAt: null, ackedAt: null, ackChannel: null, responseS: null, steps: ['esc1'], yieldedToReal: true },
      ],
    },
  ],
  previous: [{ ...summary, drillId: 'san-thang-20260201-0130-wxyz', startedAt: T0 - 29 * 86_400_000, texted: 8, acknowledged: 2, medianResponseS: 125, worstResponseS: 400, endedAt: T0 - 28 * 86_400_000 }],
  sensor: null,
};

describe('the drill report page and CSV', () => {
  it('shows every figure, marked as a drill, with the trend', () => {
    const html = renderDrillReportHtml(SITE, REPORT, { csrf: 'tok' });
    expect(html).toContain('DIỄN TẬP — không phải cháy thật');
    expect(html).toContain('Đã nhắn <b>2</b> người, đã xác nhận <b>1</b>; thời gian đến khi xác nhận: trung vị <b>30 s</b>, chậm nhất <b>30 s</b>; số bước chuyển cấp: <b>1</b>.');
    expect(html).toContain('Đã nhắn 2, đã xác nhận 1, chưa xác nhận 1; trung vị 30 s, chậm nhất 30 s.');
    expect(html).toContain('<span class="never">chưa xác nhận</span>');
    expect(html).toContain('liên kết SMS');
    expect(html).toContain('— dừng: có cảnh báo thật');
    expect(html).toContain('<td>2/8</td><td>2 ph 05 s</td><td>6 ph 40 s</td>');
    expect(html).toContain('=cmd, &#34;x&#34;');
    expect(html).toContain('action="/drills/san-thang-20260302-0130-abcd/ack"');
    expect(html).toContain('action="/drills/san-thang-20260302-0130-abcd/end"');
  });

  it('an ended drill, a printed report and a page without a member (no CSRF token) have no acknowledge or end button', () => {
    const ended = { ...REPORT, drill: { ...REPORT.drill, endedAt: T0 + 600_000, endedBy: 'Giàng Thanh Mai (city-board-m01)' } };
    expect(renderDrillReportHtml(SITE, ended, { csrf: 'tok' })).toContain(', kết thúc 02/03 08:40 (Giàng Thanh Mai (city-board-m01)).');
    for (const html of [renderDrillReportHtml(SITE, ended, { csrf: 'tok' }), renderDrillReportHtml(SITE, REPORT, { print: true }), renderDrillReportHtml(SITE, REPORT)]) {
      expect(html).not.toContain('/ack"');
      expect(html).not.toContain('/end"');
    }
  });

  it('CSV: one row per member, ISO times, formulas defused, quotes escaped', () => {
    expect(drillReportCsv(REPORT).split('\r\n')).toStrictEqual([
      '\uFEFFdrill_id,zone,unit,unit_name,member_id,member_name,leader,texted_at,delivered,delivered_at,acknowledged_at,ack_channel,response_s,steps,stopped_by_real_alert',
      'san-thang-20260302-0130-abcd,san-thang,team:team-stg-1,Tổ BVR San Thàng 1,m1,Lò Văn A,true,2026-03-02T01:30:00.000Z,true,2026-03-02T01:30:04.000Z,2026-03-02T01:30:30.000Z,link,30,initial,false',
      `san-thang-20260302-0130-abcd,san-thang,team:team-stg-1,Tổ BVR San Thàng 1,m2,"'=cmd, ""x""",false,2026-03-02T01:35:00.000Z,,,,,,esc1,true`,
      '',
    ]);
  });

  it('a sensor drill: the detection timeline, the trend of detection times, and the figures in the CSV', () => {
    const sensor = { ignitionNode: 'san-thang-07', nodes: ['san-thang-07', 'san-thang-04'], speed: 60, outcome: 'detected' as const, plumeInjectedAt: T0, ignitionAt: T0 - 2_655_000, plumeEndsAt: T0 + 45_000, notDetectedAfter: T0 + 165_000, firstReadingAt: T0 + 200, suspectedAt: T0 + 11_000, suspectedReadingAt: T0 - 2_655_000 + 651_000, confirmedAt: T0 + 42_000, confirmedReadingAt: T0 - 2_655_000 + 2_511_000, detectionS: 651, confirmationS: 2511, firstSmsAt: T0 + 11_000 };
    const r: DrillReport = { ...REPORT, drill: { ...REPORT.drill, depth: 'sensor', detectionS: 651, sensorOutcome: 'detected' }, previous: [{ ...REPORT.previous[0]!, depth: 'sensor', detectionS: null, sensorOutcome: 'not-detected' }], sensor };
    const html = renderDrillReportHtml(SITE, r, { csrf: 'tok' });
    expect(html).toContain('<h2>Diễn tập cảm biến — đã phát hiện</h2><p>Khói mô phỏng tại 2 trạm của khu vực; điểm cháy cách trạm san-thang-07 120 m');
    expect(html).toContain('<tr><td>Nghi cháy (phát hiện)</td><td>02/03 08:30</td><td>10 ph 51 s</td></tr>');
    expect(html).toContain('<tr><td>Xác nhận cháy</td><td>02/03 08:30</td><td>41 ph 51 s</td></tr>');
    expect(html).toContain('<td>không phát hiện</td></tr>');
    expect(html).toContain('<td>10 ph 51 s</td></tr></tbody></table>');
    expect(renderDrillReportHtml(SITE, { ...r, sensor: { ...sensor, outcome: 'not-detected' } })).toContain('Hệ thống không phát hiện đám cháy mô phỏng trước');
    const csv = drillReportCsv(r).split('\r\n');
    expect(csv[0]?.endsWith(',stopped_by_real_alert,sensor_outcome,detection_s,confirmation_s')).toBe(true);
    expect(csv[1]?.endsWith(',initial,false,detected,651,2511')).toBe(true);
    // An alert drill's report has no sensor section.
    expect(renderDrillReportHtml(SITE, REPORT)).not.toContain('Diễn tập cảm biến');
  });

  it('the list shows the site file\'s schedule with each entry\'s next start (local time)', () => {
    const next = Date.parse('2027-01-04T01:30:00Z');
    const html = renderDrillListHtml(SITE, [], 'tok', null, [
      { zone: 'san-thang', kind: 'fire-confirmed', depth: 'alert', cron: '30 8 1-7 1-4,11,12 1', dryRun: false, next },
      { zone: 'nam-loong', kind: 'fire-confirmed', depth: 'sensor', cron: '30 9 1-7 1-4,11,12 1', dryRun: true, next: next + 3_600_000 },
    ]);
    expect(html).toContain('<h2>Lịch diễn tập tự động</h2>');
    expect(html).toContain('<tr><td>San Thàng</td><td>Cháy rừng (đã xác nhận)</td><td><code>30 8 1-7 1-4,11,12 1</code></td><td>04/01 08:30</td></tr>');
    expect(html).toContain('<tr><td>Nậm Loỏng</td><td>Cảm biến (khói mô phỏng) (chạy thử)</td><td><code>30 9 1-7 1-4,11,12 1</code></td><td>04/01 09:30</td></tr>');
    expect(renderDrillListHtml(SITE, [], 'tok')).not.toContain('Lịch diễn tập tự động');
  });

  it('the form offers both depths and the plume\'s speed; a requested sensor drill is announced', () => {
    const html = renderDrillListHtml(SITE, [], 'tok', sensorDrillRequestedVi('san-thang-20270104-0130-abcd'));
    expect(html).toContain('<select name="depth"><option value="alert">Tin nhắn (cảnh báo ngay)</option><option value="sensor">');
    expect(html).toContain('<input type="number" name="speed" min="1"');
    expect(html).toContain('<p role="alert">Đã yêu cầu diễn tập cảm biến san-thang-20270104-0130-abcd: ');
  });

  it('the form offers the ignition node: the zone\'s first by default, or a sensor node chosen from the site, grouped by zone', () => {
    const html = renderDrillListHtml(SITE, [], 'tok');
    const select = /<select name="node">(.*?)<\/select>/.exec(html)?.[1] ?? '';
    expect(select.startsWith('<option value="">Trạm đầu tiên của khu vực</option><optgroup label="')).toBe(true);
    // Every sensor node of the site once, under its own zone's name.
    const groups = [...select.matchAll(/<optgroup label="([^"]+)">(.*?)<\/optgroup>/g)].map((g) => ({ zone: g[1], nodes: [...(g[2] ?? '').matchAll(/<option value="([^"]+)">/g)].map((o) => o[1]) }));
    for (const g of groups) {
      const zone = SITE.zones.find((z) => z.name === g.zone);
      expect(g.nodes).toStrictEqual(SITE.nodes.filter((n) => n.zone === zone?.id).map((n) => n.id));
    }
    expect(groups.flatMap((g) => g.nodes).sort()).toStrictEqual(SITE.nodes.map((n) => n.id).sort());
    expect(select).toContain('<option value="san-thang-07">san-thang-07 (');
  });

  it.each([
    ['a node outside the zone', sensorDrillRefusal(SITE, 'san-thang', 'quyet-thang-01') ?? '', 'Trạm quyet-thang-01 không thuộc khu vực San Thàng: chọn một trạm của khu vực này, hoặc "Trạm đầu tiên của khu vực". Chưa bắt đầu diễn tập.'],
    ['a zone without sensor nodes', sensorDrillRefusal({ ...SITE, nodes: SITE.nodes.filter((n) => n.zone !== 'san-thang') }, 'san-thang', undefined) ?? '', 'Khu vực San Thàng không có trạm đo nên không diễn tập cảm biến được: chọn hình thức "Tin nhắn". Chưa bắt đầu diễn tập.'],
    ['a zone the alerts service does not know', sensorDrillRefusal(SITE, 'nowhere', undefined) ?? '', 'Dịch vụ cảnh báo không biết khu vực nowhere (tệp cấu hình của hai dịch vụ khác nhau?). Chưa bắt đầu diễn tập.'],
    ['any other reason, as it came', 'sensor drills are not available in this service', 'Dịch vụ cảnh báo không bắt đầu diễn tập: sensor drills are not available in this service'],
  ])('the alerts service\'s refusal in Vietnamese: %s', (_what, reason, vi) => {
    expect(drillRefusalVi(SITE, reason)).toBe(vi);
  });

  it('the list says which scheduled slots were skipped and why, in Vietnamese where the reason is a real alert', () => {
    const slotAt = Date.parse('2027-01-04T01:30:00Z');
    const html = renderDrillListHtml(SITE, [], null, null, [], [
      { drillId: 'sched-quyet-thang-1', zoneId: 'quyet-thang', slotAt, reason: 'a real alert of quyet-thang is open: fire-qt-01-20270104-0120-suspected' },
      { drillId: 'sched-san-thang-1', zoneId: 'san-thang', slotAt, reason: 'unknown zone san-thang' },
    ]);
    expect(html).toContain('<h3>Lần diễn tập theo lịch bị bỏ qua</h3>');
    expect(html).toContain('<tr><td>04/01 08:30</td><td>Quyết Thắng</td><td>Khu vực đang có cảnh báo thật (fire-qt-01-20270104-0120-suspected)</td></tr>');
    expect(html).toContain('<td>unknown zone san-thang</td>');
    expect(renderDrillListHtml(SITE, [], null)).not.toContain('bị bỏ qua');
  });

  it.each([[null, '—'], [0, '0 s'], [59.6, '1 ph 00 s'], [3725, '62 ph 05 s']] as const)('seconds(%s) = %s', (s, text) => expect(seconds(s)).toBe(text));
});

describe('the drill pages over HTTP', () => {
  const PASSWORD = 'a long board password';
  const startDrill = vi.fn(async () => ({ drillId: 'san-thang-20260302-0130-abcd', recipients: 8 }));
  const acknowledge = vi.fn(async () => ({ alreadyAcknowledged: false }));
  const endDrill = vi.fn(async () => {});
  const alerts = { openAlerts: async () => [], acknowledge, startDrill, endDrill, drills: async () => ({ drills: [summary], skipped: [{ drillId: 'sched-quyet-thang-1', zoneId: 'quyet-thang', slotAt: Date.parse('2027-01-04T01:31:00Z'), reason: 'a real alert of quyet-thang is open: fire-x' }] }), drillReport: async () => REPORT } as unknown as AlertsClient;
  const store = new BoardStore(openDatabase(':memory:'));
  const readings: ReadingsSource = { kind: 'local', description: 'test', lastSeen: async () => new Map(), series: async (ids, _f, w) => emptySeries(w, ids), close: () => {} };
  const service = new BoardService({ site: SITE, store, readings, alerts, log: pino({ level: 'silent' }) });
  const hub = new LiveHub(5, () => service.current());
  let app: FastifyInstance;
  const jar = (res: LightMyRequestResponse, prev: Record<string, string> = {}) => ({ ...prev, ...Object.fromEntries(res.cookies.map((c) => [c.name, c.value])) });
  const cookie = (j: Record<string, string>) => Object.entries(j).map(([k, v]) => `${k}=${v}`).join('; ');

  beforeAll(async () => {
    const users = new Map([['city-board-m01', { memberId: 'city-board-m01', name: 'Giàng Thanh Mai', unit: 'Ban Chỉ huy', hash: await hashPassword(PASSWORD) }]]);
    app = await createBoardHttp({ site: SITE, service, store, hub, geometry: buildMapGeometry(SITE), assets: { js: { body: Buffer.from(''), type: 'text/javascript', hash: 'j' }, css: { body: Buffer.from(''), type: 'text/css', hash: 'c' } }, users, kioskToken: 'kiosk-token-0123456789-0123456789-abc', sessionSecret: 'a-session-secret-of-at-least-32-characters', sessionHours: 12, secure: false, tileOrigin: null, log: pino({ level: 'silent' }), alerts });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    hub.close();
    await service.stop();
  });

  async function member(): Promise<Record<string, string>> {
    const form = await app.inject({ method: 'GET', url: '/login' });
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? '';
    const res = await app.inject({ method: 'POST', url: '/login', headers: { cookie: cookie(jar(form)), 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ user: 'city-board-m01', password: PASSWORD, _csrf: csrf }).toString() });
    expect(res.statusCode).toBe(303);
    return jar(res, jar(form));
  }

  it('a stranger is sent to sign in; the kiosk gets 403', async () => {
    expect((await app.inject({ method: 'GET', url: '/drills' })).statusCode).toBe(302);
    const kiosk = await app.inject({ method: 'GET', url: '/kiosk/kiosk-token-0123456789-0123456789-abc' });
    expect((await app.inject({ method: 'GET', url: '/drills/x', headers: { cookie: cookie(jar(kiosk)) } })).statusCode).toBe(403);
  });

  it('a member starts a drill from the form (CSRF) and reads its report, CSV and acknowledges it', async () => {
    let j = await member();
    const list = await app.inject({ method: 'GET', url: '/drills', headers: { cookie: cookie(j) } });
    expect(list.statusCode).toBe(200);
    expect(list.body).toContain('<tr><td>04/01 08:31</td><td>Quyết Thắng</td><td>Khu vực đang có cảnh báo thật (fire-x)</td></tr>');
    // The committed site schedules San Thàng on the first Monday of the dry-season months at 08:30: node-cron's next match.
    expect(SITE.drills).toHaveLength(1);
    const next = /<tr><td>San Thàng<\/td><td>Cháy rừng \(đã xác nhận\)<\/td><td><code>30 8 1-7 1-4,11,12 1<\/code><\/td><td>(\d\d)\/(\d\d) 08:30<\/td><\/tr>/.exec(list.body);
    expect(next, 'the schedule with its next start').not.toBeNull();
    expect(Number(next?.[1])).toBeLessThanOrEqual(7);
    expect([1, 2, 3, 4, 11, 12]).toContain(Number(next?.[2]));
    j = jar(list, j);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(list.body)?.[1] ?? '';
    const noCsrf = await app.inject({ method: 'POST', url: '/drills', headers: { cookie: cookie(j), 'content-type': 'application/x-www-form-urlencoded' }, payload: 'zoneId=san-thang&kind=fire-suspected' });
    expect(noCsrf.statusCode).toBe(403);
    expect(startDrill).not.toHaveBeenCalled();
    const started = await app.inject({ method: 'POST', url: '/drills', headers: { cookie: cookie(j), 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ zoneId: 'san-thang', kind: 'fire-suspected', dryRun: 'on', _csrf: csrf }).toString() });
    expect(started.statusCode).toBe(303);
    expect(started.headers.location).toBe('/drills/san-thang-20260302-0130-abcd');
    expect(startDrill).toHaveBeenCalledWith({ zoneId: 'san-thang', kind: 'fire-suspected', dryRun: true, startedBy: 'Giàng Thanh Mai (city-board-m01)' });
    const page = await app.inject({ method: 'GET', url: '/drills/san-thang-20260302-0130-abcd', headers: { cookie: cookie(j) } });
    expect(page.body).toContain('Báo cáo diễn tập');
    const csv = await app.inject({ method: 'GET', url: '/drills/san-thang-20260302-0130-abcd.csv', headers: { cookie: cookie(j) } });
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.body).toBe(drillReportCsv(REPORT));
    const ackCsrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
    const ack = await app.inject({ method: 'POST', url: '/drills/san-thang-20260302-0130-abcd/ack', headers: { cookie: cookie(jar(page, j)), 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ _csrf: ackCsrf }).toString() });
    expect(ack.statusCode).toBe(303);
    expect(acknowledge).toHaveBeenCalledWith('drill-san-thang-20260302-0130-abcd', 'Giàng Thanh Mai (city-board-m01)', 'city-board-m01');
  });

  it('a sensor drill from the form carries the chosen ignition node; a node outside the zone gives the form again with the reason in Vietnamese (422)', async () => {
    startDrill.mockClear();
    let j = await member();
    const list = await app.inject({ method: 'GET', url: '/drills', headers: { cookie: cookie(j) } });
    j = jar(list, j);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(list.body)?.[1] ?? '';
    const post = (fields: Record<string, string>) => app.inject({ method: 'POST', url: '/drills', headers: { cookie: cookie(j), 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ kind: 'fire-confirmed', _csrf: csrf, ...fields }).toString() });
    const chosen = await post({ zoneId: 'san-thang', depth: 'sensor', speed: '60', node: 'san-thang-07' });
    expect(chosen.statusCode).toBe(303);
    expect(startDrill).toHaveBeenLastCalledWith({ zoneId: 'san-thang', depth: 'sensor', dryRun: false, startedBy: 'Giàng Thanh Mai (city-board-m01)', speed: 60, node: 'san-thang-07' });
    // The default ("first node of the zone") sends no node; an alert drill never sends one.
    await post({ zoneId: 'san-thang', depth: 'sensor', node: '' });
    expect(startDrill).toHaveBeenLastCalledWith({ zoneId: 'san-thang', depth: 'sensor', dryRun: false, startedBy: 'Giàng Thanh Mai (city-board-m01)' });
    await post({ zoneId: 'san-thang', depth: 'alert', node: 'san-thang-07' });
    expect(startDrill).toHaveBeenLastCalledWith({ zoneId: 'san-thang', kind: 'fire-confirmed', dryRun: false, startedBy: 'Giàng Thanh Mai (city-board-m01)' });
    // The alerts service refuses a node of another zone with 422 and its reason (alerts/drill-requests.ts).
    startDrill.mockRejectedValueOnce(new FetchError('POST http://alerts:8090/api/drills: HTTP 422 node quyet-thang-01 is not in zone san-thang', 422, { detail: 'node quyet-thang-01 is not in zone san-thang' }));
    const refused = await post({ zoneId: 'san-thang', depth: 'sensor', node: 'quyet-thang-01' });
    expect(refused.statusCode).toBe(422);
    expect(refused.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(refused.body).toContain('<p role="alert">Trạm quyet-thang-01 không thuộc khu vực San Thàng: chọn một trạm của khu vực này, hoặc &#34;Trạm đầu tiên của khu vực&#34;. Chưa bắt đầu diễn tập.</p>');
    expect(refused.body).toContain('<form method="post" action="/drills">');
    expect(startDrill).toHaveBeenCalledTimes(4);
    // Anything else the alerts service fails with stays a 502.
    startDrill.mockRejectedValueOnce(new FetchError('POST http://alerts:8090/api/drills: no answer within 5000 ms'));
    expect((await post({ zoneId: 'san-thang', depth: 'sensor' })).statusCode).toBe(502);
  });

  it('a member ends a running drill with the CSRF token; without it, or from the kiosk, nothing reaches the alerts service', async () => {
    const j = await member();
    const page = await app.inject({ method: 'GET', url: '/drills/san-thang-20260302-0130-abcd', headers: { cookie: cookie(j) } });
    const csrf = /action="\/drills\/san-thang-20260302-0130-abcd\/end"><input type="hidden" name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
    expect(csrf, 'the report of a running drill has the end button').toBeTruthy();
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const noCsrf = await app.inject({ method: 'POST', url: '/drills/san-thang-20260302-0130-abcd/end', headers: { cookie: cookie(jar(page, j)), ...form }, payload: '' });
    expect(noCsrf.statusCode).toBe(403);
    const kiosk = await app.inject({ method: 'GET', url: '/kiosk/kiosk-token-0123456789-0123456789-abc' });
    const fromKiosk = await app.inject({ method: 'POST', url: '/drills/san-thang-20260302-0130-abcd/end', headers: { cookie: cookie({ ...jar(page, j), ...jar(kiosk) }), ...form }, payload: new URLSearchParams({ _csrf: csrf ?? '' }).toString() });
    expect(fromKiosk.statusCode).toBe(403);
    expect(endDrill).not.toHaveBeenCalled();
    const ended = await app.inject({ method: 'POST', url: '/drills/san-thang-20260302-0130-abcd/end', headers: { cookie: cookie(jar(page, j)), ...form }, payload: new URLSearchParams({ _csrf: csrf ?? '' }).toString() });
    expect(ended.statusCode).toBe(303);
    expect(ended.headers.location).toBe('/drills/san-thang-20260302-0130-abcd');
    expect(endDrill).toHaveBeenCalledExactlyOnceWith('san-thang-20260302-0130-abcd', 'Giàng Thanh Mai (city-board-m01)');
  });

  it('the main page tells a member\'s page to link to the drills, never the kiosk\'s', async () => {
    const boot = (body: string) => JSON.parse(/<script type="application\/json" id="boot">(.*?)<\/script>/.exec(body)?.[1] ?? '{}') as { drills?: boolean };
    expect(boot((await app.inject({ method: 'GET', url: '/', headers: { cookie: cookie(await member()) } })).body).drills).toBe(true);
    const kiosk = await app.inject({ method: 'GET', url: '/kiosk/kiosk-token-0123456789-0123456789-abc' });
    expect(boot((await app.inject({ method: 'GET', url: '/', headers: { cookie: cookie(jar(kiosk)) } })).body).drills).toBe(false);
  });
});
