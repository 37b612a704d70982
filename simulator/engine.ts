// Scenario engine (pure): turns a scenario and a set of nodes into the messages nodes would send,
// in delivery order, with the scenario clock. No I/O: file writers and MQTT emulators consume it.
import type { Reading } from '../contracts/payloads.ts';
import type { Site, SensorNode } from '../contracts/site.ts';
import { Prng } from './prng.ts';
import { resolveEventTime, type FaultEvent, type Scenario } from './scenario.ts';
import { offsetPoint, plumeAt, type SmokeSource } from './smoke-plume.ts';
import { localDayOf, localHourOf, saturationVapourPressureHpa, SiteWeather, type DayRegime } from './weather.ts';

export interface SimulatedNode {
  id: string;
  lat: number;
  lon: number;
  elevationM: number;
  intervalMs: number;
  sensors: readonly SensorNode['sensors'][number][];
}

export type SimMessage =
  | { kind: 'reading'; atMs: number; nodeId: string; reading: Reading }
  /** The node's link goes down (the broker then publishes its will) or comes back. */
  | { kind: 'link'; atMs: number; nodeId: string; up: boolean; reason: string };

/** Raw value of a 12-bit ADC smoke channel saturates here. */
export const SMOKE_SENSOR_MAX = 4095;
/** Default source strengths (see smoke-plume.ts for the calibration). */
const FIRE_STRENGTH = 500_000;
const BURN_STRENGTH = 150_000;
const RAIN_GAUGE_TIP_MM = 0.2;
/** The node is burnt when the fire front is this close. */
const NODE_DESTROYED_WITHIN_M = 3;

export function siteNodeToSimulated(node: SensorNode): SimulatedNode {
  return { id: node.id, lat: node.lat, lon: node.lon, elevationM: node.elevationM, intervalMs: node.reportingIntervalS * 1000, sensors: node.sensors };
}

/** The site nodes a scenario asks for (all by default), in site-file order. */
export function scenarioNodes(scenario: Scenario, site: Site): SimulatedNode[] {
  const ids = scenario.nodes?.ids;
  const zones = scenario.nodes?.zones;
  const known = new Set(site.nodes.map((n) => n.id));
  for (const id of ids ?? []) if (!known.has(id)) throw new Error(`scenario ${scenario.name}: unknown node ${id}`);
  return site.nodes.filter((n) => (!ids && !zones) || ids?.includes(n.id) || zones?.includes(n.zone)).map(siteNodeToSimulated);
}

/** Checks the node ids named by events exist among the simulated nodes. */
export function checkScenarioAgainstNodes(scenario: Scenario, nodes: readonly SimulatedNode[]): void {
  const ids = new Set(nodes.map((n) => n.id));
  scenario.events.forEach((e, i) => {
    const named = 'node' in e ? e.node : e.near;
    if (named !== undefined && !ids.has(named)) throw new Error(`scenario ${scenario.name}: events[${i}] names node ${named}, which is not simulated`);
    if (!('node' in e) && e.near === undefined && (e.lat === undefined || e.lon === undefined)) {
      throw new Error(`scenario ${scenario.name}: events[${i}] needs near: <node> or lat and lon`);
    }
  });
}

export function smokeSources(scenario: Scenario, nodes: readonly SimulatedNode[]): SmokeSource[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const sources: SmokeSource[] = [];
  for (const e of scenario.events) {
    if (e.type !== 'fire' && e.type !== 'burn') continue;
    const anchor = e.near !== undefined ? byId.get(e.near) : undefined;
    const origin = anchor ? offsetPoint(anchor.lat, anchor.lon, e.offsetM, e.bearingDeg) : { lat: e.lat ?? 0, lon: e.lon ?? 0 };
    const startMs = resolveEventTime(scenario, e.at);
    sources.push({
      kind: e.type,
      startMs,
      endMs: startMs + e.duration,
      lat: origin.lat,
      lon: origin.lon,
      strength: (e.type === 'fire' ? FIRE_STRENGTH : BURN_STRENGTH) * e.intensity,
      spreadMPerMin: e.type === 'fire' ? e.spreadMPerMin : 0,
      edgeHeatC: e.type === 'fire' ? 30 : 3,
    });
  }
  return sources;
}

export function buildWeather(scenario: Scenario, seed: number): SiteWeather {
  const dayRegimes = new Map<number, DayRegime>(scenario.weather.days.map((d) => [d.day, d.regime]));
  return new SiteWeather({
    seed,
    startMs: scenario.start,
    endMs: scenario.start + scenario.duration,
    mode: scenario.weather.mode,
    dayRegimes,
    ...(scenario.weather.windFromDeg !== undefined ? { windFromDeg: scenario.weather.windFromDeg } : {}),
  });
}

const round = (v: number, decimals: number) => {
  const f = 10 ** decimals;
  return Math.round(v * f) / f;
};

