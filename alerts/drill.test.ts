// Drills in the alert engine (README "Drills"): a drill alert opens at once with the route of the
// event it rehearses, its messages are marked and rank behind every real one, and a real event
// during a drill wins — its alerts go out at once and the drill stops for the people it reached.
// Expected recipients are read from the raw site YAML, not through alerts/routing.ts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { FireEvent } from '../contracts/payloads.ts';
import { acknowledge, alertByAckCode, confirmDrill, emptyEngineState, endDrill, handleEvent, nextWakeAt, PRIORITY, startDrill, tick, type DrillRequest, type EngineState, type Notification } from './engine.ts';
import { laiChauContext, SITE_FILE } from '../test/support/alerts-fixtures.ts';

interface RawMember { id: string }
interface RawSite {
  teams: { id: string; zones: string[]; leader: string; members: RawMember[] }[];
  boards: { city: { members: RawMember[] }; communes: { zone: string; members: RawMember[] }[] };
}
const raw = parse(readFileSync(SITE_FILE, 'utf8')) as RawSite;
const teamsOf = (zone: string) => raw.teams.filter((t) => t.zones.includes(zone));
const leaders = (zone: string) => teamsOf(zone).map((t) => t.leader);
const members = (zone: string) => teamsOf(zone).flatMap((t) => t.members.map((m) => m.id));
const communeBoard = (zone: string) => raw.boards.communes.filter((b) => b.zone === zone).flatMap((b) => b.members.map((m) => m.id));
const cityBoard = raw.boards.city.members.map((m) => m.id);
const sorted = (a: string[]) => [...new Set(a)].sort();
const who = (ns: Notification[]) => sorted(ns.flatMap((n) => n.recipients.map((r) => r.id)));

const ctx = laiChauContext();
const T0 = Date.parse('2026-03-02T01:30:00Z');
const S = 1000;
const drillReq = (extra: Partial<DrillRequest> = {}): DrillRequest => ({ drillId: 'san-thang-d1', kind: 'fire-suspected', zoneId: 'san-thang', audience: null, dryRun: false, startedBy: 'cli', ...extra });
const real = (kind: FireEvent['kind'], zoneId: string, id: string, extra: Partial<FireEvent> = {}): FireEvent => ({ eventId: id, kind, zoneId, ts: new Date(T0).toISOString(), detail: {}, ...extra });

function started(req = drillReq(), state: EngineState = emptyEngineState()) {
  const r = startDrill(ctx, state, req, T0, new Date(T0).toISOString());
  if (!r.result.ok) throw new Error(r.result.reason);
  return r;
}

