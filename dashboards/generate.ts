// Builds every dashboard from code and writes classic dashboard JSON to dashboards/generated/
// (committed; Grafana provisions it from /var/lib/grafana/dashboards). `npm run dashboards`.
// `--check` writes nothing and exits 1 when a committed file differs from the generator's output.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_SITE_FILE } from '../contracts/config.ts';
import type { Site } from '../contracts/site.ts';
import { loadSiteFile } from '../platform/site-file.ts';
import { cityOverview } from './city-overview.ts';
import { pipeline } from './pipeline.ts';
import { sensorFleet } from './sensor-fleet.ts';
import { zoneDetail } from './zone-detail.ts';

export const ROOT = new URL('..', import.meta.url).pathname;
export const GENERATED_DIR = join(ROOT, 'dashboards/generated');
/** The site file the dashboards bake in (zone names, danger table, map centre). */
export const DASHBOARD_SITE_FILE = join(ROOT, DEFAULT_SITE_FILE);

const BUILDERS = {
  'city-overview.json': cityOverview,
  'zone-detail.json': zoneDetail,
  'sensor-fleet.json': sensorFleet,
  'pipeline.json': pipeline,
} as const;

/** File name → JSON text (2-space indent, trailing newline), in a fixed order. */
export function generateDashboards(site: Site = loadSiteFile(DASHBOARD_SITE_FILE)): Map<string, string> {
  const out = new Map<string, string>();
  for (const [file, build] of Object.entries(BUILDERS)) {
    const dashboard = build(site).build();
    // The SDK puts annotation toggles in the controls menu; keep Grafana's default (toggles above the panels).
    for (const a of dashboard.annotations?.list ?? []) delete a.placement;
    out.set(file, `${JSON.stringify(dashboard, null, 2)}\n`);
  }
  return out;
}

/** Files whose committed content differs from the generator's output (missing files included). */
export function driftedFiles(generated = generateDashboards()): string[] {
  return [...generated].filter(([file, text]) => {
    const path = join(GENERATED_DIR, file);
    return !existsSync(path) || readFileSync(path, 'utf8') !== text;
  }).map(([file]) => file);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const generated = generateDashboards();
  if (process.argv.includes('--check')) {
    const drift = driftedFiles(generated);
    if (drift.length > 0) {
      console.error(`dashboards out of date: ${drift.join(', ')} (run npm run dashboards)`);
      process.exit(1);
    }
    console.log(`dashboards up to date (${generated.size} files)`);
  } else {
    for (const [file, text] of generated) writeFileSync(join(GENERATED_DIR, file), text);
    console.log(`wrote ${[...generated.keys()].map((f) => `dashboards/generated/${f}`).join(', ')}`);
  }
}
