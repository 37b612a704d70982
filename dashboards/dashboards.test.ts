// The dashboards as files: committed JSON = generator output, lint rules, provisioning YAML.
import { assert, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { driftedFiles, generateDashboards, GENERATED_DIR, ROOT } from './generate.ts';
import { DATASOURCE_UID } from './influxql.ts';
import { lintDashboards } from './lint.ts';
import { expandQuery, grafanaInterval, selectShape, type DashboardJson } from './queries.ts';

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
    ])('$name', ({ expected }) => {
      expect(problems).toMatch(expected);
    });
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

it('macro expansion and query shape helpers', () => {
  expect(grafanaInterval(0, 3_600_000)).toBe('10s');
  expect(grafanaInterval(0, 86_400_000)).toBe('2m');
  expect(expandQuery(`SELECT mean("t") AS "t" FROM "reading" WHERE "zone" = '$zone' AND $timeFilter GROUP BY time($__interval), "node"`, { fromMs: 1000, toMs: 3_601_000, variables: { zone: 'san-thang' } })).toBe(`SELECT mean("t") AS "t" FROM "reading" WHERE "zone" = 'san-thang' AND time >= 1000ms and time <= 3601000ms GROUP BY time(10s), "node"`);
  const s = selectShape(`SELECT count("x") AS "n" FROM (SELECT last("x") AS "x", "kind" AS "k" FROM "e" WHERE "kind" =~ /^a(b|c)$/ GROUP BY "node") WHERE "k" = 'b'`);
  expect(s.columns.map((c) => c.name)).toStrictEqual(['n']);
  expect(s.groupByTags).toStrictEqual([]);
});