describe('starting a drill', () => {
  it.each([
    ['fire-suspected', () => leaders('san-thang')],
    ['fire-confirmed', () => [...members('san-thang'), ...communeBoard('san-thang'), ...cityBoard]],
  ] as const)('a %s drill texts the route of that event at once, marked and behind real messages', (kind, expected) => {
    const { state, output } = started(drillReq({ kind }));
    expect(output.notifications).toHaveLength(1);
    const n = output.notifications[0] as Notification;
    expect(who([n])).toStrictEqual(sorted(expected()));
    expect(n.drill).toStrictEqual({ id: 'san-thang-d1', dryRun: false });
    expect(n.ackable).toBe(true);
    expect(n.priority).toBeGreaterThan(Math.max(...Object.values(PRIORITY)));
    const a = state.alerts['drill-san-thang-d1'];
    expect(a?.drill?.kind).toBe(kind);
    expect(a?.ackCode).toMatch(/^\d{4}$/);
  });

  it('an audience replaces the first recipients, and then there is no escalation', () => {
    const team = teamsOf('san-thang')[0];
    if (!team) throw new Error('no team');
    const { state, output } = started(drillReq({ audience: [`team:${team.id}`] }));
    expect(who(output.notifications)).toStrictEqual(sorted(team.members.map((m) => m.id)));
    const later = tick(ctx, state, T0 + 1000 * S);
    // Only the repeat (to the same team), never the whole zone or the boards.
    expect(later.output.notifications.map((n) => n.step)).toStrictEqual(['rep1']);
    expect(who(later.output.notifications)).toStrictEqual(sorted(team.members.map((m) => m.id)));
  });

  it('refuses an unknown zone and a second drill with the same id', () => {
    expect(startDrill(ctx, emptyEngineState(), drillReq({ zoneId: 'atlantis' }), T0, '2026-03-02T01:30:00Z').result).toStrictEqual({ ok: false, reason: 'unknown zone atlantis' });
    const { state } = started();
    expect(startDrill(ctx, state, drillReq(), T0, '2026-03-02T01:30:00Z').result).toMatchObject({ ok: false });
  });

  it('is acknowledged like a real alert: by its code, which stops its repeats and escalation', () => {
    const { state } = started();
    const a = alertByAckCode(state, state.alerts['drill-san-thang-d1']?.ackCode ?? '');
    expect(a?.alertId).toBe('drill-san-thang-d1');
    const acked = acknowledge(state, 'drill-san-thang-d1', 'x', 'modem', T0 + 60 * S);
    expect(acked.output.stopped).toStrictEqual(['drill-san-thang-d1']);
    expect(tick(ctx, acked.state, T0 + 3600 * S).output.notifications).toStrictEqual([]);
  });

  it('escalates on the route timeline when nobody answers', () => {
    const { state } = started();
    const at5 = tick(ctx, state, T0 + 300 * S);
    expect(at5.output.notifications.map((n) => n.step)).toStrictEqual(['esc1']);
    expect(who(at5.output.notifications)).toStrictEqual(sorted(members('san-thang').filter((m) => !leaders('san-thang').includes(m))));
    expect(at5.output.notifications[0]?.drill?.id).toBe('san-thang-d1');
  });

  it('ends when asked (no all-clear) or by itself once its links expire', () => {
    const { state } = started();
    const ended = endDrill(state, 'drill-san-thang-d1', T0 + 10 * S, 'api');
    expect(ended.output.notifications).toStrictEqual([]);
    expect(ended.state.alerts['drill-san-thang-d1']?.status).toBe('resolved');
    expect(nextWakeAt(ctx, state)).toBe(T0 + 300 * S);
    const day = tick(ctx, state, T0 + ctx.policy.ackTokenTtlS * S);
    expect(day.state.alerts['drill-san-thang-d1']?.status).toBe('resolved');
  });
});

describe('a real event during a drill wins', () => {
  it('a real suspected fire in the drill zone opens its own alert at once; the drill stops for the people it reached', () => {
    const drill = started();
    const r = handleEvent(ctx, drill.state, real('fire-suspected', 'san-thang', 'ev-real-1', { nodeId: 'san-thang-03' }), T0 + 60 * S);
    // Not folded into the drill, not held by a grouping window: the real message goes out now.
    expect(r.output.notifications.map((n) => [n.alertId, n.step, n.drill])).toStrictEqual([['ev-real-1', 'initial', undefined]]);
    expect(who(r.output.notifications)).toStrictEqual(sorted(leaders('san-thang')));
    expect(r.output.yielded).toStrictEqual([{ alertId: 'drill-san-thang-d1', recipientIds: leaders('san-thang') }]);
    // The drill's escalation at +5 min still texts the members the real alert did not reach...
    const at5 = tick(ctx, r.state, T0 + 300 * S);
    const drillMsgs = at5.output.notifications.filter((n) => n.drill);
    expect(who(drillMsgs)).toStrictEqual(sorted(members('san-thang').filter((m) => !leaders('san-thang').includes(m))));
    // ...but its repeats, which go to the leaders, are gone for them (due at +10 min); the real alert's repeat goes out (+11 min).
    const at10 = tick(ctx, at5.state, T0 + 600 * S);
    // At +10 min the real alert escalates to the whole teams (its +5 min, counted from +1 min) and so
    // takes them out of the drill; the drill's own step 2 still reaches the commune board.
    expect(at10.output.notifications.map((n) => [n.alertId, n.step])).toStrictEqual([['drill-san-thang-d1', 'esc2'], ['ev-real-1', 'esc1']]);
    expect(who(at10.output.notifications.filter((n) => n.drill))).toStrictEqual(sorted(communeBoard('san-thang')));
    expect(at10.output.yielded?.[0]?.recipientIds).toStrictEqual(members('san-thang').filter((m) => !leaders('san-thang').includes(m)));
    expect(at10.state.alerts['drill-san-thang-d1']?.repeatsDone).toBe(1);
    const at11 = tick(ctx, at10.state, T0 + 660 * S);
    expect(at11.output.notifications.filter((n) => n.step.startsWith('rep')).map((n) => [n.alertId, n.step, n.drill !== undefined])).toStrictEqual([['ev-real-1', 'rep1', false]]);
    expect(at11.output.notifications.filter((n) => n.drill)).toStrictEqual([]);
  });

  it('a real confirmed fire reaching everyone stops every further drill message', () => {
    const drill = started();
    const r = handleEvent(ctx, drill.state, real('fire-confirmed', 'san-thang', 'ev-real-2', { nodeId: 'san-thang-07' }), T0 + 30 * S);
    expect(r.output.notifications[0]?.priority).toBeLessThan(drill.output.notifications[0]?.priority ?? 0);
    let state = r.state;
    const drillMessages: Notification[] = [];
    for (let t = 60; t <= 3600; t += 60) {
      const k = tick(ctx, state, T0 + t * S);
      state = k.state;
      drillMessages.push(...k.output.notifications.filter((n) => n.drill));
    }
    // The drill escalates to whole teams, commune board and city board: all were told of the real fire.
    expect(drillMessages).toStrictEqual([]);
    expect(state.alerts['drill-san-thang-d1']?.status).toBe('active');
  });

  it('the drill neither inhibits, folds nor clears real alerts, and a real clear does not end the drill', () => {
    const drill = started(drillReq({ kind: 'fire-confirmed' }));
    // fire-confirmed inhibits level changes: a real one must still go out with a drill open.
    const lvl = handleEvent(ctx, drill.state, real('level-changed', 'san-thang', 'ev-lvl', { level: 4, previousLevel: 3 }), T0 + 10 * S);
    const flushed = tick(ctx, lvl.state, T0 + 71 * S);
    expect(flushed.output.notifications.map((n) => n.alertId)).toStrictEqual(['ev-lvl']);
    const cleared = handleEvent(ctx, flushed.state, real('fire-cleared', 'san-thang', 'ev-clear'), T0 + 80 * S);
    expect(cleared.state.alerts['drill-san-thang-d1']?.status).toBe('active');
    expect(cleared.output.notifications).toStrictEqual([]);
  });
});

