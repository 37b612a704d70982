import { describe, expect, it } from 'vitest';
import { drillReadingSchema } from '../contracts/payloads.ts';
import { sampleSite } from '../test/support/simulator-fixtures.ts';
import { DRILL_FIRE_MIN, DRILL_WARMUP_MIN, planDrillPlume } from './drill-plume.ts';

const site = sampleSite();
const T0 = Date.parse('2026-03-02T01:30:00Z');
const DRILL = 'san-thang-20260302-0130-abcd';

describe('a sensor drill plume plan', () => {
  it.each([1, 60])('at %i×: clean air sent at once, the fire placed to end at its last send, no reading stamped after it is sent', (speed) => {
    const plan = planDrillPlume(site, 'san-thang', DRILL, T0, { speed, ignitionNode: 'san-thang-07' });
    const fireMs = DRILL_FIRE_MIN * 60_000;
    expect(plan.ignitionAtMs).toBe(T0 + fireMs / speed - fireMs);
    expect(plan.nodes).toStrictEqual(site.nodes.filter((n) => n.zone === 'san-thang').map((n) => n.id));
    // 8 nodes reporting every minute for 20 + 45 minutes.
    expect(plan.messages.length).toBe(plan.nodes.length * (DRILL_WARMUP_MIN + DRILL_FIRE_MIN));
    for (const m of plan.messages) {
      expect(Date.parse(m.reading.ts), `${m.reading.nodeId} seq ${m.reading.seq}`).toBeLessThanOrEqual(m.atWallMs);
      expect(drillReadingSchema.parse(m.reading).drill).toStrictEqual({ id: DRILL, depth: 'sensor' });
    }
    const clean = plan.messages.filter((m) => Date.parse(m.reading.ts) < plan.ignitionAtMs);
    expect(clean.length).toBe(plan.nodes.length * DRILL_WARMUP_MIN);
    for (const m of clean) expect(m.atWallMs).toBe(T0);
    expect(plan.endWallMs).toBeLessThanOrEqual(T0 + fireMs / speed);
    expect(plan.endWallMs).toBeGreaterThan(T0 + fireMs / speed - 60_000 / speed);
  });

  it('the node next to the ignition sees the smoke rise; one far upwind does not', () => {
    const plan = planDrillPlume(site, 'san-thang', DRILL, T0, { speed: 60, ignitionNode: 'san-thang-07' });
    const peak = (node: string, afterIgnition: boolean) => Math.max(...plan.messages.filter((m) => m.reading.nodeId === node && Date.parse(m.reading.ts) >= plan.ignitionAtMs === afterIgnition).map((m) => m.reading.smoke));
    expect(peak('san-thang-07', true)).toBeGreaterThan(2 * peak('san-thang-07', false));
  });

  it.each([
    { zone: 'nowhere', opts: { speed: 1 }, error: /zone nowhere has no sensor nodes/ },
    { zone: 'san-thang', opts: { speed: 1, ignitionNode: 'nam-loong-01' }, error: /node nam-loong-01 is not in zone san-thang/ },
    { zone: 'san-thang', opts: { speed: 0.5 }, error: /speed must be at least 1/ },
  ])('refuses $zone $opts', ({ zone, opts, error }) => {
    expect(() => planDrillPlume(site, zone, DRILL, T0, opts)).toThrow(error);
  });
});
