// Routing on the Lai Châu roster, grouping, inhibition, repeat and escalation timelines under a fake
// clock (plain numbers passed as `now`), acknowledgement. Expected recipients are read from the raw
// site YAML here, not through alerts/routing.ts.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { FireEvent } from '../contracts/payloads.ts';
import { acknowledge, alertByAckCode, emptyEngineState, handleEvent, nextWakeAt, tick, type EngineState, type Notification } from './engine.ts';
import { laiChauContext, SITE_FILE } from '../test/support/alerts-fixtures.ts';

interface RawMember { id: string }
interface RawSite {
  teams: { id: string; zones: string[]; leader: string; members: RawMember[] }[];
  boards: { city: { members: RawMember[] }; communes: { zone: string; members: RawMember[] }[] };
  rangers: RawMember[];
  maintenance: RawMember[];
}
const raw = parse(readFileSync(SITE_FILE, 'utf8')) as RawSite;
const ids = (ms: RawMember[]) => ms.map((m) => m.id);
const teamsOf = (zone: string) => raw.teams.filter((t) => t.zones.includes(zone));
const members = (zone: string) => teamsOf(zone).flatMap((t) => ids(t.members));
const leaders = (zone: string) => teamsOf(zone).map((t) => t.leader);
const communeBoard = (zone: string) => raw.boards.communes.filter((b) => b.zone === zone).flatMap((b) => ids(b.members));
const cityBoard = ids(raw.boards.city.members);
const sorted = (a: string[]) => [...new Set(a)].sort();

const ctx = laiChauContext();
const T0 = Date.parse('2026-03-14T07:00:00Z');
const S = 1000;
let seq = 0;
function ev(kind: FireEvent['kind'], zoneId: string, extra: Partial<FireEvent> = {}, at = T0): FireEvent {
  seq += 1;
  return { eventId: `ev-${seq}`, kind, zoneId, ts: new Date(at).toISOString(), detail: {}, ...extra };
}
const who = (ns: Notification[]) => sorted(ns.flatMap((n) => n.recipients.map((r) => r.id)));

/** Feeds events and ticks at the given times (seconds after T0); returns what was sent at each time. */
function run(steps: ({ at: number; event: FireEvent } | { at: number; tick: true } | { at: number; ack: string; by?: string })[]) {
  let state: EngineState = emptyEngineState();
  const log: { at: number; n: Notification }[] = [];
  const ignored: string[] = [];
  for (const s of steps) {
    const now = T0 + s.at * S;
    if ('event' in s) {
      const r = handleEvent(ctx, state, s.event, now);
      state = r.state;
      r.output.notifications.forEach((n) => log.push({ at: s.at, n }));
      ignored.push(...r.output.ignored);
    } else if ('tick' in s) {
      const r = tick(ctx, state, now);
      state = r.state;
      r.output.notifications.forEach((n) => log.push({ at: s.at, n }));
    } else {
      const r = acknowledge(state, s.ack, s.by ?? 'someone', 'api', now);
      expect(r.result).toMatchObject({ ok: true });
      state = r.state;
    }
  }
  return { state, log, ignored };
}

