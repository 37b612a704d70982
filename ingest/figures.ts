// Ingest's figures for the dashboards, through the spool like every other line (skipped, i.e. lost,
// while the spool is full): the `pipeline,service=ingest` point every EWS_PIPELINE_STATS_S seconds
// and the node registry (`site_node`: positions for the city geomap) at start and every 5 minutes.
import type { SiteIndex } from '../contracts/site.ts';
import type { Logger } from '../platform/logger.ts';
import { siteNodeLines, startPipelineStats, type StatFields } from '../platform/pipeline-stats.ts';
import type { IngestStore } from './spool.ts';

export interface IngestFiguresOptions {
  /** Seconds between `pipeline` points; 0: no figures at all. */
  intervalS: number;
  store: IngestStore;
  spoolMaxRows: number;
  site: SiteIndex;
  log: Logger;
  collect: () => StatFields;
}

export function startIngestFigures(opts: IngestFiguresOptions): { stop(): void } {
  const { store, log } = opts;
  const stats = startPipelineStats({
    service: 'ingest',
    intervalS: opts.intervalS,
    logger: log,
    collect: opts.collect,
    sink: (line, tsMs) => {
      if (store.spoolDepth < opts.spoolMaxRows) store.append(line, tsMs);
    },
  });
  const writeSiteNodes = () => {
    try {
      if (store.spoolDepth >= opts.spoolMaxRows) return;
      const now = Date.now();
      const nodes = [...opts.site.nodes.values()].map((n) => ({ ...n, zoneName: opts.site.zones.get(n.zone)?.name ?? n.zone }));
      for (const line of siteNodeLines(nodes, now)) store.append(line, now);
    } catch (err) {
      log.warn({ err: err instanceof Error ? err.message : String(err) }, 'site_node points skipped');
    }
  };
  const siteNodesTimer = opts.intervalS > 0 ? setInterval(writeSiteNodes, 300_000).unref() : undefined;
  if (siteNodesTimer) writeSiteNodes();
  return {
    stop() {
      stats.stop(true);
      clearInterval(siteNodesTimer);
    },
  };
}
