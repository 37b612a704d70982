// The dashboards as files: committed JSON = generator output, lint rules, provisioning YAML.
import { assert, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { driftedFiles, generateDashboards, GENERATED_DIR, ROOT } from './generate.ts';
import { DATASOURCE_UID } from './influxql.ts';
import { layoutProblems, type PlacedPanel } from './layout.ts';
import { lintDashboards } from './lint.ts';
import { expandQuery, grafanaInterval, panelRange, selectShape, type DashboardJson, type PanelJson } from './queries.ts';

const generated = generateDashboards();
const committed = (): DashboardJson[] => [...generated.keys()].map((f) => JSON.parse(readFileSync(join(GENERATED_DIR, f), 'utf8')) as DashboardJson);

it('committed dashboards equal the generator output (run npm run dashboards after changing a builder or the site file)', () => {
  expect(driftedFiles(generated)).toStrictEqual([]);
  expect([...generated.keys()]).toStrictEqual(['city-overview.json', 'zone-detail.json', 'sensor-fleet.json', 'pipeline.json']);
});

describe('lint', () => {
  it('lint: datasource uid, titles, descriptions, units, $timeFilter, GROUP BY time($__interval), no Flux, known variables, unique ids', () => {
    expect(lintDashboards(committed())).toStrictEqual([]);
  });

  describe('lint catches what it should', () => {
    let problems = '';
    beforeAll(() => {
      const bad = structuredClone(committed());
      const zone = bad[1] as DashboardJson;
      const panel = zone.panels?.[3];
      assert(panel?.targets?.[0]);
      panel.datasource = { type: 'influxdb', uid: 'other' };
      panel.description = '';
      panel.targets[0].query = (panel.targets[0].query ?? '').replace('GROUP BY time($__interval)', 'GROUP BY time(1m)').replace("'$zone'", "'$zonee'");
      const timeline = zone.panels?.[0];
      const mapping = timeline?.fieldConfig?.defaults?.mappings?.[0] as { options: Record<string, unknown> };
      delete mapping.options['5'];
      const city = bad[0] as DashboardJson;
      (city.panels?.[1] as { id: number }).id = 1;
      const geoLayer = ((city.panels?.[0]?.options?.layers ?? []) as { location: { latitude: string } }[])[0];
      if (geoLayer) geoLayer.location.latitude = 'lat';
      city.panels?.[2]?.targets?.push({ refId: 'F', rawQuery: true, resultFormat: 'table', query: 'from(bucket: "ews") |> range(start: -1h)' });
      // The per-zone table: a calculation reading a misspelt field, a time series among merged tables,
      // a zone link setting a variable the zone detail does not have.
      const zones = city.panels?.find((x) => x.transformations?.some((t) => t.id === 'merge'));
      assert(zones?.transformations && zones.targets?.[2]);
      const calc = zones.transformations.find((t) => t.id === 'calculateField' && (t.options as { alias: string }).alias === 'healthy');
      ((calc?.options as { binary: { left: { matcher: { options: string } } } }).binary.left.matcher.options = 'node_count');
      zones.targets[2].resultFormat = 'time_series';
      const links = zones.fieldConfig?.overrides?.flatMap((o) => o.properties).find((x) => x.id === 'links')?.value as { url: string }[];
      assert(links[0]);
      links[0].url = links[0].url.replace('var-zone', 'var-commune');
      // A field and a measurement the services do not write (renamed in contracts/measurements.ts, say).
      const levelTarget = timeline?.targets?.[0];
      assert(levelTarget?.query);
      levelTarget.query = levelTarget.query.replace('last("level")', 'last("levle")');
      const fleetTarget = (bad[2] as DashboardJson).panels?.flatMap((x) => x.targets ?? []).find((t) => t.query?.includes('FROM "node_status"'));
      assert(fleetTarget?.query);
      fleetTarget.query = fleetTarget.query.replace('FROM "node_status"', 'FROM "node_state"');
      problems = lintDashboards(bad).join('\n');
    });

    it.each([
      { name: 'another datasource', expected: /not the provisioned influxdb-fire/ },
      { name: 'an empty description', expected: /no description/ },
      { name: 'a fixed GROUP BY interval', expected: /without GROUP BY time\(\$__interval\)/ },
      { name: 'an unknown variable', expected: /unknown template variable \$zonee/ },
      { name: 'a missing level mapping', expected: /no mapping for level 5/ },
      { name: 'a duplicate panel id', expected: /duplicate panel id/ },
      { name: 'a geomap reading the wrong field', expected: /uses field "lat"/ },
      { name: 'a Flux query', expected: /Flux is not allowed/ },
      { name: 'a transformation reading a field nothing returns', expected: /calculateField reads field "node_count"/ },
      { name: 'a time series merged with tables', expected: /merge: target C must be a table without GROUP BY time/ },
      { name: 'a field the measurement does not have', expected: /"levle" is no tag or field of danger/ },
      { name: 'a measurement nothing writes', expected: /measurement "node_state" is not one the services write/ },
      { name: 'a zone link setting a variable the target lacks', expected: /data link sets var-commune, which dashboard fire-zone-detail does not have/ },
    ])('$name', ({ expected }) => {
      expect(problems).toMatch(expected);
    });
  });
});

describe('layout: overlapping panels and gaps on the 24-column grid', () => {
  const at = (name: string, x: number, y: number, w: number, h: number): PlacedPanel => ({ name, gridPos: { x, y, w, h } });

  it.each([
    {
      name: 'two panels on the same gridPos',
      panels: [at('a', 0, 0, 12, 8), at('b', 0, 0, 12, 8), at('c', 12, 0, 12, 8)],
      expected: ['a and b overlap at x 0–11, y 0–7'],
    },
    {
      name: 'panels that overlap in one corner',
      panels: [at('a', 0, 0, 14, 10), at('b', 12, 8, 12, 4), at('c', 14, 0, 10, 8), at('d', 0, 10, 12, 2)],
      expected: ['a and b overlap at x 12–13, y 8–9'],
    },
    {
      name: 'a hole beside a tall panel, with a panel below it',
      panels: [at('map', 0, 0, 14, 17), at('stat', 14, 0, 10, 5), at('table', 0, 17, 24, 9)],
      expected: ['gap of 120 empty cells at x 14–23, y 5–16 (10×12) with panels below it'],
    },
    {
      name: 'an empty top-left slot',
      panels: [at('a', 12, 0, 12, 8), at('b', 0, 8, 12, 8), at('c', 12, 8, 12, 8)],
      expected: ['gap of 96 empty cells at x 0–11, y 0–7 (12×8) with panels below it'],
    },
    {
      name: 'an empty band across the dashboard',
      panels: [at('a', 0, 0, 24, 4), at('b', 0, 6, 24, 4)],
      expected: ['gap of 48 empty cells at x 0–23, y 4–5 (24×2) with panels below it'],
    },
    {
      name: 'a panel wider than the grid',
      panels: [at('a', 10, 0, 16, 4)],
      expected: ['a: gridPos {"x":10,"y":0,"w":16,"h":4} is outside the 24-column grid'],
    },
    { name: 'a panel without gridPos', panels: [{ name: 'a' }], expected: ['a: gridPos undefined is not four integers x, y, w, h'] },
  ])('reports $name', ({ panels, expected }) => {
    expect(layoutProblems(panels)).toStrictEqual(expected);
  });

  it.each([
    { name: 'full rows', panels: [at('a', 0, 0, 12, 8), at('b', 12, 0, 12, 8), at('c', 0, 8, 24, 5)] },
    { name: 'a column stacked beside a tall panel', panels: [at('map', 0, 0, 14, 17), at('stat', 14, 0, 10, 5), at('fires', 14, 5, 10, 12), at('table', 0, 17, 24, 9)] },
    { name: 'a ragged last row (nothing below the empty cells)', panels: [at('a', 0, 0, 24, 8), at('b', 0, 8, 8, 5), at('c', 8, 8, 8, 3)] },
    { name: 'no panels', panels: [] },
  ])('accepts $name', ({ panels }) => {
    expect(layoutProblems(panels)).toStrictEqual([]);
  });

  it('the lint reports a panel moved onto another in a committed dashboard', () => {
    const bad = structuredClone(committed());
    const city = bad[0] as DashboardJson;
    const [, second] = city.panels ?? [];
    assert(second);
    second.gridPos = { x: 0, y: 0, w: 10, h: 5 };
    expect(lintDashboards(bad)).toStrictEqual([
      'fire-city-overview: layout: panel 1 "Bản đồ nút cảm biến theo cấp cháy rừng — Sensor nodes by zone danger level" and panel 2 "Cấp cao nhất hiện nay — Highest official level now" overlap at x 0–9, y 0–4',
      'fire-city-overview: layout: gap of 50 empty cells at x 14–23, y 0–4 (10×5) with panels below it',
    ]);
  });
});

describe('city overview: per zone level, sensors, data age; active alerts', () => {
  const city = () => committed()[0] as DashboardJson;
  const panel = (re: RegExp): PanelJson => {
    const found = city().panels?.find((p) => re.test(p.title ?? ''));
    assert(found, `a panel titled ${re}`);
    return found;
  };
  const overrideFor = (p: PanelJson, field: string) => new Map((p.fieldConfig?.overrides ?? []).filter((o) => o.matcher.options === field).flatMap((o) => o.properties.map((x) => [x.id, x.value])));
  const columnsOf = (p: PanelJson) => (p.targets ?? []).flatMap((t) => [...selectShape(t.query ?? '').columns.map((c) => c.name), ...selectShape(t.query ?? '').groupByTags]);

  it('one table has, per zone, the official and provisional level, sensor health and data age', () => {
    const zones = panel(/Each ward\/commune/);
    expect(new Set(columnsOf(zones))).toStrictEqual(new Set(['zone', 'quality', 'level', 'P', 'provisional_quality', 'provisional_level', 'nodes', 'offline', 'faulty', 'age_min']));
    expect(zones.transformations?.map((t) => [t.id, (t.options as { alias?: string }).alias])).toStrictEqual([
      ['organize', undefined],
      ['merge', undefined],
      ['calculateField', 'unhealthy'],
      ['calculateField', 'healthy'],
      ['calculateField', 'healthy_share'],
      ['organize', undefined],
    ]);
    // The state panels look back further than the dashboard, so a node dead for days still counts.
    expect(zones.timeFrom).toBe('30d');
  });

  it('a zone whose sensors are dead is loud: healthy share red below half, offline red, no data red', () => {
    const zones = panel(/Each ward\/commune/);
    const share = overrideFor(zones, 'healthy_share');
    expect((share.get('thresholds') as { steps: { value: number | null; color: string }[] }).steps).toStrictEqual([
      { value: null, color: 'red' },
      { value: 0.5, color: 'orange' },
      { value: 1, color: 'green' },
    ]);
    expect(share.get('custom.cellOptions')).toMatchObject({ type: 'color-background' });
    expect((overrideFor(zones, 'offline').get('thresholds') as { steps: unknown[] }).steps).toContainEqual({ value: 1, color: 'red' });
    const age = overrideFor(zones, 'age_min');
    expect(JSON.stringify(age.get('mappings'))).toMatch(/"text":"KHÔNG CÓ SỐ LIỆU \(no data\)","color":"red"/);
    expect((age.get('thresholds') as { steps: unknown[] }).steps).toContainEqual({ value: 30, color: 'red' });
  });

  it.each([/Sensor nodes by zone/, /Recent fire events/, /Each ward\/commune/, /Active alerts/])('%s links each zone to its detail dashboard', (re) => {
    const links = overrideFor(panel(re), 'zone').get('links') as { url: string }[];
    expect(links.map((l) => l.url)).toStrictEqual(['/d/fire-zone-detail?var-zone=${__value.raw}']);
  });

  it('active alerts show the escalation step and the acknowledgement time', () => {
    const alerts = panel(/Active alerts/);
    expect(columnsOf(alerts)).toStrictEqual(['state', 'escalation_step', 'acked_by', 'acked_at', 'zone', 'kind', 'alert']);
    expect(overrideFor(alerts, 'acked_at').get('unit')).toBe('time:DD/MM HH:mm');
    expect(overrideFor(alerts, 'escalation_step').get('displayName')).toBe('Leo thang (escalation step)');
  });

  it.each([
    ['city overview, per-zone table', () => panel(/Each ward\/commune/)],
    ['zone detail, level timeline', () => (committed()[1] as DashboardJson).panels?.find((p) => p.type === 'state-timeline') as PanelJson],
  ])('%s: explains an estimated (*) level in its description and marks it in the value mapping', (_name, get) => {
    const p = get();
    expect(p.description).toMatch(/\* Ước tính \(estimated\): .*dưới một nửa số trạm/);
    expect(p.description).toMatch(/Estimated: the official Nesterov formula on incomplete inputs — fewer than half of the zone's nodes/);
    expect(p.description).toMatch(/Không có \(unavailable\)/);
    expect(JSON.stringify(p.fieldConfig)).toContain('"estimated":{"text":"* ước tính (estimated)"');
  });
});

it('state timeline and geomap carry the five official levels and colours', () => {
  const [city, zone] = committed();
  const timeline = zone?.panels?.find((p) => p.type === 'state-timeline');
  const opts = (timeline?.fieldConfig?.defaults?.mappings?.[0] as { options: Record<string, { text: string; color: string }> }).options;
  expect(Object.entries(opts).map(([k, v]) => [k, v.color])).toStrictEqual([['1', 'green'], ['2', 'blue'], ['3', 'yellow'], ['4', 'orange'], ['5', 'red']]);
  expect(opts['3']?.text ?? '').toMatch(/^Cấp III/);
  const map = city?.panels?.find((p) => p.type === 'geomap');
  expect(map?.transformations?.map((t) => t.id)).toStrictEqual(['joinByField']);
});

it('provisioning YAML parses; datasource uid matches the dashboards; provider is read-only', () => {
  const dsText = readFileSync(join(ROOT, 'dashboards/provisioning/datasources/influxdb.yaml'), 'utf8');
  const ds = parse(dsText) as { apiVersion: number; datasources: { uid: string; type: string; url: string; jsonData: Record<string, string>; secureJsonData: Record<string, string> }[] };
  expect(ds.apiVersion).toBe(1);
  const [influx] = ds.datasources;
  assert(influx);
  expect(influx.uid).toBe(DATASOURCE_UID);
  expect(influx.type).toBe('influxdb');
  expect(influx.url).toBe('${INFLUX_URL}');
  expect(influx.jsonData.dbName).toBe('${INFLUX_BUCKET}');
  expect(influx.jsonData.httpHeaderName1).toBe('Authorization');
  expect(influx.secureJsonData.httpHeaderValue1).toBe('Token ${INFLUX_TOKEN}');
  expect(influx.jsonData.version, 'InfluxQL (the default), not Flux').toBeUndefined();

  const prov = parse(readFileSync(join(ROOT, 'dashboards/provisioning/dashboards/fire.yaml'), 'utf8')) as { providers: { type: string; allowUiUpdates: boolean; options: { path: string } }[] };
  expect(prov.providers[0]?.type).toBe('file');
  expect(prov.providers[0]?.allowUiUpdates).toBe(false);
  expect(prov.providers[0]?.options.path).toBe('/var/lib/grafana/dashboards');

  // Every ${VAR} the provisioning reads is documented in the README's Dashboards section.
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Dashboards'), readme.indexOf('\n## ', readme.indexOf('## Dashboards') + 5));
  const vars = [...dsText.replace(/^#.*$/gm, '').matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]);
  expect([...new Set(vars)].sort()).toStrictEqual(['INFLUX_BUCKET', 'INFLUX_TOKEN', 'INFLUX_URL']);
  for (const v of vars) expect(section, `README "Dashboards" lists ${v}`).toContain(`\`${v}\``);
});

it('macro expansion (incl. ${__to}), panel relative time and query shapes', () => {
  expect(grafanaInterval(0, 3_600_000)).toBe('10s');
  expect(grafanaInterval(0, 86_400_000)).toBe('2m');
  expect(expandQuery(`SELECT mean("t") AS "t" FROM "reading" WHERE "zone" = '$zone' AND $timeFilter GROUP BY time($__interval), "node"`, { fromMs: 1000, toMs: 3_601_000, variables: { zone: 'san-thang' } })).toBe(`SELECT mean("t") AS "t" FROM "reading" WHERE "zone" = 'san-thang' AND time >= 1000ms and time <= 3601000ms GROUP BY time(10s), "node"`);
  expect(expandQuery('SELECT count("c") FROM "m" WHERE $timeFilter GROUP BY time(3650d, ${__to}ms) fill(0)', { fromMs: 1000, toMs: 61_000, variables: {} })).toBe(
    'SELECT count("c") FROM "m" WHERE time >= 1000ms and time <= 61000ms GROUP BY time(3650d, 61000ms) fill(0)',
  );
  expect(panelRange({ type: 'table', timeFrom: '30d' }, { fromMs: 5, toMs: 40 * 86_400_000 })).toStrictEqual({ fromMs: 10 * 86_400_000, toMs: 40 * 86_400_000 });
  expect(panelRange({ type: 'table' }, { fromMs: 5, toMs: 6 })).toStrictEqual({ fromMs: 5, toMs: 6 });
  const s = selectShape(`SELECT count("x") AS "n" FROM (SELECT last("x") AS "x", "kind" AS "k" FROM "e" WHERE "kind" =~ /^a(b|c)$/ GROUP BY "node") WHERE "k" = 'b'`);
  expect(s.columns.map((c) => c.name)).toStrictEqual(['n']);
  expect(s.groupByTags).toStrictEqual([]);
});
