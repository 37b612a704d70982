// Offline run of the whole engine over recorded or simulated readings (NDJSON, one contract
// reading per line, in delivery order), under a virtual clock, as fast as possible.
//
// Virtual clock. A readings file carries observation times, not arrival times, so the backtest
// derives "now" from the fleet: it starts at the median timestamp of the first lines, then
// follows the readings' timestamps forward; a timestamp more than maxClockSkewS ahead of the
// clock moves it only when a second node's timestamp agrees with it (a gap in the whole
// recording), so one node with a fast clock cannot drag time forward. A reading "arrives" at the clock's value
// when it is read; a store-and-forward burst therefore arrives late, as it did live.
import { z } from 'zod';
import type { Danger, DangerLevel, FireEvent } from '../contracts/payloads.ts';
import type { RowResult } from '../contracts/reading-files.ts';
import { TOPIC_ID_PATTERN } from '../contracts/topics.ts';
import type { Site } from '../contracts/site.ts';
import { DEFAULT_RULES_CONFIG, type RulesConfig } from './config.ts';
import { FleetClock, rulesReadingSchema } from './core.ts';
import { RulesEngine, type EngineReading, type EngineStats } from './engine.ts';
import { parseInstant, parseInstantFast } from './time.ts';

const KNOWN_KEYS = new Set(['nodeId', 'seq', 'ts', 'temperatureC', 'humidityPct', 'smoke', 'rainMm', 'windMs', 'batteryV', 'rssiDbm']);

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Fast check equivalent to (never looser than) rulesReadingSchema for the common shape;
 * anything it does not accept goes through zod for the verdict and the message.
 */
function fastReading(o: unknown): { reading: EngineReading; tsMs: number } | null {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return null;
  const r = o as Record<string, unknown>;
  let keys = 0;
  for (const k in r) {
    if (!KNOWN_KEYS.has(k)) return null;
    keys++;
  }
  if (keys < 6) return null;
  const { nodeId, seq, ts, temperatureC, humidityPct, smoke, rainMm, windMs, batteryV, rssiDbm } = r;
  if (typeof nodeId !== 'string' || !TOPIC_ID_PATTERN.test(nodeId)) return null;
  if (!isNum(seq) || !Number.isInteger(seq) || seq < 0 || seq > Number.MAX_SAFE_INTEGER) return null;
  if (typeof ts !== 'string') return null;
  const tsMs = parseInstantFast(ts);
  if (Number.isNaN(tsMs)) return null;
  if (!isNum(temperatureC) || !isNum(humidityPct) || !isNum(smoke)) return null;
  if (rainMm !== undefined && !(isNum(rainMm) && rainMm >= 0 && rainMm <= 500)) return null;
  if (windMs !== undefined && !(isNum(windMs) && windMs >= 0 && windMs <= 75)) return null;
  if (batteryV !== undefined && !isNum(batteryV)) return null;
  if (rssiDbm !== undefined && !(isNum(rssiDbm) && rssiDbm >= -150 && rssiDbm <= 0)) return null;
  return { reading: r as unknown as EngineReading, tsMs };
}

export type LineResult = { ok: true; reading: EngineReading; tsMs: number } | { ok: false; reason: string };

