// Pipeline figures for the Grafana "Pipeline" dashboard, written to InfluxDB as ordinary points so
// Grafana needs no second datasource. Every service that has figures to show runs one reporter:
//
//   pipeline,service=<name> <field>=<value>[,…] <ms>
//
// The fields are declared in contracts/measurements.ts (`pipeline`), which the dashboards' lint checks:
//   service=ingest  readings_stored=<cumulative>i,spool_depth=<n>i,write_latency_ms=<float>,dead_letters=<cumulative>i
//   service=alerts  sms_sent=<cumulative>i,sms_failed=<cumulative>i,sms_acked=<cumulative>i,outbox_queued=<n>i
// Cumulative counters count since the process started (the dashboards use non_negative_derivative,
// so a restart shows as one missing step, not a negative spike).
//
// Also here: the `alert` measurement the alerts service writes on every state change and every
// escalation step of an alert (tags zone, kind, alert; fields alert_id, state, acked_by, level,
// escalation_step, acked_at), and the `site_node` registry ingest writes; all three through
// contracts/measurements.ts, the one schema and line writer of every measurement.
//
// The reporter never throws into its caller: a lost stats point is acceptable, a crash is not.
// It hands each line to a `sink` the service provides, normally the same durable spool its other
// InfluxDB lines go through.
import { lineOf, type FieldsOf } from '../contracts/measurements.ts';
import type { Logger } from './logger.ts';

export const DEFAULT_PIPELINE_STATS_S = 10;

/** One `pipeline` point's fields (contracts/measurements.ts). */
export type StatFields = FieldsOf<'pipeline'>;

/** `pipeline,service=<service> …` */
export function pipelineLine(service: string, fields: StatFields, tsMs: number): string | null {
  return lineOf('pipeline', { service }, fields, tsMs);
}

export type AlertState = 'active' | 'acknowledged' | 'resolved';

export interface AlertPoint {
  alertId: string;
  zoneId: string;
  /** The event kind that raised the alert (fire-suspected, fire-confirmed, level-changed, …). */
  kind: string;
  state: AlertState;
  /** Who acknowledged (name or phone), once the alert has been acknowledged. */
  ackedBy?: string | undefined;
  /** When it was acknowledged (Unix ms), once it has been. */
  ackedAt?: number | undefined;
  /** Escalation steps sent so far (0: only the first recipients). */
  escalationStep?: number | undefined;
  level?: number | undefined;
}

/**
 * `alert,alert=<alert id>,kind=<kind>,zone=<zone> alert_id="…",state="active|acknowledged|resolved",acked_by="…",level=<n>i,escalation_step=<n>i,acked_at=<ms>i <ms>`.
 * acked_by is always written ("" when nobody acknowledged) so the table panel's column exists;
 * level, escalation_step and acked_at only when known.
 */
export function alertLine(a: AlertPoint, tsMs: number): string {
  return lineOf(
    'alert',
    { zone: a.zoneId, kind: a.kind, alert: a.alertId },
    { level: a.level, escalation_step: a.escalationStep, acked_at: a.ackedAt, alert_id: a.alertId, state: a.state, acked_by: a.ackedBy ?? '' },
    tsMs,
  ) as string;
}

export interface PipelineStatsOptions {
  service: string;
  /** Seconds between points; 0 disables the reporter. */
  intervalS: number;
  /** The figures now. Called on each tick; an exception skips that point. */
  collect: () => StatFields;
  /** Where a line goes (the service's spool). An exception drops that point. */
  sink: (line: string, tsMs: number) => void;
  logger: Logger;
  /** Injectable clock for tests. */
  now?: () => number;
}

export interface PipelineStatsReporter {
  /** Writes one point now (also done on every tick). Returns the line, or null when none was written. */
  report(): string | null;
  /** Stops the timer; with `finalPoint`, writes one last point first. */
  stop(finalPoint?: boolean): void;
}

/** Starts a timer writing one `pipeline` point every `intervalS` seconds. The timer never keeps the process alive. */
export function startPipelineStats(opts: PipelineStatsOptions): PipelineStatsReporter {
  const now = opts.now ?? Date.now;
  let lastErrorLog = 0;
  const report = (): string | null => {
    try {
      const ts = now();
      const line = pipelineLine(opts.service, opts.collect(), ts);
      if (line === null) return null;
      opts.sink(line, ts);
      return line;
    } catch (err) {
      const t = Date.now();
      if (t - lastErrorLog > 60_000) {
        lastErrorLog = t;
        opts.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'pipeline stats point skipped');
      }
      return null;
    }
  };
  const timer = opts.intervalS > 0 ? setInterval(report, opts.intervalS * 1000) : undefined;
  timer?.unref();
  return {
    report,
    stop(finalPoint = false) {
      if (timer) clearInterval(timer);
      if (finalPoint && opts.intervalS > 0) report();
    },
  };
}

/** Mean of the values observed since the last take(); for "write latency over the last interval". */
export class IntervalMean {
  private sum = 0;
  private n = 0;
  observe(v: number): void {
    this.sum += v;
    this.n += 1;
  }
  /** The mean since the previous call; undefined when nothing was observed (the field is then left out). */
  take(): number | undefined {
    if (this.n === 0) return undefined;
    const mean = this.sum / this.n;
    this.sum = 0;
    this.n = 0;
    return mean;
  }
}

/** What a `site_node` point needs from the site file (a SensorNode plus its zone's display name). */
export interface SiteNodeInfo {
  id: string;
  zone: string;
  lat: number;
  lon: number;
  elevationM: number;
  zoneName: string;
}

/**
 * `site_node,node=<id>,zone=<zone> lat=…,lon=…,elevation_m=…,zone_name="…" <ms>`: the node registry
 * in InfluxDB. InfluxDB readings carry no coordinates and InfluxQL cannot join, so the city geomap
 * reads node positions from these points (written by ingest at start and every few minutes) and
 * joins them with the zones' danger level in Grafana.
 */
export function siteNodeLines(nodes: readonly SiteNodeInfo[], tsMs: number): string[] {
  return nodes.map(
    (n) =>
      lineOf('site_node', { node: n.id, zone: n.zone }, { lat: n.lat, lon: n.lon, elevation_m: n.elevationM, zone_name: n.zoneName }, tsMs) as string,
  );
}
