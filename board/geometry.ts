// The map's geometry from the site file, with no tile server: Web Mercator coordinates for nodes, and
// for each zone either its GeoJSON boundary (site file) or an estimated area — the Voronoi cells of
// its nodes (every point nearest to one of them), each clipped to a disc around its node, so zones
// tile the forest edge without overlapping. Computed once per site on the server; the page and the
// bulletin draw it (map-svg.ts). Optional tiles only when a tile URL is configured.
import { Delaunay } from 'd3-delaunay';
import type { Site } from '../contracts/site.ts';

/** World-pixel zoom of the coordinates: 1 unit ≈ 1.1 m at the equator (≈ 1.1·cos(lat) m here). */
export const WORLD_ZOOM = 17;
const WORLD = 256 * 2 ** WORLD_ZOOM;

export type Point = [number, number];

/** Web Mercator (EPSG:3857) in world pixels at WORLD_ZOOM: the frame slippy-map tiles use. */
export function project(lon: number, lat: number): Point {
  const phi = (lat * Math.PI) / 180;
  return [((lon + 180) / 360) * WORLD, ((1 - Math.log(Math.tan(phi) + 1 / Math.cos(phi)) / Math.PI) / 2) * WORLD];
}

/** Metres per world pixel at a latitude. */
export function metresPerUnit(lat: number): number {
  return (40_075_016.686 * Math.cos((lat * Math.PI) / 180)) / WORLD;
}

export interface ZoneGeometry {
  id: string;
  /** Closed polygons (world pixels), drawn filled with the zone's level colour. */
  polygons: Point[][];
  /** Outline segments: between this zone and another, or the area's outer edge. */
  border: [Point, Point][];
  label: Point;
  /** true: area estimated from the nodes; false: the site file's boundary. */
  estimated: boolean;
}

export interface TileImage {
  href: string;
  x: number;
  y: number;
  size: number;
}

export interface MapGeometry {
  /** x, y, width, height in world pixels. */
  viewBox: [number, number, number, number];
  zones: ZoneGeometry[];
  nodes: { id: string; zone: string; x: number; y: number }[];
  /** A round distance for the scale bar and its length in world pixels. */
  scale: { metres: number; units: number };
  tiles: TileImage[];
  tileAttribution: string | null;
}

/** How far an estimated zone area reaches beyond its outermost nodes. */
export const AREA_RADIUS_M = 900;

function polygonArea(p: readonly Point[]): number {
  let a = 0;
  for (let i = 0; i < p.length; i++) {
    const [x1, y1] = p[i] as Point;
    const [x2, y2] = p[(i + 1) % p.length] as Point;
    a += x1 * y2 - x2 * y1;
  }
  return a / 2;
}

function polygonCentroid(p: readonly Point[]): { c: Point; area: number } {
  const area = polygonArea(p);
  if (Math.abs(area) < 1e-9) {
    const n = p.length || 1;
    return { c: [p.reduce((s, q) => s + q[0], 0) / n, p.reduce((s, q) => s + q[1], 0) / n], area: 0 };
  }
  let cx = 0;
  let cy = 0;
  for (let i = 0; i < p.length; i++) {
    const [x1, y1] = p[i] as Point;
    const [x2, y2] = p[(i + 1) % p.length] as Point;
    const f = x1 * y2 - x2 * y1;
    cx += (x1 + x2) * f;
    cy += (y1 + y2) * f;
  }
  return { c: [cx / (6 * area), cy / (6 * area)], area: Math.abs(area) };
}

