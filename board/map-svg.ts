// Draws the map as an SVG string from the geometry (geometry.ts) and the view (view.ts): zones filled
// with their level's colour and labelled with the level written out (never colour alone), nodes
// marked by health with a shape as well as a colour, and fires where they burn. Pure, no DOM: the
// page sets it as innerHTML, the bulletin inlines it.
import type { DangerLevel } from '../contracts/payloads.ts';
import type { MapGeometry, Point } from './geometry.ts';
import { escapeHtml, LEVEL_COLOURS, NO_LEVEL_COLOUR, t, type Lang } from './i18n.ts';
import type { BoardView, Health } from './view.ts';

export interface MapOptions {
  lang: Lang;
  /** Which level colours the zones: today's official (page, bulletin) or a given per-zone level. */
  levels?: ReadonlyMap<string, DangerLevel | null>;
  selectedZone?: string | null;
  /** Draw nodes and fires (the page); the bulletin draws zones only. */
  live?: boolean;
  title?: string;
  /** Larger labels and markers on a narrow screen (a phone shows the map ~360 px wide). */
  labelScale?: number;
}

export const HEALTH_COLOURS: Record<Health, string> = {
  ok: '#ffffff',
  stale: '#bdbdbd',
  offline: '#212121',
  fault: '#8e24aa',
  unknown: '#ffffff',
};

const fmt = (v: number) => (Math.round(v * 10) / 10).toString();
const pathOf = (poly: readonly Point[]) => `M${poly.map((p) => `${fmt(p[0])},${fmt(p[1])}`).join('L')}Z`;

/** A node marker: shape and colour both say the health (circle ok, hollow stale, cross offline, diamond fault). */
function nodeMarker(health: Health, x: number, y: number, r: number): string {
  const c = HEALTH_COLOURS[health];
  switch (health) {
    case 'offline':
      return `<g class="node-mark"><circle cx="${fmt(x)}" cy="${fmt(y)}" r="${fmt(r * 1.1)}" fill="#ffffff" stroke="#212121" stroke-width="${fmt(r * 0.35)}"/><path d="M${fmt(x - r * 0.6)},${fmt(y - r * 0.6)}L${fmt(x + r * 0.6)},${fmt(y + r * 0.6)}M${fmt(x + r * 0.6)},${fmt(y - r * 0.6)}L${fmt(x - r * 0.6)},${fmt(y + r * 0.6)}" stroke="${c}" stroke-width="${fmt(r * 0.4)}"/></g>`;
    case 'fault':
      return `<path class="node-mark" d="M${fmt(x)},${fmt(y - r * 1.3)}L${fmt(x + r * 1.3)},${fmt(y)}L${fmt(x)},${fmt(y + r * 1.3)}L${fmt(x - r * 1.3)},${fmt(y)}Z" fill="${c}" stroke="#ffffff" stroke-width="${fmt(r * 0.3)}"/>`;
    case 'stale':
      return `<circle class="node-mark" cx="${fmt(x)}" cy="${fmt(y)}" r="${fmt(r)}" fill="${c}" stroke="#424242" stroke-width="${fmt(r * 0.3)}" stroke-dasharray="${fmt(r * 0.5)} ${fmt(r * 0.35)}"/>`;
    case 'unknown':
      return `<circle class="node-mark" cx="${fmt(x)}" cy="${fmt(y)}" r="${fmt(r * 0.7)}" fill="none" stroke="#424242" stroke-width="${fmt(r * 0.25)}"/>`;
    default:
      return `<circle class="node-mark" cx="${fmt(x)}" cy="${fmt(y)}" r="${fmt(r)}" fill="${c}" stroke="#1b1b1b" stroke-width="${fmt(r * 0.3)}"/>`;
  }
}

function flame(x: number, y: number, s: number, confirmed: boolean): string {
  const fill = confirmed ? '#d50000' : '#ff6d00';
  // A flame drawn as a path (no emoji font needed), above the node.
  const d = `M${fmt(x)},${fmt(y - 2.6 * s)}C${fmt(x + 1.3 * s)},${fmt(y - 1.5 * s)} ${fmt(x + 1.3 * s)},${fmt(y - 0.2 * s)} ${fmt(x)},${fmt(y)}C${fmt(x - 1.3 * s)},${fmt(y - 0.2 * s)} ${fmt(x - 1.3 * s)},${fmt(y - 1.2 * s)} ${fmt(x - 0.3 * s)},${fmt(y - 1.9 * s)}C${fmt(x - 0.2 * s)},${fmt(y - 1.3 * s)} ${fmt(x + 0.3 * s)},${fmt(y - 1.2 * s)} ${fmt(x)},${fmt(y - 2.6 * s)}Z`;
  return `<g class="fire-mark${confirmed ? ' confirmed' : ''}"><circle cx="${fmt(x)}" cy="${fmt(y - 1.2 * s)}" r="${fmt(2.2 * s)}" fill="${fill}" opacity="0.25"/><path d="${d}" fill="${fill}" stroke="#ffffff" stroke-width="${fmt(0.25 * s)}"/></g>`;
}

