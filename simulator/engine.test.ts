import { assert, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readingSchema, type Reading } from '../contracts/payloads.ts';
import { scenarioNodes, simulate, type SimMessage } from './engine.ts';
import { loadScenario, parseScenarioText } from './scenario.ts';
import { collect, sampleSite } from '../test/support/simulator-fixtures.ts';

function ndjsonDigest(readings: readonly Reading[]): string {
  const hash = createHash('sha256');
  for (const r of readings) hash.update(`${JSON.stringify(r)}\n`);
  return hash.digest('hex');
}

it('same scenario and seed give byte-identical output; another seed differs', () => {
  const scenario = loadScenario('fire-san-thang');
  const a = ndjsonDigest(collect(scenario).readings);
  const b = ndjsonDigest(collect(scenario).readings);
  const c = ndjsonDigest(collect(scenario, undefined, scenario.seed + 1).readings);
  expect(a).toBe(b);
  expect(a).not.toBe(c);
});

it("a node's readings do not depend on which other nodes are simulated", () => {
  const scenario = loadScenario('node-faults');
  const alone = collect(scenario, ['tan-phong-02']).readings;
  const together = collect(scenario).readings.filter((r) => r.nodeId === 'tan-phong-02');
  expect(alone).toStrictEqual(together);
});

it('every generated reading satisfies the contract and per-node seq never decreases in observation order', () => {
  const { readings } = collect(loadScenario('normal-day'));
  expect(readings).toHaveLength(33 * 24 * 60);
  for (const r of readings) readingSchema.parse(r);
  const nodeSeq = new Map<string, number>();
  for (const r of readings) {
    expect(r.seq, `${r.nodeId} seq`).toBe((nodeSeq.get(r.nodeId) ?? -1) + 1);
    nodeSeq.set(r.nodeId, r.seq);
  }
  // Sensors match the site file: only gauges report rain and wind.
  const site = sampleSite();
  const channels = (rain: boolean, wind: boolean) => [...(rain ? ['rain'] : []), ...(wind ? ['wind'] : [])];
  const reported = site.nodes.map((node) => {
    const sample = readings.find((r) => r.nodeId === node.id);
    assert(sample, `a reading of ${node.id}`);
    return [node.id, channels(sample.rainMm !== undefined, sample.windMs !== undefined)];
  });
  expect(reported).toStrictEqual(site.nodes.map((node) => [node.id, channels(node.sensors.includes('rain'), node.sensors.includes('wind'))]));
});

/** Per node: when smoke first exceeds `ratio` × its pre-event median, and the peak rise. */
function smokeResponse(readings: readonly Reading[], eventMs: number, ratio: number) {
  const result = new Map<string, { firstMs: number | undefined; peakRatio: number; peakHeatC: number }>();
  const byNode = new Map<string, Reading[]>();
  for (const r of readings) byNode.set(r.nodeId, [...(byNode.get(r.nodeId) ?? []), r]);
  for (const [node, rows] of byNode) {
    const before = rows.filter((r) => Date.parse(r.ts) < eventMs);
    const baseline = before.map((r) => r.smoke).sort((a, b) => a - b)[Math.floor(before.length / 2)]!;
    const tempBefore = Math.max(...before.map((r) => r.temperatureC));
    const after = rows.filter((r) => Date.parse(r.ts) >= eventMs);
    const first = after.find((r) => r.smoke > baseline * ratio);
    result.set(node, {
      firstMs: first ? Date.parse(first.ts) : undefined,
      peakRatio: Math.max(...after.map((r) => r.smoke)) / baseline,
      peakHeatC: Math.max(...after.map((r) => r.temperatureC)) - tempBefore,
    });
  }
  return result;
}

