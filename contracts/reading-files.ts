// Parsers for readings files (pure, one line at a time; `replay` and `backtest` read them): NDJSON readings, CSV with a
// header of reading field names, and InfluxDB line protocol (measurement `reading`, ms timestamps).
// Every row ends up validated by the contract's readingSchema.
import { z } from 'zod';
import { readingLine } from './measurements.ts';
import { describeZodError, readingSchema, type Reading } from './payloads.ts';

export const REPLAY_FORMATS = ['ndjson', 'csv', 'line-protocol'] as const;
export type ReplayFormat = (typeof REPLAY_FORMATS)[number];

export type RowResult = { ok: true; reading: Reading } | { ok: false; error: string } | { ok: 'skip' };

/** Format from the file name: .csv, .lp/.line/.influx, otherwise NDJSON (.ndjson, .jsonl, .json). */
export function formatFromFileName(file: string): ReplayFormat {
  const lower = file.toLowerCase().replace(/\.gz$/, '');
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.lp') || lower.endsWith('.line') || lower.endsWith('.influx')) return 'line-protocol';
  return 'ndjson';
}

/** A decoded line that is not text: NUL bytes, invalid UTF-8 (decoded as U+FFFD) or control characters. */
export function looksBinary(line: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u0008\u000e-\u001f\ufffd]/.test(line);
}

function validated(candidate: unknown): RowResult {
  const result = readingSchema.safeParse(candidate);
  return result.success ? { ok: true, reading: result.data } : { ok: false, error: describeZodError(result.error) };
}

export function parseNdjsonLine(line: string): RowResult {
  if (line.trim() === '') return { ok: 'skip' };
  if (looksBinary(line)) return { ok: false, error: 'binary data, not a line of text' };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    const truncated = !line.trimEnd().endsWith('}');
    return { ok: false, error: truncated ? 'truncated JSON (the line ends before the object closes)' : `invalid JSON: ${(err as Error).message}` };
  }
  return validated(value);
}

/** CSV columns, named exactly like the reading fields. nodeId, seq, ts, temperatureC, humidityPct and smoke are required. */
export const CSV_COLUMNS = ['nodeId', 'seq', 'ts', 'temperatureC', 'humidityPct', 'smoke', 'rainMm', 'windMs', 'batteryV', 'rssiDbm'] as const;
type CsvColumn = (typeof CSV_COLUMNS)[number];
const REQUIRED_CSV_COLUMNS: readonly CsvColumn[] = ['nodeId', 'seq', 'ts', 'temperatureC', 'humidityPct', 'smoke'];
const TEXT_COLUMNS: ReadonlySet<CsvColumn> = new Set(['nodeId', 'ts']);
const csvColumnSchema = z.enum(CSV_COLUMNS);

/** Splits one CSV record (RFC 4180 quoting, no line breaks inside fields). */
export function splitCsvRecord(line: string): string[] | { error: string } {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) return { error: 'unterminated quoted field' };
        const c = line[i]!;
        if (c === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += c;
        i++;
      }
      if (i < line.length && line[i] !== ',') return { error: `unexpected character after a quoted field at column ${i + 1}` };
    } else {
      const end = line.indexOf(',', i);
      field = end === -1 ? line.slice(i) : line.slice(i, end);
      i = end === -1 ? line.length : end;
    }
    fields.push(field);
    if (i >= line.length) return fields;
    i++; // the comma
  }
}

export class CsvReadingParser {
  private constructor(private readonly columns: readonly CsvColumn[]) {}

  /** Reads the header row; an unknown or missing column is an error for the whole file. */
  static fromHeader(headerLine: string): CsvReadingParser | { error: string } {
    const header = splitCsvRecord(headerLine.replace(/^\ufeff/, ''));
    if ('error' in header) return { error: `header: ${header.error}` };
    const columns: CsvColumn[] = [];
    for (const raw of header) {
      const parsed = csvColumnSchema.safeParse(raw.trim());
      if (!parsed.success) return { error: `header: unknown column ${JSON.stringify(raw)} (columns: ${CSV_COLUMNS.join(', ')})` };
      if (columns.includes(parsed.data)) return { error: `header: column ${parsed.data} appears twice` };
      columns.push(parsed.data);
    }
    const missing = REQUIRED_CSV_COLUMNS.filter((c) => !columns.includes(c));
    if (missing.length > 0) return { error: `header: missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}` };
    return new CsvReadingParser(columns);
  }