export function renderMapSvg(geo: MapGeometry, view: BoardView, o: MapOptions): string {
  const w = t(o.lang);
  const [x0, y0, vw, vh] = geo.viewBox;
  const u = vw / 100; // one percent of the map width: sizes scale with the map
  const levelOf = (zoneId: string): DangerLevel | null => {
    if (o.levels) return o.levels.get(zoneId) ?? null;
    const z = view.zones.find((x) => x.id === zoneId);
    return z?.official?.level ?? null;
  };
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" class="map" viewBox="${fmt(x0)} ${fmt(y0)} ${fmt(vw)} ${fmt(vh)}" role="img" aria-label="${escapeHtml(o.title ?? w.map)}" preserveAspectRatio="xMidYMid meet">`);
  parts.push(`<rect x="${fmt(x0)}" y="${fmt(y0)}" width="${fmt(vw)}" height="${fmt(vh)}" fill="#eef2ea"/>`);
  for (const tile of geo.tiles) parts.push(`<image href="${escapeHtml(tile.href)}" x="${fmt(tile.x)}" y="${fmt(tile.y)}" width="${fmt(tile.size)}" height="${fmt(tile.size)}"/>`);
  const fillOpacity = geo.tiles.length ? 0.45 : 0.85;
  for (const z of geo.zones) {
    const level = levelOf(z.id);
    const colour = level ? LEVEL_COLOURS[level].fill : NO_LEVEL_COLOUR.fill;
    const d = z.polygons.map(pathOf).join('');
    const selected = o.selectedZone === z.id;
    // Fill and a same-colour stroke hide the seams between the cells of one zone.
    parts.push(`<path class="zone-area${level ? '' : ' no-level'}" data-zone="${escapeHtml(z.id)}" d="${d}" fill="${colour}" fill-opacity="${fillOpacity}" stroke="${colour}" stroke-opacity="${fillOpacity}" stroke-width="${fmt(u * 0.15)}"/>`);
    const borders = z.border.map(([a, b]) => `M${fmt(a[0])},${fmt(a[1])}L${fmt(b[0])},${fmt(b[1])}`).join('');
    parts.push(`<path class="zone-border" d="${borders}" fill="none" stroke="${selected ? '#0d47a1' : '#ffffff'}" stroke-width="${fmt(u * (selected ? 0.6 : 0.35))}" stroke-linejoin="round" pointer-events="none"/>`);
  }
  if (o.live !== false) {
    const r = u * 0.55 * Math.sqrt(o.labelScale ?? 1);
    for (const n of geo.nodes) {
      const nv = view.nodes.find((x) => x.id === n.id);
      const health = nv?.health ?? 'unknown';
      parts.push(`<g class="node" data-node="${escapeHtml(n.id)}" data-health="${health}"><title>${escapeHtml(n.id)} — ${escapeHtml(w.health[health])}</title><circle cx="${fmt(n.x)}" cy="${fmt(n.y)}" r="${fmt(r * 2.2)}" fill="transparent"/>${nodeMarker(health, n.x, n.y, r)}</g>`);
    }
  }
  // Labels over everything: name and the level written out on the level's colour. Labels that would
  // overlap are pushed apart vertically (small neighbouring wards sit close together).
  const fontSize = u * 2.6 * (o.labelScale ?? 1);
  const labels = geo.zones.map((z) => {
    const zv = view.zones.find((x) => x.id === z.id);
    const level = levelOf(z.id);
    const name = zv?.name ?? z.id;
    const badge = level ? `${w.levelWord} ${['', 'I', 'II', 'III', 'IV', 'V'][level]}` : `${w.levelWord} –`;
    const width = fontSize * 0.62 * Math.max(name.length, badge.length + 2);
    // The provisional level under the badge when it is newer than the official one (live map only).
    const prov = o.live !== false && !o.levels ? zv?.provisional?.roman : undefined;
    const provisional = prov ? `${w.provisional} ${prov}` : null;
    return { z, level, name, badge, provisional, x: z.label[0], y: z.label[1], width, height: fontSize * (provisional ? 3.5 : 2.6) };
  });
  for (let pass = 0; pass < 8; pass++) {
    let moved = false;
    for (const a of labels) {
      for (const b of labels) {
        if (a === b || Math.abs(a.x - b.x) * 2 >= a.width + b.width || Math.abs(a.y - b.y) * 2 >= a.height + b.height) continue;
        const push = ((a.height + b.height) / 2 - Math.abs(a.y - b.y)) / 2 + u * 0.1;
        const [upper, lower] = a.y <= b.y ? [a, b] : [b, a];
        upper.y -= push;
        lower.y += push;
        moved = true;
      }
    }
    if (!moved) break;
  }
  for (const l of labels) {
    const c = l.level ? LEVEL_COLOURS[l.level] : NO_LEVEL_COLOUR;
    const bw = fontSize * (l.badge.length * 0.62 + 1.2);
    const { x: lx, y: ly } = l;
    parts.push(
      `<g class="zone-label" data-zone="${escapeHtml(l.z.id)}" data-level="${l.level ?? ''}" pointer-events="none">` +
        `<text x="${fmt(lx)}" y="${fmt(ly - fontSize * 0.35)}" font-size="${fmt(fontSize)}" text-anchor="middle" font-weight="700" fill="#1b1b1b" stroke="#ffffff" stroke-width="${fmt(fontSize * 0.22)}" paint-order="stroke">${escapeHtml(l.name)}</text>` +
        `<rect x="${fmt(lx - bw / 2)}" y="${fmt(ly + fontSize * 0.05)}" width="${fmt(bw)}" height="${fmt(fontSize * 1.35)}" rx="${fmt(fontSize * 0.3)}" fill="${c.fill}" stroke="#ffffff" stroke-width="${fmt(fontSize * 0.1)}"/>` +
        `<text class="zone-level" x="${fmt(lx)}" y="${fmt(ly + fontSize * 1.05)}" font-size="${fmt(fontSize * 1.05)}" text-anchor="middle" font-weight="800" fill="${c.text}">${escapeHtml(l.badge)}</text>` +
        (l.provisional ? `<text class="zone-provisional" x="${fmt(lx)}" y="${fmt(ly + fontSize * 2.2)}" font-size="${fmt(fontSize * 0.75)}" text-anchor="middle" font-weight="700" fill="#1b1b1b" stroke="#ffffff" stroke-width="${fmt(fontSize * 0.18)}" paint-order="stroke">${escapeHtml(l.provisional)}</text>` : '') +
        `</g>`,
    );
  }
  if (o.live !== false) {
    for (const f of view.fires) {
      if (f.state === 'cleared') continue;
      const at = geo.nodes.find((n) => n.id === f.originNode) ?? geo.nodes.find((n) => f.nodes.includes(n.id));
      if (!at) continue;
      for (const id of f.nodes) {
        const m = geo.nodes.find((n) => n.id === id);
        if (m) parts.push(`<circle class="fire-ring" cx="${fmt(m.x)}" cy="${fmt(m.y)}" r="${fmt(u * 1.4)}" fill="none" stroke="#d50000" stroke-width="${fmt(u * 0.3)}"/>`);
      }
      parts.push(`<g class="fire" data-incident="${escapeHtml(f.incidentId)}" data-state="${f.state}">${flame(at.x, at.y - u * 0.6, u * 1.6, f.state === 'confirmed')}</g>`);
    }
  }
  // Scale bar, bottom left.
  const sx = x0 + u * 3;
  const sy = y0 + vh - u * 3;
  const label = geo.scale.metres >= 1000 ? `${geo.scale.metres / 1000} km` : `${geo.scale.metres} m`;
  parts.push(
    `<g class="scale" pointer-events="none"><path d="M${fmt(sx)},${fmt(sy - u * 0.8)}V${fmt(sy)}H${fmt(sx + geo.scale.units)}V${fmt(sy - u * 0.8)}" fill="none" stroke="#1b1b1b" stroke-width="${fmt(u * 0.3)}"/>` +
      `<text x="${fmt(sx + geo.scale.units / 2)}" y="${fmt(sy - u * 1.1)}" font-size="${fmt(u * 1.8)}" text-anchor="middle" fill="#1b1b1b" stroke="#ffffff" stroke-width="${fmt(u * 0.4)}" paint-order="stroke">${label}</text></g>`,
  );
  parts.push('</svg>');
  return parts.join('');
}

