// Rules-engine throughput and detection timing.
//
//   node --import tsx bench/rules-engine.ts [--days 181] [--seeds 5] [--regen]
//
// 1. A simulated 6-month dry season for the whole Lai Châu site (bench/rules-dry-season.yaml,
//    generated once with `fire-ews simulate … --fast` into bench/results/, reused afterwards).
// 2. Backtest from the NDJSON file: read, parse (JSON + contract check), engine — readings/s.
// 3. The engine alone on parsed readings: the file is parsed in batches outside the timer and
//    only the engine (virtual clock + health + detection + daily danger) is timed — readings/s.
// 4. Time-to-detect over the fire scenarios: the season's fires (ignition times from the YAML)
//    and fire-san-thang run with several seeds.
// Targets (issue 4): ≥ 1,000,000 readings/s engine on parsed readings, ≥ 300,000/s from NDJSON.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadSiteFile } from '../platform/site-file.ts';
import { Backtest, parseReadingLine, type BacktestSummary, type TruthFire } from '../rules/backtest.ts';
import { forEachLine } from '../rules/lines.ts';
import type { EngineReading } from '../rules/engine.ts';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const DAYS = opt('days', 181);
const SEEDS = opt('seeds', 5);
const REGEN = args.includes('--regen');
const resultsDir = join(root, 'bench/results');
mkdirSync(resultsDir, { recursive: true });
const site = loadSiteFile(join(root, 'config/lai-chau.site.yaml'));

function simulate(scenario: string, out: string, extra: string[] = []): void {
  if (existsSync(out) && !REGEN) return;
  process.stderr.write(`generating ${out} …\n`);
  const r = spawnSync(process.execPath, [join(root, 'bin/fire-ews.js'), 'simulate', '--scenario', scenario, '--fast', '--out', out, ...extra], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`simulate ${scenario} failed`);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (a: number[], p: number) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))]! : NaN;
};
const stats = (a: number[]) => (a.length ? `min ${Math.min(...a)} s, median ${pct(a, 0.5)} s, max ${Math.max(...a)} s (n=${a.length})` : 'n=0');

// ---- 1. data
const scenarioFile = join(root, 'bench/rules-dry-season.yaml');
const seasonFile = join(resultsDir, `rules-dry-season-${DAYS}d.ndjson`);
simulate(scenarioFile, seasonFile, ['--duration', `${DAYS}d`]);
const bytes = statSync(seasonFile).size;