describe('routing', () => {
  it('the San Thàng roster is what the test assumes (8 teams, a commune board, the city board)', () => {
    expect(teamsOf('san-thang')).toHaveLength(8);
    expect(communeBoard('san-thang').length).toBeGreaterThan(0);
    expect(members('san-thang')).toHaveLength(100);
  });

  it('a confirmed fire in San Thàng reaches exactly the San Thàng teams (all members), the San Thàng commune board and the city board', () => {
    const { log } = run([{ at: 0, event: ev('fire-confirmed', 'san-thang', { nodeId: 'san-thang-03' }) }]);
    expect(log).toHaveLength(1);
    const n = log[0]!.n;
    expect(n.step).toBe('initial');
    expect(n.messageKind).toBe('fire-confirmed');
    const expected = sorted([...members('san-thang'), ...communeBoard('san-thang'), ...cityBoard]);
    expect(who([n])).toStrictEqual(expected);
    expect(n.recipients, 'nobody twice').toHaveLength(expected.length);
    // nobody from another zone's teams or boards, no rangers/maintenance
    const outsiders = [...members('quyet-thang'), ...communeBoard('nam-loong'), ...ids(raw.rangers), ...ids(raw.maintenance)];
    expect(outsiders.filter((id) => expected.includes(id))).toStrictEqual([]);
    expect(n.fields).toMatchObject({
      zone: 'San Thàng',
      place: ctx.roster.site.nodes.find((node) => node.id === 'san-thang-03')?.place, // the node's place in words, not its id
      time: '14:00', // 07:00Z in Asia/Ho_Chi_Minh, same day: no date
      code: expect.stringMatching(/^\d{4}$/),
    });
  });

  it.each([
    { what: 'the same day', tsOffsetS: -3600, time: '13:00' },
    { what: 'the day before', tsOffsetS: -86_400, time: '14:00 13/03' },
    { what: 'just before local midnight, sent after it', tsOffsetS: -(14 * 3600 + 60), time: '23:59 13/03' },
  ])('an observation from $what says $time', ({ tsOffsetS, time }) => {
    const { log } = run([{ at: 0, event: ev('fire-suspected', 'san-thang', { nodeId: 'san-thang-03' }, T0 + tsOffsetS * S) }]);
    expect(log[0]!.n.fields.time).toBe(time);
  });

  it('suspected fire → only the covering teams\' leaders; a team covering two zones is included', () => {
    const st = run([{ at: 0, event: ev('fire-suspected', 'san-thang') }]);
    expect(who(st.log.map((l) => l.n))).toStrictEqual(sorted(leaders('san-thang')));
    const dk = run([{ at: 0, event: ev('fire-suspected', 'doan-ket') }]);
    expect(who(dk.log.map((l) => l.n))).toStrictEqual(sorted(leaders('doan-ket')));
    expect(Math.max(...teamsOf('doan-ket').map((t) => t.zones.length))).toBeGreaterThan(1);
  });

  describe('danger levels: II nobody, III leaders + commune board, IV and V also city board and rangers', () => {
    const high = () => sorted([...leaders('san-thang'), ...communeBoard('san-thang'), ...cityBoard, ...ids(raw.rangers)]);
    it.each([
      { level: 2 as const, name: 'II', expected: () => [] },
      { level: 3 as const, name: 'III', expected: () => sorted([...leaders('san-thang'), ...communeBoard('san-thang')]) },
      { level: 4 as const, name: 'IV', expected: high },
      { level: 5 as const, name: 'V', expected: high },
    ])('level $name', ({ level, expected }) => {
      const { log } = run([{ at: 0, event: ev('level-changed', 'san-thang', { level, previousLevel: 1 }) }, { at: 60, tick: true }]);
      expect(who(log.map((l) => l.n))).toStrictEqual(expected());
    });
  });

  it('node faults go to maintenance only; the fix sends the all-clear to the same people', () => {
    const { log } = run([
      { at: 0, event: ev('node-fault', 'san-thang', { nodeId: 'san-thang-02' }) },
      { at: 60, tick: true },
      { at: 300, event: ev('node-fault-cleared', 'san-thang', { nodeId: 'san-thang-02' }) },
    ]);
    expect(log.map((l) => [l.at, l.n.messageKind, l.n.step])).toStrictEqual([[60, 'node-fault', 'initial'], [300, 'node-fault-cleared', 'clear']]);
    expect(who([log[0]!.n])).toStrictEqual(sorted(ids(raw.maintenance)));
    expect(who([log[1]!.n])).toStrictEqual(sorted(ids(raw.maintenance)));
  });

  it('fire cleared: the all-clear reaches everyone told about the fire, including escalated people', () => {
    const { log, state } = run([
      { at: 0, event: ev('fire-confirmed', 'san-thang') },
      { at: 900, tick: true }, // escalation to rangers + repeat
      { at: 1000, event: ev('fire-cleared', 'san-thang') },
      { at: 5000, tick: true },
    ]);
    const clear = log.filter((l) => l.n.step === 'clear');
    expect(clear).toHaveLength(1);
    expect(who(clear.map((l) => l.n))).toStrictEqual(sorted([...members('san-thang'), ...communeBoard('san-thang'), ...cityBoard, ...ids(raw.rangers)]));
    expect(clear[0]!.n.ackable).toBe(false);
    expect(log.filter((l) => l.at > 1000), 'nothing after the all-clear').toStrictEqual([]);
    expect(Object.values(state.alerts)[0]?.status).toBe('resolved');
  });
});

