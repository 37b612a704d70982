// 1. City overview (Tổng quan thành phố): the map of nodes coloured by their zone's official level and
// labelled when a fire is suspected/confirmed; per zone the official and provisional level, sensor
// health and data age, linked to the zone's detail; active alerts with escalation and acknowledgement.
import * as dash from '@grafana/grafana-foundation-sdk/dashboard';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as geomap from '@grafana/grafana-foundation-sdk/geomap';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as tablePanel from '@grafana/grafana-foundation-sdk/table';
import type { Site } from '../contracts/site.ts';
import { baseDashboard, displayName, eventKindMappings, levelMappings, levelThresholds, mappingOverride, placed, qualityExplanation, qualityMappings, zoneDetailLink, zoneNameMappings } from './common.ts';
import { DATASOURCE, table } from './influxql.ts';
import { ZONE_DETAIL_UID } from './zone-detail.ts';

export const CITY_OVERVIEW_UID = 'fire-city-overview';

/** Fire state of a zone as a map label: only suspected/confirmed fires show text. */
function fireLabelMappings(): dash.ValueMapping[] {
  return [
    {
      type: dash.MappingType.ValueToText,
      options: {
        'fire-suspected': { text: '🔥 Nghi cháy', color: 'orange', index: 0 },
        'fire-confirmed': { text: '🔥 CHÁY', color: 'red', index: 1 },
        'fire-cleared': { text: ' ', color: 'green', index: 2 },
      },
    },
  ];
}

function alertStateMappings(): dash.ValueMapping[] {
  return [
    {
      type: dash.MappingType.ValueToText,
      options: {
        active: { text: 'Chưa xác nhận (active)', color: 'red', index: 0 },
        acknowledged: { text: 'Đã xác nhận (acknowledged)', color: 'yellow', index: 1 },
        resolved: { text: 'Đã kết thúc (resolved)', color: 'green', index: 2 },
      },
    },
  ];
}

/**
 * How far back the "state now" panels look (per-zone table, active alerts): a panel-level relative
 * time, so a node that fell silent, or an alert raised, before the dashboard's 24 hours still shows.
 */
export const STATE_LOOKBACK = '30d';

/**
 * The per-zone table's queries. Each returns one row per zone; the panel drops their Time column
 * and Grafana's "merge" transformation joins the rows on zone. InfluxQL cannot join measurements,
 * and an aggregate over several subqueries in one FROM sees only the fields of the first (InfluxDB
 * 1.6), hence one query per measurement and per kind of danger value.
 */