const scenario = parseYaml(readFileSync(scenarioFile, 'utf8')) as { events: { type: string; at: string; near?: string; duration?: string }[] };
const zoneOf = (node: string) => site.nodes.find((n) => n.id === node)!.zone;
const durMs = (d: string | undefined, dflt: number) => {
  if (!d) return dflt;
  const m = /^(?:(\d+)h)?(?:(\d+)m)?$/.exec(d);
  return m ? (Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60_000 : dflt;
};
const seasonEnd = Date.parse('2025-11-01T00:00:00+07:00') + DAYS * 86_400_000;
const fires = scenario.events.filter((e) => e.type === 'fire' && Date.parse(e.at) < seasonEnd);
const truth: TruthFire[] = fires.map((e) => ({ zone: zoneOf(e.near!), from: e.at, to: new Date(Date.parse(e.at) + durMs(e.duration, 3 * 3600_000)).toISOString() }));

// ---- 2. from the NDJSON file, end to end
const t0 = performance.now();
const bt = new Backtest(site, { truth });
forEachLine(seasonFile, (line, n) => bt.line(line, n));
const season = bt.finish();
const fileMs = performance.now() - t0;

// ---- 3. engine alone on parsed readings
const engineBt = new Backtest(site, { truth });
let engineMs = 0;
let parsedCount = 0;
let batch: { r: EngineReading; ts: number }[] = [];
const flushBatch = () => {
  const t = performance.now();
  for (let i = 0; i < batch.length; i++) engineBt.reading(batch[i]!.r, 0, batch[i]!.ts);
  engineMs += performance.now() - t;
  parsedCount += batch.length;
  batch = [];
};
forEachLine(seasonFile, (line) => {
  const p = parseReadingLine(line);
  if (p.ok) batch.push({ r: p.reading, ts: p.tsMs });
  if (batch.length >= 200_000) flushBatch();
});
flushBatch();
const engineSummary = engineBt.finish();

// ---- 4. time to detect
interface Timing {
  source: string;
  fromIgnitionSuspectS: number | null;
  fromIgnitionConfirmS: number | null;
  fromFirstAnomalySuspectS: number | null;
  fromFirstAnomalyConfirmS: number | null;
  confirmedBy: string | null;
  nodes: number;
}
const timings: Timing[] = [];
function timingsFor(source: string, summary: BacktestSummary, ignitions: { zone: string; at: number }[]) {
  for (const ig of ignitions) {
    const d = summary.detections.find((x) => x.zone === ig.zone && Date.parse(x.suspectedAt) >= ig.at && Date.parse(x.suspectedAt) <= ig.at + 4 * 3600_000)
      ?? summary.detections.find((x) => Date.parse(x.suspectedAt) >= ig.at && Date.parse(x.suspectedAt) <= ig.at + 4 * 3600_000);
    timings.push({
      source: `${source} ${new Date(ig.at).toISOString().slice(0, 16)} ${ig.zone}`,
      fromIgnitionSuspectS: d ? Math.round((Date.parse(d.suspectedAt) - ig.at) / 1000) : null,
      fromIgnitionConfirmS: d?.confirmedAt ? Math.round((Date.parse(d.confirmedAt) - ig.at) / 1000) : null,
      fromFirstAnomalySuspectS: d ? d.timeToSuspectS : null,
      fromFirstAnomalyConfirmS: d ? d.timeToConfirmS : null,
      confirmedBy: d?.confirmedBy ?? null,
      nodes: d ? d.nodes.split(',').length : 0,
    });
  }
}
timingsFor('season', season, truth.map((t) => ({ zone: t.zone, at: Date.parse(t.from) })));
for (let seed = 1; seed <= SEEDS; seed++) {
  const file = join(resultsDir, `rules-fire-san-thang-seed${seed}.ndjson`);
  simulate('fire-san-thang', file, ['--seed', String(seed)]);
  const b = new Backtest(site, { truth: [{ zone: 'san-thang', from: '2026-03-20T11:45:00+07:00', to: '2026-03-20T14:45:00+07:00' }] });
  forEachLine(file, (line, n) => b.line(line, n));
  timingsFor(`fire-san-thang seed ${seed}`, b.finish(), [{ zone: 'san-thang', at: Date.parse('2026-03-20T11:45:00+07:00') }]);
}

const rssMb = process.resourceUsage().maxRSS / 1024;
const num = (a: (number | null)[]) => a.filter((x): x is number => x !== null);
const report = {
  date: new Date().toISOString(),
  node: process.version,
  data: { file: seasonFile, days: DAYS, bytes, readings: season.readings, nodes: site.nodes.length },
  fromNdjson: { wallS: +(fileMs / 1000).toFixed(2), readingsPerS: Math.round(season.readings / (fileMs / 1000)), mbPerS: +(bytes / 1e6 / (fileMs / 1000)).toFixed(1) },
  engineOnParsed: { engineS: +(engineMs / 1000).toFixed(2), readingsPerS: Math.round(parsedCount / (engineMs / 1000)) },
  peakRssMb: Math.round(rssMb),
  season: { events: season.events, detections: season.detections.length, confirmations: season.confirmations, falseConfirmations: season.falseConfirmations, sameAsEngineRun: JSON.stringify(engineSummary.events) === JSON.stringify(season.events) },
  timeToDetect: timings,
};
writeFileSync(join(resultsDir, 'rules-engine.json'), JSON.stringify(report, null, 2) + '\n');

const out: string[] = [];
out.push(`rules engine benchmark (${process.version}, ${report.data.nodes} nodes, ${DAYS} days, ${fmt(season.readings)} readings, ${(bytes / 1e9).toFixed(2)} GB NDJSON)`);
out.push(`  from NDJSON file : ${fmt(report.fromNdjson.readingsPerS)} readings/s (${report.fromNdjson.wallS} s, ${report.fromNdjson.mbPerS} MB/s)   target ≥ 300,000`);
out.push(`  engine on parsed : ${fmt(report.engineOnParsed.readingsPerS)} readings/s (${report.engineOnParsed.engineS} s in the engine)   target ≥ 1,000,000`);
out.push(`  peak RSS         : ${report.peakRssMb} MB`);
out.push(`  season events    : ${Object.entries(season.events).map(([k, v]) => `${k} ${v}`).join(', ')}`);
out.push(`  detections ${season.detections.length}, confirmed ${season.confirmations}, false confirmations ${season.falseConfirmations} (against the ${truth.length} scripted fires)`);
out.push('time to detect (s):');
out.push('  source                                         ignition→suspected  ignition→confirmed  1st anomaly→suspected  1st anomaly→confirmed  by           nodes');
for (const t of timings) {
  out.push(
    `  ${t.source.padEnd(46)} ${String(t.fromIgnitionSuspectS ?? '–').padStart(18)}  ${String(t.fromIgnitionConfirmS ?? '–').padStart(18)}  ${String(t.fromFirstAnomalySuspectS ?? '–').padStart(21)}  ${String(t.fromFirstAnomalyConfirmS ?? '–').padStart(21)}  ${(t.confirmedBy ?? '–').padEnd(12)} ${t.nodes}`,
  );
}
out.push(`  ignition → suspected: ${stats(num(timings.map((t) => t.fromIgnitionSuspectS)))}`);
out.push(`  ignition → confirmed: ${stats(num(timings.map((t) => t.fromIgnitionConfirmS)))}`);
out.push(`  first anomaly → suspected: ${stats(num(timings.map((t) => t.fromFirstAnomalySuspectS)))}`);
out.push(`  first anomaly → confirmed: ${stats(num(timings.map((t) => t.fromFirstAnomalyConfirmS)))}`);
out.push(`(written to ${join('bench/results', 'rules-engine.json')})`);
console.log(out.join('\n'));
