// Lint rules over the generated dashboards (the grafana/dashboard-linter rules that apply to InfluxQL,
// plus our own). Pure: takes parsed JSON, returns problems as "uid: where: message".
import { columnsOf, isMeasurementName } from '../contracts/measurements.ts';
import { DATASOURCE_UID } from './influxql.ts';
import { layoutProblems } from './layout.ts';
import { BUILTIN_VARIABLES, queriesOf, referencedVariables, selectShape, type DashboardJson, type LinkJson, type PanelJson } from './queries.ts';

const FLUX = /\|>|from\s*\(\s*bucket|range\s*\(\s*start/i;

function mappingKeys(panel: PanelJson): Set<string> {
  const keys = new Set<string>();
  const collect = (mappings: unknown) => {
    for (const m of (mappings as { type: string; options: Record<string, unknown> }[] | undefined) ?? []) if (m.type === 'value') for (const k of Object.keys(m.options)) keys.add(k);
  };
  collect(panel.fieldConfig?.defaults?.mappings);
  for (const o of panel.fieldConfig?.overrides ?? []) for (const p of o.properties) if (p.id === 'mappings') collect(p.value);
  return keys;
}

function hasUnitOrMappings(panel: PanelJson): boolean {
  const d = panel.fieldConfig?.defaults;
  if (d?.unit) return true;
  if ((d?.mappings?.length ?? 0) > 0) return true;
  return false;
}

/** Every data link of a panel (field defaults and overrides). */
function linksOf(panel: PanelJson): LinkJson[] {
  const links: LinkJson[] = [...(panel.fieldConfig?.defaults?.links ?? [])];
  for (const o of panel.fieldConfig?.overrides ?? []) for (const p of o.properties) if (p.id === 'links') links.push(...((p.value as LinkJson[] | undefined) ?? []));
  return links;
}

type TransformationCheck = (options: Record<string, unknown>, fields: Set<string>, panel: PanelJson) => { uses: string[]; adds: string[]; problems: string[] };

const byNameOperand = (v: unknown): string[] => {
  const m = (v as { matcher?: { id?: string; options?: string } } | undefined)?.matcher;
  return m?.id === 'byName' && m.options ? [m.options] : [];
};

/**
 * The transformations the dashboards use, with the fields each reads and adds, so a misspelt field
 * name (which Grafana silently ignores) is a lint error. Any other transformation id is refused.
 */
const TRANSFORMATIONS: Record<string, TransformationCheck> = {
  joinByField: (o) => ({ uses: [o.byField as string], adds: [], problems: [] }),
  filterByValue: (o) => ({ uses: ((o.filters as { fieldName: string }[] | undefined) ?? []).map((f) => f.fieldName), adds: [], problems: [] }),
  organize: (o) => ({
    uses: [...Object.keys((o.excludeByName as object | undefined) ?? {}), ...Object.keys((o.indexByName as object | undefined) ?? {}), ...Object.keys((o.renameByName as object | undefined) ?? {})],
    adds: [],
    problems: [],
  }),
  // Merge joins rows whose common fields (Time and the tags) are equal: every query must return one
  // row per tag set with the same Time, i.e. a table without GROUP BY time, grouped by the same tags.
  merge: (_o, _fields, panel) => {
    const problems: string[] = [];
    const shapes = (panel.targets ?? []).map((t) => ({ t, shape: t.query ? selectShape(t.query) : undefined }));
    const tags = new Set(shapes.map(({ shape }) => (shape?.groupByTags ?? []).join(',')));
    if (tags.size > 1) problems.push(`merge: the queries group by different tags (${[...tags].join(' | ')})`);
    for (const { t, shape } of shapes) {
      if (t.resultFormat !== 'table' || shape?.groupByTime) problems.push(`merge: target ${t.refId} must be a table without GROUP BY time (one row per ${[...tags][0] || 'query'})`);
    }
    return { uses: [], adds: [], problems };
  },
  calculateField: (o) => {
    const alias = o.alias as string | undefined;
    const problems = alias ? [] : ['calculateField without an alias (its field name would be made up by Grafana)'];
    if (o.mode === 'reduceRow') {
      const reduce = o.reduce as { include?: string[]; nullValueMode?: string } | undefined;
      if (!reduce?.include?.length) problems.push('calculateField reduceRow without include (it would reduce every numeric field)');
      return { uses: reduce?.include ?? [], adds: alias ? [alias] : [], problems };
    }
    if (o.mode === 'binary') {
      const b = o.binary as { left?: unknown; right?: unknown } | undefined;
      const uses = [...byNameOperand(b?.left), ...byNameOperand(b?.right)];
      if (uses.length !== 2) problems.push('calculateField binary: both operands must name a field (matcher byName)');
      return { uses, adds: alias ? [alias] : [], problems };
    }
    return { uses: [], adds: [], problems: [`calculateField mode ${String(o.mode)} is not checked by the lint`] };
  },
};

const RELATIVE_TIME = /^[1-9]\d*[mhdw]$/;

/**
 * Measurements, tags and fields a query names that the services do not write (contracts/measurements.ts):
 * every `FROM "m"` must be a measurement of the schema, and every other double-quoted name a tag or
 * field of one of the query's measurements, or an alias the query itself defines (`AS "x"`).
 */
export function schemaProblems(query: string): string[] {
  const problems: string[] = [];
  const known = new Set<string>();
  for (const m of query.matchAll(/\bFROM\s+"([^"]+)"/gi)) {
    const name = m[1] as string;
    if (!isMeasurementName(name)) {
      problems.push(`measurement "${name}" is not one the services write (contracts/measurements.ts)`);
      continue;
    }
    const { tags, fields } = columnsOf(name);
    for (const c of [...tags, ...fields]) known.add(c);
  }
  if (problems.length > 0 || known.size === 0) return problems;
  for (const m of query.matchAll(/\bAS\s+"([^"]+)"/gi)) known.add(m[1] as string);
  for (const m of query.matchAll(/(\bFROM\s+|\bAS\s+)?"([^"]+)"/gi)) {
    if (m[1]) continue;
    const name = m[2] as string;
    if (!known.has(name)) problems.push(`"${name}" is no tag or field of ${[...query.matchAll(/\bFROM\s+"([^"]+)"/gi)].map((f) => f[1]).join(', ')} (contracts/measurements.ts)`);
  }
  return problems;
}