export const ZONE_STATE_QUERIES = {
  /** The newest official value: last("quality") picks the newest point even when its level is null (unavailable). */
  official: `SELECT last("quality") AS "quality", last("level") AS "level", last("P") AS "P" FROM (SELECT last("quality") AS "quality", "level", "nesterov_p" AS "P" FROM "danger" WHERE "official" = 'true' AND $timeFilter GROUP BY "zone") WHERE $timeFilter GROUP BY "zone"`,
  /** The newest provisional value (rules' intra-day estimate for the next official date). */
  provisional: `SELECT last("provisional_quality") AS "provisional_quality", last("provisional_level") AS "provisional_level" FROM (SELECT last("quality") AS "provisional_quality", "level" AS "provisional_level" FROM "danger" WHERE "official" = 'false' AND $timeFilter GROUP BY "zone") WHERE $timeFilter GROUP BY "zone"`,
  /** Nodes of the zone in the site registry ingest writes (site_node). */
  nodes: `SELECT count("lat") AS "nodes" FROM (SELECT last("lat") AS "lat" FROM "site_node" WHERE $timeFilter GROUP BY "node", "zone") WHERE $timeFilter GROUP BY "zone"`,
  /**
   * Rules' judgement per node, each node counted once: offline when its last node-offline/online
   * event is node-offline; faulty when its last node-fault/fault-cleared event is node-fault and it
   * is not offline. Zones with neither have no row (shown as 0).
   */
  health: `SELECT sum("off") AS "offline", sum("flt") AS "faulty" FROM (SELECT max("off") AS "off", max("flt") - max("flt") * max("off") AS "flt" FROM (SELECT count("e") AS "off", count("e") * 0 AS "flt" FROM (SELECT last("event_id") AS "e", "kind" AS "k" FROM "event" WHERE "kind" =~ /^node-(offline|online)$/ AND $timeFilter GROUP BY "node", "zone") WHERE "k" = 'node-offline' GROUP BY "node", "zone"), (SELECT count("e") * 0 AS "off", count("e") AS "flt" FROM (SELECT last("event_id") AS "e", "kind" AS "k" FROM "event" WHERE "kind" =~ /^node-fault(-cleared)?$/ AND $timeFilter GROUP BY "node", "zone") WHERE "k" = 'node-fault' GROUP BY "node", "zone") GROUP BY "node", "zone") WHERE $timeFilter GROUP BY "zone"`,
  /**
   * Minutes from the zone's last stored reading to the end of the range: elapsed() between the last
   * reading (last("seq"), one point per zone) and a point at the range end. That point is made by
   * fill(0) over buckets offset to the range end (GROUP BY time(3650d, ${__to}ms): two buckets, the
   * second starting at the range end), so no reading is scanned twice and no per-minute buckets are
   * built (bench/dashboard-queries.ts). No reading in the look-back: no row ("no data", red). No time
   * condition on the outer queries: InfluxDB 1.6 then returns nothing from the fill(0) subquery.
   */
  age: `SELECT mean("age") AS "age_min" FROM (SELECT elapsed("c", 1m) AS "age" FROM (SELECT last("seq") AS "c" FROM "reading" WHERE $timeFilter GROUP BY "zone"), (SELECT last("c") AS "c" FROM (SELECT count("c") AS "c" FROM (SELECT last("seq") AS "c" FROM "reading" WHERE $timeFilter GROUP BY "zone") WHERE $timeFilter GROUP BY time(3650d, \${__to}ms), "zone" fill(0)) GROUP BY "zone") GROUP BY "zone") GROUP BY "zone"`,
} as const;

/** Escalation steps done: 0 = only the first recipients so far. */
function escalationMappings(): dash.ValueMapping[] {
  return [{ type: dash.MappingType.ValueToText, options: { '0': { text: 'chưa leo thang (first wave only)', color: 'text', index: 0 } } }];
}

const zeroWhenNull = (unit: string): dash.ValueMapping[] => [
  { type: dash.MappingType.SpecialValue, options: { match: dash.SpecialValueMatch.NullAndNan, result: { text: `0 ${unit}`, color: 'green', index: 0 } } },
];

const steps = (s: { value: number | null; color: string }[]) => new dash.ThresholdsConfigBuilder().mode(dash.ThresholdsMode.Absolute).steps(s).build();
const colorCells = (s: { value: number | null; color: string }[]): dash.DynamicConfigValue[] => [
  { id: 'thresholds', value: steps(s) },
  { id: 'color', value: { mode: 'thresholds' } },
  { id: 'custom.cellOptions', value: { type: 'color-background', mode: 'basic' } },
];