describe('grouping', () => {
  it('node faults in one zone within the window become one message with the count', () => {
    const { log } = run([
      { at: 0, event: ev('node-offline', 'nam-loong', { nodeId: 'nam-loong-01' }) },
      { at: 20, event: ev('node-offline', 'nam-loong', { nodeId: 'nam-loong-02' }) },
      { at: 45, event: ev('node-offline', 'nam-loong', { nodeId: 'nam-loong-03' }) },
      { at: 59, tick: true },
      { at: 60, tick: true },
    ]);
    expect(log).toHaveLength(1);
    expect(log[0]!.at).toBe(60);
    expect(log[0]!.n.fields).toMatchObject({ count: '3', nodes: 'nam-loong-01, nam-loong-02, nam-loong-03', fault: 'mất kết nối' });
  });

  it.each([
    { n: 1, nodes: 'san-thang-01' },
    { n: 3, nodes: 'san-thang-01, san-thang-02, san-thang-03' },
    { n: 5, nodes: 'san-thang-01, san-thang-02, san-thang-03 và 2 trạm khác' },
  ])('$n nodes offline: the count matches the nodes the message names', ({ n, nodes }) => {
    const steps: Parameters<typeof run>[0] = Array.from({ length: n }, (_, i) => ({ at: i, event: ev('node-offline', 'san-thang', { nodeId: `san-thang-0${i + 1}` }) }));
    const { log } = run([...steps, { at: 60, tick: true }]);
    expect(log).toHaveLength(1);
    expect(log[0]!.n.fields).toMatchObject({ count: String(n), nodes });
  });

  it.each([
    ['stuck', 'cảm biến kẹt số'],
    ['low-battery', 'pin yếu'],
    ['brown-out', 'sụt nguồn'],
    ['clock-skew', 'lệch đồng hồ'],
    ['out-of-range', 'số đo bất thường'],
    ['something-new', 'something-new'],
  ])('a node fault says what it is: %s → %s, and its all-clear too', (fault, words) => {
    const { log } = run([
      { at: 0, event: ev('node-fault', 'quyet-tien', { nodeId: 'quyet-tien-02', detail: { fault } }) },
      { at: 60, tick: true },
      { at: 120, event: ev('node-fault-cleared', 'quyet-tien', { nodeId: 'quyet-tien-02', detail: { fault } }) },
    ]);
    expect(log.map((l) => [l.n.messageKind, l.n.fields.fault, l.n.fields.nodes])).toStrictEqual([
      ['node-fault', words, 'quyet-tien-02'],
      ['node-fault-cleared', words, 'quyet-tien-02'],
    ]);
  });

  it('a node going offline and another one faulty in the same zone are two messages, each naming its own node', () => {
    const { log } = run([
      { at: 0, event: ev('node-offline', 'quyet-thang', { nodeId: 'quyet-thang-01' }) },
      { at: 5, event: ev('node-fault', 'quyet-thang', { nodeId: 'quyet-thang-02', detail: { fault: 'low-battery' } }) },
      { at: 65, tick: true },
    ]);
    expect(log.map((l) => [l.n.messageKind, l.n.fields.count, l.n.fields.nodes, l.n.fields.fault])).toStrictEqual([
      ['node-offline', '1', 'quyet-thang-01', 'mất kết nối'],
      ['node-fault', '1', 'quyet-thang-02', 'pin yếu'],
    ]);
  });

  it('a second level rise within 60 s of a message waits for the window, then goes out as one', () => {
    const { log } = run([
      { at: 0, event: ev('level-changed', 'quyet-thang', { level: 3, previousLevel: 2 }) },
      { at: 60, tick: true }, // III sent (groupWaitS 60)
      { at: 70, event: ev('level-changed', 'quyet-thang', { level: 4, previousLevel: 3 }) }, // more severe: not held by the window, only its own wait
      { at: 129, tick: true },
      { at: 130, tick: true },
    ]);
    expect(log.map((l) => [l.at, l.n.fields.level])).toStrictEqual([[60, 'III'], [130, 'IV']]);
  });

  it('a suspected then confirmed fire 20 s apart: the confirmation is not delayed and supersedes the suspicion', () => {
    const { log, state } = run([
      { at: 0, event: ev('fire-suspected', 'san-thang') },
      { at: 20, event: ev('fire-confirmed', 'san-thang') },
      { at: 300, tick: true }, // the suspicion's escalation must not run any more
      { at: 25, event: ev('fire-suspected', 'san-thang') }, // inhibited by the open confirmed fire
    ]);
    expect(log.map((l) => [l.at, l.n.messageKind, l.n.step])).toStrictEqual([[0, 'fire-suspected', 'initial'], [20, 'fire-confirmed', 'initial']]);
    const statuses = Object.values(state.alerts).map((a) => [a.kind, a.status]);
    expect(statuses).toStrictEqual([['fire-suspected', 'resolved'], ['fire-confirmed', 'active']]);
  });
});