it('fire near San Thàng: the nearest node sees smoke and heat first, downwind neighbours later and weaker, upwind nodes nothing', () => {
  const scenario = loadScenario('fire-san-thang');
  const ignition = scenario.start + 45 * 60_000;
  const { messages, readings } = collect(scenario);
  const seen = smokeResponse(readings, ignition, 2);
  const origin = seen.get('san-thang-07')!;
  const downwind = seen.get('san-thang-04')!;
  assert(origin.firstMs !== undefined, 'origin node smells smoke');
  expect(origin.firstMs - ignition, `origin node smells smoke within 20 min (${(origin.firstMs - ignition) / 60_000} min)`).toBeLessThan(20 * 60_000);
  assert(downwind.firstMs !== undefined, 'the downwind neighbour (NW, ~1.2 km) sees smoke');
  expect(downwind.firstMs - origin.firstMs, 'the downwind neighbour sees it later').toBeGreaterThan(10 * 60_000);
  for (const [node, r] of seen) {
    if (node === 'san-thang-07' || r.firstMs === undefined) continue;
    expect(r.firstMs, `${node} is not before the origin node`).toBeGreaterThan(origin.firstMs);
    expect(r.peakRatio, `${node} is weaker than the origin node`).toBeLessThan(origin.peakRatio);
  }
  expect(origin.peakHeatC, `origin node heats up (${origin.peakHeatC.toFixed(1)} °C)`).toBeGreaterThan(15);
  expect(downwind.peakHeatC, 'the neighbour warms much less').toBeLessThan(origin.peakHeatC / 3);
  // Upwind (south-east/east of the ignition): nothing.
  for (const node of ['san-thang-08', 'dong-phong-03', 'dong-phong-01']) expect(seen.get(node)!.firstMs, `${node} is upwind`).toBeUndefined();
  // The front reaches the origin node and burns it: its link drops and it falls silent.
  const burnt = messages.find((m) => m.kind === 'link' && m.nodeId === 'san-thang-07');
  assert(burnt?.kind === 'link');
  expect(burnt.up).toBe(false);
  expect(burnt.reason).toMatch(/burnt/);
  expect(readings.filter((r) => r.nodeId === 'san-thang-07' && Date.parse(r.ts) > burnt.atMs)).toStrictEqual([]);
});

it('nuisance smoke: one node sees a short rise with little heat; no neighbour confirms it', () => {
  const scenario = loadScenario('nuisance-smoke');
  const burnStart = scenario.start + 3600_000;
  const { readings } = collect(scenario);
  const seen = smokeResponse(readings, burnStart, 1.5);
  const hit = [...seen].filter(([, r]) => r.firstMs !== undefined).map(([n]) => n);
  expect(hit).toStrictEqual(['quyet-thang-01']);
  const near = readings.filter((r) => r.nodeId === 'quyet-thang-01');
  const baseline = near.filter((r) => Date.parse(r.ts) < burnStart).map((r) => r.smoke).sort((a, b) => a - b)[30]!;
  const smoky = near.filter((r) => r.smoke > baseline * 1.5);
  expect(smoky.length, 'smoky minutes').toBeGreaterThanOrEqual(5);
  expect(smoky.length, 'smoky minutes').toBeLessThanOrEqual(40);
  expect(seen.get('quyet-thang-01')!.peakHeatC, 'little heat').toBeLessThan(5);
});

