// Sensor drills in rules: the simulator's plume (simulator/drill-plume.ts, the same input
// `fire-ews drill --depth sensor` publishes) judged in the drill's own detection state.
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { drillEventSchema } from '../contracts/payloads.ts';
import { loadSiteFile } from '../platform/site-file.ts';
import { planDrillPlume, type DrillPlumePlan } from '../simulator/drill-plume.ts';
import { DEFAULT_RULES_CONFIG } from './config.ts';
import { DrillDetections, FORGET_AFTER_MS, MAX_DRILLS, MAX_PENDING, REORDER_HOLD_MS, makeDrillReadingHandler } from './drill-detection.ts';
import type { OutboxItem } from './store.ts';

const site = loadSiteFile(new URL('../config/lai-chau.site.yaml', import.meta.url).pathname);
const cfg = DEFAULT_RULES_CONFIG.detection;
const T0 = Date.parse('2026-03-02T01:30:00Z');
const DRILL = 'san-thang-20260302-0130-abcd';
const plan = planDrillPlume(site, 'san-thang', DRILL, T0, { speed: 60, ignitionNode: 'san-thang-07' });
const msg = (m: DrillPlumePlan['messages'][number]) => [`ews/v1/drill/readings/${m.reading.nodeId}`, Buffer.from(JSON.stringify(m.reading))] as const;

/** Every message at its wall time, then the readings still held judged (as the service's timer does). */
function play(d: DrillDetections, p: DrillPlumePlan | DrillPlumePlan['messages']) {
  const events = [];
  const messages = Array.isArray(p) ? p : p.messages;
  for (const m of messages) {
    const r = d.onMessage(...msg(m), m.atWallMs);
    if (!r.ok) throw new Error(r.reason);
    events.push(...r.events.map((e) => ({ ...e, atWallMs: m.atWallMs })));
  }
  const end = (messages.at(-1)?.atWallMs ?? T0) + REORDER_HOLD_MS;
  events.push(...d.flushDue(end).flatMap((c) => c.events.map((e) => ({ ...e, atWallMs: end }))));
  return events;
}
const judged = (d: DrillDetections, id = DRILL) => d.state(id)?.readings;