export function cityOverview(site: Site): dash.DashboardBuilder {
  // Map on the left with the highest level and the fire events stacked beside it; then full-width rows.
  const layout = {
    map: { x: 0, y: 0, w: 14, h: 17 },
    highest: { x: 14, y: 0, w: 10, h: 5 },
    fires: { x: 14, y: 5, w: 10, h: 12 },
    zones: { x: 0, y: 17, w: 24, h: 10 },
    alerts: { x: 0, y: 27, w: 24, h: 9 },
  };
  const centerLat = site.zones.reduce((s, z) => s + z.lat, 0) / site.zones.length;
  const centerLon = site.zones.reduce((s, z) => s + z.lon, 0) / site.zones.length;
  const explanation = qualityExplanation(site);
  // A node is offline after 3 missed reports (rules' default): fresher data than that is normal.
  const slowestReportMin = Math.max(1, ...site.nodes.map((n) => Math.ceil((n.reportingIntervalS * 3) / 60)));

  const map = new geomap.PanelBuilder()
    .id(1)
    .title('Bản đồ nút cảm biến theo cấp cháy rừng — Sensor nodes by zone danger level')
    .description(
      'Each sensor node at its position (site_node points written by ingest from the site file), coloured by the official danger level (cấp I–V) of its ward/commune; "🔥" labels mark zones with a suspected or confirmed fire (last fire event in the time range). The tooltip links to the zone\'s detail dashboard.',
    )
    .datasource(DATASOURCE)
    .gridPos(layout.map)
    .withTarget(table('A', 'SELECT last("lat") AS "latitude", "lon" AS "longitude", "zone_name" FROM "site_node" WHERE $timeFilter GROUP BY "node", "zone"'))
    .withTarget(table('B', `SELECT last("quality") AS "quality", "level", "nesterov_p" AS "P" FROM "danger" WHERE "official" = 'true' AND $timeFilter GROUP BY "zone"`))
    .withTarget(table('C', 'SELECT last("event_id") AS "fire_event", "kind" AS "fire" FROM "event" WHERE "kind" =~ /^fire-/ AND $timeFilter GROUP BY "zone"'))
    // One row per node with its zone's level and fire state (many nodes to one zone row).
    .withTransformation({ id: 'joinByField', options: { byField: 'zone', mode: 'outerTabular' } })
    .unit('none')
    .colorScheme(new dash.FieldColorBuilder().mode(dash.FieldColorModeId.Thresholds))
    .thresholds(levelThresholds())
    .overrideByName('level', mappingOverride(levelMappings(), 'Cấp (level)'))
    .overrideByName('quality', mappingOverride(qualityMappings(), 'Chất lượng (quality)'))
    .overrideByName('fire', mappingOverride(fireLabelMappings(), 'Cháy (fire)'))
    .overrideByName('zone', [...mappingOverride(zoneNameMappings(site), 'Xã / phường'), zoneDetailLink(ZONE_DETAIL_UID)])
    .view(new geomap.MapViewConfigBuilder().id('coords').lat(Number(centerLat.toFixed(4))).lon(Number(centerLon.toFixed(4))).zoom(12))
    .controls(new geomap.ControlsOptionsBuilder().showZoom(true).mouseWheelZoom(true).showAttribution(true).showScale(true))
    .basemap(new common.MapLayerOptionsBuilder().type('default').name('Nền bản đồ (basemap)'))
    .tooltip(new geomap.TooltipOptionsBuilder().mode(geomap.TooltipMode.Details))
    .layers([
      new common.MapLayerOptionsBuilder()
        .type('markers')
        .name('Nút cảm biến (nodes)')
        .tooltip(true)
        .location(new common.FrameGeometrySourceBuilder().mode(common.FrameGeometrySourceMode.Coords).latitude('latitude').longitude('longitude'))
        .config({
          showLegend: true,
          style: {
            color: { field: 'level', fixed: 'text' },
            size: { fixed: 9, min: 4, max: 15 },
            symbol: { mode: 'fixed', fixed: 'img/icons/marker/circle.svg' },
            opacity: 0.9,
            text: { mode: 'field', field: 'fire', fixed: '' },
            textConfig: { fontSize: 14, offsetX: 0, offsetY: -16, textAlign: 'center', textBaseline: 'middle' },
          },
        }),
    ]);

  const highest = placed(new stat.PanelBuilder(), 2, 'Cấp cao nhất hiện nay — Highest official level now', 'The highest official danger level (13:00 value) among all wards and communes: the newest official value of each zone in the time range.', layout.highest)
    .withTarget(table('A', `SELECT max("level") AS "level" FROM (SELECT last("quality") AS "quality", "level" FROM "danger" WHERE "official" = 'true' AND $timeFilter GROUP BY "zone")`))
    .mappings(levelMappings())
    .thresholds(levelThresholds())
    .colorScheme(new dash.FieldColorBuilder().mode(dash.FieldColorModeId.Thresholds))
    .colorMode(common.BigValueColorMode.Background)
    .graphMode(common.BigValueGraphMode.None)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).fields('/^level$/'));

  const fires = placed(new tablePanel.PanelBuilder(), 5, 'Sự kiện cháy gần đây — Recent fire events', 'Fire detections from the rules engine (suspected, confirmed, cleared), newest first.', layout.fires)
    .withTarget(table('A', 'SELECT "event_id", "kind", "node", "zone" FROM "event" WHERE "kind" =~ /^fire-/ AND $timeFilter ORDER BY time DESC LIMIT 50'))
    .unit('none')
    .overrideByName('Time', [{ id: 'unit', value: 'time:DD/MM HH:mm' }, ...displayName('Lúc (at)')])
    .overrideByName('zone', [...mappingOverride(zoneNameMappings(site), 'Xã / phường (zone)'), zoneDetailLink(ZONE_DETAIL_UID)])
    .overrideByName('kind', mappingOverride(eventKindMappings(), 'Loại (kind)', true))
    .overrideByName('node', displayName('Nút (node)'))
    .overrideByName('event_id', displayName('Mã sự kiện (event id)'));

  const zones = placed(
    new tablePanel.PanelBuilder(),
    3,
    'Tình trạng từng xã / phường — Each ward/commune: level, sensors, data age',
    [
      'One row per ward/commune (click its name for the zone detail). Official level: the newest 13:00 value; provisional: the same computation from the last 30 minutes (the rules engine\'s default) of readings, for information. ' +
        'Sensors, as the rules engine judges them now: healthy = nodes − offline − faulty (offline: no reading for 3 reporting intervals; faulty: stuck, out-of-range, clock-skew, low battery or brown-out, and not offline); ' +
        'the healthy share turns red below half, the share of nodes under which the 13:00 value is estimated (okNodeFraction, default 0.5). Data age: minutes since the zone\'s last stored reading; "no data" when none in the look-back. ' +
        `The panel looks back ${STATE_LOOKBACK} whatever the dashboard's range, so sensors that died before it still count.`,
      explanation,
    ].join('\n\n'),
    layout.zones,
  )
    .timeFrom(STATE_LOOKBACK)
    .withTarget(table('A', ZONE_STATE_QUERIES.official))
    .withTarget(table('B', ZONE_STATE_QUERIES.provisional))
    .withTarget(table('C', ZONE_STATE_QUERIES.nodes))
    .withTarget(table('D', ZONE_STATE_QUERIES.health))
    .withTarget(table('E', ZONE_STATE_QUERIES.age))
    // One row per zone: without their Time columns the five results share only zone, which merge joins on.
    .withTransformation({ id: 'organize', options: { excludeByName: { Time: true } } })
    .withTransformation({ id: 'merge', options: {} })
    .withTransformation({ id: 'calculateField', options: { mode: 'reduceRow', reduce: { include: ['offline', 'faulty'], reducer: 'sum', nullValueMode: 'null as zero' }, alias: 'unhealthy', timeSeries: false } })
    .withTransformation({
      id: 'calculateField',
      options: { mode: 'binary', binary: { left: { matcher: { id: 'byName', options: 'nodes' } }, operator: '-', right: { matcher: { id: 'byName', options: 'unhealthy' } } }, alias: 'healthy', timeSeries: false },
    })
    .withTransformation({
      id: 'calculateField',
      options: { mode: 'binary', binary: { left: { matcher: { id: 'byName', options: 'healthy' } }, operator: '/', right: { matcher: { id: 'byName', options: 'nodes' } } }, alias: 'healthy_share', timeSeries: false },
    })
    .withTransformation({
      id: 'organize',
      options: {
        excludeByName: { unhealthy: true },
        indexByName: { zone: 0, level: 1, quality: 2, P: 3, provisional_level: 4, provisional_quality: 5, healthy_share: 6, healthy: 7, offline: 8, faulty: 9, nodes: 10, age_min: 11 },
      },
    })
    .unit('none')
    .decimals(0)
    .overrideByName('zone', [...mappingOverride(zoneNameMappings(site), 'Xã / phường (zone)'), zoneDetailLink(ZONE_DETAIL_UID)])
    .overrideByName('level', mappingOverride(levelMappings(), 'Cấp chính thức (official level)', true))
    .overrideByName('quality', [...mappingOverride(qualityMappings(), 'Chất lượng (quality)'), { id: 'description', value: explanation }])
    .overrideByName('P', displayName('Chỉ số P (Nesterov)'))
    .overrideByName('provisional_level', mappingOverride(levelMappings(), 'Cấp tạm tính (provisional)', true))
    .overrideByName('provisional_quality', [...mappingOverride(qualityMappings(), 'Chất lượng tạm tính (provisional quality)'), { id: 'description', value: explanation }])
    .overrideByName('healthy_share', [
      { id: 'unit', value: 'percentunit' },
      ...displayName('Tỉ lệ trạm tốt (healthy share)'),
      ...colorCells([
        { value: null, color: 'red' },
        { value: 0.5, color: 'orange' },
        { value: 1, color: 'green' },
      ]),
    ])
    .overrideByName('healthy', displayName('Trạm tốt (healthy)'))
    .overrideByName('offline', [
      ...mappingOverride(zeroWhenNull(''), 'Mất kết nối (offline)'),
      ...colorCells([
        { value: null, color: 'green' },
        { value: 1, color: 'red' },
      ]),
    ])
    .overrideByName('faulty', [
      ...mappingOverride(zeroWhenNull(''), 'Lỗi cảm biến (faulty)'),
      ...colorCells([
        { value: null, color: 'green' },
        { value: 1, color: 'orange' },
      ]),
    ])
    .overrideByName('nodes', displayName('Số trạm (nodes)'))
    .overrideByName('age_min', [
      { id: 'unit', value: 'm' },
      { id: 'mappings', value: [{ type: dash.MappingType.SpecialValue, options: { match: dash.SpecialValueMatch.NullAndNan, result: { text: 'KHÔNG CÓ SỐ LIỆU (no data)', color: 'red', index: 0 } } }] },
      ...displayName('Số liệu cách đây (data age)'),
      ...colorCells([
        { value: null, color: 'green' },
        { value: slowestReportMin, color: 'orange' },
        { value: 30, color: 'red' },
      ]),
    ]);

  const alerts = placed(
    new tablePanel.PanelBuilder(),
    4,
    'Cảnh báo đang hoạt động — Active alerts',
    `Alerts sent by the alerts service and not yet resolved (last state of each alert; resolved ones are hidden; looks back ${STATE_LOOKBACK}): acknowledgement state, who acknowledged and when, and how many escalation steps have gone out (0: only the first recipients so far). "Cập nhật" is the alert's last change (raised, escalated, acknowledged).`,
    layout.alerts,
  )
    .timeFrom(STATE_LOOKBACK)
    .withTarget(table('A', 'SELECT last("state") AS "state", "escalation_step", "acked_by", "acked_at" FROM "alert" WHERE $timeFilter GROUP BY "zone", "kind", "alert"'))
    .withTransformation({
      id: 'filterByValue',
      options: { type: 'exclude', match: 'any', filters: [{ fieldName: 'state', config: { id: 'equal', options: { value: 'resolved' } } }] },
    })
    .unit('none')
    .overrideByName('Time', [{ id: 'unit', value: 'time:DD/MM HH:mm' }, ...displayName('Cập nhật (updated)')])
    .overrideByName('zone', [...mappingOverride(zoneNameMappings(site), 'Xã / phường (zone)'), zoneDetailLink(ZONE_DETAIL_UID)])
    .overrideByName('kind', mappingOverride(eventKindMappings(), 'Loại (kind)'))
    .overrideByName('state', mappingOverride(alertStateMappings(), 'Trạng thái (state)', true))
    .overrideByName('escalation_step', [{ id: 'unit', value: 'prefix:bậc ' }, ...mappingOverride(escalationMappings(), 'Leo thang (escalation step)')])
    .overrideByName('acked_by', displayName('Người xác nhận (acked by)'))
    .overrideByName('acked_at', [{ id: 'unit', value: 'time:DD/MM HH:mm' }, ...displayName('Xác nhận lúc (acked at)')])
    .overrideByName('alert', displayName('Mã cảnh báo (alert id)'));

  return baseDashboard(
    CITY_OVERVIEW_UID,
    'Cháy rừng Lai Châu — Tổng quan thành phố (City overview)',
    'Lai Châu city forest-fire early warning: danger level per ward/commune, sensor health and data age, the sensor map, fires and alerts.',
    'now-24h',
  )
    .withPanel(map)
    .withPanel(highest)
    .withPanel(fires)
    .withPanel(zones)
    .withPanel(alerts);
}