interface Window {
  fromMs: number;
  toMs: number;
}
type ResolvedFault = FaultEvent & Window;

interface TimelineEntry {
  atMs: number;
  up: boolean;
  reason: string;
  /** Brown-out: the node stays down. */
  final?: boolean;
}

/** One node's messages in delivery order. */
class NodeSimulator {
  private seq = 0;
  private obsIndex = 0;
  private nextObsMs: number;
  private readonly pending: SimMessage[] = [];
  private readonly timeline: TimelineEntry[] = [];
  private dead = false;
  private lastAtMs = -Infinity;
  private previousObsMs: number;
  private rainRemainderMm = 0;
  private readonly rainFactorByDay = new Map<number, number>();
  private smokeDrift = 0;
  private burstCount = 0;
  private readonly stuckValues = new Map<string, number>();
  private readonly noise: Prng;
  private readonly faultRng: Prng;
  // Fixed per-node character.
  private readonly phaseMs: number;
  private readonly tempBiasC: number;
  private readonly rhBiasPct: number;
  private readonly smokeBaseline: number;
  private readonly windExposure: number;
  private readonly rssiMean: number;

  constructor(
    readonly node: SimulatedNode,
    private readonly seed: number,
    private readonly weather: SiteWeather,
    private readonly sources: readonly SmokeSource[],
    private readonly faults: readonly ResolvedFault[],
    private readonly startMs: number,
    private readonly endMs: number,
  ) {
    const character = Prng.derive(seed, 'node', node.id);
    this.phaseMs = character.int(0, node.intervalMs - 1);
    this.tempBiasC = character.normal(0, 0.4);
    this.rhBiasPct = character.normal(0, 2);
    this.smokeBaseline = character.uniform(180, 320);
    this.windExposure = character.uniform(0.6, 1.2);
    this.rssiMean = character.uniform(-105, -70);
    this.noise = Prng.derive(seed, 'noise', node.id);
    this.faultRng = Prng.derive(seed, 'faults', node.id);
    this.nextObsMs = startMs + this.phaseMs;
    this.previousObsMs = this.nextObsMs - node.intervalMs;
    for (const f of faults) {
      if (f.type === 'offline' || f.type === 'power-off') {
        this.timeline.push({ atMs: f.fromMs, up: false, reason: f.type === 'offline' ? 'link lost' : 'power off' });
        this.timeline.push({ atMs: f.toMs, up: true, reason: f.type === 'offline' ? 'link restored' : 'power restored' });
      } else if (f.type === 'battery-drain') {
        this.timeline.push({ atMs: f.toMs, up: false, reason: 'battery brown-out', final: true });
      }
    }
    this.timeline.sort((a, b) => a.atMs - b.atMs);
  }

  private active<T extends FaultEvent['type']>(type: T, ms: number): Extract<ResolvedFault, { type: T }> | undefined {
    return this.faults.find((f): f is Extract<ResolvedFault, { type: T }> => f.type === type && ms >= f.fromMs && ms < f.toMs);
  }

  private push(message: SimMessage): void {
    // Never deliver before something already delivered by this node.
    message.atMs = Math.max(message.atMs, this.lastAtMs);
    let i = this.pending.length;
    while (i > 0 && this.pending[i - 1]!.atMs > message.atMs) i--;
    this.pending.splice(i, 0, message);
  }

  /** Delivery time of the next message, or Infinity when the node has nothing more to say. */
  peekAtMs(): number {
    this.fill();
    return this.pending[0]?.atMs ?? Infinity;
  }

  take(): SimMessage | undefined {
    this.fill();
    const m = this.pending.shift();
    if (m) this.lastAtMs = m.atMs;
    return m;
  }

  private fill(): void {
    while (!this.dead) {
      const obsMs = this.nextObsMs < this.endMs ? this.nextObsMs : Infinity;
      const entry = this.timeline[0];
      const entryMs = entry && entry.atMs < this.endMs ? entry.atMs : Infinity;
      const next = Math.min(obsMs, entryMs);
      if (next === Infinity) return;
      if (this.pending.length > 0 && this.pending[0]!.atMs <= next) return;
      if (entry && entryMs <= obsMs) {
        this.timeline.shift();
        this.push({ kind: 'link', atMs: entry.atMs, nodeId: this.node.id, up: entry.up, reason: entry.reason });
        if (entry.final) this.dead = true;
        continue;
      }
      this.observe(obsMs);
      this.obsIndex++;
      // Timers drift a little around the nominal interval.
      this.nextObsMs = this.startMs + this.phaseMs + this.obsIndex * this.node.intervalMs + Math.round(this.noise.normal(0, 150));
    }
  }

