// The daily fire-danger bulletin (bản tin cấp dự báo cháy rừng): each commune's official level of the
// day with P and data quality, the required actions per level, the trend of the next days and a map,
// as one printable A4 page (the board serves it at /bulletin/<date>; `fire-ews bulletin` prints it
// to PDF). The trend is a projection, said so on the page: P grows by today's term t13·d13 each day
// unless it rains at least the reset amount (QĐ 127/2000 method; no weather forecast is used).
import { DANGER_LEVEL_INFO, type LevelAction } from '../contracts/danger-levels.ts';
import type { Danger, DangerLevel } from '../contracts/payloads.ts';
import type { Site } from '../contracts/site.ts';
import type { MapGeometry } from './geometry.ts';
import { escapeHtml as e, formatP, LEVEL_COLOURS, NO_LEVEL_COLOUR, t, vnDate } from './i18n.ts';
import { renderLegend, renderMapSvg } from './map-svg.ts';
import { buildBoardView } from './view.ts';

export const TREND_DAYS = 3;

export interface BulletinZone {
  id: string;
  name: string;
  kind: 'phuong' | 'xa';
  level: DangerLevel | null;
  p: number | null;
  quality: Danger['quality'] | null;
  t13: number | null;
  rh13: number | null;
  rain24hMm: number | null;
  /** Official P of the previous days (oldest first), for the direction. */
  previous: { date: string; level: DangerLevel | null; p: number | null }[];
  direction: 'up' | 'down' | 'same' | null;
  projection: { date: string; p: number; level: DangerLevel }[];
}

export interface Bulletin {
  site: { name: string; timezone: string; sampleData: boolean };
  date: string;
  zones: BulletinZone[];
  /** Levels present today, highest first, with the zones at each and the actions each requires. */
  levels: { level: DangerLevel; zones: string[]; actions: readonly LevelAction[] }[];
  highest: DangerLevel | null;
  rainResetMm: number;
  /** Zones without an official value for the date. */
  missing: string[];
}

export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** Level from P with the site's table: upper bounds of I–IV, inclusive; above the last is V. */
export function levelForP(p: number, thresholds: readonly number[]): DangerLevel {
  return (thresholds.filter((x) => p > x).length + 1) as DangerLevel;
}

/** `history`: official values of the date and the days before it (any zones, any order). */
export function buildBulletin(site: Site, date: string, history: readonly Danger[]): Bulletin {
  const table = site.dangerTable;
  const unitFactor = table.deficitUnit === 'mmHg' ? 0.750062 : 1;
  const zones: BulletinZone[] = site.zones.map((z) => {
    const mine = history.filter((d) => d.zoneId === z.id && d.official && d.date <= date).sort((a, b) => a.date.localeCompare(b.date));
    const today = mine.find((d) => d.date === date) ?? null;
    const previous = mine.filter((d) => d.date < date).slice(-4).map((d) => ({ date: d.date, level: d.level, p: d.nesterovP }));
    const yesterday = mine.find((d) => d.date === addDays(date, -1));
    let direction: BulletinZone['direction'] = null;
    if (today?.nesterovP != null && yesterday?.nesterovP != null) direction = today.nesterovP > yesterday.nesterovP + 0.5 ? 'up' : today.nesterovP < yesterday.nesterovP - 0.5 ? 'down' : 'same';
    const projection: BulletinZone['projection'] = [];
    const { t13, d13 } = today?.inputs ?? { t13: null, d13: null };
    if (today?.nesterovP != null && t13 != null && d13 != null) {
      // Today's daily term: t13·d13 (0 at or below 0 °C), in the table's unit.
      const term = Math.max(0, t13 * d13 * unitFactor);
      for (let k = 1; k <= TREND_DAYS; k++) {
        const p = today.nesterovP + k * term;
        projection.push({ date: addDays(date, k), p, level: levelForP(p, table.thresholds) });
      }
    }
    return {
      id: z.id,
      name: z.name,
      kind: z.kind,
      level: today?.level ?? null,
      p: today?.nesterovP ?? null,
      quality: today?.quality ?? null,
      t13: today?.inputs.t13 ?? null,
      rh13: today?.inputs.rh13 ?? null,
      rain24hMm: today?.inputs.rain24hMm ?? null,
      previous,
      direction,
      projection,
    };
  });
  const present = [...new Set(zones.map((z) => z.level).filter((l): l is DangerLevel => l !== null))].sort((a, b) => b - a);
  return {
    site: { name: site.site.name, timezone: site.site.timezone, sampleData: site.site.sampleData },
    date,
    zones,
    levels: present.map((level) => ({ level, zones: zones.filter((z) => z.level === level).map((z) => z.id), actions: DANGER_LEVEL_INFO[level].actions })),
    highest: present[0] ?? null,
    rainResetMm: table.rainResetMm,
    missing: zones.filter((z) => z.level === null).map((z) => z.id),
  };
}

