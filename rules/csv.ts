// Small, strict CSV reader for the rules tools: a header row, then one record per line, every
// row parsed by a zod schema. Problems name the line number (1-based, the header is line 1) and
// the column, and a malformed row never yields a record.
import { z } from 'zod';
import { splitCsvRecord } from '../contracts/reading-files.ts';

export interface CsvProblem {
  line: number;
  message: string;
}

export interface CsvRecord<T> {
  line: number;
  value: T;
}

export interface CsvResult<T> {
  /** Valid rows in file order. */
  records: CsvRecord<T>[];
  /** Every problem found, in line order. A header problem leaves `records` empty. */
  problems: CsvProblem[];
  /** Line of the first bad row, or null when the file is clean. */
  firstBadLine: number | null;
  /** False when the file is empty or its header is wrong: no row was read. */
  headerOk: boolean;
}

const NUMBER_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** A decimal number written in a CSV cell (no empty cell, no NaN/Infinity, no "1,5"), bounded. */
export function csvNumber(min: number, max: number) {
  return z
    .string()
    .trim()
    .min(1, 'is empty')
    .regex(NUMBER_RE, 'is not a number')
    .transform(Number)
    .pipe(z.number().min(min, `must be ≥ ${min}`).max(max, `must be ≤ ${max}`));
}

/** A calendar date YYYY-MM-DD (2026-02-30 is refused). */
export const csvDate = z.string().trim().pipe(z.iso.date('is not a valid date (YYYY-MM-DD)'));

export interface CsvSpec<S extends z.ZodType> {
  /** Required columns, any order; names compared case-insensitively after trimming. */
  required: readonly string[];
  optional?: readonly string[];
  /** Schema of one row as an object of strings keyed by lower-case column name. */
  row: S;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const col = issue.path.length ? String(issue.path[0]) : '';
      return col ? `${col} ${issue.message}` : issue.message;
    })
    .join('; ');
}

/** Parses the whole text. Blank lines are skipped; a UTF-8 BOM and CRLF line ends are accepted. */
export function parseCsv<S extends z.ZodType>(text: string, spec: CsvSpec<S>): CsvResult<z.output<S>> {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const problems: CsvProblem[] = [];
  const records: CsvRecord<z.output<S>>[] = [];
  const headerIndex = lines.findIndex((l) => l.trim() !== '');
  if (headerIndex < 0) return { records, problems: [{ line: 1, message: 'empty file: expected a header row' }], firstBadLine: 1, headerOk: false };
  const headerCells = splitCsvRecord(lines[headerIndex]!);
  const header = (Array.isArray(headerCells) ? headerCells : []).map((c) => c.trim().toLowerCase());
  const known = new Set([...spec.required, ...(spec.optional ?? [])]);
  const headerProblems: string[] = [];
  if (!Array.isArray(headerCells)) headerProblems.push(headerCells.error);
  const missing = spec.required.filter((c) => !header.includes(c));
  if (missing.length) headerProblems.push(`missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  const unknown = header.filter((c) => !known.has(c));
  if (unknown.length) headerProblems.push(`unknown column${unknown.length > 1 ? 's' : ''} ${unknown.map((c) => JSON.stringify(c)).join(', ')}`);
  const dup = header.filter((c, i) => header.indexOf(c) !== i);
  if (dup.length) headerProblems.push(`duplicate column ${dup.join(', ')}`);
  if (headerProblems.length) {
    const line = headerIndex + 1;
    const expected = [...spec.required, ...(spec.optional ?? []).map((c) => `[${c}]`)].join(',');
    return { records, problems: [{ line, message: `bad header: ${headerProblems.join('; ')} (expected ${expected})` }], firstBadLine: line, headerOk: false };
  }
  for (let i = headerIndex + 1; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === '') continue;
    const line = i + 1;
    const cells = splitCsvRecord(raw);
    if (!Array.isArray(cells)) {
      problems.push({ line, message: cells.error });
      continue;
    }
    if (cells.length !== header.length) {
      problems.push({ line, message: `expected ${header.length} columns, got ${cells.length}` });
      continue;
    }
    // No prototype: a header named __proto__ or constructor is a column like any other.
    const obj = Object.create(null) as Record<string, string>;
    header.forEach((name, j) => (obj[name] = cells[j]!));
    const parsed = spec.row.safeParse(obj);
    if (!parsed.success) {
      problems.push({ line, message: describeIssues(parsed.error) });
      continue;
    }
    records.push({ line, value: parsed.data });
  }
  return { records, problems, firstBadLine: problems[0]?.line ?? null, headerOk: true };
}

export function formatCsvProblem(file: string, p: CsvProblem): string {
  return `${file}:${p.line} ${p.message}`;
}