/** The legend under the map: levels with their names, node shapes with theirs. */
export function renderLegend(lang: Lang, withNodes = true): string {
  const w = t(lang);
  const levels = ([1, 2, 3, 4, 5] as const)
    .map((l) => `<li><span class="swatch" style="background:${LEVEL_COLOURS[l].fill};color:${LEVEL_COLOURS[l].text}">${['', 'I', 'II', 'III', 'IV', 'V'][l]}</span>${escapeHtml(lang === 'en' ? ['', 'low', 'moderate', 'high', 'dangerous', 'extreme'][l]! : ['', 'thấp', 'trung bình', 'cao', 'nguy hiểm', 'cực kỳ nguy hiểm'][l]!)}</li>`)
    .join('');
  const nodes = withNodes
    ? (['ok', 'stale', 'fault', 'offline'] as const)
        .map((h) => `<li><svg viewBox="-2 -2 4 4" class="legend-node">${nodeMarker(h, 0, 0, 1)}</svg>${escapeHtml(w.health[h])}</li>`)
        .join('')
    : '';
  return `<div class="legend"><span class="legend-title">${escapeHtml(w.legendLevels)}:</span><ul>${levels}</ul>${withNodes ? `<span class="legend-title">${escapeHtml(w.legendNodes)}:</span><ul>${nodes}</ul>` : ''}</div>`;
}