/** Sutherland–Hodgman: `subject` clipped by the convex polygon `clip` (both counter-clockwise or both clockwise). */
export function clipConvex(subject: readonly Point[], clip: readonly Point[]): Point[] {
  const orientation = Math.sign(polygonArea(clip)) || 1;
  let out: Point[] = [...subject];
  for (let i = 0; i < clip.length && out.length > 0; i++) {
    const a = clip[i] as Point;
    const b = clip[(i + 1) % clip.length] as Point;
    const inside = (p: Point) => orientation * ((b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])) >= 0;
    const cross = (p: Point, q: Point): Point => {
      const d1 = (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]);
      const d2 = (b[0] - a[0]) * (q[1] - a[1]) - (b[1] - a[1]) * (q[0] - a[0]);
      const t = d1 / (d1 - d2);
      return [p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])];
    };
    const input = out;
    out = [];
    for (let j = 0; j < input.length; j++) {
      const p = input[j] as Point;
      const q = input[(j + 1) % input.length] as Point;
      if (inside(q)) {
        if (!inside(p)) out.push(cross(p, q));
        out.push(q);
      } else if (inside(p)) out.push(cross(p, q));
    }
  }
  return out;
}

function disc(c: Point, r: number, sides = 28): Point[] {
  return Array.from({ length: sides }, (_, i) => [c[0] + r * Math.cos((2 * Math.PI * i) / sides), c[1] + r * Math.sin((2 * Math.PI * i) / sides)] as Point);
}

function niceMetres(m: number): number {
  const p = 10 ** Math.floor(Math.log10(m));
  return [1, 2, 5, 10].map((k) => k * p).filter((v) => v <= m).pop() ?? p;
}

/** Slippy-map tiles ({z}/{x}/{y}) covering the view at a zoom that gives about `targetPx` across. */
export function tilesFor(template: string, viewBox: MapGeometry['viewBox'], targetPx = 1400): TileImage[] {
  const [x0, y0, w, h] = viewBox;
  const z = Math.max(0, Math.min(WORLD_ZOOM, WORLD_ZOOM - Math.max(0, Math.round(Math.log2(w / targetPx)))));
  const size = 256 * 2 ** (WORLD_ZOOM - z);
  const out: TileImage[] = [];
  for (let tx = Math.floor(x0 / size); tx * size < x0 + w; tx++) {
    for (let ty = Math.floor(y0 / size); ty * size < y0 + h; ty++) {
      out.push({ href: template.replace('{z}', String(z)).replace('{x}', String(tx)).replace('{y}', String(ty)), x: tx * size, y: ty * size, size });
    }
  }
  return out;
}

