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

/**
 * What an "estimated" (`*`) or "unavailable" danger value means, in the words of the rules engine
 * (rules/zone-danger.ts, "Quality"). Shown in panel descriptions; the value mappings carry the `*`.
 */
export function qualityExplanation(site: Site): string {
  const reset = site.dangerTable.rainResetMm;
  return [
    `* Ước tính (estimated): cấp vẫn tính theo công thức Nesterov chính thức nhưng trên số liệu thiếu — dưới một nửa số trạm của xã / phường có số liệu trong khung 13:00; hoặc không trạm nào của xã dùng được nên lấy nhiệt độ, độ ẩm lúc 13:00 của các trạm còn lại trong thành phố; hoặc lượng mưa 24 giờ chưa đủ (coi là mức tối thiểu), lấy từ trạm đo mưa nơi khác, hay không trạm nào đo (coi như không mưa); hoặc một ngày trước đó, kể từ trận mưa ≥ ${reset} mm gần nhất, đã là ước tính hay không có số liệu. Coi là cấp có độ tin cậy thấp hơn và kiểm tra trạm của xã.`,
    `Estimated: the official Nesterov formula on incomplete inputs — fewer than half of the zone's nodes (the rules' okNodeFraction, default 0.5) reported in the 13:00 window; or no usable node in the zone, so the 13:00 temperature and humidity are the median of the rest of the site; or the 24-hour rain is partial (a lower bound), taken from gauges elsewhere on the site, or missing everywhere (taken as no rain); or an earlier day since the last rain of ≥ ${reset} mm was estimated or unavailable. Read it as a lower-confidence level and check the zone's sensors.`,
    'Không có (unavailable): không trạm nào trong thành phố có số liệu lúc 13:00, không tính được cấp; P giữ nguyên sang ngày sau (ngày đó là ước tính). No 13:00 observation anywhere on the site: no level, and P is carried to the next day, which is then estimated.',
  ].join('\n\n');
}

/** Danger quality ok / estimated / unavailable as text; the `*` marks an estimated level. */
export function qualityMappings(): dash.ValueMapping[] {
  return [
    {
      type: dash.MappingType.ValueToText,
      options: {
        ok: { text: 'đủ số liệu (ok)', color: 'green', index: 0 },
        estimated: { text: '* ước tính (estimated)', color: 'yellow', index: 1 },
        unavailable: { text: 'không có (unavailable)', color: 'red', index: 2 },
      },
    },
  ];
}

/** A data link from a zone id field to that zone's detail dashboard. */
export function zoneDetailLink(zoneDetailUid: string): dash.DynamicConfigValue {
  return { id: 'links', value: [{ title: 'Chi tiết xã / phường (zone detail)', url: `/d/${zoneDetailUid}?var-zone=\${__value.raw}` }] };
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
