// 3. Sensor fleet (Đội nút cảm biến): last seen, battery, signal, offline nodes, dead letters.
import * as dash from '@grafana/grafana-foundation-sdk/dashboard';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as tablePanel from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import type { Site } from '../contracts/site.ts';
import { baseDashboard, displayName, eventKindMappings, Grid, mappingOverride, unitOverride, zoneNameMappings, placed } from './common.ts';
import { series, table } from './influxql.ts';

export const SENSOR_FLEET_UID = 'fire-sensor-fleet';

const legend = () => new common.VizLegendOptionsBuilder().displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Right).showLegend(true);

const batteryThresholds = () =>
  new dash.ThresholdsConfigBuilder().mode(dash.ThresholdsMode.Absolute).steps([
    { value: null, color: 'red' },
    { value: 3.3, color: 'orange' },
    { value: 3.6, color: 'green' },
  ]);

const signalThresholds = () =>
  new dash.ThresholdsConfigBuilder().mode(dash.ThresholdsMode.Absolute).steps([
    { value: null, color: 'red' },
    { value: -110, color: 'orange' },
    { value: -100, color: 'green' },
  ]);

const onlineMappings = (): dash.ValueMapping[] => [
  {
    type: dash.MappingType.ValueToText,
    options: { true: { text: 'Trực tuyến (online)', color: 'green', index: 0 }, false: { text: 'Mất kết nối (offline)', color: 'red', index: 1 } },
  },
];

