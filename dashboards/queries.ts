// Walks generated dashboard JSON for its InfluxQL, expands Grafana's macros and variables the way
// Grafana does before sending a query, and works out which columns a query names. Used by the lint
// test and by the integration test that runs every query against a real InfluxDB.

export interface PanelJson {
  id?: number;
  type: string;
  title?: string;
  description?: string;
  datasource?: { type?: string; uid?: string };
  gridPos?: { x?: number; y?: number; w?: number; h?: number };
  /** Panel-level relative time ("30d"): the panel's queries run over now-30d…now, whatever the dashboard's range. */
  timeFrom?: string;
  targets?: TargetJson[];
  fieldConfig?: { defaults?: { unit?: string; mappings?: unknown[]; links?: LinkJson[] }; overrides?: { matcher: { id: string; options: string }; properties: { id: string; value?: unknown }[] }[] };
  options?: Record<string, unknown>;
  transformations?: { id: string; options: unknown }[];
}

export interface LinkJson {
  title?: string;
  url?: string;
}

export interface TargetJson {
  refId?: string;
  datasource?: { type?: string; uid?: string };
  query?: string;
  rawQuery?: boolean;
  resultFormat?: string;
  alias?: string;
  fromAnnotations?: boolean;
  textColumn?: string;
  tagsColumn?: string;
}

export interface DashboardJson {
  uid: string;
  title: string;
  editable?: boolean;
  timezone?: string;
  time?: { from: string; to: string };
  panels?: PanelJson[];
  templating?: { list?: { name: string; type: string; query?: string; options?: { text: string; value: string }[] }[] };
  annotations?: { list?: { name: string; datasource?: { type?: string; uid?: string }; target?: TargetJson }[] };
}

export interface FoundQuery {
  dashboard: string;
  /** "panel 3 (title)" or "annotation (name)". */
  where: string;
  panel?: PanelJson;
  kind: 'panel' | 'annotation';
  target: TargetJson;
}

export function queriesOf(d: DashboardJson): FoundQuery[] {
  const out: FoundQuery[] = [];
  for (const panel of d.panels ?? []) {
    for (const target of panel.targets ?? []) out.push({ dashboard: d.uid, where: `panel ${panel.id} "${panel.title}" ${target.refId}`, panel, kind: 'panel', target });
  }
  for (const a of d.annotations?.list ?? []) {
    if (a.target) out.push({ dashboard: d.uid, where: `annotation "${a.name}"`, kind: 'annotation', target: a.target });
  }
  return out;
}

/** Grafana's own variables and the InfluxQL alias patterns, which need no template variable. */
export const BUILTIN_VARIABLES = new Set(['timeFilter', '__interval', '__interval_ms', '__timeFilter', '__from', '__to', '__range', 'col', '__dashboard']);

/** Names referenced as $name or ${name} (ignoring $tag_x alias patterns). */
export function referencedVariables(text: string): string[] {
  const names = new Set<string>();
  for (const m of text.matchAll(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g)) {
    const name = (m[1] ?? m[2]) as string;
    if (name.startsWith('tag_')) continue;
    names.add(name);
  }
  return [...names];
}

const INTERVALS_S = [10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

/** $__interval as Grafana picks it: range / max data points, rounded up to a "nice" step, never below the datasource's 10 s. */
export function grafanaInterval(fromMs: number, toMs: number, maxDataPoints = 1000): string {
  const raw = (toMs - fromMs) / maxDataPoints / 1000;
  const s = INTERVALS_S.find((v) => v >= raw) ?? 86400;
  return s % 86400 === 0 ? `${s / 86400}d` : s % 3600 === 0 ? `${s / 3600}h` : s % 60 === 0 ? `${s / 60}m` : `${s}s`;
}

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/**
 * The range a panel's queries run over: the dashboard's, unless the panel sets a relative time
 * (`timeFrom: "30d"`), which Grafana then uses instead (now − 30d … now).
 */
export function panelRange(panel: PanelJson | undefined, range: { fromMs: number; toMs: number }): { fromMs: number; toMs: number } {
  if (!panel?.timeFrom) return range;
  const m = /^(\d+)([mhdw])$/.exec(panel.timeFrom);
  if (!m) throw new Error(`relative time ${panel.timeFrom} not understood`);
  return { fromMs: range.toMs - Number(m[1]) * (UNIT_MS[m[2] as string] as number), toMs: range.toMs };
}

export interface Expansion {
  fromMs: number;
  toMs: number;
  variables: Record<string, string>;
  maxDataPoints?: number;
}

/** The query text Grafana's InfluxDB datasource sends for this time range and these variable values. */
export function expandQuery(query: string, e: Expansion): string {
  const interval = grafanaInterval(e.fromMs, e.toMs, e.maxDataPoints);
  return query.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (all, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare) as string;
    if (name === 'timeFilter') return `time >= ${e.fromMs}ms and time <= ${e.toMs}ms`;
    if (name === '__interval') return interval;
    if (name === '__from') return String(e.fromMs);
    if (name === '__to') return String(e.toMs);
    if (name in e.variables) return e.variables[name] as string;
    return all;
  });
}

