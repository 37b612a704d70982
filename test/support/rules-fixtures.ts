// Helpers for the rules tests: a small site and hand-made reading streams. Not used at run time.
import { siteSchema, type Site, type SiteInput } from '../../contracts/site.ts';
import type { FireEvent } from '../../contracts/payloads.ts';
import type { EngineReading } from '../../rules/engine.ts';

export const T0 = Date.parse('2026-03-10T00:00:00+07:00');
export const MIN = 60_000;

/**
 * Three zones: a, b (one node each, rain gauge on a-1) and c with three nodes in a line 800 m
 * apart (c-1 — c-2 — c-3: c-1/c-2 and c-2/c-3 are neighbours at 1500 m, c-1/c-3 are not).
 */
export function testSite(overrides: Partial<SiteInput> = {}): Site {
  const member = (id: string) => ({ id, name: id, phone: `+84000000${String(100 + id.length).padStart(3, '0')}` });
  const base: SiteInput = {
    site: { id: 'test-site', name: 'Test', sampleData: false },
    zones: [
      { id: 'a', name: 'A', kind: 'xa', lat: 22.4, lon: 103.40 },
      { id: 'b', name: 'B', kind: 'xa', lat: 22.4, lon: 103.50 },
      { id: 'c', name: 'C', kind: 'phuong', lat: 22.3, lon: 103.45 },
    ],
    nodes: [
      { id: 'a-1', zone: 'a', lat: 22.4, lon: 103.4, elevationM: 900, sensors: ['temperature', 'humidity', 'smoke', 'rain', 'battery'] },
      { id: 'b-1', zone: 'b', lat: 22.4, lon: 103.5, elevationM: 900 },
      { id: 'c-1', zone: 'c', lat: 22.3, lon: 103.45, elevationM: 900 },
      { id: 'c-2', zone: 'c', lat: 22.3072, lon: 103.45, elevationM: 900 },
      { id: 'c-3', zone: 'c', lat: 22.3144, lon: 103.45, elevationM: 900 },
    ],
    boards: { city: { id: 'city', name: 'City', members: [member('m1')] }, communes: [] },
    teams: [],
    ...overrides,
  };
  return siteSchema.parse(base);
}

export interface Weather {
  temperatureC: number;
  humidityPct: number;
  smoke: number;
  rainMm?: number;
  batteryV?: number;
}

/** Deterministic small noise so no channel looks stuck. */
export function wiggle(k: number, amplitude: number): number {
  return amplitude * Math.sin(k * 1.7) * Math.cos(k * 0.37);
}

/** A calm reading of node `nodeId` number k at time ms. */
export function reading(nodeId: string, seq: number, ms: number, w: Partial<Weather> = {}): EngineReading {
  const r: EngineReading = {
    nodeId,
    seq,
    ts: new Date(ms).toISOString(),
    temperatureC: w.temperatureC ?? Math.round((25 + wiggle(seq, 0.3)) * 100) / 100,
    humidityPct: w.humidityPct ?? Math.round((50 + wiggle(seq + 3, 1)) * 10) / 10,
    smoke: w.smoke ?? Math.round(250 + wiggle(seq + 7, 4)),
  };
  if (w.rainMm !== undefined) r.rainMm = w.rainMm;
  if (w.batteryV !== undefined) r.batteryV = w.batteryV;
  return r;
}

/** Collects events; `kinds()` lists their kinds in order. */
export class EventLog {
  readonly events: FireEvent[] = [];
  readonly sink = (e: FireEvent): void => {
    this.events.push(e);
  };
  kinds(filter?: (e: FireEvent) => boolean): string[] {
    return this.events.filter(filter ?? (() => true)).map((e) => `${e.kind}${e.nodeId ? `:${e.nodeId}` : ''}`);
  }
  of(kind: FireEvent['kind']): FireEvent[] {
    return this.events.filter((e) => e.kind === kind);
  }
}
