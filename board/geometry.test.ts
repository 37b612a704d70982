import { describe, expect, it } from 'vitest';
import type { Site } from '../contracts/site.ts';
import { AREA_RADIUS_M, buildMapGeometry, clipConvex, metresPerUnit, project, tilesFor, type Point } from './geometry.ts';
import { renderLegend, renderMapSvg } from './map-svg.ts';
import { danger, fireEvent, inputs, SITE } from '../test/support/board-fixtures.ts';
import { buildBoardView } from './view.ts';

function inside(p: Point, poly: readonly Point[]): boolean {
  let c = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i] as Point;
    const [xj, yj] = poly[j] as Point;
    if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) c = !c;
  }
  return c;
}

describe('zone areas without a tile server', () => {
  const geo = buildMapGeometry(SITE);

  it('every node lies in its own zone area and in no other; every zone has an area, a border and a label', () => {
    for (const n of geo.nodes) {
      const owner = geo.zones.filter((z) => z.polygons.some((p) => inside([n.x, n.y], p))).map((z) => z.id);
      expect(owner, n.id).toStrictEqual([n.zone]);
    }
    for (const z of geo.zones) {
      expect(z.polygons.length, z.id).toBeGreaterThan(0);
      expect(z.border.length, z.id).toBeGreaterThan(0);
      expect(z.estimated).toBe(true);
      const [x, y, w, h] = geo.viewBox;
      expect(z.label[0]).toBeGreaterThan(x);
      expect(z.label[0]).toBeLessThan(x + w);
      expect(z.label[1]).toBeGreaterThan(y);
      expect(z.label[1]).toBeLessThan(y + h);
    }
  });

  it('areas reach no further than the radius around their nodes, and the scale bar is a round distance', () => {
    const unit = metresPerUnit(22.39);
    for (const z of geo.zones) {
      const nodes = geo.nodes.filter((n) => n.zone === z.id);
      for (const p of z.polygons.flat()) {
        const nearest = Math.min(...nodes.map((n) => Math.hypot(n.x - p[0], n.y - p[1])));
        expect(nearest * unit).toBeLessThanOrEqual(AREA_RADIUS_M + 1);
      }
    }
    expect([100, 200, 500, 1000, 2000, 5000]).toContain(geo.scale.metres);
    expect(geo.scale.units * unit).toBeCloseTo(geo.scale.metres, 0);
    expect(geo.tiles).toStrictEqual([]);
  });

  it('a zone with a GeoJSON boundary in the site file is drawn with it', () => {
    const ring: [number, number][] = [
      [103.46, 22.36],
      [103.49, 22.36],
      [103.49, 22.38],
      [103.46, 22.38],
      [103.46, 22.36],
    ];
    const site: Site = { ...SITE, zones: SITE.zones.map((z) => (z.id === 'san-thang' ? { ...z, boundary: { type: 'Polygon' as const, coordinates: [ring] } } : z)) };
    const g = buildMapGeometry(site);
    const st = g.zones.find((z) => z.id === 'san-thang');
    expect(st?.estimated).toBe(false);
    expect(st?.polygons).toStrictEqual([ring.slice(0, -1).map(([lon, lat]) => project(lon, lat))]);
    expect(st?.border).toHaveLength(4);
    const [cx, cy] = project(103.475, 22.37);
    expect(st?.label[0]).toBeCloseTo(cx, 0);
    expect(st?.label[1]).toBeCloseTo(cy, 0);
  });

  it('clipConvex keeps the part of a polygon inside a convex one', () => {
    const square: Point[] = [
      [0, 0],
      [2, 0],
      [2, 2],
      [0, 2],
    ];
    const shifted: Point[] = square.map(([x, y]) => [x + 1, y + 1]);
    const area = (p: Point[]) => Math.abs(p.reduce((s, q, i) => s + q[0] * (p[(i + 1) % p.length] as Point)[1] - (p[(i + 1) % p.length] as Point)[0] * q[1], 0)) / 2;
    expect(area(clipConvex(square, shifted))).toBeCloseTo(1, 9);
    expect(clipConvex(square, [[5, 5], [6, 5], [6, 6]])).toStrictEqual([]);
  });

  it('with a tile URL, tiles cover the view at one zoom', () => {
    const tiles = tilesFor('https://tiles.example/{z}/{x}/{y}.png', geo.viewBox);
    expect(tiles.length).toBeGreaterThan(0);
    const [x, y, w, h] = geo.viewBox;
    const size = tiles[0]?.size ?? 0;
    expect(new Set(tiles.map((t) => t.size))).toStrictEqual(new Set([size]));
    expect(Math.min(...tiles.map((t) => t.x))).toBeLessThanOrEqual(x);
    expect(Math.max(...tiles.map((t) => t.x + t.size))).toBeGreaterThanOrEqual(x + w);
    expect(Math.max(...tiles.map((t) => t.y + t.size))).toBeGreaterThanOrEqual(y + h);
    expect(tiles[0]?.href).toMatch(/^https:\/\/tiles\.example\/\d+\/\d+\/\d+\.png$/);
  });
});

