// Dashboard query cost: the city overview's "state now" panels look back 30 days (panel relative
// time). Fills a real influxd (Debian's 1.6, test/harness/influxd.ts) with that much data for the
// whole Lai Châu site — every node reporting at its interval, site_node every 5 minutes, hourly
// provisional and daily official danger values, node events — then runs each query of the panels
// with a look-back (as Grafana would send it) several times and prints the median and worst time.
// Usage: node --import tsx bench/dashboard-queries.ts [days=30] [runs=5]
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InfluxdProcess } from '../test/harness/influxd.ts';
import { loadSiteFile } from '../platform/site-file.ts';
import { DASHBOARD_SITE_FILE, GENERATED_DIR } from '../dashboards/generate.ts';
import { expandQuery, panelRange, type DashboardJson } from '../dashboards/queries.ts';

const days = Number(process.argv[2] ?? 30);
const runs = Number(process.argv[3] ?? 5);
const site = loadSiteFile(DASHBOARD_SITE_FILE);
const city = JSON.parse(readFileSync(join(GENERATED_DIR, 'city-overview.json'), 'utf8')) as DashboardJson;
const DAY = 86_400_000;

const influx = await InfluxdProcess.start('ews');
try {
  const toMs = Date.now();
  const fromMs = toMs - days * DAY;
  let written = 0;
  let batch: string[] = [];
  const flush = async () => {
    if (!batch.length) return;
    const res = await fetch(`${influx.url}/write?db=ews&precision=ms`, { method: 'POST', body: batch.join('\n') });
    if (!res.ok) throw new Error(`write failed: ${res.status} ${await res.text()}`);
    written += batch.length;
    batch = [];
  };
  const add = async (line: string) => {
    batch.push(line);
    if (batch.length >= 20_000) await flush();
  };
  const t0 = performance.now();
  for (const node of site.nodes) {
    const step = node.reportingIntervalS * 1000;
    let seq = 0;
    for (let t = fromMs; t <= toMs; t += step) {
      seq += 1;
      await add(`reading,node=${node.id},zone=${node.zone} temperature=${(25 + 5 * Math.sin(t / DAY)).toFixed(2)},humidity=60,smoke=100,seq=${seq}i ${t}`);
    }
    for (let t = fromMs; t <= toMs; t += 300_000) await add(`site_node,node=${node.id},zone=${node.zone} lat=${node.lat},lon=${node.lon},elevation_m=${node.elevationM},zone_name="x" ${t}`);
    await add(`event,zone=${node.zone},kind=node-offline,node=${node.id} event_id="off-${node.id}" ${fromMs + DAY}`);
    await add(`event,zone=${node.zone},kind=node-online,node=${node.id} event_id="on-${node.id}" ${fromMs + DAY + 3_600_000}`);
  }
  for (const z of site.zones) {
    for (let t = fromMs; t <= toMs; t += 3_600_000) await add(`danger,zone=${z.id},official=false level=2i,nesterov_p=1200.0,quality="ok" ${t}`);
    for (let t = fromMs; t <= toMs; t += DAY) await add(`danger,zone=${z.id},official=true level=2i,nesterov_p=1200.0,quality="ok" ${t}`);
  }
  await flush();
  console.log(`filled influxd 1.6 with ${written.toLocaleString('en')} points (${days} days, ${site.nodes.length} nodes) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  for (const panel of city.panels ?? []) {
    if (!panel.timeFrom) continue;
    const range = panelRange(panel, { fromMs: toMs - DAY, toMs });
    for (const t of panel.targets ?? []) {
      const q = expandQuery(t.query ?? '', { ...range, variables: {} });
      const times: number[] = [];
      let rows = 0;
      for (let i = 0; i < runs; i++) {
        const s = performance.now();
        const series = await influx.query(q, 'ews');
        times.push(performance.now() - s);
        rows = series.reduce((n, x) => n + x.values.length, 0);
      }
      times.sort((a, b) => a - b);
      console.log(
        `panel ${panel.id} (${panel.timeFrom}) ${t.refId}: median ${times[Math.floor(times.length / 2)]?.toFixed(0)} ms, worst ${times.at(-1)?.toFixed(0)} ms, ${rows} rows — ${(t.query ?? '').slice(0, 70)}…`,
      );
    }
  }
} finally {
  await influx.destroy();
}
