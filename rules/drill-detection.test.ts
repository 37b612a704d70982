// Sensor drills in rules: the simulator's plume (simulator/drill-plume.ts, the same input
// `fire-ews drill --depth sensor` publishes) judged in the drill's own detection state.
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { drillEventSchema } from '../contracts/payloads.ts';
import { loadSiteFile } from '../platform/site-file.ts';
import { planDrillPlume, type DrillPlumePlan } from '../simulator/drill-plume.ts';
import { DEFAULT_RULES_CONFIG } from './config.ts';
import { DrillDetections, FORGET_AFTER_MS, MAX_DRILLS, makeDrillReadingHandler } from './drill-detection.ts';
import type { OutboxItem } from './store.ts';

const site = loadSiteFile(new URL('../config/lai-chau.site.yaml', import.meta.url).pathname);
const cfg = DEFAULT_RULES_CONFIG.detection;
const T0 = Date.parse('2026-03-02T01:30:00Z');
const DRILL = 'san-thang-20260302-0130-abcd';
const plan = planDrillPlume(site, 'san-thang', DRILL, T0, { speed: 60, ignitionNode: 'san-thang-07' });
const msg = (m: DrillPlumePlan['messages'][number]) => [`ews/v1/drill/readings/${m.reading.nodeId}`, Buffer.from(JSON.stringify(m.reading))] as const;

function play(d: DrillDetections, p: DrillPlumePlan) {
  const events = [];
  for (const m of p.messages) {
    const r = d.onMessage(...msg(m), m.atWallMs);
    if (!r.ok) throw new Error(r.reason);
    events.push(...r.events.map((e) => ({ ...e, atWallMs: m.atWallMs })));
  }
  return events;
}

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
    // At 60×, found 10.9 s and 41.9 s after the plume started (wall clock).
    expect(events.map((e) => Math.round((e.atWallMs - T0) / 100) / 10)).toStrictEqual([10.9, 41.9]);
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
    // A failed transaction keeps nothing and reloads the state: the redelivered reading is judged again.
    const failing = makeDrillReadingHandler(site, cfg, new Database(':memory:'), (items) => {
      if (items.length > 0) throw new Error('disk full');
    });
    const suspectAt = plan.messages.findIndex((m) => m.atWallMs - T0 >= 10_850);
    for (const m of plan.messages.slice(0, suspectAt)) expect(failing.handle(...msg(m), m.atWallMs)).toStrictEqual({ ok: true, events: [] });
    // Without the reload the second attempt would be skipped as already judged, and the suspicion lost.
    expect(() => failing.handle(...msg(plan.messages[suspectAt]!), plan.messages[suspectAt]!.atWallMs)).toThrow('disk full');
    expect(() => failing.handle(...msg(plan.messages[suspectAt]!), plan.messages[suspectAt]!.atWallMs)).toThrow('disk full');
  });
});