export function sensorFleet(site: Site): dash.DashboardBuilder {
  const grid = new Grid();

  const offline = placed(new tablePanel.PanelBuilder(), 1, 'Nút không gửi dữ liệu — Nodes offline (no readings)', 'Nodes whose last rules event is node-offline (no reading for 3 reporting intervals) and not node-online again; empty when every node reports.', grid.next(6, 6))
    .withTarget(table('A', 'SELECT last("event_id") AS "event_id", "kind" AS "state" FROM "event" WHERE "kind" =~ /^node-(offline|online)$/ AND $timeFilter GROUP BY "node", "zone"'))
    .withTransformation({
      id: 'filterByValue',
      options: { type: 'include', match: 'any', filters: [{ fieldName: 'state', config: { id: 'equal', options: { value: 'node-offline' } } }] },
    })
    .withTransformation({ id: 'organize', options: { excludeByName: { event_id: true, state: true, zone: true } } })
    .unit('none')
    .noValue('Tất cả đang gửi (all reporting)')
    .overrideByName('Time', [{ id: 'unit', value: 'dateTimeFromNow' }, ...displayName('Từ (since)')])
    .overrideByName('node', [...displayName('Nút (node)'), { id: 'custom.cellOptions', value: { type: 'color-background', mode: 'basic' } }, { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } }]);

  const disconnected = placed(new stat.PanelBuilder(), 2, 'Nút mất kết nối MQTT — Nodes disconnected (MQTT)', "Nodes whose last status message is offline (their MQTT will: the connection was lost), as ingest stored it.", grid.next(6, 6))
    .withTarget(table('A', 'SELECT count("online") AS "disconnected" FROM (SELECT last("online") AS "online" FROM "node_status" WHERE $timeFilter GROUP BY "node") WHERE "online" = false'))
    .unit('none')
    .noValue('0')
    .thresholds(
      new dash.ThresholdsConfigBuilder().mode(dash.ThresholdsMode.Absolute).steps([
        { value: null, color: 'green' },
        { value: 1, color: 'red' },
      ]),
    )
    .colorScheme(new dash.FieldColorBuilder().mode(dash.FieldColorModeId.Thresholds))
    .colorMode(common.BigValueColorMode.Background)
    .graphMode(common.BigValueGraphMode.None)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).fields('/^disconnected$/'));

  const deadLetterTotals = placed(new tablePanel.PanelBuilder(), 3, 'Thư lỗi theo lý do — Dead letters by reason', 'Messages refused by a service (malformed JSON, schema, unknown node, timestamps…) counted per service and reason in the time range.', grid.next(12, 6))
    .withTarget(table('A', 'SELECT sum("count") AS "count" FROM "dead_letter" WHERE $timeFilter GROUP BY "service", "reason"'))
    .unit('none')
    .overrideByName('Time', [{ id: 'custom.hidden', value: true }])
    .overrideByName('service', displayName('Dịch vụ (service)'))
    .overrideByName('reason', displayName('Lý do (reason)'))
    .overrideByName('count', displayName('Số thư (count)'));

  const nodes = placed(new tablePanel.PanelBuilder(), 4, 'Tình trạng nút — Last seen, battery and signal per node', 'For each node: the time of its last stored reading, its sequence number, battery voltage and radio signal (RSSI) in that reading.', grid.next(12, 12))
    .withTarget(table('A', 'SELECT last("seq") AS "seq", "battery", "rssi" FROM "reading" WHERE $timeFilter GROUP BY "node", "zone"'))
    .unit('none')
    .sortBy([new common.TableSortByFieldStateBuilder().displayName('Lần cuối (last seen)').desc(false)])
    .overrideByName('Time', [{ id: 'unit', value: 'dateTimeFromNow' }, ...displayName('Lần cuối (last seen)')])
    .overrideByName('node', displayName('Nút (node)'))
    .overrideByName('zone', mappingOverride(zoneNameMappings(site), 'Xã / phường (zone)'))
    .overrideByName('seq', displayName('Số thứ tự (seq)'))
    .overrideByName('battery', [
      ...unitOverride('volt', 'Pin (battery)'),
      { id: 'thresholds', value: batteryThresholds().build() },
      { id: 'color', value: { mode: 'thresholds' } },
      { id: 'custom.cellOptions', value: { type: 'color-text' } },
    ])
    .overrideByName('rssi', [
      ...unitOverride('dBm', 'Sóng (RSSI)'),
      { id: 'thresholds', value: signalThresholds().build() },
      { id: 'color', value: { mode: 'thresholds' } },
      { id: 'custom.cellOptions', value: { type: 'color-text' } },
    ]);

  const connection = placed(new tablePanel.PanelBuilder(), 5, 'Kết nối và sự kiện nút — Connection state and node events', 'Last MQTT status of each node (online, or offline with the reason from its will message).', grid.next(12, 12))
    .withTarget(table('A', 'SELECT last("online") AS "online", "reason" FROM "node_status" WHERE $timeFilter GROUP BY "node", "zone"'))
    .unit('none')
    .overrideByName('Time', [{ id: 'unit', value: 'time:DD/MM HH:mm' }, ...displayName('Lúc (at)')])
    .overrideByName('node', displayName('Nút (node)'))
    .overrideByName('zone', mappingOverride(zoneNameMappings(site), 'Xã / phường (zone)'))
    .overrideByName('online', mappingOverride(onlineMappings(), 'Kết nối (connection)', true))
    .overrideByName('reason', displayName('Lý do (reason)'));

  const battery = placed(new timeseries.PanelBuilder(), 6, 'Điện áp pin — Battery voltage', 'Battery voltage per node (mean per interval); the rules engine raises low-battery below 3.5 V and brown-out below 3.3 V.', grid.next(12, 9))
    .withTarget(series('A', 'SELECT mean("battery") AS "battery" FROM "reading" WHERE $timeFilter GROUP BY time($__interval), "node" fill(null)', '$tag_node'))
    .unit('volt')
    .decimals(2)
    .thresholds(batteryThresholds())
    .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed))
    .legend(legend());

  const signal = placed(new timeseries.PanelBuilder(), 7, 'Cường độ sóng — Radio signal (RSSI)', 'Received signal strength per node (mean per interval).', grid.next(12, 9))
    .withTarget(series('A', 'SELECT mean("rssi") AS "rssi" FROM "reading" WHERE $timeFilter GROUP BY time($__interval), "node" fill(null)', '$tag_node'))
    .unit('dBm')
    .thresholds(signalThresholds())
    .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed))
    .legend(legend());

  const deadLetters = placed(new timeseries.PanelBuilder(), 8, 'Thư lỗi theo thời gian — Dead letters over time by reason', 'Refused messages per interval, stacked by reason.', grid.next(12, 8))
    .withTarget(series('A', 'SELECT sum("count") AS "dead_letters" FROM "dead_letter" WHERE $timeFilter GROUP BY time($__interval), "reason" fill(0)', '$tag_reason'))
    .unit('none')
    .drawStyle(common.GraphDrawStyle.Bars)
    .fillOpacity(80)
    .stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal))
    .legend(legend());

  const nodeEvents = placed(new tablePanel.PanelBuilder(), 9, 'Sự kiện lỗi nút — Node fault and offline events', 'Sensor-health events from the rules engine (offline/online, stuck, out of range, clock skew, battery), newest first.', grid.next(12, 8))
    .withTarget(table('A', 'SELECT "event_id", "kind", "node", "zone" FROM "event" WHERE "kind" =~ /^node-/ AND $timeFilter ORDER BY time DESC LIMIT 100'))
    .unit('none')
    .overrideByName('Time', [{ id: 'unit', value: 'time:DD/MM HH:mm' }, ...displayName('Lúc (at)')])
    .overrideByName('kind', mappingOverride(eventKindMappings(), 'Loại (kind)', true))
    .overrideByName('zone', mappingOverride(zoneNameMappings(site), 'Xã / phường (zone)'))
    .overrideByName('node', displayName('Nút (node)'))
    .overrideByName('event_id', displayName('Mã sự kiện (event id)'));

  return baseDashboard(SENSOR_FLEET_UID, 'Cháy rừng Lai Châu — Đội nút cảm biến (Sensor fleet)', 'Health of the sensor nodes: last seen, battery, signal, offline nodes, refused messages.', 'now-24h')
    .withPanel(offline)
    .withPanel(disconnected)
    .withPanel(deadLetterTotals)
    .withPanel(nodes)
    .withPanel(connection)
    .withPanel(battery)
    .withPanel(signal)
    .withPanel(deadLetters)
    .withPanel(nodeEvents);
}
