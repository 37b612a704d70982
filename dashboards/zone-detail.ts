// 2. Zone detail (Chi tiết xã / phường), one ward/commune chosen with the `zone` variable:
// temperature, humidity and smoke per node, P against the level thresholds, the level as a state
// timeline, FWI components, fire detections and node faults as annotations.
import * as dash from '@grafana/grafana-foundation-sdk/dashboard';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as statetimeline from '@grafana/grafana-foundation-sdk/statetimeline';
import * as tablePanel from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import type { Site } from '../contracts/site.ts';
import { baseDashboard, displayName, eventKindMappings, Grid, levelMappings, levelThresholds, mappingOverride, nesterovThresholds, placed, qualityExplanation, qualityMappings, zoneDisplayName } from './common.ts';
import { DATASOURCE, InfluxQLBuilder, series, table } from './influxql.ts';

export const ZONE_DETAIL_UID = 'fire-zone-detail';

const legend = () => new common.VizLegendOptionsBuilder().displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom).showLegend(true);

function perNode(id: number, grid: Grid, title: string, description: string, field: string, unit: string): timeseries.PanelBuilder {
  return placed(new timeseries.PanelBuilder(), id, title, description, grid.next(8, 8))
    .withTarget(series('A', `SELECT mean("${field}") AS "${field}" FROM "reading" WHERE "zone" = '$zone' AND $timeFilter GROUP BY time($__interval), "node" fill(null)`, '$tag_node'))
    .unit(unit)
    .lineWidth(1)
    .spanNulls(false)
    .legend(legend());
}

