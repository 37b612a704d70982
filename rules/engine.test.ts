import { beforeAll, describe, expect, it } from 'vitest';
import { dangerSchema, eventSchema, type Danger } from '../contracts/payloads.ts';
import { RulesEngine, parseState, serializeState, type EngineReading } from './engine.ts';
import { rulesConfig } from './config.ts';
import { FWI_STARTUP, fwiDay } from './fwi.ts';
import { EventLog, MIN, T0, reading, testSite, wiggle } from '../test/support/rules-fixtures.ts';

const site = testSite();
const DAY = 1440;

interface Plan {
  /** Weather of node at minute k (minutes since T0 = local midnight). */
  weather?: (id: string, k: number) => Partial<{ temperatureC: number; humidityPct: number; smoke: number; rainMm: number; windMs: number }> | null;
}

/** Every node reports every minute from T0 for `days`; returns readings in delivery order. */
function readings(days: number, plan: Plan = {}): EngineReading[] {
  const out: EngineReading[] = [];
  for (let k = 0; k < days * DAY; k++) {
    for (const n of site.nodes) {
      const w = plan.weather ? plan.weather(n.id, k) : {};
      if (w === null) continue; // silent
      const r = reading(n.id, k, T0 + k * MIN + 1000 * site.nodes.indexOf(n), {
        temperatureC: 30 + wiggle(k, 0.2),
        humidityPct: 35 + wiggle(k + 5, 0.5),
        ...(n.sensors.includes('rain') ? { rainMm: 0 } : {}),
        ...w,
      });
      out.push(r);
    }
  }
  return out;
}

function run(rs: EngineReading[], engine?: RulesEngine) {
  const log = new EventLog();
  const dangers: Danger[] = [];
  const e = engine ?? new RulesEngine(site, T0, { event: log.sink, danger: (d) => dangers.push(d) });
  for (const r of rs) e.ingest(r, Date.parse(r.ts));
  return { engine: e, log, dangers };
}

describe('the official 13:00 value', () => {
  it('official 13:00 level per zone: medians of healthy nodes, quality, level change events, schemas', () => {
    // Day 2 (from 13:00 of day 1 to 13:00 of day 2) brings 6 mm at a-1: P resets, then accumulates.
    const rs = readings(4, { weather: (id, k) => (id === 'a-1' && k >= DAY + 15 * 60 && k < DAY + 15 * 60 + 60 ? { rainMm: 0.1 } : {}) });
    const { dangers, log } = run(rs);
    for (const d of dangers) dangerSchema.parse(d);
    for (const e of log.events) eventSchema.parse(e);
    const byDay = (zone: string) => dangers.filter((d) => d.zoneId === zone);
    const a = byDay('a');
    expect(a.map((d) => d.date)).toStrictEqual(['2026-03-10', '2026-03-11', '2026-03-12', '2026-03-13']);
    expect(a[0]!.ts).toBe('2026-03-10T13:00:00+07:00');
    expect(a[0]!.official).toBe(true);
    // Day 1: the gauge only covers 13 of the 24 hours → estimated; 30 °C / 35 % → P ≈ 825.6.
    expect(a[0]!.quality).toBe('estimated');
    expect(Math.abs(a[0]!.nesterovP! - 825.58), String(a[0]!.nesterovP)).toBeLessThan(15);
    expect(a[0]!.inputs.nodesUsed.join()).toBe('a-1');
    expect(a[1]!.inputs.rain24hMm).toBe(0);
    expect(a[1]!.level).toBe(2);
    // 6 mm fell after 13:00 on day 2: counted for day 3, a measured reset → exact chain again.
    expect(a[2]!.inputs.rain24hMm).toBe(6);
    expect(a[2]!.nesterovP).toBe(0);
    expect(a[2]!.level).toBe(1);
    expect(a[2]!.quality).toBe('ok');
    expect(a[3]!.quality).toBe('ok');
    expect(a[3]!.levelName).toBe('Cấp I – thấp');
    // Zone c has three nodes but no rain gauge: it borrows the site's → estimated, and its own reset.
    const c = byDay('c');
    expect(c[0]!.inputs.nodesUsed).toStrictEqual(['c-1', 'c-2', 'c-3']);
    expect(c[2]!.quality).toBe('estimated');
    expect(c[2]!.nesterovP).toBe(0);
    // Level changes: II on day 2 (previous I), I on day 3 after the reset — one event per zone per day.
    const changes = log.of('level-changed').filter((e) => e.zoneId === 'a');
    expect(changes.map((e) => [e.detail.date, e.previousLevel, e.level])).toStrictEqual([
      ['2026-03-11', 1, 2],
      ['2026-03-12', 2, 1],
    ]);
    expect(changes[0]!.eventId).toBe('level-a-20260311');
  });

  it('missing data is explicit: borrowed inputs are estimated, no data anywhere is unavailable', () => {
    // Zone b silent around 13:00 on day 1; the whole site silent around 13:00 on day 2.
    const rs = readings(3, {
      weather: (id, k) => {
        const tod = k % DAY;
        const inWindow = tod >= 12 * 60 + 30 && tod <= 13 * 60 + 30;
        if (inWindow && k < DAY && id === 'b-1') return null;
        if (inWindow && k >= DAY && k < 2 * DAY) return null;
        return {};
      },
    });
    const { dangers } = run(rs);
    const b = dangers.filter((d) => d.zoneId === 'b');
    expect(b[0]!.quality).toBe('estimated');
    expect(b[0]!.inputs.nodesUsed).toStrictEqual(['a-1', 'c-1', 'c-2', 'c-3']);
    const day2 = dangers.filter((d) => d.date === '2026-03-11');
    for (const d of day2) expect(d, d.zoneId).toMatchObject({ quality: 'unavailable', level: null, nesterovP: null, inputs: { t13: null } });
    // P is carried unchanged over the missing day; the next day is estimated.
    const a = dangers.filter((d) => d.zoneId === 'a');
    expect(Math.abs(a[2]!.nesterovP! - 2 * a[0]!.nesterovP!)).toBeLessThan(20);
    expect(a[2]!.quality).toBe('estimated');
  });

  it('faulty and fire-affected nodes are left out of the 13:00 aggregate', () => {
    // c-3 reads 45 °C with a stuck humidity all day (a fault); c-2 has a fire around noon.
    const rs = readings(1, {
      weather: (id, k) => {
        if (id === 'c-3') return { temperatureC: 45, humidityPct: 20 };
        if (id === 'c-2' && k >= 11 * 60 && k < 14 * 60) return { smoke: 900, temperatureC: 55 };
        return {};
      },
    });
    const { dangers, log } = run(rs);
    const c = dangers.find((d) => d.zoneId === 'c')!;
    expect(c.inputs.nodesUsed).toStrictEqual(['c-1']);
    expect(Math.abs(c.inputs.t13! - 30)).toBeLessThan(0.5);
    expect(c.quality).toBe('estimated'); // 1 of 3 nodes
    expect(log.of('node-fault')).toContainEqual(expect.objectContaining({ nodeId: 'c-3', detail: expect.objectContaining({ fault: 'stuck' }) }));
    expect(log.of('fire-suspected').map((e) => e.nodeId)).toContain('c-2');
    expect(log.of('fire-suspected').map((e) => e.nodeId), 'a faulty node never raises a fire').not.toContain('c-3');
  });
});

