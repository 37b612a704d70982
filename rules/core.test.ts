// The service core under the virtual clock: the hourly provisional schedule, the official value
// and level-changed events day after day, wall-clock ticks, redelivery filtering, and a state
// saved and restored mid-stream continuing identically.
import { expect, it } from 'vitest';
import { validate } from 'node-cron';
import type { Danger, FireEvent } from '../contracts/payloads.ts';
import { DEFAULT_RULES_CONFIG, type RulesConfig } from './config.ts';
import { RulesCore, nextLocalHour, officialCronExpression, parseCoreState, serializeCoreState, type CoreInput } from './core.ts';
import { dangerLine, eventLine } from './influx-lines.ts';
import { MIN, reading, testSite, wiggle } from '../test/support/rules-fixtures.ts';

const site = testSite();
const START = Date.parse('2026-03-10T06:00:00+07:00');

/** Three hot, dry days: every node once a minute, t ≈ 35 °C, RH ≈ 20 %, no rain. */
function* dryDays(days: number): Generator<CoreInput> {
  for (let m = 0; m < days * 1440; m++) {
    for (const node of site.nodes) {
      const k = m * 7 + node.id.length;
      const r = reading(node.id, m, START + m * MIN, { temperatureC: Math.round((35 + wiggle(k, 0.4)) * 100) / 100, humidityPct: Math.round((20 + wiggle(k + 5, 1)) * 10) / 10, smoke: Math.round(250 + wiggle(k + 9, 4)), ...(node.sensors.includes('rain') ? { rainMm: 0 } : {}) });
      yield { kind: 'reading', reading: r, tsMs: Date.parse(r.ts), rxMs: 0 };
    }
  }
}

function runAll(core: RulesCore, inputs: Iterable<CoreInput>): { events: FireEvent[]; dangers: Danger[] } {
  const events: FireEvent[] = [];
  const dangers: Danger[] = [];
  for (const input of inputs) {
    const out = core.apply(input);
    events.push(...out.events);
    dangers.push(...out.dangers);
  }
  return { events, dangers };
}

it('the official value is due at 13:17 local (the 13:00 window closed), a valid node-cron expression', () => {
  expect(officialCronExpression(DEFAULT_RULES_CONFIG)).toBe('17 13 * * *');
  const cfg: RulesConfig = { ...DEFAULT_RULES_CONFIG, danger: { ...DEFAULT_RULES_CONFIG.danger, windowMinutes: 50, graceS: 90 } };
  expect(officialCronExpression(cfg)).toBe('52 13 * * *');
  expect(validate(officialCronExpression(DEFAULT_RULES_CONFIG))).toBe(true);
  expect(validate('0 * * * *')).toBe(true);
  expect(nextLocalHour(Date.parse('2026-03-10T12:40:00+07:00'), 420)).toBe(Date.parse('2026-03-10T13:00:00+07:00'));
  expect(nextLocalHour(Date.parse('2026-03-10T13:00:00+07:00'), 420)).toBe(Date.parse('2026-03-10T14:00:00+07:00'));
  // India (+05:30): the top of the local hour, not of the UTC hour.
  expect(nextLocalHour(Date.parse('2026-03-10T12:40:00+05:30'), 330)).toBe(Date.parse('2026-03-10T13:00:00+05:30'));
});

it('readings clock: official value once a day per zone, a provisional one every local hour, level-changed when the level rises', () => {
  const core = new RulesCore(site, DEFAULT_RULES_CONFIG, 'readings');
  const { events, dangers } = runAll(core, dryDays(3));
  const official = dangers.filter((d) => d.official);
  expect(official.map((d) => `${d.zoneId} ${d.date}`).sort()).toStrictEqual(['2026-03-10', '2026-03-11', '2026-03-12'].flatMap((day) => site.zones.map((z) => `${z.id} ${day}`)).sort());
  expect(official.map((d) => d.ts).filter((ts) => !ts.endsWith('T13:00:00+07:00'))).toStrictEqual([]);
  // Levels climb: P ≈ 1,570 a day → II, III, III (zone a, which has the rain gauge).
  const a = official.filter((d) => d.zoneId === 'a').map((d) => d.level);
  expect(a).toStrictEqual([2, 3, 3]);
  const changed = events.filter((e) => e.kind === 'level-changed' && e.zoneId === 'a');
  expect(changed.map((e) => [e.eventId, e.previousLevel, e.level])).toStrictEqual([['level-a-20260311', 2, 3]]);
  // Provisional: at every local top of the hour from 07:00 on day 1 to 05:00 on day 4, per zone.
  const provisional = dangers.filter((d) => !d.official);
  expect(provisional).toHaveLength((3 * 24 - 1) * site.zones.length);
  expect(provisional.map((d) => d.ts).filter((ts) => !/T\d\d:00:00\+07:00$/.test(ts))).toStrictEqual([]);
  expect(events.filter((e) => e.kind.startsWith('fire-') || e.kind.startsWith('node-')), 'calm weather: no fire, no fault').toStrictEqual([]);
  // InfluxDB lines for them.
  expect(dangerLine(official.find((d) => d.zoneId === 'a' && d.date === '2026-03-11')!)).toMatch(/^danger,zone=a,official=true level=3i,nesterov_p=[\d.]+,t13=[\d.]+,rh13=[\d.]+,d13=[\d.]+,rain24h=0\.0,quality="(ok|estimated)"( |,ffmc)/);
  expect(eventLine(changed[0]!)).toBe(`event,zone=a,kind=level-changed event_id="level-a-20260311",level=3i ${Date.parse(changed[0]!.ts)}`);
});