export function buildMapGeometry(site: Site, opts: { tileUrl?: string; tileAttribution?: string } = {}): MapGeometry {
  const lat0 = site.zones.reduce((s, z) => s + z.lat, 0) / site.zones.length;
  const radius = AREA_RADIUS_M / metresPerUnit(lat0);
  const nodes = site.nodes.map((n) => {
    const [x, y] = project(n.lon, n.lat);
    return { id: n.id, zone: n.zone, x, y };
  });

  // Sites of the Voronoi diagram: every node of a zone without a boundary, or the zone's own point when it has no node.
  const estimatedZones = site.zones.filter((z) => !z.boundary);
  const sites: { zone: string; p: Point }[] = [];
  for (const z of estimatedZones) {
    const own = nodes.filter((n) => n.zone === z.id);
    if (own.length) for (const n of own) sites.push({ zone: z.id, p: [n.x, n.y] });
    else sites.push({ zone: z.id, p: project(z.lon, z.lat) });
  }
  const all: Point[] = [...sites.map((s) => s.p), ...site.zones.flatMap((z) => (z.boundary ? (z.boundary.type === 'Polygon' ? [z.boundary.coordinates] : z.boundary.coordinates).flat(2).map(([lon, lat]) => project(lon, lat)) : []))];
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const bounds: [number, number, number, number] = [Math.min(...xs) - 2 * radius, Math.min(...ys) - 2 * radius, Math.max(...xs) + 2 * radius, Math.max(...ys) + 2 * radius];

  const cells = new Map<string, Point[][]>();
  const border = new Map<string, [Point, Point][]>();
  if (sites.length > 0) {
    const delaunay = Delaunay.from(sites.map((s) => s.p));
    const voronoi = delaunay.voronoi(bounds);
    sites.forEach((s, i) => {
      const raw = voronoi.cellPolygon(i);
      if (!raw) return;
      const cell = clipConvex(raw.slice(0, -1) as Point[], disc(s.p, radius));
      if (cell.length < 3) return;
      cells.set(s.zone, [...(cells.get(s.zone) ?? []), cell]);
      // An edge is a border unless it is shared with a cell of the same zone: its midpoint is then as
      // far from that other cell's node as from this one (it lies on their bisector).
      const segs = border.get(s.zone) ?? [];
      for (let k = 0; k < cell.length; k++) {
        const a = cell[k] as Point;
        const b = cell[(k + 1) % cell.length] as Point;
        const m: Point = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
        const own = Math.hypot(m[0] - s.p[0], m[1] - s.p[1]);
        let nearest = -1;
        let best = Infinity;
        sites.forEach((o, j) => {
          if (j === i) return;
          const d = Math.hypot(m[0] - o.p[0], m[1] - o.p[1]);
          if (d < best) {
            best = d;
            nearest = j;
          }
        });
        const shared = nearest >= 0 && Math.abs(best - own) < 1e-6 * Math.max(1, own);
        if (!shared || sites[nearest]?.zone !== s.zone) segs.push([a, b]);
      }
      border.set(s.zone, segs);
    });
  }

  const zones: ZoneGeometry[] = site.zones.map((z) => {
    if (z.boundary) {
      const polys = (z.boundary.type === 'Polygon' ? [z.boundary.coordinates] : z.boundary.coordinates).flatMap((rings) => rings.map((ring) => ring.slice(0, -1).map(([lon, lat]) => project(lon, lat))));
      const segs = polys.flatMap((p) => p.map((a, k) => [a, p[(k + 1) % p.length] as Point] as [Point, Point]));
      const outer = (z.boundary.type === 'Polygon' ? [z.boundary.coordinates[0]] : z.boundary.coordinates.map((r) => r[0])).map((ring) => (ring ?? []).slice(0, -1).map(([lon, lat]) => project(lon, lat)));
      return { id: z.id, polygons: polys, border: segs, label: weightedCentroid(outer), estimated: false };
    }
    const polys = cells.get(z.id) ?? [];
    return { id: z.id, polygons: polys, border: border.get(z.id) ?? [], label: polys.length ? weightedCentroid(polys) : project(z.lon, z.lat), estimated: true };
  });

  const allPoints = [...zones.flatMap((z) => z.polygons.flat()), ...nodes.map((n) => [n.x, n.y] as Point)];
  const pad = radius * 0.25;
  const minX = Math.min(...allPoints.map((p) => p[0])) - pad;
  const minY = Math.min(...allPoints.map((p) => p[1])) - pad;
  const viewBox: MapGeometry['viewBox'] = [minX, minY, Math.max(...allPoints.map((p) => p[0])) + pad - minX, Math.max(...allPoints.map((p) => p[1])) + pad - minY];
  const metres = niceMetres((viewBox[2] * metresPerUnit(lat0)) / 5);
  return {
    viewBox,
    zones,
    nodes,
    scale: { metres, units: metres / metresPerUnit(lat0) },
    tiles: opts.tileUrl ? tilesFor(opts.tileUrl, viewBox) : [],
    tileAttribution: opts.tileUrl ? (opts.tileAttribution ?? null) : null,
  };
}

function weightedCentroid(polys: readonly Point[][]): Point {
  let x = 0;
  let y = 0;
  let total = 0;
  for (const p of polys) {
    const { c, area } = polygonCentroid(p);
    const w = area || 1e-9;
    x += c[0] * w;
    y += c[1] * w;
    total += w;
  }
  return total > 0 ? [x / total, y / total] : [0, 0];
}