it('inhibition: a confirmed fire mutes a pending and a later level change for the same zone, not for other zones', () => {
  const otherZone = ev('level-changed', 'nam-loong', { level: 4, previousLevel: 3 });
  const fire = ev('fire-confirmed', 'san-thang');
  const { log, ignored } = run([
    { at: 0, event: ev('level-changed', 'san-thang', { level: 4, previousLevel: 3 }) },
    { at: 0, event: otherZone },
    { at: 10, event: fire },
    { at: 60, tick: true },
    { at: 200, event: ev('level-changed', 'san-thang', { level: 5, previousLevel: 4 }) },
    { at: 300, tick: true },
  ]);
  expect(log.filter((l) => l.n.step === 'initial').map((l) => [l.at, l.n.messageKind, l.n.alertId])).toStrictEqual([[10, 'fire-confirmed', fire.eventId], [60, 'level-raised', otherZone.eventId]]);
  expect(ignored.filter((i) => i.includes('inhibited'))).toHaveLength(2);
});

describe('escalation and repeats', () => {
  it('escalation timeline of a suspected fire under a fake clock, stopped by acknowledgement', () => {
    const e = ev('fire-suspected', 'san-thang');
    const { log } = run([
      { at: 0, event: e },
      { at: 299, tick: true },
      { at: 300, tick: true }, // step 1: whole teams (leaders already told)
      { at: 600, tick: true }, // step 2: commune board, and repeat 1 to the leaders
      { at: 700, ack: e.eventId, by: 'team-stg-1-m01' },
      { at: 900, tick: true }, // step 3 would be the city board: stopped
      { at: 1200, tick: true }, // repeat 2: stopped
    ]);
    expect(log.map((l) => [l.at, l.n.step])).toStrictEqual([[0, 'initial'], [300, 'esc1'], [600, 'esc2'], [600, 'rep1']]);
    const byStep = new Map(log.map((l) => [l.n.step, sorted(l.n.recipients.map((r) => r.id))]));
    expect(byStep.get('esc1')).toStrictEqual(sorted(members('san-thang').filter((m) => !leaders('san-thang').includes(m))));
    expect(byStep.get('esc2')).toStrictEqual(sorted(communeBoard('san-thang')));
    expect(byStep.get('rep1')).toStrictEqual(sorted(leaders('san-thang')));
    expect(log.find((l) => l.n.step === 'rep1')?.n.fields.repeat).toBe('NHẮC LẠI ');
  });

  it('only a real repeat is marked NHẮC LẠI: escalation reaches people told for the first time', () => {
    const steps: Parameters<typeof run>[0] = [{ at: 0, event: ev('fire-suspected', 'dong-phong') }];
    for (let t = 60; t <= 1300; t += 60) steps.push({ at: t, tick: true });
    const { log } = run(steps);
    const marked = log.map((l) => [l.n.step, l.n.fields.repeat]);
    expect(marked).toStrictEqual([
      ['initial', ''],
      ['esc1', ''],
      ['esc2', ''],
      ['rep1', 'NHẮC LẠI '],
      ['esc3', ''],
      ['rep2', 'NHẮC LẠI '],
    ]);
  });

  it('unacknowledged: escalation runs to the city board and repeats stop at the configured maximum', () => {
    const steps: Parameters<typeof run>[0] = [{ at: 0, event: ev('fire-suspected', 'tan-phong') }];
    for (let t = 60; t <= 4000; t += 60) steps.push({ at: t, tick: true });
    const { log, state } = run(steps);
    expect(log.map((l) => [l.at, l.n.step])).toStrictEqual([[0, 'initial'], [300, 'esc1'], [600, 'esc2'], [600, 'rep1'], [900, 'esc3'], [1200, 'rep2']]);
    expect(nextWakeAt(ctx, state)).toBeNull();
  });
});

