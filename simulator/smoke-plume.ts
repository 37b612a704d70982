// Smoke and heat from a fire or an open burn, seen by a node (pure). A ground-level Gaussian plume
// carried downwind, with travel delay x/u, a source that grows as the burnt area grows, and a
// fire front that creeps downwind. Calibrated so the node ~100 m from an ignition sees a clear
// smoke rise within minutes while a node ~1 km downwind sees a weaker one later.

export interface SmokeSource {
  kind: 'fire' | 'burn';
  startMs: number;
  /** When it is put out (smoke then clears over minutes). */
  endMs: number;
  lat: number;
  lon: number;
  /** Source strength, in sensor units·m², reached 15 min after ignition (fire) or throughout (burn). */
  strength: number;
  /** Downwind spread of the fire front. */
  spreadMPerMin: number;
  /** Peak heating (°C) right at the burning edge. */
  edgeHeatC: number;
}

export interface Wind {
  windMs: number;
  windFromDeg: number;
}

export interface PlumeEffect {
  /** Added to the raw smoke reading. */
  smoke: number;
  /** Added to the air temperature. */
  heatC: number;
  /** Distance from the node to the burnt area, m. */
  frontDistanceM: number;
}

const M_PER_DEG_LAT = 110_540;
const M_PER_DEG_LON_EQUATOR = 111_320;
const FIRE_GROWTH_CAP_MIN = 180;
const CLEAR_TIME_CONSTANT_MIN = 8;

/** East/north offset in metres of (lat, lon) from (lat0, lon0). */
export function localOffsetM(lat0: number, lon0: number, lat: number, lon: number): { east: number; north: number } {
  return {
    east: (lon - lon0) * M_PER_DEG_LON_EQUATOR * Math.cos((lat0 * Math.PI) / 180),
    north: (lat - lat0) * M_PER_DEG_LAT,
  };
}

/** The point `distanceM` from (lat, lon) towards `bearingDeg` (0 = north, 90 = east). */
export function offsetPoint(lat: number, lon: number, distanceM: number, bearingDeg: number): { lat: number; lon: number } {
  const b = (bearingDeg * Math.PI) / 180;
  return {
    lat: lat + (distanceM * Math.cos(b)) / M_PER_DEG_LAT,
    lon: lon + (distanceM * Math.sin(b)) / (M_PER_DEG_LON_EQUATOR * Math.cos((lat * Math.PI) / 180)),
  };
}

/** Source strength `ageMin` minutes after ignition (before any travel delay). */
export function sourceStrength(source: SmokeSource, ageMin: number): number {
  if (ageMin <= 0) return 0;
  const burningMin = (source.endMs - source.startMs) / 60_000;
  const at = (m: number) => {
    if (source.kind === 'burn') return source.strength * Math.min(1, m / 3);
    // Burnt area, and so smoke, grows ~ t² until crews or fuel stop it.
    const capped = Math.min(m, FIRE_GROWTH_CAP_MIN);
    return source.strength * (capped / 15) ** 2;
  };
  if (ageMin <= burningMin) return at(ageMin);
  return at(burningMin) * Math.exp(-(ageMin - burningMin) / CLEAR_TIME_CONSTANT_MIN);
}

/** Smoke and heat at a node at `ms`. Zero before ignition and for nodes well upwind. */
export function plumeAt(source: SmokeSource, ms: number, nodeLat: number, nodeLon: number, wind: Wind): PlumeEffect {
  const ageMin = (ms - source.startMs) / 60_000;
  const { east, north } = localOffsetM(source.lat, source.lon, nodeLat, nodeLon);
  const toward = (((wind.windFromDeg + 180) % 360) * Math.PI) / 180;
  const ux = Math.sin(toward);
  const uy = Math.cos(toward);
  const x = east * ux + north * uy; // downwind distance
  const y = -east * uy + north * ux; // crosswind distance

  // Fire front: a segment from the ignition point growing downwind while the fire burns.
  const burningMin = Math.max(0, Math.min(ageMin, (source.endMs - source.startMs) / 60_000));
  const frontLength = source.spreadMPerMin * burningMin;
  const along = Math.min(Math.max(x, 0), frontLength);
  const frontDistanceM = ageMin <= 0 ? Infinity : Math.hypot(x - along, y);

  if (ageMin <= 0) return { smoke: 0, heatC: 0, frontDistanceM };
  const u = Math.max(wind.windMs, 0.5);
  const travelMin = Math.max(x, 0) / u / 60;
  const q = sourceStrength(source, ageMin - travelMin);
  const xe = Math.max(x, 0) + 10;
  const sigmaY = 0.2 * xe + 20;
  const sigmaZ = 0.12 * xe + 10;
  const upwind = x < 0 ? Math.exp(x / 30) : 1;
  const smoke = (q * Math.exp(-(y * y) / (2 * sigmaY * sigmaY)) * upwind) / (sigmaY * sigmaZ);

  // Radiant/convective heat near the burning edge, plus warm smoke further away.
  const edgeRamp = source.kind === 'fire' ? Math.min(1, ageMin / 20) : Math.min(1, ageMin / 3);
  const stillBurning = ms <= source.endMs ? 1 : Math.exp(-(ms - source.endMs) / 60_000 / CLEAR_TIME_CONSTANT_MIN);
  const heatC = source.edgeHeatC * edgeRamp * stillBurning * Math.exp(-frontDistanceM / 40) + 0.0008 * smoke;
  return { smoke, heatC, frontDistanceM };
}