/** Parses one NDJSON line into a reading, or says why not. */
export function parseReadingLine(line: string): LineResult {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch (err) {
    return { ok: false, reason: `not JSON (${(err as Error).message.split('\n')[0]})` };
  }
  const fast = fastReading(o);
  if (fast) return { ok: true, reading: fast.reading, tsMs: fast.tsMs };
  const parsed = rulesReadingSchema.safeParse(o);
  if (!parsed.success) {
    return { ok: false, reason: parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ') };
  }
  return { ok: true, reading: parsed.data as EngineReading, tsMs: parseInstant(parsed.data.ts) };
}

/** The backtest's clock: the service's FleetClock, started from the median of the first observations. */
export class VirtualClock extends FleetClock {
  constructor(maxJumpMs: number) {
    super(maxJumpMs);
  }

  get value(): number {
    return this.now;
  }

  /** Starts the clock from the first observations (their median). */
  start(firstTimestamps: number[]): void {
    const a = firstTimestamps.filter((t) => Number.isFinite(t)).sort((x, y) => x - y);
    this.now = a.length ? a[(a.length - 1) >> 1]! : NaN;
  }
}

export interface Detection {
  incidentId: string;
  zone: string;
  originNode: string;
  firstAnomalyAt: string;
  suspectedAt: string;
  confirmedAt: string | null;
  confirmedBy: string | null;
  clearedAt: string | null;
  /** When no healthy member had reported the fire for staleAfterS (fire-signal-lost); null otherwise. */
  signalLostAt: string | null;
  /** Times the fire re-appeared after a clear and continued this incident. */
  reopened: number;
  /** From the first anomalous reading to suspected / confirmed, seconds. */
  timeToSuspectS: number;
  timeToConfirmS: number | null;
  nodes: string;
  /** With ground truth: whether a true fire explains it. */
  falseAlarm: boolean | null;
}

export interface TruthFire {
  zone: string;
  from: string;
  to: string;
}

export const truthSchema = z.array(z.object({ zone: z.string(), from: z.iso.datetime({ offset: true }), to: z.iso.datetime({ offset: true }) }).strict());

export interface BacktestSummary {
  lines: number;
  readings: number;
  badLines: number;
  firstBadLines: { line: number; reason: string }[];
  engine: EngineStats;
  virtualStart: string | null;
  virtualEnd: string | null;
  events: Record<string, number>;
  /** `why`: for an estimated or unavailable value, the reason read from its inputs (estimatedBecause). */
  levels: { zone: string; date: string; level: DangerLevel | null; p: number | null; quality: Danger['quality']; why?: string }[];
  detections: Detection[];
  confirmations: number;
  falseConfirmations: number | null;
  faults: { node: string; kind: string; fault: string | null; at: string }[];
}

export interface BacktestOptions {
  config?: RulesConfig;
  /** Receives every event as it is emitted. */
  onEvent?: (e: FireEvent) => void;
  onDanger?: (d: Danger) => void;
  truth?: TruthFire[];
  /** Lines used to start the virtual clock (default 64). */
  warmupLines?: number;
}

/** Feed lines, then finish() for the summary. Synchronous, so the caller controls the I/O. */
export class Backtest {
  private engine: RulesEngine | null = null;
  private readonly clock: VirtualClock;
  private readonly pending: { lineNo: number; reading: EngineReading; ts: number }[] = [];
  private readonly warmupLines: number;
  private lines = 0;
  private readings = 0;
  private badLines = 0;
  private readonly firstBad: { line: number; reason: string }[] = [];
  private readonly eventCounts: Record<string, number> = {};
  private readonly dangers: Danger[] = [];
  private readonly incidents = new Map<string, Detection>();
  private readonly faults: BacktestSummary['faults'] = [];
  private firstTs = NaN;
  private readonly config: RulesConfig;

  constructor(
    private readonly site: Site,
    private readonly options: BacktestOptions = {},
  ) {
    this.config = options.config ?? DEFAULT_RULES_CONFIG;
    this.clock = new VirtualClock(this.config.health.maxClockSkewS * 1000);
    this.warmupLines = options.warmupLines ?? 64;
  }

  private onEvent = (e: FireEvent): void => {
    this.eventCounts[e.kind] = (this.eventCounts[e.kind] ?? 0) + 1;
    const d = e.detail;
    const incidentId = typeof d.incidentId === 'string' ? d.incidentId : '';
    const known = this.incidents.get(incidentId);
    if ((e.kind === 'fire-suspected' || e.kind === 'fire-confirmed') && known && typeof d.reopened === 'number') {
      // The same fire again after a clear: one detection, re-opened.
      known.reopened = d.reopened;
      known.clearedAt = null;
      known.signalLostAt = null;
      if (typeof d.nodes === 'string') known.nodes = d.nodes;
    } else if (e.kind === 'fire-suspected') {
      this.incidents.set(incidentId, {
        incidentId,
        zone: e.zoneId,
        originNode: e.nodeId ?? '',
        firstAnomalyAt: String(d.firstAnomalyAt),
        suspectedAt: e.ts,
        confirmedAt: null,
        confirmedBy: null,
        clearedAt: null,
        signalLostAt: null,
        reopened: 0,
        timeToSuspectS: Number(d.timeToDetectS),
        timeToConfirmS: null,
        nodes: e.nodeId ?? '',
        falseAlarm: null,
      });
    } else if (e.kind === 'fire-confirmed') {
      const det = this.incidents.get(incidentId);
      if (det) {
        det.confirmedAt = e.ts;
        det.confirmedBy = String(d.confirmedBy);
        det.timeToConfirmS = Number(d.timeToDetectS);
        det.nodes = String(d.nodes);
      }
    } else if (e.kind === 'fire-cleared') {
      const det = this.incidents.get(incidentId);
      if (det) {
        det.clearedAt = e.ts;
        det.nodes = String(d.nodes);
      }
    } else if (e.kind === 'fire-signal-lost') {
      const det = this.incidents.get(incidentId);
      if (det) det.signalLostAt = e.ts;
    } else if (e.kind === 'node-fault' || e.kind === 'node-offline' || e.kind === 'node-online' || e.kind === 'node-fault-cleared') {
      this.faults.push({ node: e.nodeId ?? '', kind: e.kind, fault: typeof d.fault === 'string' ? d.fault : null, at: e.ts });
    }
    this.options.onEvent?.(e);
  };

  private onDanger = (d: Danger): void => {
    this.dangers.push(d);
    this.options.onDanger?.(d);
  };

  private startEngine(): void {
    this.clock.start(this.pending.map((p) => p.ts));
    const startMs = this.clock.value;
    this.engine = new RulesEngine(this.site, Number.isNaN(startMs) ? 0 : startMs, { event: this.onEvent, danger: this.onDanger }, this.config);
    for (const p of this.pending.splice(0)) this.feedReading(p.reading, p.ts);
  }

  private feedReading(reading: EngineReading, ts: number): void {
    const rx = this.clock.observe(reading.nodeId, ts);
    this.engine!.ingest(reading, rx, ts);
  }

  /** One line of the file (1-based number). Blank lines are ignored. */
  line(text: string, lineNo: number): void {
    this.lines++;
    if (text.length === 0 || text.trim() === '') return;
    const r = parseReadingLine(text);
    if (!r.ok) {
      this.badLines++;
      if (this.firstBad.length < 20) this.firstBad.push({ line: lineNo, reason: r.reason });
      return;
    }
    this.reading(r.reading, lineNo, r.tsMs);
  }

  /** One row of a CSV or line-protocol readings file, parsed by contracts/reading-files.ts. */
  row(result: RowResult, lineNo: number): void {
    this.lines++;
    if (result.ok === 'skip') return;
    if (result.ok === false) {
      this.badLines++;
      if (this.firstBad.length < 20) this.firstBad.push({ line: lineNo, reason: result.error });
      return;
    }
    this.reading(result.reading, lineNo);
  }

  /** One already-parsed reading (what the engine benchmark feeds); tsMs its parsed timestamp if known. */
  reading(reading: EngineReading, lineNo = 0, tsMs?: number): void {
    this.readings++;
    const ts = tsMs ?? parseInstant(reading.ts);
    if (Number.isNaN(this.firstTs)) this.firstTs = ts;
    if (!this.engine) {
      this.pending.push({ lineNo, reading, ts });
      if (this.pending.length >= this.warmupLines) this.startEngine();
      return;
    }
    this.feedReading(reading, ts);
  }

  finish(): BacktestSummary {
    if (!this.engine && this.pending.length) this.startEngine();
    const truth = this.options.truth;
    const detections = [...this.incidents.values()];
    // Incidents still open: list every node that has joined them so far.
    for (const inc of this.engine?.activeIncidents() ?? []) {
      const det = this.incidents.get(inc.id);
      if (det) det.nodes = inc.members.join(',');
    }
    let falseConfirmations: number | null = null;
    if (truth) {
      falseConfirmations = 0;
      for (const d of detections) {
        const at = parseInstant(d.confirmedAt ?? d.suspectedAt);
        d.falseAlarm = !truth.some((t) => t.zone === d.zone && at >= parseInstant(t.from) && at <= parseInstant(t.to) + this.config.detection.clearAfterS * 1000);
        if (d.confirmedAt && d.falseAlarm) falseConfirmations++;
      }
    }
    const previousQuality = new Map<string, Danger['quality']>();
    return {
      lines: this.lines,
      readings: this.readings,
      badLines: this.badLines,
      firstBadLines: this.firstBad,
      engine: this.engine ? { ...this.engine.stats } : { readings: 0, unknownNode: 0, badTimestamp: 0, used: 0, late: 0, skipped: 0, anomalous: 0 },
      virtualStart: Number.isNaN(this.firstTs) ? null : new Date(this.firstTs).toISOString(),
      virtualEnd: this.engine ? new Date(this.engine.now).toISOString() : null,
      events: { ...this.eventCounts },
      levels: this.dangers.map((d) => {
        const why = estimatedBecause(d, this.site, this.config.danger.okNodeFraction, previousQuality.get(d.zoneId) ?? null);
        previousQuality.set(d.zoneId, d.quality);
        return { zone: d.zoneId, date: d.date, level: d.level, p: d.nesterovP, quality: d.quality, ...(why ? { why } : {}) };
      }),
      detections,
      confirmations: detections.filter((d) => d.confirmedAt).length,
      falseConfirmations,
      faults: this.faults,
    };
  }
}

/**
 * Why a danger value is estimated (or unavailable), as far as its own inputs tell: the zone's nodes
 * used at 13:00 against the share rules want (okNodeFraction), inputs borrowed from other zones, no
 * rain gauge; otherwise the first day of the record (its rain day is incomplete), an earlier day of
 * the chain (`previous`: the zone's value the day before, null on its first), or the rain total
 * (rules/README.md "Quality").
 */
export function estimatedBecause(d: Danger, site: Site, okNodeFraction: number, previous: Danger['quality'] | null): string | null {
  if (d.quality === 'ok') return null;
  if (d.quality === 'unavailable') return 'no 13:00 observation anywhere on the site; P carried to the next day';
  const members = site.nodes.filter((n) => n.zone === d.zoneId).map((n) => n.id);
  const own = d.inputs.nodesUsed.filter((id) => members.includes(id)).length;
  const wanted = Math.max(1, Math.ceil(okNodeFraction * members.length));
  const reasons: string[] = [];
  if (own === 0) reasons.push(`no node of the zone at 13:00: temperature and humidity of ${d.inputs.nodesUsed.length} nodes elsewhere on the site`);
  else if (own < wanted) reasons.push(`${own} of ${members.length} nodes at 13:00 (${wanted} wanted)`);
  if (d.inputs.rain24hMm === null) reasons.push('no rain gauge reported (taken as no rain)');
  if (reasons.length) return reasons.join('; ');
  if (previous === null) return 'first day of the record: its 24-h rain total is incomplete';
  if (previous !== 'ok') return 'an estimated or unavailable day earlier in the chain since the last resetting rain';
  return 'partial 24-h rain total, or rain from gauges elsewhere on the site';
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));