describe('the map SVG', () => {
  const geo = buildMapGeometry(SITE);
  const now = Date.parse('2026-03-20T08:00:00Z');
  const view = buildBoardView(
    SITE,
    inputs({
      official: new Map([
        ['san-thang', danger('san-thang', '2026-03-20', 4, 6000)],
        ['quyet-thang', danger('quyet-thang', '2026-03-20', 1, 300)],
      ]),
      events: [fireEvent('fire-suspected', 'fire-x', 'san-thang', 'san-thang-03', '2026-03-20T07:50:00Z')],
      lastReading: new Map(SITE.nodes.map((n) => [n.id, now - 30_000])),
    }),
    now,
  );

  it('writes each zone name and its level on the map, not colour alone; nodes carry their health; a fire is drawn at its node', () => {
    const svg = renderMapSvg(geo, view, { lang: 'vi' });
    expect(svg).toMatch(/^<svg [^>]*viewBox=/);
    for (const z of SITE.zones) expect(svg, z.name).toContain(`>${z.name}</text>`);
    expect(svg).toMatch(/data-zone="san-thang" data-level="4"[^>]*>.*?>Cấp IV</);
    expect(svg).toMatch(/data-zone="quyet-thang" data-level="1"[^>]*>.*?>Cấp I</);
    expect(svg).toMatch(/data-zone="tan-phong" data-level=""[^>]*>.*?>Cấp –</);
    expect(svg.match(/class="node" data-node=/g)).toHaveLength(SITE.nodes.length);
    expect(svg).toContain('data-incident="fire-x" data-state="suspected"');
    expect(renderMapSvg(geo, view, { lang: 'en' })).toContain('>Level IV<');
    const withProvisional = buildBoardView(SITE, inputs({ official: new Map([['san-thang', danger('san-thang', '2026-03-20', 4, 6000)]]), provisional: new Map([['san-thang', danger('san-thang', '2026-03-21', 5, 10100, false, '2026-03-20T15:00:00+07:00')]]) }), now);
    expect(renderMapSvg(geo, withProvisional, { lang: 'vi' }), 'the provisional level is written under the official one').toMatch(/data-zone="san-thang" data-level="4".*?>Cấp IV<.*?class="zone-provisional"[^>]*>Tạm tính V</);
  });

  it('the bulletin map has zones only, coloured by the levels it is given', () => {
    const svg = renderMapSvg(geo, view, { lang: 'vi', live: false, levels: new Map([['tan-phong', 3]]) });
    expect(svg).not.toContain('class="node"');
    expect(svg).not.toContain('class="fire"');
    expect(svg).toMatch(/data-zone="tan-phong" data-level="3"/);
    expect(renderLegend('vi', false)).toContain('cực kỳ nguy hiểm');
  });
});