it('a redelivered event (same eventId) sends nothing twice; ack codes find their alert', () => {
  const e = ev('fire-confirmed', 'dong-phong');
  const { log, state } = run([{ at: 0, event: e }, { at: 5, event: e }]);
  expect(log).toHaveLength(1);
  const code = log[0]!.n.fields.code;
  expect(alertByAckCode(state, code)?.alertId).toBe(e.eventId);
  expect(alertByAckCode(state, '0000')).toBeNull();
});

it('a level fall sends the all-clear to those told about the higher level; a fall before sending sends nothing', () => {
  const a = run([
    { at: 0, event: ev('level-changed', 'san-thang', { level: 4, previousLevel: 3 }) },
    { at: 60, tick: true },
    { at: 3600, event: ev('level-changed', 'san-thang', { level: 2, previousLevel: 4 }) },
  ]);
  expect(a.log.map((l) => [l.n.messageKind, l.n.fields.level, l.n.fields.previousLevel])).toStrictEqual([['level-raised', 'IV', ''], ['level-fell', 'II', 'IV']]);
  expect(who([a.log[1]!.n])).toStrictEqual(who([a.log[0]!.n]));
  const b = run([
    { at: 0, event: ev('level-changed', 'san-thang', { level: 4, previousLevel: 3 }) },
    { at: 30, event: ev('level-changed', 'san-thang', { level: 2, previousLevel: 4 }) },
    { at: 120, tick: true },
  ]);
  expect(b.log).toStrictEqual([]);
});

it.each(['constructor', 'tostring', '__proto__', 'hasOwnProperty'])('acknowledging alert id %j, which names an Object.prototype member, finds no alert', (alertId) => {
  const { state, result, output } = acknowledge(emptyEngineState(), alertId, 'someone', 'api', 0);
  expect(result).toStrictEqual({ ok: false, reason: `no alert ${alertId}` });
  expect(output.lifecycle).toStrictEqual([]);
  expect(state).toStrictEqual(emptyEngineState());
});