/** Splits at top-level commas (outside parentheses and quotes). */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let cur = '';
  for (const ch of s) {
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(cur.trim());
      cur = '';
      continue;
    }
    cur += ch;
  }
  if (cur.trim()) parts.push(cur.trim());
  return parts;
}

/** Index of `keyword` at paren depth 0 (case-insensitive, word-bounded), or -1. */
function topLevelIndex(q: string, keyword: string, from = 0): number {
  let depth = 0;
  let quote: string | undefined;
  const kw = keyword.toUpperCase();
  for (let i = from; i < q.length; i++) {
    const ch = q[i] as string;
    if (quote) {
      if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '/') {
      // regex literals (=~ /…/) and quoted strings are skipped whole
      if (ch === '/' && !/=~\s*$/.test(q.slice(0, i))) continue;
      quote = ch;
      continue;
    }
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (depth === 0 && q.slice(i, i + kw.length).toUpperCase() === kw && /\W/.test(q[i - 1] ?? ' ') && /\W/.test(q[i + kw.length] ?? ' ')) return i;
  }
  return -1;
}

export interface SelectShape {
  /** One entry per selected expression: its output column name and whether it had an alias. */
  columns: { name: string; aliased: boolean; expr: string }[];
  /** Tag keys of the outer GROUP BY (time(...) excluded). */
  groupByTags: string[];
  groupByTime: boolean;
}

/** The outer SELECT's output columns and GROUP BY of an InfluxQL statement. */
export function selectShape(query: string): SelectShape {
  const q = query.trim();
  if (!/^SELECT\s/i.test(q)) throw new Error(`not a SELECT: ${q}`);
  const fromAt = topLevelIndex(q, 'FROM');
  if (fromAt < 0) throw new Error(`no FROM: ${q}`);
  const columns = splitTopLevel(q.slice(6, fromAt)).map((expr) => {
    const alias = /\sAS\s+"?([\w]+)"?\s*$/i.exec(expr);
    if (alias) return { name: alias[1] as string, aliased: true, expr };
    const bare = /^"?([\w]+)"?$/.exec(expr);
    return { name: bare ? (bare[1] as string) : expr, aliased: false, expr };
  });
  const groupAt = topLevelIndex(q, 'GROUP BY');
  const groupByTags: string[] = [];
  let groupByTime = false;
  if (groupAt >= 0) {
    const rest = q.slice(groupAt + 8);
    const end = [topLevelIndex(rest, 'fill'), topLevelIndex(rest, 'ORDER'), topLevelIndex(rest, 'LIMIT')].filter((i) => i >= 0);
    const clause = rest.slice(0, end.length ? Math.min(...end) : undefined);
    for (const part of splitTopLevel(clause)) {
      if (/^time\s*\(/i.test(part)) groupByTime = true;
      else if (part) groupByTags.push(part.replace(/"/g, ''));
    }
  }
  return { columns, groupByTags, groupByTime };
}

/** Columns the query's result must carry: the selected names (aliases) and the GROUP BY tags. */
export function expectedColumns(query: string): string[] {
  const s = selectShape(query);
  return [...s.columns.map((c) => c.name), ...s.groupByTags];
}