describe('saved state', () => {
  describe('restart equivalence: a snapshot restored mid-run yields exactly the events of an uninterrupted run', () => {
    let rs: EngineReading[] = [];
    let whole: ReturnType<typeof run>;
    beforeAll(() => {
      rs = readings(3, {
        weather: (id, k) => {
          if (id === 'c-1' && k >= 2000 && k < 2100) return { smoke: 700 }; // a fire spanning the restart
          if (id === 'c-2' && k >= 2030 && k < 2100) return { smoke: 400 };
          if (id === 'b-1' && k >= 1900 && k < 1950) return null; // offline across the restart
          if (id === 'a-1' && k >= 2500 && k < 2600) return { humidityPct: 44.4 }; // stuck
          return {};
        },
      });
      whole = run(rs);
    });

    it('the uninterrupted run has one confirmed fire, one node offline and one node fault', () => {
      expect(whole.log.of('fire-confirmed')).toHaveLength(1);
      expect(whole.log.of('node-offline')).toHaveLength(1);
      expect(whole.log.of('node-fault')).toHaveLength(1);
    });

    it.each([
      { name: 'half-way through the readings', cut: (n: number) => n / 2 + 7 },
      { name: 'at minute 2040, during the fire', cut: () => 2040 * site.nodes.length },
      { name: 'within minute 1920, while b-1 is offline', cut: () => 1920 * site.nodes.length + 3 },
    ])('cut $name', ({ cut: cutAt }) => {
      const cut = cutAt(rs.length);
      const first = run(rs.slice(0, cut));
      const saved = serializeState(first.engine.snapshot());
      const log = new EventLog();
      const dangers: Danger[] = [];
      const restored = new RulesEngine(site, 0, { event: log.sink, danger: (d) => dangers.push(d) }, undefined, parseState(saved));
      run(rs.slice(cut), restored);
      expect([...first.log.events, ...log.events], `cut at ${cut}`).toStrictEqual(whole.log.events);
      expect([...first.dangers, ...dangers], `cut at ${cut}`).toStrictEqual(whole.dangers);
    });
  });

  it('a state from another site layout is refused', () => {
    const { engine } = run(readings(0));
    const other = testSite({ nodes: site.nodes.slice(0, 4) });
    expect(() => new RulesEngine(other, T0, {}, undefined, engine.snapshot())).toThrow(/another site layout/);
  });
});

