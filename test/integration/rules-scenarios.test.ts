
import { assert, beforeAll, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync } from 'node:fs';
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

function backtest(name: string, truth?: TruthFire[]): { summary: BacktestSummary; events: FireEvent[]; dangers: Danger[] } {
  const events: FireEvent[] = [];
  const dangers: Danger[] = [];
  const bt = new Backtest(site, { onEvent: (e) => events.push(e), onDanger: (d) => dangers.push(d), ...(truth ? { truth } : {}) });
  forEachLine(join(dir, `${name}.ndjson`), (line, n) => bt.line(line, n));
  const summary = bt.finish();
  for (const e of events) eventSchema.parse(e);
  for (const d of dangers) dangerSchema.parse(d);
  expect(summary.badLines).toBe(0);
  return { summary, events, dangers };
}

const fireEvents = (events: FireEvent[]) => events.filter((e) => e.kind.startsWith('fire-'));

it('fire-san-thang: the San Thàng fire is suspected within minutes, confirmed, and its neighbours corroborate', () => {
  // Ignition 11:45 local, 120 m from san-thang-07, for 3 h (simulator/scenarios/fire-san-thang.yaml).
  const ignition = Date.parse('2026-03-20T11:45:00+07:00');
  const { summary, events } = backtest('fire-san-thang', [{ zone: 'san-thang', from: '2026-03-20T11:45:00+07:00', to: '2026-03-20T14:45:00+07:00' }]);
  expect(summary.detections.length, 'one fire, one incident').toBe(1);
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
  expect(events.some((e) => e.kind === 'node-offline' && e.nodeId === 'san-thang-07')).toBe(true);
});

it('nuisance-smoke: a 20-minute village burn next to one node is never confirmed', () => {
  const { summary, events } = backtest('nuisance-smoke', []);
  expect(summary.confirmations).toBe(0);
  expect(events.filter((e) => e.kind === 'fire-confirmed').length).toBe(0);
  // It may be suspected (that is what "suspected" is for) but then it clears.
  for (const d of summary.detections) {
    expect(d.zone).toBe('quyet-thang');
    expect(d.clearedAt, 'cleared after the smoke is gone').toBeTruthy();
  }
});

it('node-faults: every faulty node raises its fault, none raises a fire', () => {
  const { summary, events } = backtest('node-faults');
  expect(fireEvents(events)).toStrictEqual([]);
  const has = (node: string, kind: string, fault?: string) =>
    events.some((e) => e.nodeId === node && e.kind === kind && (fault === undefined || e.detail.fault === fault));
  expect(has('doan-ket-02', 'node-fault', 'clock-skew') && has('doan-ket-02', 'node-fault-cleared', 'clock-skew'), 'clock skew raised and cleared').toBeTruthy();
  expect(has('nam-loong-03', 'node-offline') && has('nam-loong-03', 'node-online'), 'link loss with store-and-forward').toBeTruthy();
  expect(has('nam-loong-03', 'node-fault'), 'the store-and-forward burst is not clock skew').toBeFalsy();
  expect(has('san-thang-02', 'node-fault', 'stuck') && has('san-thang-02', 'node-fault-cleared', 'stuck'), 'stuck humidity').toBeTruthy();
  expect(has('quyet-tien-02', 'node-fault', 'low-battery') && has('quyet-tien-02', 'node-fault', 'brown-out') && has('quyet-tien-02', 'node-offline'), 'battery drain to brown-out').toBeTruthy();
  expect(has('dong-phong-02', 'node-offline') && has('dong-phong-02', 'node-online'), 'power off').toBeTruthy();
  expect(has('quyet-thang-04', 'node-offline') && has('quyet-thang-04', 'node-online'), 'link loss without buffering').toBeTruthy();
  // Duplicates and out-of-order delivery are absorbed silently.
  expect(events.some((e) => e.nodeId === 'tan-phong-02' || e.nodeId === 'nam-loong-05')).toBeFalsy();
  expect(summary.engine.late).toBeGreaterThan(0);
  const faulty = new Set(['doan-ket-02', 'nam-loong-03', 'san-thang-02', 'quyet-tien-02', 'dong-phong-02', 'quyet-thang-04']);
  expect([...new Set(events.map((e) => e.nodeId))].filter((n) => !faulty.has(n!))).toStrictEqual([]);
});

it('rain-reset: a dry week climbs the levels, the rain day resets P to 0 in every zone, then it climbs again', () => {
  const { dangers } = backtest('rain-reset');
  const zones = site.zones.map((z) => z.id);
  for (const zone of zones) {
    const days = dangers.filter((d) => d.zoneId === zone);
    expect(days.length).toBe(10);
    const p = days.map((d) => d.nesterovP!);
    for (let i = 1; i < 7; i++) expect(p[i]!, `${zone}: P rises on dry day ${i}`).toBeGreaterThan(p[i - 1]!);
    expect(days[6]!.level!, `${zone}: level II or more after a dry week`).toBeGreaterThanOrEqual(2);
    // Rain on 7 March (the scenario's day 6) falls after 13:00: the 13:00 value of 8 March resets.
    expect(days[7]!.date).toBe('2026-03-08');
    expect(days[7]!.inputs.rain24hMm!).toBeGreaterThanOrEqual(5);
    expect(days[7]!.nesterovP).toBe(0);
    expect(days[7]!.level).toBe(1);
    expect(days[7]!.quality, 'a measured reset makes the chain exact').toBe('ok');
    expect(p[9]! > p[8]! && p[8]! > 0).toBeTruthy();
    // FWI companion (every Lai Châu zone has a rain and wind node): from day 2, when the gauge
    // covers a whole day; the rain day wets the fuels.
    expect(days[0]!.fwi).toBeUndefined();
    for (const d of days.slice(1)) expect(d.fwi, `${zone} ${d.date}: FWI codes`).toBeTruthy();
    expect(days[7]!.fwi!.dc < days[6]!.fwi!.dc && days[7]!.fwi!.ffmc < days[6]!.fwi!.ffmc, `${zone}: rain lowers DC and FFMC`).toBeTruthy();
    expect(days[6]!.fwi!.dc, `${zone}: DC builds up over the dry week`).toBeGreaterThan(days[1]!.fwi!.dc);
  }
});

it('dry spell: two rainless weeks drive every zone up through the levels to IV', () => {
  const { dangers, events } = backtest('dry-spell-30d');
  for (const zone of site.zones.map((z) => z.id)) {
    const levels = dangers.filter((d) => d.zoneId === zone).map((d) => d.level!);
    for (let i = 1; i < levels.length; i++) expect(levels[i]!, `${zone}: never falls without rain`).toBeGreaterThanOrEqual(levels[i - 1]!);
    expect(levels[0]).toBe(1);
    expect(levels.at(-1)!, `${zone}: reaches III or more (${levels.join('')})`).toBeGreaterThanOrEqual(3);
  }
  expect(dangers.some((d) => d.level === 4)).toBe(true);
  const changes = events.filter((e) => e.kind === 'level-changed');
  expect(changes.length).toBeGreaterThanOrEqual(14);
  for (const c of changes) expect(c.level).toBe((c.previousLevel ?? 0) + 1);
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
