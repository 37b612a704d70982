import { describe, expect, it } from 'vitest';
import { eventSchema } from '../contracts/payloads.ts';
import { DEFAULT_RULES_CONFIG } from './config.ts';
import { LATE, SKIP, USE, healthOnReading, healthOnTick, isHealthy, newNodeHealth, type HealthNode } from './sensor-health.ts';
import { EventLog, MIN, T0, reading } from '../test/support/rules-fixtures.ts';

const cfg = DEFAULT_RULES_CONFIG.health;
const node: HealthNode = { id: 'n-1', zone: 'z', intervalMs: MIN };

function run(k: number, opts: { ts?: number; rx?: number; w?: Parameters<typeof reading>[3]; inFire?: boolean } = {}) {
  return { ts: opts.ts ?? T0 + k * MIN, rx: opts.rx ?? T0 + k * MIN, r: reading('n-1', k, opts.ts ?? T0 + k * MIN, opts.w) };
}

describe('online and offline', () => {
  it('offline after 3 silent reporting intervals (judged on arrival), online on the next reading', () => {
    const log = new EventLog();
    const st = newNodeHealth(T0);
    for (let k = 0; k < 5; k++) {
      const { r, ts, rx } = run(k);
      expect(healthOnReading(st, node, r, ts, rx, cfg, log.sink)).toBe(USE);
      healthOnTick(st, node, rx, cfg, log.sink);
    }
    // Last reading at T0+4 min: still online at +6:59, offline at +7:00.
    healthOnTick(st, node, T0 + 7 * MIN - 1, cfg, log.sink);
    expect(st.online).toBe(true);
    healthOnTick(st, node, T0 + 30 * MIN, cfg, log.sink); // a late tick still stamps the deadline
    expect(st.online).toBe(false);
    expect(isHealthy(st)).toBe(false);
    const [off] = log.of('node-offline');
    expect(off).toMatchObject({ ts: new Date(T0 + 7 * MIN).toISOString(), detail: { silentForS: 180 } });
    healthOnTick(st, node, T0 + 40 * MIN, cfg, log.sink);
    expect(log.of('node-offline'), 'offline is announced once').toHaveLength(1);
    const { r, ts, rx } = run(45);
    healthOnReading(st, node, r, ts, rx, cfg, log.sink);
    const [on] = log.of('node-online');
    expect(on?.detail).toMatchObject({ incidentId: off!.detail.incidentId, offlineForS: 38 * 60 });
    expect(isHealthy(st)).toBe(true);
    for (const e of log.events) eventSchema.parse(e);
  });

  it('a node that never reports is declared offline 3 intervals after monitoring starts', () => {
    const log = new EventLog();
    const st = newNodeHealth(T0);
    healthOnTick(st, node, T0 + 3 * MIN, cfg, log.sink);
    expect(log.of('node-offline')[0]!.detail.lastSeenAt).toBeNull();
  });
});

describe('channel faults', () => {
  it('stuck channel after 30 identical readings; cleared after 5 varied ones; RH saturation is exempt', () => {
    const log = new EventLog();
    const st = newNodeHealth(T0);
    let k = 0;
    for (; k < 29; k++) {
      const { r, ts, rx } = run(k, { w: { humidityPct: 63.2 } });
      expect(healthOnReading(st, node, r, ts, rx, cfg, log.sink)).toBe(USE);
    }
    expect(log.events).toStrictEqual([]);
    const { r, ts, rx } = run(k++, { w: { humidityPct: 63.2 } });
    expect(healthOnReading(st, node, r, ts, rx, cfg, log.sink)).toBe(SKIP);
    const [fault] = log.of('node-fault');
    expect(fault?.detail).toMatchObject({ fault: 'stuck', channel: 'humidityPct', excluded: true });
    for (let j = 0; j < 4; j++, k++) {
      const x = run(k);
      expect(healthOnReading(st, node, x.r, x.ts, x.rx, cfg, log.sink)).toBe(SKIP);
    }
    const x = run(k++);
    expect(healthOnReading(st, node, x.r, x.ts, x.rx, cfg, log.sink)).toBe(USE);
    expect(log.of('node-fault-cleared')[0]!.detail.incidentId).toBe(fault!.detail.incidentId);

    // 100 % RH in fog for an hour is weather, not a stuck sensor.
    const fog = newNodeHealth(T0);
    const fogLog = new EventLog();
    for (let j = 0; j < 60; j++) {
      const y = run(j, { w: { humidityPct: 100 } });
      healthOnReading(fog, node, y.r, y.ts, y.rx, cfg, fogLog.sink);
    }
    expect(fogLog.events).toStrictEqual([]);
  });

  it('a smoke channel pinned at its maximum inside a suspected fire is saturated, not stuck', () => {
    const log = new EventLog();
    const st = newNodeHealth(T0);
    for (let k = 0; k < 60; k++) {
      const { r, ts, rx } = run(k, { w: { smoke: 4095 } });
      healthOnReading(st, node, r, ts, rx, cfg, log.sink, true);
    }
    expect(log.events).toStrictEqual([]);
  });

  it('out of range: the reading is dropped at once, the fault clears after 5 plausible readings', () => {
    const log = new EventLog();
    const st = newNodeHealth(T0);
    let x = run(0, { w: { humidityPct: 150 } });
    expect(healthOnReading(st, node, x.r, x.ts, x.rx, cfg, log.sink)).toBe(SKIP);
    x = run(1, { w: { temperatureC: -99 } });
    expect(healthOnReading(st, node, x.r, x.ts, x.rx, cfg, log.sink)).toBe(SKIP);
    expect(log.of('node-fault'), 'one fault while it lasts').toHaveLength(1);
    expect(log.of('node-fault')[0]!.detail.channel).toBe('humidityPct');
    for (let k = 2; k < 6; k++) {
      x = run(k);
      expect(healthOnReading(st, node, x.r, x.ts, x.rx, cfg, log.sink)).toBe(SKIP);
    }
    x = run(6);
    expect(healthOnReading(st, node, x.r, x.ts, x.rx, cfg, log.sink)).toBe(USE);
    expect(log.of('node-fault-cleared')).toHaveLength(1);
    const nan = run(7, { w: { smoke: Number.NaN } });
    expect(healthOnReading(st, node, nan.r, nan.ts, nan.rx, cfg, log.sink)).toBe(SKIP);
    for (const e of log.events) eventSchema.parse(e);
  });

  it('battery: low battery is advisory, brown-out leaves the node out; both clear with hysteresis', () => {
    const log = new EventLog();
    const st = newNodeHealth(T0);
    const volts = [3.9, 3.6, 3.45, 3.4, 3.25, 3.2, 3.55, 3.58, 3.65];
    const verdicts = volts.map((v, k) => {
      const x = run(k, { w: { batteryV: v } });
      return healthOnReading(st, node, x.r, x.ts, x.rx, cfg, log.sink);
    });
    expect(verdicts).toStrictEqual([USE, USE, USE, USE, SKIP, SKIP, USE, USE, USE]);
    expect(log.events.map((e) => `${e.kind} ${e.detail.fault} ${e.detail.batteryV ?? ''}`.trim())).toStrictEqual(['node-fault low-battery 3.45', 'node-fault brown-out 3.25', 'node-fault-cleared brown-out', 'node-fault-cleared low-battery']);
  });
});