export function lintDashboards(dashboards: DashboardJson[]): string[] {
  const problems: string[] = [];
  const variablesByUid = new Map(dashboards.map((d) => [d.uid, new Set((d.templating?.list ?? []).map((v) => v.name))]));
  const uids = new Set<string>();
  const titles = new Set<string>();
  for (const d of dashboards) {
    const p = (where: string, msg: string) => problems.push(`${d.uid}: ${where}: ${msg}`);
    if (!d.uid || !/^[a-z0-9-]{1,40}$/.test(d.uid)) p('dashboard', `bad uid "${d.uid}"`);
    if (uids.has(d.uid)) p('dashboard', 'duplicate uid');
    uids.add(d.uid);
    if (titles.has(d.title)) p('dashboard', 'duplicate title');
    titles.add(d.title);
    if (d.editable !== false) p('dashboard', 'must be read-only (editable: false)');
    if (d.timezone !== 'Asia/Ho_Chi_Minh') p('dashboard', `timezone is ${d.timezone}, not Asia/Ho_Chi_Minh`);

    const variables = new Set((d.templating?.list ?? []).map((v) => v.name));
    const checkVars = (where: string, text: string | undefined) => {
      for (const name of referencedVariables(text ?? '')) if (!variables.has(name) && !BUILTIN_VARIABLES.has(name)) p(where, `unknown template variable $${name}`);
    };

    for (const problem of layoutProblems((d.panels ?? []).map((panel) => ({ name: `panel ${panel.id} "${panel.title ?? ''}"`, gridPos: panel.gridPos })))) p('layout', problem);

    const ids = new Set<number>();
    for (const panel of d.panels ?? []) {
      const where = `panel ${panel.id} "${panel.title ?? ''}"`;
      if (typeof panel.id !== 'number') p(where, 'panel has no id');
      else if (ids.has(panel.id)) p(where, 'duplicate panel id');
      else ids.add(panel.id);
      if (!panel.title?.trim()) p(where, 'no title');
      if (!panel.description?.trim()) p(where, 'no description');
      if (panel.datasource?.uid !== DATASOURCE_UID || panel.datasource?.type !== 'influxdb') p(where, `datasource is ${JSON.stringify(panel.datasource)}, not the provisioned ${DATASOURCE_UID}`);
      if (!hasUnitOrMappings(panel)) p(where, 'no unit and no value mappings');
      if ((panel.targets ?? []).length === 0) p(where, 'no targets');
      checkVars(where, panel.title);
      const refIds = new Set<string>();
      for (const t of panel.targets ?? []) {
        if (!t.refId || refIds.has(t.refId)) p(where, `missing or duplicate refId ${t.refId}`);
        refIds.add(t.refId ?? '');
      }
      if (panel.timeFrom !== undefined && !RELATIVE_TIME.test(panel.timeFrom)) p(where, `relative time "${panel.timeFrom}" is not like 30d`);

      // Fields flow through the transformations in order: each may only read what exists by then.
      const fields = new Set<string>(['Time']);
      for (const t of panel.targets ?? []) {
        if (!t.query) continue;
        try {
          const shape = selectShape(t.query);
          for (const name of [...shape.columns.map((c) => c.name), ...shape.groupByTags]) fields.add(name);
        } catch {
          // reported with the query below
        }
      }
      for (const tr of panel.transformations ?? []) {
        const check = TRANSFORMATIONS[tr.id];
        if (!check) {
          p(where, `transformation ${tr.id} is not one the lint knows`);
          continue;
        }
        const r = check((tr.options ?? {}) as Record<string, unknown>, fields, panel);
        for (const msg of r.problems) p(where, msg);
        for (const name of r.uses) if (!fields.has(name)) p(where, `transformation ${tr.id} reads field "${name}", which no query or earlier transformation returns`);
        for (const name of r.adds) fields.add(name);
      }

      // Data links to another dashboard: it exists here and has the variables the link sets.
      for (const link of linksOf(panel)) {
        const m = /^\/d\/([a-z0-9-]+)(?:\?(.*))?$/.exec(link.url ?? '');
        if (!m) {
          p(where, `data link "${link.url}" is not a link to a dashboard of this repository (/d/<uid>?var-…)`);
          continue;
        }
        const target = variablesByUid.get(m[1] as string);
        if (!target) {
          p(where, `data link to unknown dashboard ${m[1]}`);
          continue;
        }
        for (const param of (m[2] ?? '').split('&').filter(Boolean)) {
          const name = /^var-(\w+)=/.exec(param)?.[1];
          if (name && !target.has(name)) p(where, `data link sets var-${name}, which dashboard ${m[1]} does not have`);
        }
      }

      if (panel.type === 'state-timeline') {
        const keys = mappingKeys(panel);
        for (const level of ['1', '2', '3', '4', '5']) if (!keys.has(level)) p(where, `state timeline has no mapping for level ${level}`);
      }
      if (panel.type === 'geomap') {
        const names = new Set((panel.targets ?? []).flatMap((t) => (t.query ? selectShape(t.query).columns.map((c) => c.name).concat(selectShape(t.query).groupByTags) : [])));
        for (const t of panel.targets ?? []) if (t.resultFormat !== 'table') p(where, `geomap target ${t.refId} must be a table`);
        const layers = ((panel.options?.layers ?? []) as { name: string; location?: { mode?: string; latitude?: string; longitude?: string }; config?: { style?: { color?: { field?: string }; text?: { field?: string } } } }[]);
        if (layers.length === 0) p(where, 'geomap without layers');
        for (const layer of layers) {
          const loc = layer.location;
          if (loc?.mode !== 'coords') p(where, `layer "${layer.name}" location mode is ${loc?.mode}, not coords`);
          for (const f of [loc?.latitude, loc?.longitude, layer.config?.style?.color?.field, layer.config?.style?.text?.field]) {
            if (f !== undefined && !names.has(f)) p(where, `layer "${layer.name}" uses field "${f}", which no query returns (${[...names].join(', ')})`);
          }
        }
      }
    }

    for (const q of queriesOf(d)) {
      const t = q.target;
      const text = t.query ?? '';
      if (t.rawQuery !== true || !text) p(q.where, 'not a raw InfluxQL query');
      if (FLUX.test(text)) p(q.where, 'Flux is not allowed (InfluxQL only)');
      if (t.datasource && t.datasource.uid !== DATASOURCE_UID) p(q.where, `target datasource ${t.datasource.uid}`);
      if (t.resultFormat !== 'time_series' && t.resultFormat !== 'table') p(q.where, `resultFormat ${t.resultFormat}`);
      if (!text.includes('$timeFilter')) p(q.where, 'no $timeFilter');
      if (t.resultFormat === 'time_series' && !/GROUP BY time\(\$__interval\)/.test(text)) p(q.where, 'time series without GROUP BY time($__interval)');
      checkVars(q.where, text);
      checkVars(q.where, t.alias);
      for (const msg of schemaProblems(text)) p(q.where, msg);
      let shape;
      try {
        shape = selectShape(text);
      } catch (err) {
        p(q.where, String(err));
        continue;
      }
      for (const c of shape.columns) if (!c.aliased && /\(/.test(c.expr)) p(q.where, `expression without an alias: ${c.expr}`);
      // Several value columns in one time series: the legend/field names come from the alias pattern.
      if (t.resultFormat === 'time_series' && shape.columns.length > 1 && !t.alias?.includes('$col')) p(q.where, 'time series with several columns needs an alias with $col');
      // A stat panel's field regex must match a column the query returns.
      const statFields = (q.panel?.options?.reduceOptions as { fields?: string } | undefined)?.fields;
      if (q.panel?.type === 'stat' && statFields) {
        const re = /^\/(.*)\/$/.exec(statFields);
        const names = [...shape.columns.map((c) => c.name), ...shape.groupByTags];
        if (!re || !names.some((n) => new RegExp(re[1] as string).test(n))) p(q.where, `stat fields ${statFields} match none of ${names.join(', ')}`);
      }
      if (q.kind === 'annotation') {
        const cols = new Set([...shape.columns.map((c) => c.name), ...shape.groupByTags]);
        if (!t.fromAnnotations) p(q.where, 'annotation target without fromAnnotations');
        for (const c of [t.textColumn, ...(t.tagsColumn ?? '').split(',')]) if (c && !cols.has(c)) p(q.where, `annotation column "${c}" not returned`);
      }
    }
  }
  return problems;
}