describe('sensors lost near a fire (fire-signal-lost): never an all-clear', () => {
  it('everyone told about the fire gets the lost-signal wording; the alert stays open and its escalation and repeats go on', () => {
    const lostAt = T0 + 600 * S;
    const { log, state } = run([
      { at: 0, event: ev('fire-suspected', 'san-thang', { nodeId: 'san-thang-07', detail: { incidentId: 'fire-x' } }) },
      { at: 300, tick: true }, // escalation 1: whole teams
      { at: 400, event: ev('fire-signal-lost', 'san-thang', { nodeId: 'san-thang-07', ts: new Date(lostAt).toISOString(), detail: { incidentId: 'fire-x', lastAnomalyAt: new Date(T0 + 100 * S).toISOString() } }) },
      { at: 600, tick: true }, // escalation 2 (commune board) and repeat 1 still run
      { at: 900, tick: true }, // escalation 3 (city board)
    ]);
    const lost = log.filter((l) => l.n.messageKind === 'fire-signal-lost');
    expect(lost).toHaveLength(1);
    const [msg] = lost;
    expect(msg!.n.step).toBe('lost1');
    expect(msg!.n.ackable).toBe(false);
    // Everyone told so far: the leaders, then the whole teams.
    expect(who([msg!.n])).toStrictEqual(sorted([...leaders('san-thang'), ...members('san-thang')]));
    // "since" the last news from the fire, in Lai Châu time (07:01:40Z → 14:01).
    expect(msg!.n.fields.time).toBe('14:01');
    expect(log.filter((l) => l.n.messageKind === 'fire-cleared'), 'no all-clear').toStrictEqual([]);
    expect(log.filter((l) => l.at >= 600).map((l) => l.n.step)).toStrictEqual(['esc2', 'rep1', 'esc3']);
    expect(Object.values(state.alerts)[0]).toMatchObject({ status: 'active', signalLost: 1, incidentId: 'fire-x' });
  });

  it('the wording is its own, not the all-clear, and fits one GSM-7 segment', async () => {
    const { renderMessage } = await import('./templates.ts');
    const fields = { brand: 'PCCR LAI CHAU', repeat: '', zone: 'San Thàng', place: '1,7 km hướng Tây Bắc', time: '14:01', level: '', levelName: '', previousLevel: '', code: '', link: '', count: '1', nodes: 'san-thang-07', fault: '' };
    const body = renderMessage(ctx.policy, 'fire-signal-lost', fields, 'link');
    expect(body.body).toBe('PCCR LAI CHAU: MAT TIN HIEU cam bien gan dam chay tai San Thang, 1,7 km huong Tay Bac, tu 14:01. Chua biet lua da tat, kiem tra tai cho.');
    expect(body.count).toMatchObject({ encoding: 'GSM-7', segments: 1 });
    expect(renderMessage(ctx.policy, 'fire-cleared', fields, 'link').body).toMatch(/HET CHAY/);
  });

  it('a lost signal with no open fire alert in the zone sends nothing', () => {
    const { log, ignored } = run([{ at: 0, event: ev('fire-signal-lost', 'nam-loong', { nodeId: 'nam-loong-01' }) }]);
    expect(log).toStrictEqual([]);
    expect(ignored).toStrictEqual([expect.stringContaining('no open fire alert in nam-loong')]);
  });

  it('a real clear after a lost signal ends the alert with the all-clear', () => {
    const { log, state } = run([
      { at: 0, event: ev('fire-confirmed', 'san-thang') },
      { at: 100, event: ev('fire-signal-lost', 'san-thang') },
      { at: 200, event: ev('fire-cleared', 'san-thang') },
    ]);
    expect(log.map((l) => l.n.step)).toStrictEqual(['initial', 'lost1', 'clear']);
    expect(Object.values(state.alerts)[0]?.status).toBe('resolved');
  });
});

describe('the pipeline clock moved back (a new accelerated run): rebaseState', () => {
  it('shifts every time the state holds, so pending timers keep the time they had left', async () => {
    const { rebaseState } = await import('./engine.ts');
    const first = run([{ at: 0, event: ev('fire-suspected', 'san-thang') }]);
    const state = { ...first.state, lastNow: T0 + 100 * S };
    const back = 5 * 3600 * S;
    const rebased = rebaseState(state, T0 + 100 * S - back, 'run-1');
    expect(rebased.epoch).toBe('run-1');
    const a = Object.values(rebased.alerts)[0]!;
    expect(a.openedAt).toBe(T0 - back);
    expect(nextWakeAt(ctx, rebased)).toBe(nextWakeAt(ctx, first.state)! - back);
    // The first escalation is due 300 s after opening, on the new timeline.
    const due = tick(ctx, rebased, T0 - back + 300 * S);
    expect(due.output.notifications.map((n) => n.step)).toStrictEqual(['esc1']);
    // A clock that moved forward shifts nothing.
    expect(rebaseState(state, T0 + 200 * S, null).alerts).toStrictEqual(state.alerts);
  });
});