describe('a sensor drill confirmed (engine)', () => {
  const rangers = (raw as unknown as { rangers: RawMember[] }).rangers.map((m) => m.id);
  it('the suspicion\'s steps, then the confirmed route\'s on the same alert, named apart: nobody misses the confirmed fire\'s repeat', () => {
    let { state } = started(drillReq({ depth: 'sensor' }));
    // The suspicion: +5 min whole teams, +10 min repeat to the leaders (and the commune board).
    let out = tick(ctx, state, T0 + 600 * S);
    state = out.state;
    expect(out.output.notifications.map((n) => n.step)).toStrictEqual(['esc1', 'esc2', 'rep1']);
    // Confirmed at +11 min: the confirmed route at once, the suspicion's queued steps stopped.
    const c = confirmDrill(ctx, state, 'san-thang-d1', T0 + 660 * S, new Date(T0 + 650 * S).toISOString());
    expect(c.widened).toBe(true);
    expect(c.output.stopped).toStrictEqual(['drill-san-thang-d1']);
    expect(c.output.notifications.map((n) => [n.step, n.messageKind])).toStrictEqual([['confirmed', 'fire-confirmed']]);
    expect(who(c.output.notifications)).toStrictEqual(sorted([...members('san-thang'), ...communeBoard('san-thang'), ...cityBoard]));
    state = c.state;
    // Its repeat 10 min later reaches the leaders again (their suspicion `rep1` row does not hide it), its escalation 15 min later the rangers.
    out = tick(ctx, state, T0 + 1260 * S);
    state = out.state;
    expect(out.output.notifications.map((n) => [n.step, n.messageKind])).toStrictEqual([['confirmed-rep1', 'fire-confirmed']]);
    expect(who(out.output.notifications)).toStrictEqual(sorted([...leaders('san-thang'), ...communeBoard('san-thang')]));
    out = tick(ctx, state, T0 + 1560 * S);
    expect(out.output.notifications.map((n) => n.step)).toStrictEqual(['confirmed-esc1']);
    expect(who(out.output.notifications)).toStrictEqual(sorted(rangers));
    expect(out.output.notifications.every((n) => n.drill?.id === 'san-thang-d1')).toBe(true);
  });
});
