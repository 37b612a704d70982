// The terminal summary of `fire-ews start`: one readable line per status, event, SMS wave and
// warning (the test under a real pseudo-terminal is test/acceptance/start-console.test.ts).
import { describe, expect, it } from 'vitest';
import type { FireEvent } from '../contracts/payloads.ts';
import { handleEvent, emptyEngineState, startDrill } from '../alerts/engine.ts';
import { laiChauContext } from '../test/support/alerts-fixtures.ts';
import { describeRecipients, eventLine, logLineText, smsLine, statusLine } from './console.ts';

const ctx = laiChauContext();
const site = ctx.roster.site;
const TZ = 'Asia/Ho_Chi_Minh';
const WALL = Date.parse('2026-12-04T17:40:13Z'); // 00:40:13 in Lai Châu

const fire = (kind: FireEvent['kind'], extra: Partial<FireEvent> = {}): FireEvent => ({
  eventId: `fire-san-thang-07-20261204t133904-${kind}`,
  kind,
  zoneId: 'san-thang',
  nodeId: 'san-thang-07',
  ts: '2026-12-04T13:41:00.000Z',
  detail: { incidentId: 'fire-san-thang-07-20261204t133904' },
  ...extra,
});

describe('console lines', () => {
  it('status: wall time, the pipeline time while a run is followed, and the counts', () => {
    const counts = { readingsStored: 1914, deadLetters: 0, events: 1, smsQueued: 8, smsSent: 8 };
    expect(statusLine(WALL, Date.parse('2026-12-04T13:43:00Z'), 60, counts, TZ)).toBe('00:40:13  pipeline time 20:43 (×60)  readings 1,914 stored · dead letters 0 · events 1 · SMS 8 queued, 8 sent');
    expect(statusLine(WALL, WALL, null, counts, TZ)).toBe('00:40:13  readings 1,914 stored · dead letters 0 · events 1 · SMS 8 queued, 8 sent');
  });

  it.each<{ kind: FireEvent['kind']; text: RegExp }>([
    { kind: 'fire-suspected', text: /^00:40:13 {2}EVENT {2}NGHI CHÁY {2}suspected fire — San Thàng \(san-thang-07\) at 20:41 {2}incident fire-san-thang-07-20261204t133904$/ },
    { kind: 'fire-confirmed', text: /CHÁY RỪNG {2}confirmed fire — San Thàng/ },
    { kind: 'fire-signal-lost', text: /MẤT TÍN HIỆU {2}sensors near a fire went silent \(not cleared\)/ },
    { kind: 'fire-cleared', text: /HẾT CHÁY {3}fire cleared/ },
  ])('event $kind: what, where, when (site time), which incident', ({ kind, text }) => {
    expect(eventLine(WALL, fire(kind), site, TZ)).toMatch(text);
  });

  it('a level change and a node fault say what changed', () => {
    expect(eventLine(WALL, { eventId: 'level-san-thang-20261204', kind: 'level-changed', zoneId: 'san-thang', ts: '2026-12-04T06:00:00Z', level: 3, previousLevel: 2, detail: {} }, site, TZ)).toBe(
      '00:40:13  EVENT  CẤP CHÁY   danger level changed II → III — San Thàng at 13:00',
    );
    expect(eventLine(WALL, { eventId: 'x', kind: 'node-fault', zoneId: 'nam-loong', nodeId: 'nam-loong-02', ts: '2026-12-04T06:00:00Z', detail: { fault: 'stuck' } }, site, TZ)).toMatch(/node fault: stuck — Nậm Loỏng \(nam-loong-02\) at 13:00$/);
  });

  it('an SMS wave: how many, which message, to whom by unit, and the text as sent', () => {
    const confirmed = handleEvent(ctx, emptyEngineState(), fire('fire-confirmed'), WALL).output.notifications[0]!;
    const line = smsLine(WALL, confirmed, ctx.policy, site, 'https://ews.example.vn', true);
    expect(line).toMatch(/^00:40:13 {2}SMS \(dry run\) {2}×150 fire-confirmed → 150 people: 8 teams \(100\), Ban Chỉ huy PCCCR xã San Thàng \(27\), city board \(23\): "PCCR LAI CHAU: CHAY RUNG tai San Thang, 0,7 km huong Nam, 20:41 04\/12\. To BVR xuat quan ngay\. Tra loi \d{4} de xac nhan"$/);
    // the engine's "now" here is the next local day, so the observation time carries its date
    expect(smsLine(WALL, confirmed, ctx.policy, site, 'https://ews.example.vn', false, 'link')).toMatch(/Xac nhan: https:\/\/ews\.example\.vn\/ack\/\.\.\."$/);
    const suspected = handleEvent(ctx, emptyEngineState(), fire('fire-suspected'), WALL).output.notifications[0]!;
    expect(describeRecipients(suspected.recipients, site)).toBe('8 people: leaders of 8 teams');
  });

  it('a drill wave is marked DRILL and its text DIEN TAP', () => {
    const r = startDrill(ctx, emptyEngineState(), { drillId: 'san-thang-d1', kind: 'fire-suspected', zoneId: 'san-thang', audience: null, dryRun: true, startedBy: 'cli' }, WALL, new Date(WALL).toISOString());
    const wave = r.output.notifications[0]!;
    expect(smsLine(WALL, wave, ctx.policy, site, 'https://ews.example.vn', false)).toMatch(/^00:40:13 {2}SMS {2}DRILL san-thang-d1 \(not sent\) {2}×8 fire-suspected → 8 people: leaders of 8 teams: "DIEN TAP: NGHI CHAY tai San Thang/);
  });

  it('JSON log lines at warn and above become one line of text; info lines are left to EWS_LOG_FORMAT=json', () => {
    const warn = JSON.stringify({ level: 40, time: '2026-12-04T17:40:08.000Z', name: 'fire-ews', service: 'ingest', msg: 'no INFLUX_URL configured', spoolDepth: 0 });
    expect(logLineText(warn, TZ)).toBe('00:40:08  WARN  [ingest] no INFLUX_URL configured  spoolDepth=0');
    expect(logLineText(JSON.stringify({ level: 30, msg: 'event' }), TZ)).toBeNull();
    expect(logLineText(JSON.stringify({ level: 50, time: '2026-12-04T17:40:08.000Z', msg: 'boom', err: 'ECONNRESET' }), TZ)).toBe('00:40:08  ERROR boom  err=ECONNRESET');
  });
});
