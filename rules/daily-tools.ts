// The daily command-line calculators (`fire-ews nesterov`, `fire-ews fwi`) as pure functions:
// CSV text in, CSV text + diagnostics + exit code out. cli.ts only does the file I/O.
//
// Bad rows: every bad row is reported (file:line and the reason). Both indices are chained day
// by day, so a malformed day cannot be skipped without corrupting every later value: the output
// holds the days BEFORE the first bad row (correct and complete for those days), nothing from
// the first bad row on, and the exit code is 1. A date that does not come after the previous
// row's date is a bad row; a gap between dates is only a warning (the chain continues as if the
// days were consecutive, which is what the input says).
import { z } from 'zod';
import type { DangerTable } from '../contracts/site.ts';
import { csvDate, csvNumber, formatCsvProblem, parseCsv, type CsvProblem, type CsvRecord } from './csv.ts';
import { NATIONAL_DANGER_TABLE, dangerLevelFromP, nesterovStep } from './nesterov.ts';
import { FWI_STARTUP, LAI_CHAU_LATITUDE, fwiDay, type FwiCodes, type FwiOptions } from './fwi.ts';

export interface ToolResult {
  /** CSV for stdout, header included (empty when the header itself is bad). */
  stdout: string;
  /** Diagnostics for stderr, one per line. */
  stderr: string[];
  exitCode: number;
}

/** `date,t13,rh13,rain`: 13:00 temperature °C, 13:00 RH %, rain of the day mm. */
export const nesterovRowSchema = z.object({
  date: csvDate,
  t13: csvNumber(-60, 60),
  rh13: csvNumber(0, 100),
  rain: csvNumber(0, 2000),
});

/** `date,temp,rh,wind,precip[,lat]`: noon temperature °C, RH %, wind km/h, 24-h rain mm, latitude. */
export const fwiRowSchema = z.object({
  date: csvDate,
  temp: csvNumber(-60, 60),
  rh: csvNumber(0, 100),
  wind: csvNumber(0, 300),
  precip: csvNumber(0, 2000),
  lat: csvNumber(-90, 90).optional(),
});

const DAY_MS = 86_400_000;

/** Refuses rows whose date does not advance; warns about gaps. Returns the rows still valid. */
function checkDateOrder<T extends { date: string }>(records: CsvRecord<T>[], problems: CsvProblem[], warnings: CsvProblem[]): CsvRecord<T>[] {
  const firstParseProblem = problems[0]?.line ?? Infinity;
  const kept: CsvRecord<T>[] = [];
  let prev: CsvRecord<T> | undefined;
  for (const r of records) {
    if (prev) {
      const gapDays = (Date.parse(r.value.date) - Date.parse(prev.value.date)) / DAY_MS;
      if (gapDays <= 0) {
        problems.push({ line: r.line, message: `date ${r.value.date} does not come after ${prev.value.date} (line ${prev.line})` });
        continue;
      }
      // Only rows that will be computed get the warning (after a bad row nothing is).
      if (gapDays > 1 && r.line < firstParseProblem) {
        warnings.push({ line: r.line, message: `warning: ${gapDays - 1} day${gapDays > 2 ? 's' : ''} missing before ${r.value.date}; the index is chained across the gap` });
      }
    }
    kept.push(r);
    prev = r;
  }
  problems.sort((a, b) => a.line - b.line);
  return kept;
}

function headerFailure(problems: CsvProblem[], file: string): ToolResult {
  return { stdout: '', stderr: [...problems.map((p) => formatCsvProblem(file, p)), `no days computed from ${file}`], exitCode: 1 };
}

function finish(header: string, rows: string[], problems: CsvProblem[], warnings: CsvProblem[], file: string, total: number): ToolResult {
  const stderr = [...warnings, ...problems].sort((a, b) => a.line - b.line).map((p) => formatCsvProblem(file, p));
  if (problems.length) {
    const first = problems[0]!.line;
    stderr.push(`${problems.length} bad row${problems.length === 1 ? '' : 's'} in ${file}; output stops before line ${first} (${rows.length} of ${total} days computed)`);
  }
  return { stdout: [header, ...rows].join('\n') + '\n', stderr, exitCode: problems.length ? 1 : 0 };
}

const fmt = (v: number, digits = 2) => (Object.is(v, -0) ? 0 : v).toFixed(digits);

export interface NesterovToolOptions {
  table?: DangerTable;
  /** P carried in from before the first day (default 0). */
  p0?: number;
}

/** `fire-ews nesterov`: prints `date,d13,p,level` per input day, in order. */
export function runNesterovCsv(text: string, file: string, options: NesterovToolOptions = {}): ToolResult {
  const table = options.table ?? NATIONAL_DANGER_TABLE;
  const header = 'date,d13,p,level';
  const parsed = parseCsv(text, { required: ['date', 't13', 'rh13', 'rain'], row: nesterovRowSchema });
  if (!parsed.headerOk) return headerFailure(parsed.problems, file);
  const warnings: CsvProblem[] = [];
  const problems = [...parsed.problems];
  const records = checkDateOrder(parsed.records, problems, warnings);
  const firstBad = problems[0]?.line ?? Infinity;
  const rows: string[] = [];
  let p = options.p0 ?? 0;
  for (const r of records) {
    if (r.line > firstBad) break;
    const step = nesterovStep(p, { t13: r.value.t13, rh13: r.value.rh13, rainMm: r.value.rain }, table);
    p = step.p;
    rows.push(`${r.value.date},${fmt(step.d13)},${fmt(p)},${dangerLevelFromP(p, table.thresholds)}`);
  }
  return finish(header, rows, problems, warnings, file, parsed.records.length + parsed.problems.length);
}

export interface FwiToolOptions extends FwiOptions {
  start?: FwiCodes;
  /** Latitude for rows without a `lat` column (default Lai Châu, 22.39°N). */
  lat?: number;
}

/** `fire-ews fwi`: prints `date,ffmc,dmc,dc,isi,bui,fwi,dsr` per input day, chained in order. */
export function runFwiCsv(text: string, file: string, options: FwiToolOptions = {}): ToolResult {
  const header = 'date,ffmc,dmc,dc,isi,bui,fwi,dsr';
  const parsed = parseCsv(text, { required: ['date', 'temp', 'rh', 'wind', 'precip'], optional: ['lat'], row: fwiRowSchema });
  if (!parsed.headerOk) return headerFailure(parsed.problems, file);
  const warnings: CsvProblem[] = [];
  const problems = [...parsed.problems];
  const records = checkDateOrder(parsed.records, problems, warnings);
  const firstBad = problems[0]?.line ?? Infinity;
  const rows: string[] = [];
  let codes: FwiCodes = options.start ?? FWI_STARTUP;
  for (const r of records) {
    if (r.line > firstBad) break;
    const v = r.value;
    const day = fwiDay(
      codes,
      { temp: v.temp, rh: v.rh, wind: v.wind, precip: v.precip, month: Number(v.date.slice(5, 7)), lat: v.lat ?? options.lat ?? LAI_CHAU_LATITUDE },
      options,
    );
    codes = day;
    rows.push([v.date, fmt(day.ffmc), fmt(day.dmc), fmt(day.dc), fmt(day.isi), fmt(day.bui), fmt(day.fwi), fmt(day.dsr)].join(','));
  }
  return finish(header, rows, problems, warnings, file, parsed.records.length + parsed.problems.length);
}