it('a state saved and restored mid-stream (JSON through SQLite text) continues exactly; a redelivered reading is recognised', () => {
  const inputs = [...dryDays(2)];
  const whole = runAll(new RulesCore(site, DEFAULT_RULES_CONFIG, 'readings'), inputs);
  const cut = Math.floor(inputs.length * 0.57);
  const first = new RulesCore(site, DEFAULT_RULES_CONFIG, 'readings');
  const part1 = runAll(first, inputs.slice(0, cut));
  const last = inputs[cut - 1] as Extract<CoreInput, { kind: 'reading' }>;
  const restored = new RulesCore(site, DEFAULT_RULES_CONFIG, 'readings', parseCoreState(serializeCoreState(first.snapshot())));
  expect(restored.isDuplicate(last.reading.nodeId, last.reading.seq, last.tsMs)).toBe(true);
  expect(restored.isDuplicate(last.reading.nodeId, last.reading.seq + 1, last.tsMs + MIN)).toBe(false);
  const part2 = runAll(restored, inputs.slice(cut));
  expect([...part1.events, ...part2.events]).toStrictEqual(whole.events);
  expect([...part1.dangers, ...part2.dangers]).toStrictEqual(whole.dangers);
  expect(whole.dangers.length).toBeGreaterThan(0);
});

it('wall clock: readings arrive at their rx time and a tick (what the cron triggers) computes the official value', () => {
  const core = new RulesCore(site, DEFAULT_RULES_CONFIG, 'wall');
  // Ticks before any reading do nothing (no engine yet).
  expect(core.apply({ kind: 'tick', rxMs: START })).toStrictEqual({ events: [], dangers: [] });
  let official: Danger[] = [];
  const upTo = Date.parse('2026-03-10T13:16:00+07:00');
  for (const input of dryDays(1)) {
    if (input.kind !== 'reading' || input.tsMs > upTo) break;
    official.push(...core.apply({ ...input, rxMs: input.tsMs + 2000 }).dangers.filter((d) => d.official));
  }
  expect(official, 'not before 13:17').toStrictEqual([]);
  official = core.apply({ kind: 'tick', rxMs: Date.parse('2026-03-10T13:17:00+07:00') }).dangers.filter((d) => d.official);
  expect(official.map((d) => d.zoneId).sort()).toStrictEqual(site.zones.map((z) => z.id).sort());
  expect(official.map((d) => d.date).filter((date) => date !== '2026-03-10')).toStrictEqual([]);
});

/** Every node once a minute for `minutes` from `fromMs`, arriving 1 s after it was taken; smoke at a-1 from minute `smokeFrom`. */
function* minutes(fromMs: number, count: number, seq0: number, smokeFrom = Infinity): Generator<CoreInput> {
  for (let m = 0; m < count; m++) {
    for (const node of site.nodes) {
      const k = seq0 + m;
      const smoky = node.id === 'a-1' && m >= smokeFrom;
      const r = reading(node.id, k, fromMs + m * MIN, smoky ? { smoke: 600 } : {});
      yield { kind: 'reading', reading: r, tsMs: Date.parse(r.ts), rxMs: Date.parse(r.ts) + 1000 };
    }
  }
}

it('the pipeline clock set back by a new accelerated run: a rebase keeps the run in time (no skew, no offline) and detection works', () => {
  const wallStart = Date.parse('2026-12-04T16:00:00Z');
  const core = new RulesCore(site, DEFAULT_RULES_CONFIG, 'wall');
  runAll(core, minutes(wallStart, 60, 0));
  expect(core.epoch).toBeNull();
  // The run is placed to end at the wall's now: its clock starts 4 h 55 min back.
  const runStart = wallStart + 60 * MIN - (5 * 60 - 5) * MIN;
  const rebased = core.apply({ kind: 'rebase', rxMs: runStart, epoch: 'run-1' });
  expect(rebased).toStrictEqual({ events: [], dangers: [] });
  expect(core.epoch).toBe('run-1');
  expect(core.now).toBe(runStart);
  const inputs = [...minutes(runStart, 60, 60, 30)];
  const cut = 1000;
  const first = runAll(core, inputs.slice(0, cut));
  // A restart mid-run (state through SQLite text) continues identically.
  const restored = new RulesCore(site, DEFAULT_RULES_CONFIG, 'wall', parseCoreState(serializeCoreState(core.snapshot())));
  expect(restored.epoch).toBe('run-1');
  const second = runAll(restored, inputs.slice(cut));
  const events = [...first.events, ...second.events];
  expect(events.filter((e) => e.kind.startsWith('node-')), 'no clock-skew fault, no node offline').toStrictEqual([]);
  expect(events.map((e) => `${e.kind}:${e.nodeId}`)).toStrictEqual(['fire-suspected:a-1']);
  expect(Date.parse(events[0]!.ts)).toBeGreaterThanOrEqual(runStart + 30 * MIN);
});

it('without the rebase the same run is out of order: the engine never sees its smoke (what a wall-clock pipeline did before)', () => {
  const wallStart = Date.parse('2026-12-04T16:00:00Z');
  const core = new RulesCore(site, DEFAULT_RULES_CONFIG, 'wall');
  runAll(core, minutes(wallStart, 60, 0));
  const runStart = wallStart + 60 * MIN - (5 * 60 - 5) * MIN;
  const { events } = runAll(core, minutes(runStart, 60, 60, 30));
  // The engine's clock never goes back by itself; the readings are older than the ones it has: late, not used for detection.
  expect(core.now).toBe(wallStart + 59 * MIN + 1000);
  expect(events.filter((e) => e.kind === 'fire-suspected')).toStrictEqual([]);
});
