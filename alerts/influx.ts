// The alerts service's figures for the Grafana dashboards, when InfluxDB is configured:
//  - `alert,alert=…,kind=…,zone=… alert_id="…",state="active|acknowledged|resolved",acked_by="…"[,level=<n>i]`
//    at each alert state change (spooled by the outbox in the same transaction as the change);
//  - `pipeline,service=alerts sms_sent=<n>i,sms_failed=<n>i,sms_acked=<n>i,outbox_queued=<n>i` every
//    EWS_PIPELINE_STATS_S seconds (counts since the process started; outbox_queued = rows waiting or in flight).
// Both formats come from platform/pipeline-stats.ts. Lines wait in the SQLite spool (alerts.sqlite,
// table influx_spool; refused ones in influx_refused) and are written in order by platform/spool-drain.ts, with backoff while
// InfluxDB is unreachable.
import type { LineWriter } from '../platform/influx-writer.ts';
import type { Logger } from '../platform/logger.ts';
import { SpoolDrain, writeSpoolBatch, type DrainOutcome } from '../platform/spool-drain.ts';
import { startPipelineStats, type StatFields } from '../platform/pipeline-stats.ts';
import type { AlertOutbox } from './outbox.ts';

export const DEFAULT_INFLUX_SPOOL_MAX_LINES = 100_000;
const BATCH = 1000;

export function alertsPipelineFields(outbox: AlertOutbox): StatFields {
  const states = outbox.countsByState();
  return { sms_sent: outbox.counts.sent, sms_failed: outbox.counts.failed, sms_acked: outbox.counts.acked, outbox_queued: states.queued + states.sending };
}

export interface AlertsInflux {
  /** Writes what is spooled now (tests, shutdown). Resolves false if InfluxDB could not take it. */
  flush(): Promise<boolean>;
  /** Stops the timers; writes a last pipeline point and tries one final flush. */
  stop(): Promise<void>;
}

export function startAlertsInflux(opts: { outbox: AlertOutbox; writer: LineWriter; log: Logger; statsIntervalS: number }): AlertsInflux {
  const { outbox, writer, log } = opts;
  // Content InfluxDB will never take (e.g. a field type conflict) is isolated line by line and kept in influx_refused; the rest is written.
  const step = async (): Promise<DrainOutcome> => (await writeSpoolBatch(outbox.lines, writer, BATCH, log, 'influx_refused')).outcome;
  const drain = new SpoolDrain({ step, idleMs: 1000, log, what: 'lines', describe: () => ({ spoolDepth: outbox.lines.depth() }) }).start();
  const stats = startPipelineStats({
    service: 'alerts',
    intervalS: opts.statsIntervalS,
    logger: log,
    collect: () => alertsPipelineFields(outbox),
    sink: (line) => {
      outbox.appendLine(line);
    },
  });
  return {
    flush: () => drain.flush(),
    async stop() {
      stats.stop(true);
      await drain.stop();
      if (!(await Promise.race([drain.flush(), new Promise<boolean>((r) => setTimeout(() => r(false), 3000).unref())]))) {
        log.warn({ spoolDepth: outbox.lines.depth() }, 'final InfluxDB flush failed; lines stay in the spool for the next start');
      }
      await writer.close();
    },
  };
}
