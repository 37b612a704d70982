// The simulator's scenarios through the whole rules engine, offline. The readings come from the
// simulator's own command (`fire-ews simulate --out … --fast`), as an engineer would produce them;
// the rules engine never imports simulator code.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dangerSchema, eventSchema, type Danger, type FireEvent } from '../contracts/payloads.ts';
import { loadSiteFile } from '../platform/site-file.ts';
import { Backtest, type BacktestSummary, type TruthFire } from './backtest.ts';
import { forEachLine } from './lines.ts';

const root = new URL('..', import.meta.url).pathname;
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

before(async () => {
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
  assert.equal(summary.badLines, 0);
  return { summary, events, dangers };
}

const fireEvents = (events: FireEvent[]) => events.filter((e) => e.kind.startsWith('fire-'));

test('fire-san-thang: the San Thàng fire is suspected within minutes, confirmed, and its neighbours corroborate', () => {
  // Ignition 11:45 local, 120 m from san-thang-07, for 3 h (simulator/scenarios/fire-san-thang.yaml).
  const ignition = Date.parse('2026-03-20T11:45:00+07:00');
  const { summary, events } = backtest('fire-san-thang', [{ zone: 'san-thang', from: '2026-03-20T11:45:00+07:00', to: '2026-03-20T14:45:00+07:00' }]);
  assert.equal(summary.detections.length, 1, 'one fire, one incident');
  const d = summary.detections[0]!;
  assert.equal(d.zone, 'san-thang');
  assert.equal(d.originNode, 'san-thang-07');
  assert.ok(d.confirmedAt, 'confirmed');
  assert.ok(Date.parse(d.firstAnomalyAt) - ignition <= 15 * 60_000, 'first anomaly within 15 min of ignition');
  assert.ok(d.timeToSuspectS <= 5 * 60, `suspected ${d.timeToSuspectS}s after the first anomaly`);
  assert.ok(d.timeToConfirmS! <= 45 * 60, `confirmed ${d.timeToConfirmS}s after the first anomaly`);
  assert.ok(Date.parse(d.confirmedAt) - ignition <= 60 * 60_000, 'confirmed within the hour after ignition');
  const members = d.nodes.split(',');
  assert.ok(members.includes('san-thang-04'), `the downwind neighbour san-thang-04 corroborates (${d.nodes})`);
  assert.equal(summary.falseConfirmations, 0);
  // Exactly one suspected and one confirmed event for the whole fire, with the same incident.
  const fire = fireEvents(events);
  assert.deepEqual(fire.map((e) => e.kind), ['fire-suspected', 'fire-confirmed']);
  assert.equal(fire[0]!.detail.incidentId, fire[1]!.detail.incidentId);
  assert.equal(new Set(events.map((e) => e.eventId)).size, events.length);
  // The node next to the fire burns: it goes offline, the fire is not re-announced.
  assert.ok(events.some((e) => e.kind === 'node-offline' && e.nodeId === 'san-thang-07'));
});

test('nuisance-smoke: a 20-minute village burn next to one node is never confirmed', () => {
  const { summary, events } = backtest('nuisance-smoke', []);
  assert.equal(summary.confirmations, 0);
  assert.equal(events.filter((e) => e.kind === 'fire-confirmed').length, 0);
  // It may be suspected (that is what "suspected" is for) but then it clears.
  for (const d of summary.detections) {
    assert.equal(d.zone, 'quyet-thang');
    assert.ok(d.clearedAt, 'cleared after the smoke is gone');
  }
});

test('node-faults: every faulty node raises its fault, none raises a fire', () => {
  const { summary, events } = backtest('node-faults');
  assert.deepEqual(fireEvents(events), []);
  const has = (node: string, kind: string, fault?: string) =>
    events.some((e) => e.nodeId === node && e.kind === kind && (fault === undefined || e.detail.fault === fault));
  assert.ok(has('doan-ket-02', 'node-fault', 'clock-skew') && has('doan-ket-02', 'node-fault-cleared', 'clock-skew'), 'clock skew raised and cleared');
  assert.ok(has('nam-loong-03', 'node-offline') && has('nam-loong-03', 'node-online'), 'link loss with store-and-forward');
  assert.ok(!has('nam-loong-03', 'node-fault'), 'the store-and-forward burst is not clock skew');
  assert.ok(has('san-thang-02', 'node-fault', 'stuck') && has('san-thang-02', 'node-fault-cleared', 'stuck'), 'stuck humidity');
  assert.ok(has('quyet-tien-02', 'node-fault', 'low-battery') && has('quyet-tien-02', 'node-fault', 'brown-out') && has('quyet-tien-02', 'node-offline'), 'battery drain to brown-out');
  assert.ok(has('dong-phong-02', 'node-offline') && has('dong-phong-02', 'node-online'), 'power off');
  assert.ok(has('quyet-thang-04', 'node-offline') && has('quyet-thang-04', 'node-online'), 'link loss without buffering');
  // Duplicates and out-of-order delivery are absorbed silently.
  assert.ok(!events.some((e) => e.nodeId === 'tan-phong-02' || e.nodeId === 'nam-loong-05'));
  assert.ok(summary.engine.late > 0);
  const faulty = new Set(['doan-ket-02', 'nam-loong-03', 'san-thang-02', 'quyet-tien-02', 'dong-phong-02', 'quyet-thang-04']);
  assert.deepEqual([...new Set(events.map((e) => e.nodeId))].filter((n) => !faulty.has(n!)), []);
});

test('rain-reset: a dry week climbs the levels, the rain day resets P to 0 in every zone, then it climbs again', () => {
  const { dangers } = backtest('rain-reset');
  const zones = site.zones.map((z) => z.id);
  for (const zone of zones) {
    const days = dangers.filter((d) => d.zoneId === zone);
    assert.equal(days.length, 10);
    const p = days.map((d) => d.nesterovP!);
    for (let i = 1; i < 7; i++) assert.ok(p[i]! > p[i - 1]!, `${zone}: P rises on dry day ${i}`);
    assert.ok(days[6]!.level! >= 2, `${zone}: level II or more after a dry week`);
    // Rain on 7 March (the scenario's day 6) falls after 13:00: the 13:00 value of 8 March resets.
    assert.equal(days[7]!.date, '2026-03-08');
    assert.ok(days[7]!.inputs.rain24hMm! >= 5);
    assert.equal(days[7]!.nesterovP, 0);
    assert.equal(days[7]!.level, 1);
    assert.equal(days[7]!.quality, 'ok', 'a measured reset makes the chain exact');
    assert.ok(p[9]! > p[8]! && p[8]! > 0);
    // FWI companion (every Lai Châu zone has a rain and wind node): from day 2, when the gauge
    // covers a whole day; the rain day wets the fuels.
    assert.equal(days[0]!.fwi, undefined);
    for (const d of days.slice(1)) assert.ok(d.fwi, `${zone} ${d.date}: FWI codes`);
    assert.ok(days[7]!.fwi!.dc < days[6]!.fwi!.dc && days[7]!.fwi!.ffmc < days[6]!.fwi!.ffmc, `${zone}: rain lowers DC and FFMC`);
    assert.ok(days[6]!.fwi!.dc > days[1]!.fwi!.dc, `${zone}: DC builds up over the dry week`);
  }
});

test('dry spell: two rainless weeks drive every zone up through the levels to IV', () => {
  const { dangers, events } = backtest('dry-spell-30d');
  for (const zone of site.zones.map((z) => z.id)) {
    const levels = dangers.filter((d) => d.zoneId === zone).map((d) => d.level!);
    for (let i = 1; i < levels.length; i++) assert.ok(levels[i]! >= levels[i - 1]!, `${zone}: never falls without rain`);
    assert.equal(levels[0], 1);
    assert.ok(levels.at(-1)! >= 3, `${zone}: reaches III or more (${levels.join('')})`);
  }
  assert.ok(dangers.some((d) => d.level === 4));
  const changes = events.filter((e) => e.kind === 'level-changed');
  assert.ok(changes.length >= 14);
  for (const c of changes) assert.equal(c.level, (c.previousLevel ?? 0) + 1);
});

test('the backtest command prints valid NDJSON events and a summary', async () => {
  const out = await run(process.execPath, [join(root, 'bin/fire-ews.js'), 'backtest', join(dir, 'fire-san-thang.ndjson'), '--summary', join(dir, 'summary.json')], { cwd: root, maxBuffer: 1 << 24 });
  const lines = out.stdout.trim().split('\n');
  for (const l of lines) eventSchema.parse(JSON.parse(l));
  assert.match(out.stderr, /detections: 1 \(confirmed 1/);
  assert.match(out.stderr, /official level per zone per day/);
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as BacktestSummary;
  assert.equal(summary.detections[0]!.originNode, 'san-thang-07');
});
