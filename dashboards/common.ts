// Shared pieces of the dashboards: site facts baked in at generation time (zone names, danger
// thresholds), the official level colours and labels, value mappings, layout helpers.
import * as dash from '@grafana/grafana-foundation-sdk/dashboard';
import type { Site } from '../contracts/site.ts';
// The official level labels and colours (one source for SMS, MQTT and the dashboards).
import { DANGER_LEVEL_INFO } from '../contracts/danger-levels.ts';
import { DATASOURCE } from './influxql.ts';

export const TIMEZONE = 'Asia/Ho_Chi_Minh';
export const LEVELS = [1, 2, 3, 4, 5] as const;

/** Grafana colour per official level (conventional: I green, II blue, III yellow, IV orange, V red). */
export const LEVEL_COLOR: Record<number, string> = Object.fromEntries(LEVELS.map((l) => [l, DANGER_LEVEL_INFO[l].colour]));

/** Value mappings 1–5 → "Cấp I – thấp" in the level's colour, null → "chưa có" in grey. */
export function levelMappings(): dash.ValueMapping[] {
  const options: Record<string, dash.ValueMappingResult> = {};
  LEVELS.forEach((l, i) => {
    options[String(l)] = { text: DANGER_LEVEL_INFO[l].label, color: LEVEL_COLOR[l] as string, index: i };
  });
  return [
    { type: dash.MappingType.ValueToText, options },
    { type: dash.MappingType.SpecialValue, options: { match: dash.SpecialValueMatch.NullAndNan, result: { text: 'chưa có / no data', color: 'text', index: LEVELS.length } } },
  ];
}

/** Thresholds colouring a level field (1 green … 5 red). */
export function levelThresholds(): dash.ThresholdsConfigBuilder {
  return new dash.ThresholdsConfigBuilder().mode(dash.ThresholdsMode.Absolute).steps([
    { value: null, color: LEVEL_COLOR[1] as string },
    ...LEVELS.slice(1).map((l) => ({ value: l, color: LEVEL_COLOR[l] as string })),
  ]);
}

/** Thresholds on the Nesterov index P from the site's danger table (upper bounds of I–IV). */
export function nesterovThresholds(site: Site): dash.ThresholdsConfigBuilder {
  const bounds = site.dangerTable.thresholds;
  return new dash.ThresholdsConfigBuilder().mode(dash.ThresholdsMode.Absolute).steps([
    { value: null, color: LEVEL_COLOR[1] as string },
    ...bounds.map((b, i) => ({ value: b, color: LEVEL_COLOR[i + 2] as string })),
  ]);
}

export const zoneDisplayName = (z: Site['zones'][number]) => `${z.kind === 'xa' ? 'Xã' : 'Phường'} ${z.name}`;

/** Zone id → "Phường Quyết Thắng" (the Vietnamese name from the site file). */
export function zoneNameMappings(site: Site): dash.ValueMapping[] {
  const options: Record<string, dash.ValueMappingResult> = {};
  site.zones.forEach((z, i) => {
    options[z.id] = { text: zoneDisplayName(z), index: i };
  });
  return [{ type: dash.MappingType.ValueToText, options }];
}

/** Event kinds as Vietnamese text with a colour. */
export function eventKindMappings(): dash.ValueMapping[] {
  const kinds: [string, string, string][] = [
    ['fire-suspected', '🔥 Nghi cháy (suspected)', 'orange'],
    ['fire-confirmed', '🔥 Cháy đã xác nhận (confirmed)', 'red'],
    ['fire-cleared', 'Hết cháy (cleared)', 'green'],
    ['level-changed', 'Đổi cấp (level changed)', 'blue'],
    ['node-offline', 'Mất kết nối (offline)', 'purple'],
    ['node-online', 'Kết nối lại (online)', 'green'],
    ['node-fault', 'Lỗi cảm biến (fault)', 'purple'],
    ['node-fault-cleared', 'Hết lỗi (fault cleared)', 'green'],
  ];
  const options: Record<string, dash.ValueMappingResult> = {};
  kinds.forEach(([k, text, color], i) => {
    options[k] = { text, color, index: i };
  });
  return [{ type: dash.MappingType.ValueToText, options }];
}

/** A field override setting value mappings (and optionally a display name and cell colouring). */
export function mappingOverride(mappings: dash.ValueMapping[], displayName?: string, colorCells = false): dash.DynamicConfigValue[] {
  const props: dash.DynamicConfigValue[] = [{ id: 'mappings', value: mappings }];
  if (displayName) props.push({ id: 'displayName', value: displayName });
  if (colorCells) props.push({ id: 'custom.cellOptions', value: { type: 'color-background', mode: 'basic' } });
  return props;
}

export const displayName = (name: string): dash.DynamicConfigValue[] => [{ id: 'displayName', value: name }];
export const unitOverride = (unit: string, name?: string): dash.DynamicConfigValue[] => [{ id: 'unit', value: unit }, ...(name ? displayName(name) : [])];

/** Grid placement: panels flow left to right in rows of 24 columns. */
export class Grid {
  private x = 0;
  private y = 0;
  private rowH = 0;
  next(w: number, h: number): dash.GridPos {
    if (this.x + w > 24) {
      this.x = 0;
      this.y += this.rowH;
      this.rowH = 0;
    }
    const pos = { x: this.x, y: this.y, w, h };
    this.x += w;
    this.rowH = Math.max(this.rowH, h);
    return pos;
  }
}

/** The common dashboard frame: fixed uid, read-only, Vietnam time, tags. */
export function baseDashboard(uid: string, title: string, description: string, from = 'now-24h'): dash.DashboardBuilder {
  return new dash.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['fire-ews', 'lai-chau'])
    .readonly()
    .timezone(TIMEZONE)
    .time({ from, to: 'now' })
    .refresh('1m')
    .tooltip(dash.DashboardCursorSync.Crosshair)
    .link(new dash.DashboardLinkBuilder('Cảnh báo cháy rừng').type(dash.DashboardLinkType.Dashboards).tags(['fire-ews']).asDropdown(true).keepTime(true));
}

/** What every panel builder of the SDK offers for its identity and place. */
interface PlaceablePanel<T> {
  id(id: number): T;
  title(title: string): T;
  description(description: string): T;
  datasource(ref: typeof DATASOURCE): T;
  gridPos(pos: dash.GridPos): T;
}

/** A panel's id, bilingual title, description (the lint requires both), the provisioned datasource and its place. */
export function placed<T extends PlaceablePanel<T>>(builder: T, id: number, title: string, description: string, pos: dash.GridPos): T {
  return builder.id(id).title(title).description(description).datasource(DATASOURCE).gridPos(pos);
}
