import { assert, describe, expect, it } from 'vitest';
import { eventSchema } from '../contracts/payloads.ts';
import { rulesConfig } from './config.ts';
import { FireDetector, distanceM, type DetectNode } from './detection.ts';
import { EventLog, MIN, T0, testSite, wiggle } from '../test/support/rules-fixtures.ts';

const site = testSite();
const nodes: DetectNode[] = site.nodes.map((n) => ({ id: n.id, zone: n.zone, lat: n.lat, lon: n.lon, intervalMs: n.reportingIntervalS * 1000 }));
const idx = (id: string) => nodes.findIndex((n) => n.id === id);
const cfg = rulesConfig().detection;

/** Clean air at every node for `minutes`, starting at minute `from`. */
function calm(det: FireDetector, log: EventLog, from: number, minutes: number, ids = ['a-1', 'b-1', 'c-1', 'c-2', 'c-3']) {
  for (let k = from; k < from + minutes; k++) for (const id of ids) det.onReading(idx(id), T0 + k * MIN, 25 + wiggle(k, 0.3), 50 + wiggle(k + 1, 1), 250 + wiggle(k + 2, 4), log.sink);
}

function smoky(det: FireDetector, log: EventLog, id: string, k: number, smoke = 400, t = 25, rh = 50) {
  return det.onReading(idx(id), T0 + k * MIN, t, rh, smoke, log.sink);
}

it('the test site layout: c-1/c-2 and c-2/c-3 are neighbours, c-1/c-3 are not', () => {
  expect(distanceM(nodes[idx('c-1')]!, nodes[idx('c-2')]!)).toBeLessThan(cfg.neighbourDistanceM);
  expect(distanceM(nodes[idx('c-1')]!, nodes[idx('c-3')]!)).toBeGreaterThan(cfg.neighbourDistanceM);
  expect(distanceM(nodes[idx('a-1')]!, nodes[idx('c-1')]!)).toBeGreaterThan(cfg.plumeJoinDistanceM);
});

describe('suspicion', () => {
  it('smoke against the node baseline: suspected after 3 of 4 anomalous readings, with time-to-detect', () => {
    const log = new EventLog();
    const det = new FireDetector(nodes, cfg, () => true);
    calm(det, log, 0, 60);
    expect(log.events).toStrictEqual([]);
    expect(smoky(det, log, 'a-1', 60)).toBe(true);
    expect(det.onReading(idx('a-1'), T0 + 61 * MIN, 25, 50, 251, log.sink)).toBe(false); // one clean reading in between
    smoky(det, log, 'a-1', 62);
    expect(log.events).toStrictEqual([]);
    smoky(det, log, 'a-1', 63);
    const [e] = log.events;
    assert(e);
    expect(e).toMatchObject({ kind: 'fire-suspected', nodeId: 'a-1', zoneId: 'a', detail: { firstAnomalyAt: new Date(T0 + 60 * MIN).toISOString(), timeToDetectS: 180 } });
    expect(e.eventId).toBe(`${e.detail.incidentId}-suspected`);
    expect(Math.abs(Number(e.detail.smokeBaseline) - 250)).toBeLessThan(5);
    eventSchema.parse(e);
  });

  it('heat with a humidity drop is anomalous without smoke; heat alone is not', () => {
    const log = new EventLog();
    const det = new FireDetector(nodes, cfg, () => true);
    calm(det, log, 0, 60);
    // Fixed ceiling: 60 °C smoothed, but humidity normal → not a fire signal on its own.
    const verdicts = Array.from({ length: 10 }, (_, i) => det.onReading(idx('a-1'), T0 + (60 + i) * MIN, 62, 50, 250, log.sink));
    expect(verdicts).toStrictEqual(Array.from({ length: 10 }, () => false));
    // Rate of rise ≥ 6.7 °C/min with humidity 20 points under its baseline.
    const det2 = new FireDetector(nodes, cfg, () => true);
    const log2 = new EventLog();
    calm(det2, log2, 0, 60);
    for (let k = 60; k < 64; k++) det2.onReading(idx('a-1'), T0 + k * MIN, 25 + (k - 59) * 16, 28, 250, log2.sink);
    expect(log2.kinds()).toStrictEqual(['fire-suspected:a-1']);
    expect(log2.events[0]?.detail).toMatchObject({ smokeAnomaly: false, heat: true, humidityDrop: true });
  });

  it('the baseline follows slow drift but is frozen while anomalous', () => {
    const log = new EventLog();
    const det = new FireDetector(nodes, cfg, () => true);
    // Clean air drifting from 250 to 330 over 16 hours: never an alarm.
    for (let k = 0; k < 960; k++) det.onReading(idx('a-1'), T0 + k * MIN, 25, 50, 250 + k / 12 + wiggle(k, 3), log.sink);
    expect(log.events).toStrictEqual([]);
    const before = det.nodeState(idx('a-1')).smokeBase;
    expect(before, `baseline followed the drift: ${before}`).toBeGreaterThan(310);
    for (let k = 960; k < 1000; k++) det.onReading(idx('a-1'), T0 + k * MIN, 25, 50, 700, log.sink);
    expect(det.nodeState(idx('a-1')).smokeBase).toBe(before);
  });

  it('a rising-smoke sensor reporting a ratio (falls with smoke) is handled by smokeDirection: down', () => {
    const log = new EventLog();
    const down = rulesConfig({ detection: { smokeDirection: 'down' } }).detection;
    const det = new FireDetector(nodes, down, () => true);
    for (let k = 0; k < 60; k++) det.onReading(idx('a-1'), T0 + k * MIN, 25, 50, 9.8 + wiggle(k, 0.1), log.sink);
    for (let k = 60; k < 64; k++) det.onReading(idx('a-1'), T0 + k * MIN, 25, 50, 3.4, log.sink);
    expect(log.kinds()).toStrictEqual(['fire-suspected:a-1']);
  });
});