  private rainFactor(localDay: number): number {
    let f = this.rainFactorByDay.get(localDay);
    if (f === undefined) {
      f = Prng.derive(this.seed, 'rain-factor', this.node.id, localDay).uniform(0.85, 1.2);
      this.rainFactorByDay.set(localDay, f);
    }
    return f;
  }

  private observe(obsMs: number): void {
    // Draw every random number up front, in a fixed order, so faults never shift the noise streams.
    const n = this.noise;
    const tNoise = n.normal(0, 0.15);
    const rhNoise = n.normal(0, 1.2);
    const smokeNoise = n.normal(0, 0.015);
    const driftStep = n.normal(0, 0.0005);
    const windNoise = n.normal(0, 0.25);
    const batteryNoise = n.normal(0, 0.01);
    const rssiNoise = n.normal(0, 2);
    const deliveryDraw = this.faultRng.next();
    const duplicateDelayMs = this.faultRng.int(1000, 5000);

    const since = this.previousObsMs;
    this.previousObsMs = obsMs;
    if (this.active('power-off', obsMs)) return;

    const air = this.weather.at(obsMs, this.node.elevationM);
    let heatC = 0;
    let plumeSmoke = 0;
    let nearestFrontM = Infinity;
    for (const source of this.sources) {
      const effect = plumeAt(source, obsMs, this.node.lat, this.node.lon, air);
      heatC += effect.heatC;
      plumeSmoke += effect.smoke;
      if (source.kind === 'fire') nearestFrontM = Math.min(nearestFrontM, effect.frontDistanceM);
    }
    if (nearestFrontM <= NODE_DESTROYED_WITHIN_M) {
      this.push({ kind: 'link', atMs: obsMs, nodeId: this.node.id, up: false, reason: 'burnt by the fire' });
      this.dead = true;
      return;
    }

    const airT = air.temperatureC + this.tempBiasC;
    // Heating the same air lowers its relative humidity (vapour pressure unchanged).
    const vapour = ((air.humidityPct + this.rhBiasPct) / 100) * saturationVapourPressureHpa(airT);
    let temperatureC = airT + heatC + tNoise;
    let humidityPct = (100 * vapour) / saturationVapourPressureHpa(airT + heatC) + rhNoise;
    humidityPct = Math.min(100, Math.max(0, humidityPct));

    this.smokeDrift = 0.9999 * this.smokeDrift + driftStep;
    const cleanAir = this.smokeBaseline * (1 + this.smokeDrift + 0.001 * (humidityPct - 60) + smokeNoise);
    let smoke = Math.min(SMOKE_SENSOR_MAX, Math.max(0, Math.round(cleanAir + plumeSmoke)));

    const stuck = this.active('stuck', obsMs);
    if (stuck) {
      const current = stuck.sensor === 'temperature' ? temperatureC : stuck.sensor === 'humidity' ? humidityPct : smoke;
      const frozen = this.stuckValues.get(stuck.sensor) ?? current;
      this.stuckValues.set(stuck.sensor, frozen);
      if (stuck.sensor === 'temperature') temperatureC = frozen;
      else if (stuck.sensor === 'humidity') humidityPct = frozen;
      else smoke = frozen;
    }

    const reading: Reading = {
      nodeId: this.node.id,
      seq: this.seq++,
      ts: new Date(obsMs + (this.active('clock-skew', obsMs)?.skewS ?? 0) * 1000).toISOString(),
      temperatureC: round(Math.min(125, Math.max(-40, temperatureC)), 2),
      humidityPct: round(humidityPct, 1),
      smoke,
    };
    const sensors = this.node.sensors;
    if (sensors.includes('rain')) {
      const fell = this.weather.rainBetween(since, obsMs) * this.rainFactor(localDayOf(obsMs)) + this.rainRemainderMm;
      const tips = Math.floor(fell / RAIN_GAUGE_TIP_MM + 1e-9);
      this.rainRemainderMm = fell - tips * RAIN_GAUGE_TIP_MM;
      reading.rainMm = round(tips * RAIN_GAUGE_TIP_MM, 1);
    }
    if (sensors.includes('wind')) reading.windMs = round(Math.max(0, air.windMs * this.windExposure * (1 + windNoise)), 1);
    if (sensors.includes('battery')) {
      // Solar top-up in the afternoon; a draining battery sags linearly to brown-out.
      const hour = localHourOf(obsMs);
      let volts = 3.85 + 0.2 * Math.max(0, Math.sin((Math.PI * (hour - 7)) / 12)) + batteryNoise;
      const drain = this.active('battery-drain', obsMs);
      if (drain) volts = volts - (volts - drain.brownOutV) * ((obsMs - drain.fromMs) / (drain.toMs - drain.fromMs));
      reading.batteryV = round(volts, 2);
    }
    if (sensors.includes('rssi')) reading.rssiDbm = Math.round(Math.min(-30, this.rssiMean + rssiNoise));

    const offline = this.active('offline', obsMs);
    if (offline) {
      // Store-and-forward: the node keeps its readings and sends them in one burst on reconnect.
      if (offline.buffered) this.push({ kind: 'reading', atMs: offline.toMs + 1 + this.burstCount++ * 20, nodeId: this.node.id, reading });
      return;
    }
    this.burstCount = 0;
    const outOfOrder = this.active('out-of-order', obsMs);
    const late = outOfOrder !== undefined && deliveryDraw < outOfOrder.probability;
    // A late message overtakes nothing: it arrives just after the next reading.
    const atMs = late ? obsMs + this.node.intervalMs + 500 : obsMs;
    this.push({ kind: 'reading', atMs, nodeId: this.node.id, reading });
    const duplicates = this.active('duplicates', obsMs);
    if (duplicates && deliveryDraw < duplicates.probability) {
      // The gateway missed the ack and sent the same reading again.
      this.push({ kind: 'reading', atMs: atMs + duplicateDelayMs, nodeId: this.node.id, reading: { ...reading } });
    }
  }
}