it('unknown nodes and unparseable timestamps are counted, not fatal', () => {
  const e = new RulesEngine(site, T0);
  e.ingest({ ...reading('zz-9', 0, T0) }, T0);
  e.ingest({ ...reading('a-1', 0, T0), ts: 'yesterday' }, T0);
  expect(e.stats.unknownNode).toBe(1);
  expect(e.stats.badTimestamp).toBe(1);
});

it('tuning from config: a shorter persistence confirms earlier', () => {
  const rs = readings(1, { weather: (id, k) => (id === 'a-1' && k >= 600 && k < 700 ? { smoke: 800 } : {}) });
  const quick = new EventLog();
  const engine = new RulesEngine(site, T0, { event: quick.sink }, rulesConfig({ detection: { confirmAfterS: 300 } }));
  run(rs, engine);
  const c = quick.of('fire-confirmed')[0]!;
  expect(c.detail.timeToDetectS).toBe(7 * 60);
});

it('provisional intra-day value: labelled official: false, for the next official date, changes nothing', () => {
  const rs = readings(2);
  const cut = rs.findIndex((r) => Date.parse(r.ts) >= T0 + DAY * MIN + 10 * 60 * MIN); // day 2, 10:00
  const { engine, dangers } = run(rs.slice(0, cut));
  const a1 = dangers.find((d) => d.zoneId === 'a' && d.date === '2026-03-10')!;
  const prov = engine.provisional();
  for (const d of prov) dangerSchema.parse(d);
  const a = prov.find((d) => d.zoneId === 'a')!;
  expect(a.official).toBe(false);
  expect(a.date).toBe('2026-03-11');
  expect(a.ts).toBe('2026-03-11T09:59:04+07:00');
  // P of day 1 plus the term of the last 30 minutes' weather (30 °C / 35 %: ≈ 825.6).
  expect(Math.abs(a.nesterovP! - a1.nesterovP! - 825.6), `${a.nesterovP} vs ${a1.nesterovP}`).toBeLessThan(15);
  expect(a.level).toBe(2);
  expect(Math.abs(engine.zoneDanger('a')!.p - a1.nesterovP!), 'the zone state still holds day 1').toBeLessThan(0.01);
  // The official run is unaffected by asking for provisional values.
  const official: Danger[] = [];
  const plain = new RulesEngine(site, T0, { danger: (d) => official.push(d) });
  const officialWith: Danger[] = [];
  const withCallsSink = new RulesEngine(site, T0, { danger: (d) => officialWith.push(d) });
  rs.forEach((r, n) => {
    plain.ingest(r, Date.parse(r.ts));
    withCallsSink.ingest(r, Date.parse(r.ts));
    if (n % 997 === 0) withCallsSink.provisional();
  });
  expect(officialWith).toStrictEqual(official);
  // Rain so far at or above the limit: the provisional value is already reset.
  const wet = readings(2, { weather: (id, k) => (id === 'a-1' && k >= DAY + 2 * 60 && k < DAY + 3 * 60 ? { rainMm: 0.1 } : {}) });
  const wetRun = run(wet.slice(0, cut));
  const wa = wetRun.engine.provisional().find((d) => d.zoneId === 'a')!;
  expect(wa.inputs.rain24hMm).toBe(6);
  expect(wa.nesterovP).toBe(0);
});

it('FWI codes for a zone that measures wind and rain, chained day to day; none elsewhere', () => {
  const rs = readings(3).map((r) => (r.nodeId === 'a-1' ? { ...r, windMs: 2.1 } : r));
  const { dangers } = run(rs);
  const a = dangers.filter((d) => d.zoneId === 'a');
  expect(a[0]!.fwi, 'day 1: the rain gauge covers only 13 h').toBeUndefined();
  expect(a[1]!.fwi).toBeDefined();
  expect(a[2]!.fwi).toBeDefined();
  // Day 2 from the start-up codes with the zone's 13:00 observation, wind 2.1 m/s = 7.56 km/h.
  const expected = fwiDay(FWI_STARTUP, { temp: a[1]!.inputs.t13!, rh: a[1]!.inputs.rh13!, wind: 7.56, precip: 0, month: 3, lat: 22.4 });
  expect(Math.abs(a[1]!.fwi!.ffmc - expected.ffmc)).toBeLessThan(0.05);
  expect(Math.abs(a[1]!.fwi!.dmc - expected.dmc)).toBeLessThan(0.05);
  expect(a[1]!.fwi!.windKmh).toBe(7.56);
  expect(a[2]!.fwi!.dc, 'DC accumulates on dry days').toBeGreaterThan(a[1]!.fwi!.dc);
  for (const d of dangers.filter((x) => x.zoneId !== 'a')) expect(d.fwi).toBeUndefined();
});
