// 4. Pipeline (Đường dữ liệu): what the services report in the `pipeline` measurement
// (platform/pipeline-stats.ts): readings stored per second, spool depth, write latency, dead
// letters (ingest) and SMS sent/failed/acknowledged and the outbox (alerts).
import * as dash from '@grafana/grafana-foundation-sdk/dashboard';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import type { Site } from '../contracts/site.ts';
import { baseDashboard, Grid, placed } from './common.ts';
import { series } from './influxql.ts';

export const PIPELINE_UID = 'fire-pipeline';

const legend = () => new common.VizLegendOptionsBuilder().displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom).showLegend(true);

const RATE = (field: string, alias: string, service: string) =>
  `SELECT non_negative_derivative(last("${field}"), 1s) AS "${alias}" FROM "pipeline" WHERE "service" = '${service}' AND $timeFilter GROUP BY time($__interval) fill(none)`;
const SMS_DIFF = `SELECT non_negative_difference(last("sms_sent")) AS "sent", non_negative_difference(last("sms_failed")) AS "failed", non_negative_difference(last("sms_acked")) AS "acked" FROM "pipeline" WHERE "service" = 'alerts' AND $timeFilter GROUP BY time($__interval) fill(none)`;

function total(id: number, grid: Grid, title: string, description: string, field: 'sent' | 'failed' | 'acked', color: string): stat.PanelBuilder {
  return placed(new stat.PanelBuilder(), id, title, description, grid.next(8, 5))
    .withTarget(series('A', SMS_DIFF, '$col'))
    .unit('none')
    .decimals(0)
    .colorScheme(new dash.FieldColorBuilder().mode(dash.FieldColorModeId.Fixed).fixedColor(color))
    .colorMode(common.BigValueColorMode.Value)
    .graphMode(common.BigValueGraphMode.Area)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['sum']).fields(`/^${field}$/`));
}

export function pipeline(_site: Site): dash.DashboardBuilder {
  // Panels are built, and added below, in reading order: the SDK's withPanel moves a panel placed at
  // (0, 0) to its own running cursor, so a later panel at the origin would land on top of another.
  const grid = new Grid();
  const sent = total(7, grid, 'SMS đã gửi — SMS sent', 'SMS sent in the time range.', 'sent', 'blue');
  const failed = total(8, grid, 'SMS thất bại — SMS failed', 'SMS that failed in the time range.', 'failed', 'red');
  const acked = total(9, grid, 'SMS đã xác nhận — SMS acked', 'SMS acknowledged by recipients in the time range.', 'acked', 'green');

  const stored = placed(new timeseries.PanelBuilder(), 1, 'Bản ghi lưu mỗi giây — Readings stored per second', 'Readings ingest wrote to InfluxDB per second (rate of its cumulative readings_stored counter; a restart shows as a gap, not a drop).', grid.next(12, 8))
    .withTarget(series('A', RATE('readings_stored', 'readings_per_s', 'ingest'), 'bản ghi/giây (readings/s)'))
    .unit('suffix: /s')
    .decimals(1)
    .min(0)
    .legend(legend());

  const spool = placed(new timeseries.PanelBuilder(), 2, 'Hàng đợi ghi (spool) — Spool depth', 'Rows waiting in ingest\'s SQLite spool for InfluxDB (grows while InfluxDB is slow or down; at its cap ingest stops acknowledging).', grid.next(12, 8))
    .withTarget(series('A', `SELECT max("spool_depth") AS "spool_depth" FROM "pipeline" WHERE "service" = 'ingest' AND $timeFilter GROUP BY time($__interval) fill(none)`, 'spool (rows)'))
    .unit('none')
    .min(0)
    .legend(legend());

  const latency = placed(new timeseries.PanelBuilder(), 3, 'Độ trễ ghi InfluxDB — Write latency', 'Mean and worst latency of one batch write from the spool to InfluxDB, per interval.', grid.next(12, 8))
    .withTarget(
      series('A', `SELECT mean("write_latency_ms") AS "mean", max("write_latency_ms") AS "max" FROM "pipeline" WHERE "service" = 'ingest' AND $timeFilter GROUP BY time($__interval) fill(none)`, '$col'),
    )
    .unit('ms')
    .min(0)
    .legend(legend());

  const deadLetters = placed(new timeseries.PanelBuilder(), 4, 'Thư lỗi mỗi giây — Dead letters per second', 'Messages ingest refused per second (rate of its cumulative dead_letters counter); reasons are on the Sensor fleet dashboard.', grid.next(12, 8))
    .withTarget(series('A', RATE('dead_letters', 'dead_letters_per_s', 'ingest'), 'thư lỗi/giây (dead letters/s)'))
    .unit('suffix: /s')
    .decimals(2)
    .min(0)
    .legend(legend());

  const sms = placed(new timeseries.PanelBuilder(), 5, 'Tin nhắn SMS — SMS sent, failed and acknowledged', 'SMS the alerts service sent, that failed, and that recipients acknowledged, per interval (differences of its cumulative counters).', grid.next(12, 10))
    .withTarget(series('A', SMS_DIFF, '$col'))
    .unit('none')
    .decimals(0)
    .drawStyle(common.GraphDrawStyle.Bars)
    .fillOpacity(70)
    .overrideByName('sent', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'blue' } }, { id: 'displayName', value: 'Đã gửi (sent)' }])
    .overrideByName('failed', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'red' } }, { id: 'displayName', value: 'Thất bại (failed)' }])
    .overrideByName('acked', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'green' } }, { id: 'displayName', value: 'Đã xác nhận (acked)' }])
    .legend(legend());

  const outbox = placed(new timeseries.PanelBuilder(), 6, 'SMS chờ gửi — SMS outbox queued', 'SMS waiting in the alerts outbox (rate limits, provider down).', grid.next(12, 10))
    .withTarget(series('A', `SELECT max("outbox_queued") AS "outbox_queued" FROM "pipeline" WHERE "service" = 'alerts' AND $timeFilter GROUP BY time($__interval) fill(none)`, 'chờ gửi (queued)'))
    .unit('none')
    .min(0)
    .legend(legend());

  return baseDashboard(PIPELINE_UID, 'Cháy rừng Lai Châu — Đường dữ liệu (Pipeline)', 'Throughput and health of the pipeline as the services report it to InfluxDB.', 'now-6h')
    .withPanel(sent)
    .withPanel(failed)
    .withPanel(acked)
    .withPanel(stored)
    .withPanel(spool)
    .withPanel(latency)
    .withPanel(deadLetters)
    .withPanel(sms)
    .withPanel(outbox);
}