/** Human-readable summary (what the CLI prints on stderr). */
export function formatSummary(s: BacktestSummary, wallMs?: number): string {
  const out: string[] = [];
  out.push(`backtest: ${s.readings} readings from ${s.lines} lines (${s.badLines} bad), virtual ${s.virtualStart ?? '–'} → ${s.virtualEnd ?? '–'}`);
  if (wallMs !== undefined) out.push(`  ${(wallMs / 1000).toFixed(2)} s wall, ${Math.round(s.readings / Math.max(wallMs / 1000, 1e-9)).toLocaleString('en-US')} readings/s`);
  const e = s.engine;
  out.push(`  engine: used ${e.used}, late/duplicate ${e.late}, not used (faulty node or implausible) ${e.skipped}, unknown node ${e.unknownNode}, anomalous ${e.anomalous}`);
  for (const b of s.firstBadLines) out.push(`  line ${b.line}: ${b.reason}`);
  out.push(`events: ${Object.entries(s.events).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`);
  if (s.levels.length) {
    const zones = [...new Set(s.levels.map((l) => l.zone))];
    const dates = [...new Set(s.levels.map((l) => l.date))].sort();
    out.push('official level per zone per day (level/P, * = estimated, – = unavailable):');
    out.push('  ' + pad('date', 11) + zones.map((z) => pad(z, 16)).join(''));
    const roman = ['', 'I', 'II', 'III', 'IV', 'V'];
    for (const d of dates) {
      const cells = zones.map((z) => {
        const l = s.levels.find((x) => x.zone === z && x.date === d);
        if (!l) return pad('', 16);
        if (l.level === null) return pad('–', 16);
        return pad(`${roman[l.level]} ${Math.round(l.p ?? 0)}${l.quality === 'estimated' ? '*' : ''}`, 16);
      });
      out.push('  ' + pad(d, 11) + cells.join(''));
    }
    // What the * and – mean, per zone, consecutive days with one reason on one line.
    const marked = s.levels.filter((l) => l.why);
    if (marked.length) {
      out.push('  * estimated: the official formula ran on incomplete inputs; – unavailable: no level (rules/README.md "Quality"). Here:');
      for (const z of zones) {
        const runs: { from: string; to: string; why: string }[] = [];
        for (const l of marked.filter((x) => x.zone === z).sort((a, b) => a.date.localeCompare(b.date))) {
          const last = runs.at(-1);
          if (last && last.why === l.why && dates.indexOf(l.date) === dates.indexOf(last.to) + 1) last.to = l.date;
          else runs.push({ from: l.date, to: l.date, why: l.why! });
        }
        for (const r of runs) out.push(`    ${z} ${r.from}${r.to === r.from ? '' : ` → ${r.to}`}: ${r.why}`);
      }
    }
  }
  out.push(`detections: ${s.detections.length} (confirmed ${s.confirmations}${s.falseConfirmations === null ? ', no ground truth given' : `, false confirmations ${s.falseConfirmations}`})`);
  for (const d of s.detections) {
    out.push(
      `  ${d.incidentId} zone ${d.zone}: first anomaly ${d.firstAnomalyAt}, suspected +${d.timeToSuspectS}s` +
        (d.confirmedAt ? `, confirmed +${d.timeToConfirmS}s by ${d.confirmedBy}` : ', not confirmed') +
        (d.reopened ? `, re-opened ${d.reopened}×` : '') +
        (d.clearedAt ? `, cleared ${d.clearedAt}` : d.signalLostAt ? `, signal lost ${d.signalLostAt} (not cleared)` : ', still active') +
        ` [${d.nodes}]` +
        (d.falseAlarm === null ? '' : d.falseAlarm ? ' FALSE ALARM' : ' true fire'),
    );
  }
  const byNode = new Map<string, string[]>();
  for (const f of s.faults) {
    const label = f.kind === 'node-fault' ? `${f.fault}` : f.kind === 'node-fault-cleared' ? `${f.fault} cleared` : f.kind.replace('node-', '');
    byNode.set(f.node, [...(byNode.get(f.node) ?? []), label]);
  }
  out.push(`node faults: ${byNode.size ? '' : 'none'}`);
  for (const [node, labels] of [...byNode.entries()].sort()) out.push(`  ${node}: ${labels.join(', ')}`);
  return out.join('\n');
}
