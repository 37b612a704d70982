// Routing on the Lai Châu roster, grouping, inhibition, repeat and escalation timelines under a fake
// clock (plain numbers passed as `now`), acknowledgement. Expected recipients are read from the raw
// site YAML here, not through alerts/routing.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { FireEvent } from '../contracts/payloads.ts';
import { acknowledge, alertByAckCode, emptyEngineState, handleEvent, nextWakeAt, tick, type EngineState, type Notification } from './engine.ts';
import { laiChauContext, SITE_FILE } from './test-fixtures.ts';

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
      assert.ok(r.result.ok);
      state = r.state;
    }
  }
  return { state, log, ignored };
}

test('the San Thàng roster is what the test assumes (8 teams, a commune board, the city board)', () => {
  assert.equal(teamsOf('san-thang').length, 8);
  assert.ok(communeBoard('san-thang').length > 0);
  assert.equal(members('san-thang').length, 100);
});

test('a confirmed fire in San Thàng reaches exactly the San Thàng teams (all members), the San Thàng commune board and the city board', () => {
  const { log } = run([{ at: 0, event: ev('fire-confirmed', 'san-thang', { nodeId: 'san-thang-03' }) }]);
  assert.equal(log.length, 1);
  const n = log[0]!.n;
  assert.equal(n.step, 'initial');
  assert.equal(n.messageKind, 'fire-confirmed');
  const expected = sorted([...members('san-thang'), ...communeBoard('san-thang'), ...cityBoard]);
  assert.deepEqual(who([n]), expected);
  assert.equal(n.recipients.length, expected.length, 'nobody twice');
  // nobody from another zone's teams or boards, no rangers/maintenance
  const outsiders = [...members('quyet-thang'), ...communeBoard('nam-loong'), ...ids(raw.rangers), ...ids(raw.maintenance)];
  assert.ok(outsiders.every((id) => !expected.includes(id)));
  assert.equal(n.fields.zone, 'San Thàng');
  assert.equal(n.fields.place, 'san-thang-03');
  assert.equal(n.fields.time, '14:00'); // 07:00Z in Asia/Ho_Chi_Minh
  assert.match(n.fields.code, /^\d{4}$/);
});

test('suspected fire → only the covering teams\' leaders; a team covering two zones is included', () => {
  const st = run([{ at: 0, event: ev('fire-suspected', 'san-thang') }]);
  assert.deepEqual(who(st.log.map((l) => l.n)), sorted(leaders('san-thang')));
  const dk = run([{ at: 0, event: ev('fire-suspected', 'doan-ket') }]);
  assert.deepEqual(who(dk.log.map((l) => l.n)), sorted(leaders('doan-ket')));
  assert.ok(teamsOf('doan-ket').some((t) => t.zones.length > 1));
});

test('danger levels: II nobody, III leaders + commune board, IV and V also city board and rangers', () => {
  const at = (level: 1 | 2 | 3 | 4 | 5) =>
    who(run([{ at: 0, event: ev('level-changed', 'san-thang', { level, previousLevel: 1 }) }, { at: 60, tick: true }]).log.map((l) => l.n));
  assert.deepEqual(at(2), []);
  assert.deepEqual(at(3), sorted([...leaders('san-thang'), ...communeBoard('san-thang')]));
  const high = sorted([...leaders('san-thang'), ...communeBoard('san-thang'), ...cityBoard, ...ids(raw.rangers)]);
  assert.deepEqual(at(4), high);
  assert.deepEqual(at(5), high);
});

test('node faults go to maintenance only; the fix sends the all-clear to the same people', () => {
  const { log } = run([
    { at: 0, event: ev('node-fault', 'san-thang', { nodeId: 'san-thang-02' }) },
    { at: 60, tick: true },
    { at: 300, event: ev('node-fault-cleared', 'san-thang', { nodeId: 'san-thang-02' }) },
  ]);
  assert.deepEqual(log.map((l) => [l.at, l.n.messageKind, l.n.step]), [[60, 'node-fault', 'initial'], [300, 'node-fault-cleared', 'clear']]);
  assert.deepEqual(who([log[0]!.n]), sorted(ids(raw.maintenance)));
  assert.deepEqual(who([log[1]!.n]), sorted(ids(raw.maintenance)));
});

test('fire cleared: the all-clear reaches everyone told about the fire, including escalated people', () => {
  const { log, state } = run([
    { at: 0, event: ev('fire-confirmed', 'san-thang') },
    { at: 900, tick: true }, // escalation to rangers + repeat
    { at: 1000, event: ev('fire-cleared', 'san-thang') },
    { at: 5000, tick: true },
  ]);
  const clear = log.filter((l) => l.n.step === 'clear');
  assert.equal(clear.length, 1);
  assert.deepEqual(who(clear.map((l) => l.n)), sorted([...members('san-thang'), ...communeBoard('san-thang'), ...cityBoard, ...ids(raw.rangers)]));
  assert.equal(clear[0]!.n.ackable, false);
  assert.ok(log.every((l) => l.at <= 1000), 'nothing after the all-clear');
  assert.equal(Object.values(state.alerts)[0]?.status, 'resolved');
});