describe('confirmation', () => {
  it('confirmed by persistence: suspected for 30 min and still burning', () => {
    const log = new EventLog();
    const det = new FireDetector(nodes, cfg, () => true);
    calm(det, log, 0, 60);
    for (let k = 60; k < 100; k++) smoky(det, log, 'a-1', k, 500 + k);
    expect(log.kinds()).toStrictEqual(['fire-suspected:a-1', 'fire-confirmed:a-1']);
    const c = log.of('fire-confirmed')[0];
    assert(c);
    expect(c).toMatchObject({
      ts: new Date(T0 + 92 * MIN).toISOString(), // suspected at 62, + 30 min
      detail: { confirmedBy: 'persistence', timeToDetectS: 32 * 60 },
    });
    expect(c.eventId).toBe(`${c.detail.incidentId}-confirmed`);
  });

  it('confirmed by a neighbour that also suspects; a far node in the plume joins the same incident', () => {
    const log = new EventLog();
    const det = new FireDetector(nodes, cfg, () => true);
    calm(det, log, 0, 60);
    for (let k = 60; k < 64; k++) smoky(det, log, 'c-1', k);
    expect(log.kinds()).toStrictEqual(['fire-suspected:c-1']);
    for (let k = 64; k < 70; k++) {
      smoky(det, log, 'c-1', k);
      if (k >= 66) smoky(det, log, 'c-2', k, 330);
      else det.onReading(idx('c-2'), T0 + k * MIN, 25, 50, 250, log.sink);
    }
    expect(log.kinds()).toStrictEqual(['fire-suspected:c-1', 'fire-confirmed:c-2']);
    expect(log.of('fire-confirmed')[0]).toMatchObject({ zoneId: 'c', detail: { confirmedBy: 'neighbour', corroboratingNode: 'c-1', nodes: 'c-1,c-2' } });
    // c-3 (1.6 km from c-1, 800 m from c-2) starts seeing smoke: same fire, no new event.
    for (let k = 70; k < 75; k++) {
      smoky(det, log, 'c-1', k);
      smoky(det, log, 'c-2', k, 330);
      smoky(det, log, 'c-3', k, 340);
    }
    expect(log.events).toHaveLength(2);
    expect(det.activeIncidents()[0]?.members).toStrictEqual([idx('c-1'), idx('c-2'), idx('c-3')]);
  });

  it('an unhealthy neighbour does not corroborate', () => {
    const log = new EventLog();
    let c1Healthy = true;
    const det = new FireDetector(nodes, cfg, (i) => i !== idx('c-1') || c1Healthy);
    calm(det, log, 0, 60);
    for (let k = 60; k < 64; k++) smoky(det, log, 'c-1', k);
    c1Healthy = false; // e.g. its clock is found to be wrong
    for (let k = 64; k < 70; k++) smoky(det, log, 'c-2', k, 330);
    expect(log.kinds()).toStrictEqual(['fire-suspected:c-1']);
  });
});