describe('sensor drill detection in rules', () => {
  it('the plume is detected in the drill\'s own state: suspected 651 s and confirmed 2511 s after ignition, marked, with drill ids', () => {
    const events = play(new DrillDetections(site, cfg), plan);
    expect(events.map((e) => [e.kind, e.eventId, e.zoneId, e.nodeId, Math.round((Date.parse(e.ts) - plan.ignitionAtMs) / 1000)])).toStrictEqual([
      ['fire-suspected', `${DRILL}-1`, 'san-thang', 'san-thang-07', 651],
      ['fire-confirmed', `${DRILL}-2`, 'san-thang', 'san-thang-07', 2511],
    ]);
    for (const { atWallMs: _, ...e } of events) {
      expect(drillEventSchema.parse(e).drill).toStrictEqual({ id: DRILL, depth: 'sensor' });
      expect(e.detail.incidentId).toBe(`${DRILL}-incident`);
      expect(e.detail.firstReadingAt).toBe(new Date(T0).toISOString());
    }
    // At 60×, found 12.9 s and 43.9 s after the plume started (wall clock): the readings that raised them
    // came 10.9 s and 41.9 s in, and waited the 2 s reorder hold.
    expect(REORDER_HOLD_MS).toBe(2000);
    expect(events.map((e) => Math.round((e.atWallMs - T0) / 100) / 10)).toStrictEqual([12.9, 43.9]);
  });

  it('two drills at once keep apart: interleaved, each finds what it finds alone', () => {
    const other = planDrillPlume(site, 'nam-loong', 'nam-loong-20260302-0130-wxyz', T0, { speed: 60 });
    const alone = play(new DrillDetections(site, cfg), other).map((e) => [e.kind, e.eventId, e.ts]);
    const both = new DrillDetections(site, cfg);
    const merged = [...plan.messages, ...other.messages].sort((a, b) => a.atWallMs - b.atWallMs);
    const seen = merged.flatMap((m) => {
      const r = both.onMessage(...msg(m), m.atWallMs);
      return r.ok ? r.events : [];
    });
    expect(seen.filter((e) => e.drill.id !== DRILL).map((e) => [e.kind, e.eventId, e.ts])).toStrictEqual(alone);
    expect(seen.filter((e) => e.drill.id === DRILL).map((e) => e.kind)).toStrictEqual(['fire-suspected', 'fire-confirmed']);
  });

  it('a redelivered reading is skipped; bad input is refused with a reason', () => {
    const d = new DrillDetections(site, cfg);
    const first = plan.messages[0]!;
    expect(d.onMessage(...msg(first), T0)).toMatchObject({ ok: true, duplicate: false });
    expect(d.onMessage(...msg(first), T0)).toMatchObject({ ok: true, duplicate: true, events: [] });
    const own = `ews/v1/drill/readings/${first.reading.nodeId}`;
    const bad = (topic: string, payload: unknown) => d.onMessage(topic, Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)), T0);
    expect(bad(own, '{')).toMatchObject({ ok: false, code: 'malformed-json' });
    expect(bad(own, { ...first.reading, drill: undefined })).toMatchObject({ ok: false, code: 'schema' });
    expect(bad('ews/v1/drill/readings/san-thang-02', first.reading)).toMatchObject({ ok: false, code: 'topic-mismatch' });
    expect(bad('ews/v1/drill/readings/ghost-01', { ...first.reading, nodeId: 'ghost-01' })).toMatchObject({ ok: false, code: 'unknown-node' });
    expect(bad('ews/v1/readings/san-thang-07', first.reading)).toMatchObject({ ok: false, code: 'unknown-topic' });
    expect(bad(own, { ...first.reading, drill: { id: DRILL, depth: 'alert' } })).toMatchObject({ ok: false, code: 'schema', reason: expect.stringMatching(/depth must be sensor/) });
  });

  it(`memory is bounded: at most ${MAX_DRILLS} drills, the oldest evicted; a silent drill forgotten after 6 h`, () => {
    const d = new DrillDetections(site, cfg);
    const r = plan.messages[0]!.reading;
    for (let i = 0; i < MAX_DRILLS + 3; i++) d.onMessage(`ews/v1/drill/readings/${r.nodeId}`, Buffer.from(JSON.stringify({ ...r, drill: { id: `drill-${i}`, depth: 'sensor' } })), T0 + i);
    expect(d.size).toBe(MAX_DRILLS);
    expect(d.state('drill-0')).toBeUndefined();
    expect(d.state(`drill-${MAX_DRILLS + 2}`)).toBeDefined();
    d.onMessage(`ews/v1/drill/readings/${r.nodeId}`, Buffer.from(JSON.stringify({ ...r, drill: { id: 'late', depth: 'sensor' } })), T0 + MAX_DRILLS + 3 + FORGET_AFTER_MS);
    expect(d.size).toBe(1);
  });

  it('the state and the events are kept in one transaction: a restart half-way finds the same events', () => {
    const db = new Database(':memory:');
    const outbox: OutboxItem[] = [];
    let handler = makeDrillReadingHandler(site, cfg, db, (items) => outbox.push(...items));
    const half = Math.floor(plan.messages.length * 0.6);
    plan.messages.forEach((m, i) => {
      if (i === half) handler = makeDrillReadingHandler(site, cfg, db, (items) => outbox.push(...items)); // restarted
      handler.handle(...msg(m), m.atWallMs);
    });
    expect(outbox.map((o) => [o.key, o.topic])).toStrictEqual([
      [`drill-event:${DRILL}-1`, 'ews/v1/drill/events/fire-suspected/san-thang'],
      [`drill-event:${DRILL}-2`, 'ews/v1/drill/events/fire-confirmed/san-thang'],
    ]);
    // Every reading judged, those still held at the restart too (they were in the saved state).
    expect(handler.flushDue(Infinity)).toStrictEqual([]);
    expect(judged(handler.drills)).toBe(plan.messages.length);
    // A failed transaction keeps nothing and reloads the state: the redelivered reading is judged again.
    const failing = makeDrillReadingHandler(site, cfg, new Database(':memory:'), (items) => {
      if (items.length > 0) throw new Error('disk full');
    });
    const pure = new DrillDetections(site, cfg);
    const suspectAt = plan.messages.findIndex((m) => (pure.onMessage(...msg(m), m.atWallMs) as { events: unknown[] }).events.length > 0);
    for (const m of plan.messages.slice(0, suspectAt)) expect(failing.handle(...msg(m), m.atWallMs)).toStrictEqual({ ok: true, events: [] });
    // Without the reload the second attempt would be skipped as already judged, and the suspicion lost.
    expect(() => failing.handle(...msg(plan.messages[suspectAt]!), plan.messages[suspectAt]!.atWallMs)).toThrow('disk full');
    expect(() => failing.handle(...msg(plan.messages[suspectAt]!), plan.messages[suspectAt]!.atWallMs)).toThrow('disk full');
  });

  // What the broker did around a rules restart (test/integration/sensor-drills.test.ts, logged): the queued
  // readings of one node came 4–30 ms AFTER a newer live reading of that node.
  const fireOf = (node: string) => plan.messages.filter((m) => m.reading.nodeId === node && Date.parse(m.reading.ts) > plan.ignitionAtMs);
  function overtaken(node: string, from: number, queued: number, lagMs: number): DrillPlumePlan['messages'] {
    const fire = fireOf(node);
    const held = new Set(fire.slice(from, from + queued));
    const newer = fire[from + queued]!;
    return plan.messages.flatMap((m) => (held.has(m) ? [] : m === newer ? [m, ...[...held].map((h, k) => ({ ...h, atWallMs: m.atWallMs + lagMs + k }))] : [m]));
  }

  it.each([
    ['4 readings of the ignition node before the suspicion', 'san-thang-07', 3, 4],
    ['4 readings of a neighbour (the case logged)', 'san-thang-02', 6, 4],
    ['12 readings of the ignition node around the suspicion', 'san-thang-07', 4, 12],
  ])('older readings overtaken by a newer one of their node (%s) are all judged, in order: the same events', (_what, node, from, queued) => {
    const inOrder = play(new DrillDetections(site, cfg), plan).map((e) => [e.kind, e.eventId, e.ts]);
    const d = new DrillDetections(site, cfg);
    const shuffled = overtaken(node, from, queued, 30);
    expect(shuffled.length).toBe(plan.messages.length);
    expect(play(d, shuffled).map((e) => [e.kind, e.eventId, e.ts])).toStrictEqual(inOrder);
    expect(judged(d)).toBe(plan.messages.length);
    expect(d.state(DRILL)?.late ?? 0).toBe(0);
  });

  it('without the hold (0 ms, the detector as before) the overtaken readings are dropped as late', () => {
    const d = new DrillDetections(site, cfg, [], 0);
    const results = overtaken('san-thang-02', 6, 4, 30).map((m) => d.onMessage(...msg(m), m.atWallMs));
    expect(results.filter((r) => r.ok && r.late).length).toBe(4);
    expect(judged(d)).toBe(plan.messages.length - 4);
  });

  it('a reading older than one already judged (later than the hold) is dropped and counted late; the buffer is bounded', () => {
    const d = new DrillDetections(site, cfg);
    const fire = fireOf('san-thang-07');
    const [a, b] = [fire[0]!, fire[1]!];
    expect(d.onMessage(...msg(b), T0)).toMatchObject({ ok: true, late: false, duplicate: false });
    expect(d.flushDue(T0 + REORDER_HOLD_MS - 1)).toStrictEqual([]);
    expect(d.flushDue(T0 + REORDER_HOLD_MS)).toStrictEqual([{ drillId: DRILL, events: [] }]);
    expect(d.onMessage(...msg(a), T0 + REORDER_HOLD_MS + 5)).toMatchObject({ ok: true, late: true, duplicate: false });
    expect(d.onMessage(...msg(b), T0 + REORDER_HOLD_MS + 6)).toMatchObject({ ok: true, late: false, duplicate: true });
    expect(d.state(DRILL)).toMatchObject({ readings: 1, late: 1, pending: [] });
    // A flood at one instant: at most MAX_PENDING wait, the oldest are judged at once.
    const r = plan.messages[0]!.reading;
    const flood = new DrillDetections(site, cfg);
    for (let k = 0; k < MAX_PENDING + 40; k++) flood.onMessage(`ews/v1/drill/readings/${r.nodeId}`, Buffer.from(JSON.stringify({ ...r, seq: k + 1, ts: new Date(Date.parse(r.ts) + k * 1000).toISOString() })), T0);
    expect(flood.state(DRILL)?.pending?.length).toBe(MAX_PENDING);
    expect(flood.state(DRILL)?.readings).toBe(40);
  });
});