test('grouping: node faults in one zone within the window become one message with the count', () => {
  const { log } = run([
    { at: 0, event: ev('node-offline', 'nam-loong', { nodeId: 'nam-loong-01' }) },
    { at: 20, event: ev('node-offline', 'nam-loong', { nodeId: 'nam-loong-02' }) },
    { at: 45, event: ev('node-offline', 'nam-loong', { nodeId: 'nam-loong-03' }) },
    { at: 59, tick: true },
    { at: 60, tick: true },
  ]);
  assert.equal(log.length, 1);
  assert.equal(log[0]!.at, 60);
  assert.equal(log[0]!.n.fields.count, '3');
});

test('grouping: a second level rise within 60 s of a message waits for the window, then goes out as one', () => {
  const { log } = run([
    { at: 0, event: ev('level-changed', 'quyet-thang', { level: 3, previousLevel: 2 }) },
    { at: 60, tick: true }, // III sent (groupWaitS 60)
    { at: 70, event: ev('level-changed', 'quyet-thang', { level: 4, previousLevel: 3 }) }, // more severe: not held by the window, only its own wait
    { at: 129, tick: true },
    { at: 130, tick: true },
  ]);
  assert.deepEqual(log.map((l) => [l.at, l.n.fields.level]), [[60, 'III'], [130, 'IV']]);
});

test('grouping: a suspected then confirmed fire 20 s apart: the confirmation is not delayed and supersedes the suspicion', () => {
  const { log, state } = run([
    { at: 0, event: ev('fire-suspected', 'san-thang') },
    { at: 20, event: ev('fire-confirmed', 'san-thang') },
    { at: 300, tick: true }, // the suspicion's escalation must not run any more
    { at: 25, event: ev('fire-suspected', 'san-thang') }, // inhibited by the open confirmed fire
  ]);
  assert.deepEqual(log.map((l) => [l.at, l.n.messageKind, l.n.step]), [[0, 'fire-suspected', 'initial'], [20, 'fire-confirmed', 'initial']]);
  const statuses = Object.values(state.alerts).map((a) => [a.kind, a.status]);
  assert.deepEqual(statuses, [['fire-suspected', 'resolved'], ['fire-confirmed', 'active']]);
});

test('inhibition: a confirmed fire mutes a pending and a later level change for the same zone, not for other zones', () => {
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
  assert.deepEqual(
    log.filter((l) => l.n.step === 'initial').map((l) => [l.at, l.n.messageKind, l.n.alertId]),
    [[10, 'fire-confirmed', fire.eventId], [60, 'level-raised', otherZone.eventId]],
  );
  assert.equal(ignored.filter((i) => i.includes('inhibited')).length, 2);
});

test('escalation timeline of a suspected fire under a fake clock, stopped by acknowledgement', () => {
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
  assert.deepEqual(log.map((l) => [l.at, l.n.step]), [[0, 'initial'], [300, 'esc1'], [600, 'esc2'], [600, 'rep1']]);
  const byStep = new Map(log.map((l) => [l.n.step, sorted(l.n.recipients.map((r) => r.id))]));
  assert.deepEqual(byStep.get('esc1'), sorted(members('san-thang').filter((m) => !leaders('san-thang').includes(m))));
  assert.deepEqual(byStep.get('esc2'), sorted(communeBoard('san-thang')));
  assert.deepEqual(byStep.get('rep1'), sorted(leaders('san-thang')));
  assert.equal(log.find((l) => l.n.step === 'rep1')?.n.fields.repeat, 'NHẮC LẠI ');
});

test('unacknowledged: escalation runs to the city board and repeats stop at the configured maximum', () => {
  const steps: Parameters<typeof run>[0] = [{ at: 0, event: ev('fire-suspected', 'tan-phong') }];
  for (let t = 60; t <= 4000; t += 60) steps.push({ at: t, tick: true });
  const { log, state } = run(steps);
  assert.deepEqual(log.map((l) => [l.at, l.n.step]), [[0, 'initial'], [300, 'esc1'], [600, 'esc2'], [600, 'rep1'], [900, 'esc3'], [1200, 'rep2']]);
  assert.equal(nextWakeAt(ctx, state), null);
});

test('a redelivered event (same eventId) sends nothing twice; ack codes find their alert', () => {
  const e = ev('fire-confirmed', 'dong-phong');
  const { log, state } = run([{ at: 0, event: e }, { at: 5, event: e }]);
  assert.equal(log.length, 1);
  const code = log[0]!.n.fields.code;
  assert.equal(alertByAckCode(state, code)?.alertId, e.eventId);
  assert.equal(alertByAckCode(state, '0000'), null);
});

test('a level fall sends the all-clear to those told about the higher level; a fall before sending sends nothing', () => {
  const a = run([
    { at: 0, event: ev('level-changed', 'san-thang', { level: 4, previousLevel: 3 }) },
    { at: 60, tick: true },
    { at: 3600, event: ev('level-changed', 'san-thang', { level: 2, previousLevel: 4 }) },
  ]);
  assert.deepEqual(a.log.map((l) => [l.n.messageKind, l.n.fields.level, l.n.fields.previousLevel]), [['level-raised', 'IV', ''], ['level-fell', 'II', 'IV']]);
  assert.deepEqual(who([a.log[1]!.n]), who([a.log[0]!.n]));
  const b = run([
    { at: 0, event: ev('level-changed', 'san-thang', { level: 4, previousLevel: 3 }) },
    { at: 30, event: ev('level-changed', 'san-thang', { level: 2, previousLevel: 4 }) },
    { at: 120, tick: true },
  ]);
  assert.deepEqual(b.log, []);
});
