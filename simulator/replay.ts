// Replay: stream rows from a file (NDJSON, CSV or line protocol), filter them, and hand them to a
// sink keeping the original spacing ÷ speed under a replaceable clock. Memory stays flat: one line
// at a time, and the sink applies back-pressure.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Reading } from '../contracts/payloads.ts';
import type { Clock } from '../platform/clock.ts';
import { CsvReadingParser, parseLineProtocolLine, parseNdjsonLine, type ReplayFormat, type RowResult } from '../contracts/reading-files.ts';

export interface NumberedRow {
  line: number;
  result: RowResult;
}

/** A problem that stops the whole file (unreadable header, empty file). */
export class ReplayFileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
  ) {
    super(line > 0 ? `${file}:${line}: ${message}` : `${file}: ${message}`);
    this.name = 'ReplayFileError';
  }
}

/** Lines of any async text source, numbered from 1. */
export async function* numberedRows(lines: AsyncIterable<string>, format: ReplayFormat, file: string): AsyncGenerator<NumberedRow> {
  let lineNo = 0;
  let csv: CsvReadingParser | undefined;
  let sawAnyLine = false;
  for await (const line of lines) {
    lineNo++;
    if (line.trim() !== '') sawAnyLine = true;
    if (format === 'csv' && csv === undefined) {
      if (line.trim() === '') continue;
      const parser = CsvReadingParser.fromHeader(line);
      if ('error' in parser) throw new ReplayFileError(file, lineNo, parser.error);
      csv = parser;
      continue;
    }
    const result = format === 'csv' ? csv!.parse(line) : format === 'line-protocol' ? parseLineProtocolLine(line) : parseNdjsonLine(line);
    yield { line: lineNo, result };
  }
  if (!sawAnyLine) throw new ReplayFileError(file, 1, 'the file is empty');
}

export function readFileRows(path: string, format: ReplayFormat): AsyncGenerator<NumberedRow> {
  const input = createReadStream(path, { encoding: 'utf8', highWaterMark: 256 * 1024 });
  const lines = createInterface({ input, crlfDelay: Infinity });
  return numberedRows(lines, format, path);
}

export interface ReadingSink {
  /** May return a promise to apply back-pressure. */
  write(reading: Reading): void | Promise<void>;
  close(): Promise<void>;
}

export interface ReplayOptions {
  /** Original spacing is divided by this; Infinity = --fast. */
  speed: number;
  clock: Clock;
  nodes?: ReadonlySet<string> | undefined;
  fromMs?: number | undefined;
  /** Exclusive. */
  toMs?: number | undefined;
  /** Move timestamps so the first replayed reading is stamped with the clock's now. */
  shiftToNow?: boolean | undefined;
  /** Move every timestamp by this much (the CLI places a run on the pipeline's clock this way); overrides shiftToNow. */
  shiftMs?: number | undefined;
  /** Wall instant the first replayed reading is due at (an announced run's anchor); default: when it is read. */
  startWallMs?: number | undefined;
  onBadRow?: ((line: number, message: string) => void) | undefined;
  onReading?: ((stats: ReplayStats) => void) | undefined;
  signal?: AbortSignal | undefined;
}

export interface ReplayStats {
  rows: number;
  replayed: number;
  filtered: number;
  bad: number;
  firstTsMs: number | undefined;
  lastTsMs: number | undefined;
  /** Latest timestamp among the replayed readings (rows may be out of order). */
  maxTsMs: number | undefined;
  wallStartMs: number;
  wallEndMs: number;
}

/** Paces rows into the sink. The reading at ts t goes out at wallStart + (t − t0)/speed; a row older than one already sent goes at once. */
export async function replayRows(rows: AsyncIterable<NumberedRow>, sink: ReadingSink, opts: ReplayOptions): Promise<ReplayStats> {
  const stats: ReplayStats = { rows: 0, replayed: 0, filtered: 0, bad: 0, firstTsMs: undefined, lastTsMs: undefined, maxTsMs: undefined, wallStartMs: opts.clock.now(), wallEndMs: 0 };
  let t0: number | undefined;
  let latestTs = -Infinity;
  let shiftMs = 0;
  for await (const row of rows) {
    if (opts.signal?.aborted) break;
    if (row.result.ok === 'skip') continue;
    stats.rows++;
    if (row.result.ok === false) {
      stats.bad++;
      opts.onBadRow?.(row.line, row.result.error);
      continue;
    }
    let reading = row.result.reading;
    const ts = Date.parse(reading.ts);
    if ((opts.nodes && !opts.nodes.has(reading.nodeId)) || (opts.fromMs !== undefined && ts < opts.fromMs) || (opts.toMs !== undefined && ts >= opts.toMs)) {
      stats.filtered++;
      continue;
    }
    if (t0 === undefined) {
      t0 = ts;
      stats.wallStartMs = opts.startWallMs ?? opts.clock.now();
      if (opts.shiftMs !== undefined) shiftMs = opts.shiftMs;
      else if (opts.shiftToNow) shiftMs = stats.wallStartMs - t0;
      stats.firstTsMs = ts;
    }
    if (ts > latestTs) latestTs = ts;
    stats.maxTsMs = latestTs;
    if (Number.isFinite(opts.speed)) {
      const due = stats.wallStartMs + (latestTs - t0) / opts.speed;
      if (due > opts.clock.now()) await opts.clock.sleepUntil(due, opts.signal);
      if (opts.signal?.aborted) break;
    }
    if (shiftMs !== 0) reading = { ...reading, ts: new Date(ts + shiftMs).toISOString() };
    const pending = sink.write(reading);
    if (pending) await pending;
    stats.replayed++;
    stats.lastTsMs = ts;
    opts.onReading?.(stats);
  }
  stats.wallEndMs = opts.clock.now();
  return stats;
}
