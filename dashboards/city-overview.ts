// 1. City overview (Tổng quan thành phố): the map of nodes coloured by their zone's official level and
// labelled when a fire is suspected/confirmed, the level and P of every zone, active alerts.
import * as dash from '@grafana/grafana-foundation-sdk/dashboard';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as geomap from '@grafana/grafana-foundation-sdk/geomap';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as tablePanel from '@grafana/grafana-foundation-sdk/table';
import type { Site } from '../contracts/site.ts';
import { baseDashboard, displayName, eventKindMappings, Grid, levelMappings, levelThresholds, mappingOverride, zoneNameMappings, placed } from './common.ts';
import { DATASOURCE, table } from './influxql.ts';

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

function qualityMappings(): dash.ValueMapping[] {
  return [
    {
      type: dash.MappingType.ValueToText,
      options: {
        ok: { text: 'đủ dữ liệu (ok)', color: 'green', index: 0 },
        estimated: { text: 'ước tính (estimated)', color: 'yellow', index: 1 },
        unavailable: { text: 'không có (unavailable)', color: 'red', index: 2 },
      },
    },
  ];
}

export function cityOverview(site: Site): dash.DashboardBuilder {
  const grid = new Grid();
  const centerLat = site.zones.reduce((s, z) => s + z.lat, 0) / site.zones.length;
  const centerLon = site.zones.reduce((s, z) => s + z.lon, 0) / site.zones.length;

  const map = new geomap.PanelBuilder()
    .id(1)
    .title('Bản đồ nút cảm biến theo cấp cháy rừng — Sensor nodes by zone danger level')
    .description(
      'Each sensor node at its position (site_node points written by ingest from the site file), coloured by the official danger level (cấp I–V) of its ward/commune; "🔥" labels mark zones with a suspected or confirmed fire (last fire event in the time range).',
    )
    .datasource(DATASOURCE)
    .gridPos(grid.next(14, 17))
    .withTarget(table('A', 'SELECT last("lat") AS "latitude", "lon" AS "longitude", "zone_name" FROM "site_node" WHERE $timeFilter GROUP BY "node", "zone"'))
    .withTarget(table('B', `SELECT last("level") AS "level", "nesterov_p" AS "P" FROM "danger" WHERE "official" = 'true' AND $timeFilter GROUP BY "zone"`))
    .withTarget(table('C', 'SELECT last("event_id") AS "fire_event", "kind" AS "fire" FROM "event" WHERE "kind" =~ /^fire-/ AND $timeFilter GROUP BY "zone"'))
    // One row per node with its zone's level and fire state (many nodes to one zone row).
    .withTransformation({ id: 'joinByField', options: { byField: 'zone', mode: 'outerTabular' } })
    .unit('none')
    .colorScheme(new dash.FieldColorBuilder().mode(dash.FieldColorModeId.Thresholds))
    .thresholds(levelThresholds())
    .overrideByName('level', mappingOverride(levelMappings(), 'Cấp (level)'))
    .overrideByName('fire', mappingOverride(fireLabelMappings(), 'Cháy (fire)'))
    .overrideByName('zone', mappingOverride(zoneNameMappings(site), 'Xã / phường'))
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

  const highest = placed(new stat.PanelBuilder(), 2, 'Cấp cao nhất hiện nay — Highest official level now', 'The highest official danger level (13:00 value) among all wards and communes in the time range.', grid.next(10, 5))
    .withTarget(table('A', `SELECT max("level") AS "level" FROM (SELECT last("level") AS "level" FROM "danger" WHERE "official" = 'true' AND $timeFilter GROUP BY "zone")`))
    .mappings(levelMappings())
    .thresholds(levelThresholds())
    .colorScheme(new dash.FieldColorBuilder().mode(dash.FieldColorModeId.Thresholds))
    .colorMode(common.BigValueColorMode.Background)
    .graphMode(common.BigValueGraphMode.None)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).fields('/^level$/'));

  const zones = placed(new tablePanel.PanelBuilder(), 3, 'Cấp dự báo cháy rừng theo xã / phường — Official level and P per zone', 'Last official (13:00) danger value of each ward/commune: level with its official colour, Nesterov index P and the data quality.', grid.next(10, 12))
    .withTarget(table('A', `SELECT last("level") AS "level", "nesterov_p" AS "P", "quality" FROM "danger" WHERE "official" = 'true' AND $timeFilter GROUP BY "zone"`))
    .unit('none')
    .decimals(0)
    .overrideByName('Time', [{ id: 'unit', value: 'time:DD/MM HH:mm' }, ...displayName('Ngày tính (as of)')])
    .overrideByName('zone', mappingOverride(zoneNameMappings(site), 'Xã / phường (zone)'))
    .overrideByName('level', mappingOverride(levelMappings(), 'Cấp (level)', true))
    .overrideByName('P', displayName('Chỉ số P (Nesterov)'))
    .overrideByName('quality', mappingOverride(qualityMappings(), 'Chất lượng (quality)'));

  const alerts = placed(new tablePanel.PanelBuilder(), 4, 'Cảnh báo đang hoạt động — Active alerts', 'Alerts sent by the alerts service and not yet resolved, with their acknowledgement state (last state of each alert; resolved ones are hidden).', grid.next(14, 9))
    .withTarget(table('A', 'SELECT last("state") AS "state", "acked_by" FROM "alert" WHERE $timeFilter GROUP BY "zone", "kind", "alert"'))
    .withTransformation({
      id: 'filterByValue',
      options: { type: 'exclude', match: 'any', filters: [{ fieldName: 'state', config: { id: 'equal', options: { value: 'resolved' } } }] },
    })
    .unit('none')
    .overrideByName('Time', [{ id: 'unit', value: 'time:DD/MM HH:mm' }, ...displayName('Lúc (at)')])
    .overrideByName('zone', mappingOverride(zoneNameMappings(site), 'Xã / phường (zone)'))
    .overrideByName('kind', mappingOverride(eventKindMappings(), 'Loại (kind)'))
    .overrideByName('state', mappingOverride(alertStateMappings(), 'Trạng thái (state)', true))
    .overrideByName('acked_by', displayName('Người xác nhận (acked by)'))
    .overrideByName('alert', displayName('Mã cảnh báo (alert id)'));

  const fires = placed(new tablePanel.PanelBuilder(), 5, 'Sự kiện cháy gần đây — Recent fire events', 'Fire detections from the rules engine (suspected, confirmed, cleared), newest first.', grid.next(10, 9))
    .withTarget(table('A', 'SELECT "event_id", "kind", "node", "zone" FROM "event" WHERE "kind" =~ /^fire-/ AND $timeFilter ORDER BY time DESC LIMIT 50'))
    .unit('none')
    .overrideByName('Time', [{ id: 'unit', value: 'time:DD/MM HH:mm' }, ...displayName('Lúc (at)')])
    .overrideByName('zone', mappingOverride(zoneNameMappings(site), 'Xã / phường (zone)'))
    .overrideByName('kind', mappingOverride(eventKindMappings(), 'Loại (kind)', true))
    .overrideByName('node', displayName('Nút (node)'))
    .overrideByName('event_id', displayName('Mã sự kiện (event id)'));

  return baseDashboard(
    CITY_OVERVIEW_UID,
    'Cháy rừng Lai Châu — Tổng quan thành phố (City overview)',
    'Lai Châu city forest-fire early warning: danger level per ward/commune, sensor map, fires and alerts.',
    'now-24h',
  )
    .withPanel(map)
    .withPanel(highest)
    .withPanel(zones)
    .withPanel(alerts)
    .withPanel(fires);
}