/** Binary min-heap of node simulators keyed on (next delivery time, node index). */
class SimulatorHeap {
  private readonly items: { sim: NodeSimulator; index: number; atMs: number }[] = [];

  push(sim: NodeSimulator, index: number): void {
    const atMs = sim.peekAtMs();
    if (atMs === Infinity) return;
    this.items.push({ sim, index, atMs });
    this.up(this.items.length - 1);
  }

  pop(): { sim: NodeSimulator; index: number } | undefined {
    const top = this.items[0];
    if (!top) return undefined;
    const last = this.items.pop()!;
    if (this.items.length > 0) {
      this.items[0] = last;
      this.down(0);
    }
    return top;
  }

  private less(a: number, b: number): boolean {
    const x = this.items[a]!;
    const y = this.items[b]!;
    return x.atMs < y.atMs || (x.atMs === y.atMs && x.index < y.index);
  }

  private swap(a: number, b: number): void {
    const t = this.items[a]!;
    this.items[a] = this.items[b]!;
    this.items[b] = t;
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < this.items.length && this.less(l, smallest)) smallest = l;
      if (r < this.items.length && this.less(r, smallest)) smallest = r;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }
}

export interface SimulationRun {
  /** Messages in delivery order (ties by node order), lazily generated. */
  messages: Iterable<SimMessage>;
  /** Readings expected without faults, for a progress bar. */
  expectedReadings: number;
  weather: SiteWeather;
  sources: SmokeSource[];
  startMs: number;
  endMs: number;
}

/** Plans a scenario run over the given nodes. Same scenario, nodes and seed → same messages. */
export function simulate(scenario: Scenario, nodes: readonly SimulatedNode[], seed: number = scenario.seed): SimulationRun {
  checkScenarioAgainstNodes(scenario, nodes);
  const startMs = scenario.start;
  const endMs = startMs + scenario.duration;
  const weather = buildWeather(scenario, seed);
  const sources = smokeSources(scenario, nodes);
  const faults: ResolvedFault[] = scenario.events.flatMap((e) => {
    if (e.type === 'fire' || e.type === 'burn') return [];
    const fromMs = resolveEventTime(scenario, e.at);
    return [{ ...e, fromMs, toMs: fromMs + e.duration }];
  });
  const expectedReadings = nodes.reduce((sum, n) => sum + Math.ceil(scenario.duration / n.intervalMs), 0);
  const messages: Iterable<SimMessage> = {
    *[Symbol.iterator]() {
      const heap = new SimulatorHeap();
      nodes.forEach((node, index) => {
        const own = faults.filter((f) => f.node === node.id);
        heap.push(new NodeSimulator(node, seed, weather, sources, own, startMs, endMs), index);
      });
      for (let top = heap.pop(); top; top = heap.pop()) {
        const message = top.sim.take();
        if (message) yield message;
        heap.push(top.sim, top.index);
      }
    },
  };
  return { messages, expectedReadings, weather, sources, startMs, endMs };
}

/** Virtual nodes for load tests: `count` nodes around the city centre reporting `totalPerSecond` readings/s together. */
export function loadTestNodes(count: number, totalPerSecond: number): SimulatedNode[] {
  const intervalMs = Math.max(1, Math.round((count / totalPerSecond) * 1000));
  return Array.from({ length: count }, (_, i) => ({
    id: `load-${String(i + 1).padStart(5, '0')}`,
    lat: 22.3862 + ((i % 50) - 25) * 0.001,
    lon: 103.4702 + (Math.floor(i / 50) % 50 - 25) * 0.001,
    elevationM: 900 + (i % 7) * 40,
    intervalMs,
    sensors: ['temperature', 'humidity', 'smoke', 'battery', 'rssi'],
  }));
}