describe('incidents and clearing', () => {
  it('a village burn shorter than the persistence window is suspected, never confirmed, then cleared', () => {
    const log = new EventLog();
    const det = new FireDetector(nodes, cfg, () => true);
    calm(det, log, 0, 60);
    for (let k = 60; k < 85; k++) smoky(det, log, 'a-1', k, 420); // 25 min of smoke
    calm(det, log, 85, 120, ['a-1']);
    expect(log.kinds()).toStrictEqual(['fire-suspected:a-1', 'fire-cleared:a-1']);
    // Cleared 30 min after the last anomalous reading (minute 84).
    expect(log.of('fire-cleared')[0]).toMatchObject({ detail: { confirmed: false, reason: 'baseline' }, ts: new Date(T0 + 114 * MIN).toISOString() });
  });

  it('one fire, one id: never announced twice while active; a fire back within reopenWithinS continues the same incident', () => {
    const log = new EventLog();
    const det = new FireDetector(nodes, cfg, () => true);
    calm(det, log, 0, 60);
    // Intermittent smoke for two hours: anomalies every few minutes keep the incident open.
    for (let k = 60; k < 180; k++) smoky(det, log, 'b-1', k, k % 7 === 0 ? 252 : 450);
    expect(log.kinds()).toStrictEqual(['fire-suspected:b-1', 'fire-confirmed:b-1']);
    calm(det, log, 180, 40, ['b-1']);
    expect(log.of('fire-cleared')).toHaveLength(1);
    // Smoke again 11 min after the clear (well inside 3 h): the same fire, confirmed at once again.
    for (let k = 220; k < 225; k++) smoky(det, log, 'b-1', k, 450);
    expect(log.kinds()).toStrictEqual(['fire-suspected:b-1', 'fire-confirmed:b-1', 'fire-cleared:b-1', 'fire-confirmed:b-1']);
    const incident = log.events[0]!.detail.incidentId;
    expect(log.events.map((e) => e.detail.incidentId)).toStrictEqual([incident, incident, incident, incident]);
    const reopened = log.events[3]!;
    expect(reopened.eventId).toBe(`${String(incident)}-confirmed-r1`);
    expect(reopened.detail).toMatchObject({ reopened: 1, confirmedBy: 'reopened' });
    eventSchema.parse(reopened);
    // It clears again under its own id.
    calm(det, log, 225, 40, ['b-1']);
    expect(log.of('fire-cleared').map((e) => e.eventId)).toStrictEqual([`${String(incident)}-cleared`, `${String(incident)}-cleared-r1`]);
    const ids = log.events.map((e) => e.eventId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('a fire after the re-open window is a new incident with a new id', () => {
    const log = new EventLog();
    const det = new FireDetector(nodes, cfg, () => true);
    calm(det, log, 0, 60);
    for (let k = 60; k < 80; k++) smoky(det, log, 'b-1', k, 450);
    calm(det, log, 80, 40, ['b-1']);
    expect(log.kinds()).toStrictEqual(['fire-suspected:b-1', 'fire-cleared:b-1']);
    // 3 h 10 min after the clear at minute 109.
    det.onTick(T0 + (109 + 190) * MIN, log.sink);
    calm(det, log, 120, 180, ['b-1']);
    for (let k = 300; k < 305; k++) smoky(det, log, 'b-1', k, 450);
    const suspected = log.of('fire-suspected');
    expect(suspected).toHaveLength(2);
    expect(suspected[1]!.detail.incidentId).not.toBe(suspected[0]!.detail.incidentId);
    expect(suspected[1]!.detail.reopened).toBeUndefined();
  });

  it('a suspected-only incident back within the window is suspected again under the same id', () => {
    const log = new EventLog();
    const det = new FireDetector(nodes, cfg, () => true);
    calm(det, log, 0, 60);
    for (let k = 60; k < 75; k++) smoky(det, log, 'a-1', k, 420); // 15 min, never confirmed
    calm(det, log, 75, 40, ['a-1']);
    for (let k = 115; k < 119; k++) smoky(det, log, 'a-1', k, 420);
    expect(log.kinds()).toStrictEqual(['fire-suspected:a-1', 'fire-cleared:a-1', 'fire-suspected:a-1']);
    const [first, , again] = log.events;
    expect(again!.eventId).toBe(`${String(first!.detail.incidentId)}-suspected-r1`);
    expect(again!.detail.incidentId).toBe(first!.detail.incidentId);
  });

  it('signal lost: its only member went silent (burnt); after staleAfterS a fire-signal-lost, never a fire-cleared', () => {
    const log = new EventLog();
    let alive = true;
    const det = new FireDetector(nodes, cfg, (i) => i !== idx('a-1') || alive);
    calm(det, log, 0, 60);
    for (let k = 60; k < 100; k++) smoky(det, log, 'a-1', k, 900);
    alive = false;
    det.onTick(T0 + 100 * MIN + 5 * 3600_000, log.sink);
    expect(log.of('fire-signal-lost')).toStrictEqual([]);
    det.onTick(T0 + 99 * MIN + 6 * 3600_000, log.sink);
    expect(log.of('fire-cleared')).toStrictEqual([]);
    const [lost] = log.of('fire-signal-lost');
    assert(lost);
    expect(lost).toMatchObject({ zoneId: 'a', nodeId: 'a-1', ts: new Date(T0 + 99 * MIN + 6 * 3600_000).toISOString(), detail: { confirmed: true, unhealthyNodes: 'a-1', lastAnomalyAt: new Date(T0 + 99 * MIN).toISOString() } });
    expect(lost.eventId).toBe(`${String(lost.detail.incidentId)}-signal-lost`);
    eventSchema.parse(lost);
    // Still open, announced once: later ticks say nothing more.
    det.onTick(T0 + 99 * MIN + 7 * 3600_000, log.sink);
    expect(log.of('fire-signal-lost')).toHaveLength(1);
    expect(det.activeIncidents()).toHaveLength(1);
  });

  it('after a lost signal the node reports smoke again: the same incident goes on; silent again: a second signal-lost', () => {
    const log = new EventLog();
    let alive = true;
    const det = new FireDetector(nodes, cfg, (i) => i !== idx('a-1') || alive);
    calm(det, log, 0, 60);
    for (let k = 60; k < 100; k++) smoky(det, log, 'a-1', k, 900);
    alive = false;
    det.onTick(T0 + 99 * MIN + 6 * 3600_000, log.sink);
    alive = true;
    const back = 99 + 6 * 60 + 10;
    for (let k = back; k < back + 10; k++) smoky(det, log, 'a-1', k, 900);
    expect(log.kinds()).toStrictEqual(['fire-suspected:a-1', 'fire-confirmed:a-1', 'fire-signal-lost:a-1']);
    alive = false;
    det.onTick(T0 + (back + 9) * MIN + 6 * 3600_000, log.sink);
    const lost = log.of('fire-signal-lost');
    expect(lost).toHaveLength(2);
    expect(lost[1]!.eventId).toBe(`${String(lost[0]!.detail.incidentId)}-signal-lost-2`);
  });

  it('a member back with clean air after a lost signal clears the incident (a sensor saw it out)', () => {
    const log = new EventLog();
    let alive = true;
    const det = new FireDetector(nodes, cfg, (i) => i !== idx('a-1') || alive);
    calm(det, log, 0, 60);
    for (let k = 60; k < 100; k++) smoky(det, log, 'a-1', k, 900);
    alive = false;
    det.onTick(T0 + 99 * MIN + 6 * 3600_000, log.sink);
    alive = true;
    calm(det, log, 99 + 6 * 60 + 5, 3, ['a-1']);
    expect(log.kinds()).toStrictEqual(['fire-suspected:a-1', 'fire-confirmed:a-1', 'fire-signal-lost:a-1', 'fire-cleared:a-1']);
  });

  it('a lost incident nobody hears of for reopenWithinS more is given up silently; smoke there soon after continues it', () => {
    const log = new EventLog();
    let alive = true;
    const det = new FireDetector(nodes, cfg, (i) => i !== idx('a-1') || alive);
    calm(det, log, 0, 60);
    for (let k = 60; k < 100; k++) smoky(det, log, 'a-1', k, 900);
    alive = false;
    const lostAt = T0 + 99 * MIN + 6 * 3600_000;
    det.onTick(lostAt, log.sink);
    det.onTick(lostAt + 3 * 3600_000, log.sink);
    expect(det.activeIncidents()).toStrictEqual([]);
    expect(log.kinds()).toStrictEqual(['fire-suspected:a-1', 'fire-confirmed:a-1', 'fire-signal-lost:a-1']);
    alive = true;
    const k0 = Math.round((lostAt + 3 * 3600_000 - T0) / MIN) + 5;
    calm(det, log, k0, 20, ['a-1']);
    for (let k = k0 + 20; k < k0 + 24; k++) smoky(det, log, 'a-1', k, 900);
    expect(log.kinds()).toStrictEqual(['fire-suspected:a-1', 'fire-confirmed:a-1', 'fire-signal-lost:a-1', 'fire-confirmed:a-1']);
    expect(log.events[3]!.detail).toMatchObject({ incidentId: log.events[0]!.detail.incidentId, reopened: 1 });
  });

  it('shift(): moving every time back keeps how long ago things happened', () => {
    const a = new EventLog();
    const b = new EventLog();
    const one = new FireDetector(nodes, cfg, () => true);
    const two = new FireDetector(nodes, cfg, () => true);
    calm(one, a, 0, 60);
    calm(two, b, 0, 60);
    for (let k = 60; k < 70; k++) {
      smoky(one, a, 'c-1', k);
      smoky(two, b, 'c-1', k);
    }
    // The second detector's clock is set back 5 h: the same readings 5 h earlier go on identically.
    const back = 5 * 60;
    two.shift(back * MIN);
    for (let k = 70; k < 110; k++) {
      smoky(one, a, 'c-1', k);
      smoky(two, b, 'c-1', k - back);
    }
    expect(b.kinds()).toStrictEqual(a.kinds());
    expect(b.events.map((e) => Date.parse(e.ts) + (e.eventId === b.events[0]!.eventId ? 0 : back * MIN))).toStrictEqual(a.events.map((e) => Date.parse(e.ts)));
  });
});

it('snapshot and restore continue identically', () => {
  const a = new EventLog();
  const b = new EventLog();
  const one = new FireDetector(nodes, cfg, () => true);
  calm(one, a, 0, 60);
  for (let k = 60; k < 70; k++) smoky(one, a, 'c-1', k);
  const two = new FireDetector(nodes, cfg, () => true, JSON.parse(JSON.stringify(one.snapshot(), (_k, v) => (Number.isNaN(v) ? 'NaN' : v === -Infinity ? '-Inf' : v)), (_k, v) => (v === 'NaN' ? NaN : v === '-Inf' ? -Infinity : v)));
  for (let k = 70; k < 120; k++) {
    smoky(one, a, 'c-1', k);
    smoky(two, b, 'c-1', k);
  }
  expect(b.events).toStrictEqual(a.events.slice(1));
});