describe('timing', () => {
  it('clock skew: ahead of arrival by > 120 s three times raises it; a store-and-forward burst is not skew', () => {
    const log = new EventLog();
    const st = newNodeHealth(T0);
    for (let k = 0; k < 3; k++) {
      const x = run(k, { ts: T0 + k * MIN + 600_000 });
      healthOnReading(st, node, x.r, x.ts, x.rx, cfg, log.sink);
    }
    expect(log.of('node-fault')[0]?.detail).toMatchObject({ fault: 'clock-skew', skewS: 600 });
    expect(isHealthy(st)).toBe(false);
    for (let k = 3; k < 6; k++) {
      const x = run(k);
      healthOnReading(st, node, x.r, x.ts, x.rx, cfg, log.sink);
    }
    expect(log.of('node-fault-cleared')).toHaveLength(1);
    // The clock is right again: the node's readings are in order again (not stuck behind +10 min).
    const next = run(6);
    expect(healthOnReading(st, node, next.r, next.ts, next.rx, cfg, log.sink)).toBe(USE);

    // Burst: 45 readings observed while the link was down arrive within a second.
    const burstLog = new EventLog();
    const b = newNodeHealth(T0);
    const x0 = run(0);
    healthOnReading(b, node, x0.r, x0.ts, x0.rx, cfg, burstLog.sink);
    const arrival = T0 + 46 * MIN;
    for (let k = 1; k <= 45; k++) {
      const x = run(k, { rx: arrival + k * 20 });
      expect(healthOnReading(b, node, x.r, x.ts, x.rx, cfg, burstLog.sink)).toBe(USE);
    }
    expect(burstLog.of('node-fault')).toStrictEqual([]);
    // A clock running 10 min slow at the live cadence is skew.
    for (let k = 47; k < 50; k++) {
      const x = run(k, { ts: T0 + k * MIN - 600_000, rx: T0 + k * MIN });
      healthOnReading(b, node, x.r, x.ts, x.rx, cfg, burstLog.sink);
    }
    expect(burstLog.of('node-fault')[0]!.detail.skewS).toBe(-600);
  });

  it('duplicates and out-of-order readings are late: not for detection, still for aggregates', () => {
    const log = new EventLog();
    const st = newNodeHealth(T0);
    const a = run(0);
    const b = run(1);
    expect(healthOnReading(st, node, b.r, b.ts, b.rx, cfg, log.sink)).toBe(USE);
    expect(healthOnReading(st, node, a.r, a.ts, b.rx + 500, cfg, log.sink)).toBe(LATE);
    expect(healthOnReading(st, node, b.r, b.ts, b.rx + 900, cfg, log.sink)).toBe(LATE);
    // A node that reboots restarts its sequence numbers: newer observations are still in order.
    const c = run(2);
    c.r.seq = 0;
    expect(healthOnReading(st, node, c.r, c.ts, c.rx, cfg, log.sink)).toBe(USE);
    expect(log.events).toStrictEqual([]);
  });
});