  parse(line: string): RowResult {
    if (line.trim() === '') return { ok: 'skip' };
    if (looksBinary(line)) return { ok: false, error: 'binary data, not a line of text' };
    const fields = splitCsvRecord(line);
    if ('error' in fields) return { ok: false, error: fields.error };
    if (fields.length !== this.columns.length) {
      return { ok: false, error: `expected ${this.columns.length} columns, got ${fields.length}` };
    }
    const row: Record<string, unknown> = {};
    for (let i = 0; i < fields.length; i++) {
      const column = this.columns[i]!;
      const text = fields[i]!.trim();
      if (TEXT_COLUMNS.has(column)) {
        row[column] = text;
        continue;
      }
      if (text === '') continue; // optional value absent
      const value = Number(text);
      if (!Number.isFinite(value)) return { ok: false, error: `${column}: expected a number, got ${JSON.stringify(text)}` };
      row[column] = value;
    }
    return validated(row);
  }
}

export function readingToCsvRecord(r: Reading): string {
  return CSV_COLUMNS.map((c) => {
    const v = r[c];
    return v === undefined ? '' : String(v);
  }).join(',');
}

/** Line-protocol field → reading field. */
const LP_FIELDS: Record<string, keyof Reading> = {
  temperature: 'temperatureC',
  humidity: 'humidityPct',
  smoke: 'smoke',
  rain: 'rainMm',
  wind: 'windMs',
  battery: 'batteryV',
  rssi: 'rssiDbm',
  seq: 'seq',
};

/**
 * Splits on `sep` outside backslash escapes and, with `quotedValues`, outside double-quoted string
 * field values (a quote opens one only right after an unescaped `=`). Measurement and tags have no
 * quoting: a double quote there is an ordinary character.
 */
function splitEscaped(text: string, sep: string, quotedValues: boolean): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  let afterEquals = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      current += c + text[i + 1];
      i++;
      afterEquals = false;
      continue;
    }
    if (quotedValues && c === '"' && (quoted || afterEquals)) quoted = !quoted;
    if (c === sep && !quoted) {
      parts.push(current);
      current = '';
    } else current += c;
    afterEquals = c === '=' && !quoted;
  }
  parts.push(current);
  return parts;
}

const unescape = (s: string) => s.replace(/\\(.)/g, '$1');

/** `reading,node=<id>,zone=<zone> temperature=..,humidity=..,smoke=..,seq=12i <ms>` */
export function parseLineProtocolLine(line: string): RowResult {
  const trimmed = line.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return { ok: 'skip' };
  if (looksBinary(line)) return { ok: false, error: 'binary data, not a line of text' };
  // The series part ends at the first unescaped space; only the fields after it may hold quoted spaces.
  const [seriesPart = ''] = splitEscaped(trimmed, ' ', false);
  const sections = [seriesPart, ...splitEscaped(trimmed.slice(seriesPart.length), ' ', true).filter((s) => s !== '')];
  if (sections.length !== 3) {
    return { ok: false, error: `expected "measurement,tags fields timestamp" (3 space-separated parts), got ${sections.length}` };
  }
  const [, fieldPart, timePart] = sections as [string, string, string];
  const [measurement, ...tags] = splitEscaped(seriesPart, ',', false);
  if (unescape(measurement ?? '') !== 'reading') return { ok: false, error: `measurement ${JSON.stringify(measurement)} is not "reading"` };
  const row: Record<string, unknown> = {};
  for (const tag of tags) {
    const [key, value, ...rest] = splitEscaped(tag, '=', false);
    if (key === undefined || value === undefined || rest.length > 0) return { ok: false, error: `bad tag ${JSON.stringify(tag)}` };
    if (unescape(key) === 'node') row.nodeId = unescape(value);
  }
  if (row.nodeId === undefined) return { ok: false, error: 'missing tag node' };
  for (const field of splitEscaped(fieldPart, ',', true)) {
    const [key, value, ...rest] = splitEscaped(field, '=', true);
    if (key === undefined || value === undefined || rest.length > 0) return { ok: false, error: `bad field ${JSON.stringify(field)}` };
    const target = LP_FIELDS[unescape(key)];
    if (!target) continue; // extra fields are allowed in line protocol
    const numeric = /^-?[0-9.eE+-]+[iu]?$/.test(value) ? Number(value.replace(/[iu]$/, '')) : NaN;
    if (!Number.isFinite(numeric)) return { ok: false, error: `field ${key}: expected a number, got ${JSON.stringify(value)}` };
    row[target] = numeric;
  }
  if (!/^-?\d+$/.test(timePart)) return { ok: false, error: `timestamp: expected integer milliseconds, got ${JSON.stringify(timePart)}` };
  const ms = Number(timePart);
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) return { ok: false, error: `timestamp ${timePart} is out of range` };
  row.ts = date.toISOString();
  return validated(row);
}

/** A reading as the line ingest stores (contracts/measurements.ts `reading`), for recordings and exports. */
export function readingToLineProtocol(r: Reading, zoneId: string): string {
  return readingLine(r, zoneId, Date.parse(r.ts));
}
