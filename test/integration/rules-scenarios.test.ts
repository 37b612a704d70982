// The simulator's scenarios through the whole rules engine, offline. The readings come from the
// simulator's own command (`fire-ews simulate --out … --fast`), as an engineer would produce them;
// the rules engine never imports simulator code.
import { afterAll, assert, beforeAll, describe, expect, it, vi } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dangerSchema, eventSchema, type Danger, type FireEvent } from '../../contracts/payloads.ts';
import { loadSiteFile } from '../../platform/site-file.ts';
import { Backtest, type BacktestSummary, type TruthFire } from '../../rules/backtest.ts';
import { forEachLine } from '../../rules/lines.ts';

const root = new URL('../..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'rules-scenarios-'));
const site = loadSiteFile(join(root, 'config/lai-chau.site.yaml'));
const run = promisify(execFile);

const SCENARIOS: Record<string, string[]> = {
  'fire-san-thang': [],
  'nuisance-smoke': [],
  'node-faults': [],
  'rain-reset': [],
  'dry-spell-30d': ['--duration', '14d'],
};

beforeAll(async () => {
  // Two at a time (the CI machine has two cores).
  const names = Object.keys(SCENARIOS);
  for (let i = 0; i < names.length; i += 2) {
    await Promise.all(
      names.slice(i, i + 2).map((name) =>
        run(process.execPath, [join(root, 'bin/fire-ews.js'), 'simulate', '--scenario', name, '--fast', '--out', join(dir, `${name}.ndjson`), ...SCENARIOS[name]!], {
          cwd: root,
          maxBuffer: 1 << 24,
        }),
      ),
    );
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

type BacktestResult = { summary: BacktestSummary; events: FireEvent[]; dangers: Danger[] };

function backtest(name: string, truth?: TruthFire[]): BacktestResult {
  const onEvent = vi.fn<(e: FireEvent) => void>();
  const onDanger = vi.fn<(d: Danger) => void>();
  const bt = new Backtest(site, { onEvent, onDanger, ...(truth ? { truth } : {}) });
  forEachLine(join(dir, `${name}.ndjson`), (line, n) => bt.line(line, n));
  const summary = bt.finish();
  const events = onEvent.mock.calls.map(([e]) => e);
  const dangers = onDanger.mock.calls.map(([d]) => d);
  for (const e of events) eventSchema.parse(e);
  for (const d of dangers) dangerSchema.parse(d);
  expect(summary.badLines).toBe(0);
  return { summary, events, dangers };
}

const fireEvents = (events: FireEvent[]) => events.filter((e) => e.kind.startsWith('fire-'));
const zones = site.zones.map((z) => z.id);

it('fire-san-thang: the San Thàng fire is suspected within minutes, confirmed, and its neighbours corroborate', () => {
  // Ignition 11:45 local, 120 m from san-thang-07, for 3 h (simulator/scenarios/fire-san-thang.yaml).
  const ignition = Date.parse('2026-03-20T11:45:00+07:00');
  const { summary, events } = backtest('fire-san-thang', [{ zone: 'san-thang', from: '2026-03-20T11:45:00+07:00', to: '2026-03-20T14:45:00+07:00' }]);
  expect(summary.detections, 'one fire, one incident').toHaveLength(1);
  const d = summary.detections[0]!;
  expect(d.zone).toBe('san-thang');
  expect(d.originNode).toBe('san-thang-07');
  assert(d.confirmedAt, 'confirmed');
  expect(Date.parse(d.firstAnomalyAt) - ignition, 'first anomaly within 15 min of ignition').toBeLessThanOrEqual(15 * 60_000);
  expect(d.timeToSuspectS, `suspected ${d.timeToSuspectS}s after the first anomaly`).toBeLessThanOrEqual(5 * 60);
  expect(d.timeToConfirmS!, `confirmed ${d.timeToConfirmS}s after the first anomaly`).toBeLessThanOrEqual(45 * 60);
  expect(Date.parse(d.confirmedAt) - ignition, 'confirmed within the hour after ignition').toBeLessThanOrEqual(60 * 60_000);
  const members = d.nodes.split(',');
  expect(members, `the downwind neighbour san-thang-04 corroborates (${d.nodes})`).toContain('san-thang-04');
  expect(summary.falseConfirmations).toBe(0);
  // Exactly one suspected and one confirmed event for the whole fire, with the same incident.
  const fire = fireEvents(events);
  expect(fire.map((e) => e.kind)).toStrictEqual(['fire-suspected', 'fire-confirmed']);
  expect(fire[0]!.detail.incidentId).toBe(fire[1]!.detail.incidentId);
  expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
  // The node next to the fire burns: it goes offline, the fire is not re-announced.
  expect(events.map((e) => `${e.kind}:${e.nodeId}`)).toContain('node-offline:san-thang-07');
});

it('nuisance-smoke: a 20-minute village burn next to one node is never confirmed', () => {
  const { summary, events } = backtest('nuisance-smoke', []);
  expect(summary.confirmations).toBe(0);
  expect(events.map((e) => e.kind)).not.toContain('fire-confirmed');
  // It may be suspected (that is what "suspected" is for) but then it clears.
  for (const d of summary.detections) {
    expect(d.zone).toBe('quyet-thang');
    expect(d.clearedAt, 'cleared after the smoke is gone').toBeTruthy();
  }
});

describe('node-faults: every faulty node raises its fault, none raises a fire', () => {
  let result: BacktestResult;
  beforeAll(() => {
    result = backtest('node-faults');
  });
  /** What one node raised: each event's kind, and for faults which one. */
  const raisedBy = (node: string) => result.events.filter((e) => e.nodeId === node).map((e) => ({ kind: e.kind, fault: e.detail.fault }));
  const event = ([kind, fault]: [string, string?]) => expect.objectContaining(fault === undefined ? { kind } : { kind, fault });

  it('no fire is raised', () => {
    expect(fireEvents(result.events)).toStrictEqual([]);
  });

  it.each<[node: string, what: string, raises: [string, string?][], never?: [string, string?][]]>([
    ['doan-ket-02', 'clock skew raised and cleared', [['node-fault', 'clock-skew'], ['node-fault-cleared', 'clock-skew']]],
    ['nam-loong-03', 'link loss with store-and-forward; the burst is not clock skew', [['node-offline'], ['node-online']], [['node-fault']]],
    ['san-thang-02', 'stuck humidity', [['node-fault', 'stuck'], ['node-fault-cleared', 'stuck']]],
    ['quyet-tien-02', 'battery drain to brown-out', [['node-fault', 'low-battery'], ['node-fault', 'brown-out'], ['node-offline']]],
    ['dong-phong-02', 'power off', [['node-offline'], ['node-online']]],
    ['quyet-thang-04', 'link loss without buffering', [['node-offline'], ['node-online']]],
  ])('%s: %s', (node, _what, raises, never = []) => {
    expect(raisedBy(node)).toEqual(expect.arrayContaining(raises.map(event)));
    for (const e of never) expect(raisedBy(node)).not.toContainEqual(event(e));
  });

  it('duplicates and out-of-order delivery are absorbed silently', () => {
    const nodes = result.events.map((e) => e.nodeId);
    expect(nodes).not.toContain('tan-phong-02');
    expect(nodes).not.toContain('nam-loong-05');
    expect(result.summary.engine.late).toBeGreaterThan(0);
  });

  it('no other node raises anything', () => {
    const faulty = new Set(['doan-ket-02', 'nam-loong-03', 'san-thang-02', 'quyet-tien-02', 'dong-phong-02', 'quyet-thang-04']);
    expect([...new Set(result.events.map((e) => e.nodeId))].filter((n) => !faulty.has(n!))).toStrictEqual([]);
  });
});

describe('rain-reset: a dry week climbs the levels, the rain day resets P to 0 in every zone, then it climbs again', () => {
  let dangers: Danger[];
  beforeAll(() => {
    ({ dangers } = backtest('rain-reset'));
  });

  it.each(zones)('%s', (zone) => {
    const days = dangers.filter((d) => d.zoneId === zone);
    expect(days).toHaveLength(10);
    const p = days.map((d) => d.nesterovP!);
    for (let i = 1; i < 7; i++) expect(p[i]!, `P rises on dry day ${i}`).toBeGreaterThan(p[i - 1]!);
    expect(days[6]!.level!, 'level II or more after a dry week').toBeGreaterThanOrEqual(2);
    // Rain on 7 March (the scenario's day 6) falls after 13:00: the 13:00 value of 8 March resets.
    expect(days[7]!.date).toBe('2026-03-08');
    expect(days[7]!.inputs.rain24hMm!).toBeGreaterThanOrEqual(5);
    expect(days[7]!.nesterovP).toBe(0);
    expect(days[7]!.level).toBe(1);
    expect(days[7]!.quality, 'a measured reset makes the chain exact').toBe('ok');
    expect(p[8]!, 'P climbs again after the rain day').toBeGreaterThan(0);
    expect(p[9]!, 'P climbs again after the rain day').toBeGreaterThan(p[8]!);
    // FWI companion (every Lai Châu zone has a rain and wind node): from day 2, when the gauge
    // covers a whole day; the rain day wets the fuels.
    expect(days[0]!.fwi).toBeUndefined();
    for (const d of days.slice(1)) expect(d.fwi, `${d.date}: FWI codes`).toBeTruthy();
    expect(days[7]!.fwi!.dc, 'rain lowers DC').toBeLessThan(days[6]!.fwi!.dc);
    expect(days[7]!.fwi!.ffmc, 'rain lowers FFMC').toBeLessThan(days[6]!.fwi!.ffmc);
    expect(days[6]!.fwi!.dc, 'DC builds up over the dry week').toBeGreaterThan(days[1]!.fwi!.dc);
  });
});

describe('dry spell: two rainless weeks drive every zone up through the levels to IV', () => {
  let result: BacktestResult;
  beforeAll(() => {
    result = backtest('dry-spell-30d');
  });

  it.each(zones)('%s: starts at I, never falls without rain, reaches III or more', (zone) => {
    const levels = result.dangers.filter((d) => d.zoneId === zone).map((d) => d.level!);
    for (let i = 1; i < levels.length; i++) expect(levels[i]!, `never falls without rain (${levels.join('')})`).toBeGreaterThanOrEqual(levels[i - 1]!);
    expect(levels[0]).toBe(1);
    expect(levels.at(-1)!, `reaches III or more (${levels.join('')})`).toBeGreaterThanOrEqual(3);
  });

  it('level IV is reached, one level-changed event per step', () => {
    expect(result.dangers.map((d) => d.level)).toContain(4);
    const changes = result.events.filter((e) => e.kind === 'level-changed');
    expect(changes.length).toBeGreaterThanOrEqual(14);
    for (const c of changes) expect(c.level, `${c.zoneId}: ${c.previousLevel} → ${c.level}`).toBe((c.previousLevel ?? 0) + 1);
  });
});

it('the backtest command prints valid NDJSON events and a summary', async () => {
  const out = await run(process.execPath, [join(root, 'bin/fire-ews.js'), 'backtest', join(dir, 'fire-san-thang.ndjson'), '--summary', join(dir, 'summary.json')], { cwd: root, maxBuffer: 1 << 24 });
  const lines = out.stdout.trim().split('\n');
  for (const l of lines) eventSchema.parse(JSON.parse(l));
  expect(out.stderr).toMatch(/detections: 1 \(confirmed 1/);
  expect(out.stderr).toMatch(/official level per zone per day/);
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as BacktestSummary;
  expect(summary.detections[0]!.originNode).toBe('san-thang-07');
});
