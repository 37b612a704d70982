// A local double of the few Grafana pieces a table panel's numbers go through after InfluxDB, so a
// test can check what the board will read (Grafana itself does not run here). It follows Grafana's
// own code (packages/grafana-data/src/transformations/transformers/ in grafana/grafana):
//   - InfluxQL "table" results: one frame per query, columns Time, the GROUP BY tags, the values;
//   - merge.ts: rows of all frames whose fields common to every frame (Time and the tags) are equal
//     are merged into one row, unless a non-null value conflicts;
//   - calculateField.ts: reduceRow (sum: doStandardCalcs adds the non-null values to 0, so a missing
//     value counts 0) and binary (+ − × ÷ on two fields named byName, JavaScript arithmetic: a missing operand → NaN);
//   - organize: excludeByName drops fields.
// Anything else throws, so a test never silently skips a step the dashboard performs.
import type { InfluxSeries } from './influxd.ts';

export type Row = Record<string, unknown>;

export interface Table {
  columns: string[];
  rows: Row[];
}

/** One query's result as Grafana's InfluxQL datasource shapes a table. */
export function influxTable(series: InfluxSeries[]): Table {
  const columns: string[] = ['Time'];
  const rows: Row[] = [];
  for (const s of series) {
    for (const k of Object.keys(s.tags ?? {})) if (!columns.includes(k)) columns.push(k);
    for (const c of s.columns) if (c !== 'time' && !columns.includes(c)) columns.push(c);
    for (const v of s.values) {
      const row: Row = { ...s.tags };
      s.columns.forEach((c, i) => {
        row[c === 'time' ? 'Time' : c] = v[i];
      });
      rows.push(row);
    }
  }
  return { columns, rows };
}

interface Transformation {
  id: string;
  options?: unknown;
}

function merge(tables: Table[]): Table {
  const columns = [...new Set(tables.flatMap((t) => t.columns))];
  const keyFields = columns.filter((c) => tables.every((t) => t.columns.includes(c)));
  const byKey = new Map<string, Row[]>();
  const order: Row[] = [];
  for (const t of tables) {
    for (const row of t.rows) {
      const key = keyFields.map((k) => String(row[k])).join('\u0000');
      const candidates = byKey.get(key) ?? [];
      const target = candidates.find((existing) => Object.entries(row).every(([k, v]) => existing[k] === undefined || existing[k] === null || existing[k] === v));
      if (target) Object.assign(target, row);
      else {
        const copy = { ...row };
        candidates.push(copy);
        byKey.set(key, candidates);
        order.push(copy);
      }
    }
  }
  return { columns, rows: order };
}

const BINARY: Record<string, (l: number, r: number) => number> = { '+': (l, r) => l + r, '-': (l, r) => l - r, '*': (l, r) => l * r, '/': (l, r) => l / r };

function calculateField(table: Table, o: Record<string, unknown>): Table {
  const alias = o.alias as string;
  if (!alias) throw new Error('calculateField without alias');
  let value: (row: Row) => number;
  if (o.mode === 'reduceRow') {
    const reduce = o.reduce as { include: string[]; reducer: string; nullValueMode?: string };
    if (reduce.reducer !== 'sum') throw new Error(`reducer ${reduce.reducer} not in the double`);
    // doStandardCalcs starts the sum at 0 and adds only non-null values: a missing value adds nothing.
    value = (row) => reduce.include.reduce((sum, name) => (row[name] === null || row[name] === undefined ? sum : sum + Number(row[name])), 0);
  } else if (o.mode === 'binary') {
    const b = o.binary as { left: { matcher: { options: string } }; operator: string; right: { matcher: { options: string } } };
    const op = BINARY[b.operator];
    if (!op) throw new Error(`operator ${b.operator} not in the double`);
    value = (row) => op(row[b.left.matcher.options] as number, row[b.right.matcher.options] as number);
  } else throw new Error(`calculateField mode ${String(o.mode)} not in the double`);
  return { columns: [...table.columns, alias], rows: table.rows.map((r) => ({ ...r, [alias]: value(r) })) };
}

/** The panel's transformations applied to its queries' tables, in order. */
export function applyTransformations(tables: Table[], transformations: readonly Transformation[]): Table[] {
  let out = tables;
  for (const t of transformations) {
    const o = (t.options ?? {}) as Record<string, unknown>;
    if (t.id === 'merge') out = [merge(out)];
    else if (t.id === 'calculateField') out = out.map((table) => calculateField(table, o));
    else if (t.id === 'organize') {
      const excluded = new Set(Object.entries((o.excludeByName as Record<string, boolean> | undefined) ?? {}).filter(([, v]) => v).map(([k]) => k));
      out = out.map((table) => ({ columns: table.columns.filter((c) => !excluded.has(c)), rows: table.rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !excluded.has(k)))) }));
    } else throw new Error(`transformation ${t.id} not in the double`);
  }
  return out;
}