const QUALITY_VI = { ok: 'đủ số liệu', estimated: 'ước tính', unavailable: 'không có số liệu' } as const;
const ARROW = { up: '↗ tăng', down: '↘ giảm', same: '→ giữ nguyên' } as const;
const roman = (l: DangerLevel | null) => (l ? DANGER_LEVEL_INFO[l].roman : '–');

function badge(level: DangerLevel | null, big = false): string {
  const c = level ? LEVEL_COLOURS[level] : NO_LEVEL_COLOUR;
  const text = level ? `Cấp ${roman(level)}` : 'Chưa có';
  return `<span class="badge${big ? ' big' : ''}" style="background:${c.fill};color:${c.text}">${text}</span>`;
}

const CSS = `
@page { size: A4; margin: 12mm 12mm 14mm 12mm; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans", "DejaVu Sans", Arial, sans-serif; color: #1b1b1b; margin: 0; font-size: 10.5pt; line-height: 1.35; }
.sheet { max-width: 190mm; margin: 0 auto; }
header { display: flex; justify-content: space-between; align-items: flex-end; border-bottom: 3px solid #b71c1c; padding-bottom: 4mm; margin-bottom: 4mm; }
h1 { font-size: 19pt; margin: 0; color: #b71c1c; letter-spacing: 0.02em; }
.sub { font-size: 11pt; margin-top: 1mm; }
.date { text-align: right; font-size: 12pt; font-weight: 700; }
.date small { display: block; font-weight: 400; font-size: 9pt; }
.highest { display: flex; align-items: center; gap: 4mm; margin: 0 0 4mm; font-size: 12pt; }
.badge { display: inline-block; padding: 0.5mm 2.5mm; border-radius: 1.5mm; font-weight: 800; white-space: nowrap; }
.badge.big { font-size: 15pt; padding: 1mm 4mm; }
table { width: 100%; border-collapse: collapse; margin-bottom: 4mm; }
th, td { border: 0.3mm solid #9e9e9e; padding: 1.2mm 1.8mm; text-align: left; vertical-align: top; }
th { background: #f1f1f1; font-size: 9.5pt; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.lvname { display: block; font-size: 8.5pt; }
.trend { font-size: 9pt; white-space: nowrap; }
.grid { display: grid; grid-template-columns: 92mm 1fr; gap: 5mm; }
.map svg { width: 100%; height: auto; border: 0.3mm solid #9e9e9e; }
.legend { font-size: 8.5pt; margin-top: 1mm; }
.legend ul { list-style: none; display: inline; padding: 0; margin: 0 2mm 0 1mm; }
.legend li { display: inline-block; margin-right: 2mm; }
.swatch { display: inline-block; min-width: 6mm; text-align: center; border-radius: 1mm; font-weight: 700; margin-right: 1mm; }
.legend-title { font-weight: 700; }
h2 { font-size: 12pt; margin: 0 0 2mm; color: #b71c1c; }
.actions h3 { font-size: 10.5pt; margin: 2mm 0 1mm; }
.actions ul { margin: 0 0 2mm 4mm; padding-left: 3mm; }
.actions li { margin-bottom: 0.6mm; }
.note { font-size: 8.5pt; color: #424242; }
footer { margin-top: 4mm; border-top: 0.3mm solid #9e9e9e; padding-top: 2mm; font-size: 8pt; color: #424242; }
.sample { color: #b71c1c; font-weight: 700; }
`;