describe('node faults appear as specified', () => {
  const scenario = loadScenario('node-faults');
  const at = (h: number) => scenario.start + h * 3600_000;
  let messages: SimMessage[] = [];
  let readings: Reading[] = [];
  beforeAll(() => {
    ({ messages, readings } = collect(scenario));
  });
  const of = (node: string) => readings.filter((r) => r.nodeId === node);
  const links = (node: string) => messages.filter((m) => m.kind === 'link' && m.nodeId === node);

  it('link loss with store-and-forward: the readings of the outage arrive in one burst after the link is back', () => {
    const burstNode = messages.filter((m) => m.nodeId === 'nam-loong-03');
    const [down, up] = links('nam-loong-03');
    assert(down?.kind === 'link' && up?.kind === 'link');
    expect([down.up, down.atMs]).toStrictEqual([false, at(2)]);
    expect([up.up, up.atMs]).toStrictEqual([true, at(2.75)]);
    const burst = burstNode.filter((m) => m.kind === 'reading' && Date.parse(m.reading.ts) >= at(2) && Date.parse(m.reading.ts) < at(2.75));
    expect(burst.length, 'buffered readings').toBeGreaterThanOrEqual(44);
    expect(burst.length, 'buffered readings').toBeLessThanOrEqual(46);
    expect(burst.filter((m) => !(m.atMs > at(2.75) && m.atMs < at(2.75) + 2000)), 'delivered together right after reconnect').toStrictEqual([]);
    expect(burstNode.indexOf(burst[0]!), 'after the link-up').toBeGreaterThan(burstNode.indexOf(up));
    expect(of('nam-loong-03').map((r) => r.seq), 'nothing lost').toStrictEqual(of('nam-loong-03').map((_, i) => i));
  });

  it('power off: no readings in the window, and seq continues without a gap (nothing was measured)', () => {
    const off = of('dong-phong-02');
    expect(off.filter((r) => Date.parse(r.ts) >= at(5) && Date.parse(r.ts) < at(5.5))).toStrictEqual([]);
    expect(off.map((r) => r.seq)).toStrictEqual(off.map((_, i) => i));
  });

  it('unbuffered link loss: readings lost, visible as a seq gap of ~20', () => {
    const lost = of('quyet-thang-04');
    const gap = lost.findIndex((r, i) => i > 0 && r.seq !== lost[i - 1]!.seq + 1);
    expect(gap, 'a seq gap').toBeGreaterThan(0);
    expect(lost[gap]!.seq - lost[gap - 1]!.seq).toBeGreaterThanOrEqual(19);
  });

  it('stuck humidity: one exact value for six hours, then it moves again', () => {
    const stuck = of('san-thang-02').filter((r) => Date.parse(r.ts) >= at(3) && Date.parse(r.ts) < at(9));
    expect(new Set(stuck.map((r) => r.humidityPct)).size).toBe(1);
    expect(new Set(stuck.map((r) => r.temperatureC)).size, 'other sensors keep working').toBeGreaterThan(50);
  });

  it('battery drain: voltage sags towards 3.0 V, then brown-out: link down for good, no more readings', () => {
    const drain = of('quyet-tien-02');
    const lastReading = drain.at(-1)!;
    expect(lastReading.batteryV!, `last battery ${lastReading.batteryV}`).toBeLessThan(3.1);
    expect(drain.find((r) => Date.parse(r.ts) < at(4))!.batteryV!).toBeGreaterThan(3.7);
    expect(links('quyet-tien-02').at(-1)).toMatchObject({ kind: 'link', up: false, reason: expect.stringMatching(/brown-out/), atMs: at(14) });
    expect(Date.parse(lastReading.ts)).toBeLessThan(at(14));
  });

  it('clock skew: timestamps run 600 s ahead inside the window only', () => {
    const skewed = messages.filter((m) => m.kind === 'reading' && m.nodeId === 'doan-ket-02');
    const offsets = skewed.map((m) => (m.kind === 'reading' ? Date.parse(m.reading.ts) - m.atMs : 0));
    expect(offsets.filter((o) => o === 600_000).length, 'readings 600 s ahead').toBeGreaterThanOrEqual(700);
    expect(offsets.filter((o) => o === 0).length, 'readings on time').toBeGreaterThanOrEqual(700);
  });

  it('duplicates: the same (node, seq) delivered twice, only inside the window', () => {
    const dup = of('tan-phong-02');
    const counts = new Map<number, number>();
    for (const r of dup) counts.set(r.seq, (counts.get(r.seq) ?? 0) + 1);
    const doubled = [...counts].filter(([, c]) => c > 1).map(([seq]) => dup.find((r) => r.seq === seq)!);
    expect(doubled.length, 'duplicates').toBeGreaterThan(15);
    expect(doubled.length, 'duplicates').toBeLessThan(60);
    expect(doubled.filter((r) => !(Date.parse(r.ts) >= at(6) && Date.parse(r.ts) < at(8))).map((r) => r.ts)).toStrictEqual([]);
  });

  it('out of order: some readings arrive after their successor', () => {
    const ooo = of('nam-loong-05');
    const inversions = ooo.filter((r, i) => i > 0 && r.seq < ooo[i - 1]!.seq);
    expect(inversions.length, 'inversions').toBeGreaterThan(15);
    expect(inversions.length, 'inversions').toBeLessThan(60);
    expect(inversions.filter((r) => !(Date.parse(r.ts) >= at(8) && Date.parse(r.ts) < at(10) + 120_000)).map((r) => r.ts)).toStrictEqual([]);
  });

  it('a healthy node has none of this', () => {
    const healthy = of('quyet-thang-01');
    expect(healthy.map((r) => r.seq)).toStrictEqual(healthy.map((_, i) => i));
    expect(links('quyet-thang-01')).toHaveLength(0);
  });
});

it('events naming an unknown node are refused', () => {
  const scenario = parseScenarioText(
    'name: x\nstart: 2026-03-01T00:00:00+07:00\nduration: 1h\nevents:\n  - { type: stuck, node: no-such-node, sensor: smoke, at: 5m, duration: 10m }\n',
    'x.yaml',
  );
  expect(() => simulate(scenario, scenarioNodes(scenario, sampleSite()))).toThrow(/events\[0\] names node no-such-node/);
});