export function zoneDetail(site: Site): dash.DashboardBuilder {
  const grid = new Grid();
  const first = site.zones.find((z) => z.hotspot) ?? site.zones[0];
  if (!first) throw new Error('the site has no zones');
  const zoneVar = new dash.CustomVariableBuilder('zone')
    .label('Xã / phường (zone)')
    .description('The ward or commune shown (values from the site file).')
    .values(site.zones.map((z) => `${zoneDisplayName(z)} : ${z.id}`).join(', '))
    .options(site.zones.map((z) => ({ text: zoneDisplayName(z), value: z.id, selected: z.id === first.id })))
    .current({ text: zoneDisplayName(first), value: first.id, selected: true })
    .multi(false)
    .includeAll(false)
    .allowCustomValue(false);

  const level = placed(
    new statetimeline.PanelBuilder(),
    1,
    'Cấp dự báo cháy rừng — Official danger level',
    `The official level (cấp I–V, computed from the 13:00 observation) over time, in the official colours; below it the quality of each day's value.\n\n${qualityExplanation(site)}`,
    grid.next(24, 6),
  )
    .withTarget(series('A', `SELECT last("level") AS "level" FROM "danger" WHERE "zone" = '$zone' AND "official" = 'true' AND $timeFilter GROUP BY time($__interval) fill(previous)`, 'Cấp (level)'))
    .withTarget(series('B', `SELECT last("quality") AS "quality" FROM "danger" WHERE "zone" = '$zone' AND "official" = 'true' AND $timeFilter GROUP BY time($__interval) fill(previous)`, 'Chất lượng (quality)'))
    .overrideByQuery('B', [{ id: 'mappings', value: qualityMappings() }, { id: 'color', value: { mode: 'fixed', fixedColor: 'text' } }])
    .unit('none')
    .mappings(levelMappings())
    .thresholds(levelThresholds())
    .colorScheme(new dash.FieldColorBuilder().mode(dash.FieldColorModeId.Thresholds))
    .showValue(common.VisibilityMode.Auto)
    .mergeValues(true)
    .fillOpacity(80)
    .lineWidth(0)
    .rowHeight(0.8);

  const nesterov = new timeseries.PanelBuilder()
    .id(2)
    .title('Chỉ số Nesterov P và ngưỡng các cấp — Nesterov P against the level thresholds')
    .description(
      `P = Σ t13·d13 since the last rain day ≥ ${site.dangerTable.rainResetMm} mm; the coloured bands are the site's danger table (I ≤ ${site.dangerTable.thresholds.join(' < ')} < V). Official daily values and the hourly provisional ones.`,
    )
    .datasource(DATASOURCE)
    .gridPos(grid.next(12, 9))
    .withTarget(series('A', `SELECT last("nesterov_p") AS "P" FROM "danger" WHERE "zone" = '$zone' AND "official" = 'true' AND $timeFilter GROUP BY time($__interval) fill(none)`, 'P chính thức (official)'))
    .withTarget(series('B', `SELECT last("nesterov_p") AS "P" FROM "danger" WHERE "zone" = '$zone' AND "official" = 'false' AND $timeFilter GROUP BY time($__interval) fill(none)`, 'P tạm tính (provisional)'))
    .unit('none')
    .decimals(0)
    .min(0)
    .thresholds(nesterovThresholds(site))
    .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.LineAndArea))
    .showPoints(common.VisibilityMode.Always)
    .pointSize(6)
    .spanNulls(true)
    .legend(legend());

  const fwi = placed(new timeseries.PanelBuilder(), 3, 'Các thành phần FWI — Canadian FWI components', 'FFMC, DMC, DC, ISI, BUI and FWI of the official daily value; only for zones with their own rain gauge and wind readings at 13:00 (advisory).', grid.next(12, 9))
    .withTarget(
      series(
        'A',
        `SELECT last("ffmc") AS "FFMC", last("dmc") AS "DMC", last("dc") AS "DC", last("isi") AS "ISI", last("bui") AS "BUI", last("fwi") AS "FWI" FROM "danger" WHERE "zone" = '$zone' AND "official" = 'true' AND $timeFilter GROUP BY time($__interval) fill(none)`,
        '$col',
      ),
    )
    .unit('none')
    .decimals(1)
    .showPoints(common.VisibilityMode.Always)
    .pointSize(6)
    .spanNulls(true)
    .legend(legend());

  const temperature = perNode(4, grid, 'Nhiệt độ theo nút — Temperature per node', 'Air temperature of each node of the zone (mean per interval).', 'temperature', 'celsius');
  const humidity = perNode(5, grid, 'Độ ẩm theo nút — Relative humidity per node', 'Relative humidity of each node of the zone (mean per interval).', 'humidity', 'humidity');
  const smoke = perNode(6, grid, 'Khói theo nút — Smoke per node', "Raw smoke sensor value of each node (the rules engine compares it with the node's own baseline).", 'smoke', 'none');

  const events = placed(new tablePanel.PanelBuilder(), 7, 'Sự kiện trong xã / phường — Events in the zone', 'Fire detections, level changes and node faults of the zone from the rules engine, newest first.', grid.next(24, 8))
    .withTarget(table('A', `SELECT "event_id", "kind", "node" FROM "event" WHERE "zone" = '$zone' AND $timeFilter ORDER BY time DESC LIMIT 100`))
    .unit('none')
    .overrideByName('Time', [{ id: 'unit', value: 'time:DD/MM HH:mm' }, ...displayName('Lúc (at)')])
    .overrideByName('kind', mappingOverride(eventKindMappings(), 'Loại (kind)', true))
    .overrideByName('node', displayName('Nút (node)'))
    .overrideByName('event_id', displayName('Mã sự kiện (event id)'));

  const annotation = (name: string, color: string, kindRegex: string) =>
    new dash.AnnotationQueryBuilder()
      .name(name)
      .datasource(DATASOURCE)
      .enable(true)
      .iconColor(color)
      .target(
        new InfluxQLBuilder(`SELECT "event_id" AS "text", "kind", "node" FROM "event" WHERE "zone" = '$zone' AND "kind" =~ ${kindRegex} AND $timeFilter`, 'table')
          .refId('Anno')
          .annotation({ text: 'text', tags: 'kind,node' }),
      );

  return baseDashboard(ZONE_DETAIL_UID, 'Cháy rừng Lai Châu — Chi tiết xã / phường (Zone detail)', 'One ward or commune: sensors per node, Nesterov P, level, FWI, detections and faults.', 'now-7d')
    .withVariable(zoneVar)
    .annotation(annotation('Phát hiện cháy (fire detections)', 'red', '/^fire-/'))
    .annotation(annotation('Lỗi và mất kết nối nút (node faults)', 'purple', '/^node-(fault|offline)/'))
    // Drills write their own `drill` measurement, never `event` or `alert`: a drill is never shown as a fire (README "Drills").
    .annotation(
      new dash.AnnotationQueryBuilder()
        .name('Diễn tập (drills)')
        .datasource(DATASOURCE)
        .enable(true)
        .iconColor('blue')
        .target(
          new InfluxQLBuilder(`SELECT "drill_id" AS "text", "kind", "drill" FROM "drill" WHERE "zone" = '$zone' AND "state" = 'queued' AND $timeFilter`, 'table')
            .refId('Drill')
            .annotation({ text: 'text', tags: 'kind,drill' }),
        ),
    )
    .withPanel(level)
    .withPanel(nesterov)
    .withPanel(fwi)
    .withPanel(temperature)
    .withPanel(humidity)
    .withPanel(smoke)
    .withPanel(events);
}