/** The bulletin as a self-contained HTML page (inline style and map; no script, no external file). */
export function renderBulletinHtml(b: Bulletin, geo: MapGeometry, site: Site, generatedAt: number): string {
  const zonesRows = b.zones
    .map((z, i) => {
      const info = z.level ? DANGER_LEVEL_INFO[z.level] : null;
      const trend = z.projection.length
        ? z.projection.map((p) => `${vnDate(p.date).slice(0, 5)}: ${roman(p.level)}`).join(' · ')
        : '–';
      return (
        `<tr data-zone="${e(z.id)}" data-level="${z.level ?? ''}"><td>${i + 1}</td><td><strong>${z.kind === 'xa' ? 'Xã' : 'Phường'} ${e(z.name)}</strong></td>` +
        `<td>${badge(z.level)}<span class="lvname">${info ? e(info.name) : 'không có số liệu'}</span></td>` +
        `<td class="num">${formatP(z.p)}</td><td>${z.quality ? e(QUALITY_VI[z.quality]) : '–'}</td>` +
        `<td class="trend">${z.direction ? e(ARROW[z.direction]) : '–'}<br>${e(trend)}</td></tr>`
      );
    })
    .join('');
  const view = buildBoardView(site, { official: new Map(), provisional: new Map(), events: [], status: new Map(), lastReading: new Map(), alerts: [], mqttConnected: true, alertsState: 'off', alertsError: null, readingsKind: 'none', readingsError: null }, Date.parse(`${b.date}T06:00:00Z`));
  const map = renderMapSvg(geo, view, { lang: 'vi', live: false, levels: new Map(b.zones.map((z) => [z.id, z.level])), title: `Bản đồ cấp dự báo cháy rừng ngày ${vnDate(b.date)}` });
  const zoneNames = new Map(b.zones.map((z) => [z.id, `${z.kind === 'xa' ? 'Xã' : 'Phường'} ${z.name}`]));
  const actions = b.levels.length
    ? b.levels
        .map((l) => `<h3>${badge(l.level)} ${e(DANGER_LEVEL_INFO[l.level].name)} — ${e(l.zones.map((z) => zoneNames.get(z) ?? z).join(', '))}</h3><ul>${l.actions.map((a) => `<li>${e(a.vi)}</li>`).join('')}</ul>`)
        .join('')
    : '<p>Chưa có cấp dự báo chính thức cho ngày này.</p>';
  const highest = b.highest ? `${badge(b.highest, true)} <span>Cấp cao nhất trong thành phố: <strong>${e(DANGER_LEVEL_INFO[b.highest].label)}</strong> — ${e(DANGER_LEVEL_INFO[b.highest].description)}</span>` : `${badge(null, true)} <span>Chưa có cấp dự báo chính thức.</span>`;
  const issued = new Intl.DateTimeFormat('vi-VN', { timeZone: b.site.timezone, dateStyle: 'short', timeStyle: 'short' }).format(new Date(generatedAt));
  return `<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bản tin cấp dự báo cháy rừng ${e(vnDate(b.date))} — ${e(b.site.name)}</title><style>${CSS}</style></head>
<body><div class="sheet" data-bulletin="${e(b.date)}">
<header><div><h1>BẢN TIN CẤP DỰ BÁO CHÁY RỪNG</h1><div class="sub">${e(b.site.name)}</div></div>
<div class="date">Ngày ${e(vnDate(b.date))}<small>theo số liệu 13:00 tại các trạm cảm biến</small></div></header>
<p class="highest">${highest}</p>
<table><thead><tr><th>TT</th><th>Xã, phường</th><th>Cấp dự báo</th><th>Chỉ số P</th><th>Số liệu</th><th>Xu hướng ${TREND_DAYS} ngày tới*</th></tr></thead><tbody>${zonesRows}</tbody></table>
<div class="grid"><div class="map">${map}${renderLegend('vi', false)}<p class="note">${e(t('vi').estimatedAreas)}.</p></div>
<div class="actions"><h2>Biện pháp phải thực hiện</h2>${actions}</div></div>
<p class="note">* Ước tính nếu thời tiết giữ như hôm nay và không có ngày mưa từ ${b.rainResetMm} mm trở lên (mưa ≥ ${b.rainResetMm} mm đưa P về 0); không phải dự báo thời tiết. P = Σ t13·d13 (phương pháp Nesterov, QĐ 127/2000/QĐ-BNN-KL); cấp I ≤ ${site.dangerTable.thresholds[0]} &lt; II ≤ ${site.dangerTable.thresholds[1]} &lt; III ≤ ${site.dangerTable.thresholds[2]} &lt; IV ≤ ${site.dangerTable.thresholds[3]} &lt; V. Ở cấp IV và V, Kiểm lâm thông báo cấp dự báo hằng ngày trên phương tiện thông tin đại chúng (NĐ 156/2018/NĐ-CP, Điều 46).</p>
<footer>Lập lúc ${e(issued)} từ hệ thống cảnh báo sớm cháy rừng.${b.missing.length ? ` Chưa có số liệu: ${e(b.missing.map((z) => zoneNames.get(z) ?? z).join(', '))}.` : ''}</footer>
</div></body></html>`;
}
