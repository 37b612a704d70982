// Fire detection from ground nodes: a deterministic state machine per node plus incidents that
// group the nodes seeing one fire. Pure: time comes in with each reading, events go to a sink.
//
// Per node (readings from healthy nodes only, in observation order):
//  - smoke against the node's own baseline: an EWMA of clean-air readings (frozen while the node
//    is anomalous or suspected) and its mean absolute deviation; anomalous when the excess over
//    the baseline exceeds max(rel·baseline, k·deviation, abs);
//  - heat: an EWMA-smoothed temperature; rate of rise ≥ 6.7 °C/min or a fixed ceiling ≥ 57 °C;
//  - humidity drop below the node's humidity baseline.
//  A reading is anomalous on smoke, or on heat and humidity drop together (two independent
//  channels, so one faulty channel cannot start a fire alarm on its own).
//  Suspected: suspectCount of the last suspectWindow readings anomalous.
// Incidents (one fire = one incident = one stable id):
//  - a node that becomes suspected joins an active incident that has a member within
//    plumeJoinDistanceM (smoke drifts downwind), else it opens a new incident (fire-suspected);
//  - confirmed (fire-confirmed) by persistence — a member suspected for confirmAfterS with at
//    least confirmFraction of its readings anomalous and still anomalous — or by a neighbour:
//    two healthy suspected members within neighbourDistanceM of each other;
//  - a member returns to normal after clearAfterS without an anomalous reading; the incident is
//    cleared (fire-cleared) when no member is suspected any more;
//  - when no healthy member has reported an anomaly for staleAfterS (the nodes near the fire burnt
//    or went silent), nobody knows whether the fire is out: fire-signal-lost, never fire-cleared.
//    The incident stays open (a member that reports again continues it) until reopenWithinS more
//    have passed without news;
//  - a fire that re-appears near a cleared (or given-up) incident within reopenWithinS continues
//    that incident: same id, announced again as it last stood (suspected, or confirmed).
// Event ids are `<incident>-suspected|confirmed|cleared|signal-lost` (with `-r<n>` once re-opened
// n times, and `-<k>` for the k-th signal loss of one opening), the incident id being built from
// the origin node and the time of its first anomalous reading: replaying the same readings gives
// the same ids, and an active fire is never announced twice.
import type { DetectionConfig } from './config.ts';
import { makeEvent, stableId, type EventSink } from './events.ts';
import { idStamp, isoUtc } from './time.ts';

export interface DetectNode {
  id: string;
  zone: string;
  lat: number;
  lon: number;
  intervalMs: number;
}

export interface NodeDetectState {
  /** Readings seen (baseline warm-up counter, capped at warmupReadings). */
  n: number;
  smokeBase: number;
  smokeDev: number;
  rhBase: number;
  tSmooth: number;
  ror: number;
  lastTs: number;
  /** Anomaly flags of the last readings, bit 0 = latest. */
  hist: number;
  /** First anomalous reading of the current episode (NaN when calm). */
  episodeStart: number;
  suspected: boolean;
  suspectedAt: number;
  lastAnomaly: number;
  nSince: number;
  nAnomSince: number;
  incident: string | null;
}

export interface Incident {
  id: string;
  zone: string;
  origin: string;
  /** Every node that has been part of the incident (indices into the detector's nodes). */
  members: number[];
  firstAnomaly: number;
  suspectedAt: number;
  confirmedAt: number | null;
  confirmedBy: 'persistence' | 'neighbour' | null;
  lastAnomaly: number;
  /** When the signal was declared lost (no anomaly from a healthy member for staleAfterS); null while there is news. */
  signalLostAt?: number | null;
  /** Signal losses in the current opening (event ids of the second and later carry the count). */
  signalLosses?: number;
  /** Times the incident was re-opened after a clear (event ids carry `-r<n>`). */
  reopened?: number;
}

/** A cleared (or given-up) incident, kept reopenWithinS so that a re-appearing fire continues it. */
export interface ClosedIncident extends Incident {
  closedAt: number;
}

export interface DetectorState {
  nodes: NodeDetectState[];
  incidents: Incident[];
  /** Recently closed incidents (absent in states saved before re-opening existed). */
  closed?: ClosedIncident[];
}

export function newNodeDetect(): NodeDetectState {
  return {
    n: 0,
    smokeBase: 0,
    smokeDev: 0,
    rhBase: 0,
    tSmooth: NaN,
    ror: 0,
    lastTs: -Infinity,
    hist: 0,
    episodeStart: NaN,
    suspected: false,
    suspectedAt: 0,
    lastAnomaly: -Infinity,
    nSince: 0,
    nAnomSince: 0,
    incident: null,
  };
}

const EARTH_RADIUS_M = 6_371_000;

/** Great-circle distance, metres. */
export function distanceM(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const x = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(x)));
}

function popcount(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** 1 − e^(−x); the series for the usual small x (|error| < 1e-10 below 0.01) saves an exp per reading. */
function ewmaWeight(x: number): number {
  return x < 0.01 ? x * (1 - x * (0.5 - x / 6)) : 1 - Math.exp(-x);
}

const round = (v: number, d = 2) => Math.round(v * 10 ** d) / 10 ** d;

export class FireDetector {
  readonly nodes: readonly DetectNode[];
  private readonly cfg: DetectionConfig;
  private readonly state: NodeDetectState[];
  /** Active incidents in creation order. */
  private incidents: Incident[];
  /** Closed within the last reopenWithinS, oldest first. */
  private closed: ClosedIncident[];
  /** neighbours[i][j] = 1 within neighbourDistanceM, 2 within plumeJoinDistanceM only. */
  private readonly neighbours: Uint8Array[];
  private readonly histMask: number;
  private readonly sign: number;

  constructor(
    nodes: readonly DetectNode[],
    cfg: DetectionConfig,
    /** Whether node i is healthy now (online, no excluding fault). */
    private readonly isHealthy: (i: number) => boolean,
    state?: DetectorState,
  ) {
    this.nodes = nodes;
    this.cfg = cfg;
    this.state = state ? state.nodes.map((s) => ({ ...s })) : nodes.map(() => newNodeDetect());
    if (this.state.length !== nodes.length) throw new Error(`detector state has ${this.state.length} nodes, the site ${nodes.length}`);
    this.incidents = state ? state.incidents.map((i) => ({ ...i, members: [...i.members] })) : [];
    this.closed = state?.closed ? state.closed.map((i) => ({ ...i, members: [...i.members] })) : [];
    this.neighbours = nodes.map((a, i) => {
      const near = new Uint8Array(nodes.length);
      nodes.forEach((b, j) => {
        if (i === j) return;
        const d = distanceM(a, b);
        if (d <= cfg.neighbourDistanceM) near[j] = 1;
        else if (d <= cfg.plumeJoinDistanceM) near[j] = 2;
      });
      return near;
    });
    this.histMask = cfg.suspectWindow >= 31 ? 0x7fffffff : (1 << cfg.suspectWindow) - 1;
    this.sign = cfg.smokeDirection === 'up' ? 1 : -1;
  }

  /** Plain-data snapshot (JSON-safe) to persist and restore with the constructor. */
  snapshot(): DetectorState {
    return {
      nodes: this.state.map((s) => ({ ...s })),
      incidents: this.incidents.map((i) => ({ ...i, members: [...i.members] })),
      closed: this.closed.map((i) => ({ ...i, members: [...i.members] })),
    };
  }

  nodeState(i: number): Readonly<NodeDetectState> {
    return this.state[i]!;
  }

  activeIncidents(): readonly Readonly<Incident>[] {
    return this.incidents;
  }

  isNeighbour(i: number, j: number): boolean {
    return this.neighbours[i]![j] === 1;
  }

  /** Moves every time back by deltaMs (the pipeline's clock was set back; see RulesEngine.rebase). */
  shift(deltaMs: number): void {
    for (const st of this.state) {
      st.lastTs -= deltaMs;
      st.suspectedAt -= deltaMs;
      st.lastAnomaly -= deltaMs;
      st.episodeStart -= deltaMs;
    }
    for (const inc of [...this.incidents, ...this.closed]) {
      inc.firstAnomaly -= deltaMs;
      inc.suspectedAt -= deltaMs;
      inc.lastAnomaly -= deltaMs;
      if (inc.confirmedAt !== null) inc.confirmedAt -= deltaMs;
      if (inc.signalLostAt !== undefined && inc.signalLostAt !== null) inc.signalLostAt -= deltaMs;
    }
    for (const c of this.closed) c.closedAt -= deltaMs;
  }

  /** Whether node i is currently part of a suspected/confirmed fire (its weather is not representative). */
  isSuspected(i: number): boolean {
    return this.state[i]!.suspected;
  }

  /**
   * One reading of node i, from a healthy node, newer than the node's previous reading.
   * Returns true when the reading was anomalous.
   */
  onReading(i: number, ts: number, temperatureC: number, humidityPct: number, smoke: number, emit: EventSink): boolean {
    const st = this.state[i]!;
    const cfg = this.cfg;
    const node = this.nodes[i]!;
    const dt = ts - st.lastTs;
    // Heat: smoothed temperature and its rate of rise (°C/min); a long gap restarts the series.
    if (!(dt <= cfg.maxGapIntervals * node.intervalMs) || Number.isNaN(st.tSmooth)) {
      st.tSmooth = temperatureC;
      st.ror = 0;
    } else {
      const prev = st.tSmooth;
      st.tSmooth = prev + cfg.heatSmoothing * (temperatureC - prev);
      st.ror = dt > 0 ? ((st.tSmooth - prev) * 60_000) / dt : 0;
    }
    st.lastTs = ts;

    // Baseline warm-up: running means, detection not armed yet.
    if (st.n < cfg.warmupReadings) {
      st.n++;
      st.smokeBase += (smoke - st.smokeBase) / st.n;
      st.smokeDev += (Math.abs(smoke - st.smokeBase) - st.smokeDev) / st.n;
      st.rhBase += (humidityPct - st.rhBase) / st.n;
      return false;
    }

    const excess = this.sign * (smoke - st.smokeBase);
    const threshold = Math.max(cfg.smokeRelThreshold * Math.abs(st.smokeBase), cfg.smokeDeviationK * st.smokeDev, cfg.smokeAbsThreshold);
    const smokeAnomaly = excess > threshold;
    const heat = st.tSmooth >= cfg.heatCeilingC || st.ror >= cfg.heatRateCPerMin;
    const humidityDrop = st.rhBase - humidityPct >= cfg.humidityDropPct;
    const anomalous = smokeAnomaly || (heat && humidityDrop);

    if (!anomalous && !st.suspected && dt > 0 && dt < Infinity) {
      // Clean air: the baselines follow slow drift (EWMA weight 1 − e^(−dt/τ)).
      const a = ewmaWeight(dt / (cfg.baselineTauS * 1000));
      st.smokeBase += a * (smoke - st.smokeBase);
      st.smokeDev += a * (Math.abs(smoke - st.smokeBase) - st.smokeDev);
      st.rhBase += ewmaWeight(dt / (cfg.humidityTauS * 1000)) * (humidityPct - st.rhBase);
    }

    st.hist = ((st.hist << 1) | (anomalous ? 1 : 0)) & this.histMask;
    if (anomalous) {
      if (Number.isNaN(st.episodeStart)) st.episodeStart = ts;
      st.lastAnomaly = ts;
    } else if (!st.suspected && st.hist === 0) st.episodeStart = NaN;

    if (!st.suspected) {
      if (anomalous && popcount(st.hist) >= cfg.suspectCount) this.suspect(i, ts, { smoke, temperatureC, humidityPct, smokeAnomaly, heat, humidityDrop }, emit);
      return anomalous;
    }

    st.nSince++;
    if (anomalous) st.nAnomSince++;
    const inc = st.incident === null ? undefined : this.incidents.find((x) => x.id === st.incident);
    if (inc) {
      if (anomalous && ts > inc.lastAnomaly) inc.lastAnomaly = ts;
      // News from the fire again: a later silence is a new signal loss.
      if (anomalous) inc.signalLostAt = null;
      if (
        inc.confirmedAt === null &&
        anomalous &&
        ts - st.suspectedAt >= cfg.confirmAfterS * 1000 &&
        st.nAnomSince >= cfg.confirmFraction * st.nSince &&
        popcount(st.hist) >= cfg.suspectCount
      ) {
        this.confirm(inc, i, ts, 'persistence', null, emit);
      }
    }
    if (!anomalous && ts - st.lastAnomaly >= cfg.clearAfterS * 1000) this.calm(i, ts, emit);
    return anomalous;
  }

  private suspect(i: number, ts: number, r: { smoke: number; temperatureC: number; humidityPct: number; smokeAnomaly: boolean; heat: boolean; humidityDrop: boolean }, emit: EventSink): void {
    const st = this.state[i]!;
    const node = this.nodes[i]!;
    st.suspected = true;
    st.suspectedAt = ts;
    st.nSince = 0;
    st.nAnomSince = 0;
    const firstAnomaly = Number.isNaN(st.episodeStart) ? ts : st.episodeStart;
    // An active incident with this node, or a node within plume distance, among its members is the same fire.
    let inc = this.incidents.find((x) => x.members.some((m) => m === i || this.neighbours[i]![m]! > 0));
    if (inc) {
      if (!inc.members.includes(i)) inc.members.push(i);
      if (ts > inc.lastAnomaly) inc.lastAnomaly = ts;
      inc.signalLostAt = null;
      st.incident = inc.id;
      if (inc.confirmedAt === null) {
        const partner = inc.members.find((m) => m !== i && this.neighbours[i]![m] === 1 && this.state[m]!.suspected && this.isHealthy(m));
        if (partner !== undefined) this.confirm(inc, i, ts, 'neighbour', partner, emit);
      }
      return;
    }
    const reopened = this.reopen(i, ts, emit);
    if (reopened) {
      st.incident = reopened.id;
      return;
    }
    const id = stableId('fire', node.id, idStamp(firstAnomaly));
    inc = { id, zone: node.zone, origin: node.id, members: [i], firstAnomaly, suspectedAt: ts, confirmedAt: null, confirmedBy: null, lastAnomaly: ts, signalLostAt: null, signalLosses: 0, reopened: 0 };
    this.incidents.push(inc);
    st.incident = id;
    const ratio = st.smokeBase !== 0 ? r.smoke / st.smokeBase : null;
    emit(
      makeEvent('fire-suspected', stableId(id, 'suspected'), node.zone, isoUtc(ts), {
        incidentId: id,
        firstAnomalyAt: isoUtc(firstAnomaly),
        timeToDetectS: Math.round((ts - firstAnomaly) / 1000),
        smoke: r.smoke,
        smokeBaseline: round(st.smokeBase, 3),
        smokeRatio: ratio === null ? null : round(ratio, 3),
        smokeAnomaly: r.smokeAnomaly,
        heat: r.heat,
        humidityDrop: r.humidityDrop,
        temperatureC: r.temperatureC,
        humidityPct: r.humidityPct,
      }, { nodeId: node.id }),
    );
  }

  /**
   * A node starts suspecting near an incident closed less than reopenWithinS ago: the same fire
   * again. The incident is re-opened (same id) and announced as it last stood: suspected, or — if
   * it had been confirmed — confirmed at once (people were told it was out; it is not).
   */
  private reopen(i: number, ts: number, emit: EventSink): Incident | null {
    const window = this.cfg.reopenWithinS * 1000;
    const k = this.closed.findIndex((x) => ts - x.closedAt <= window && x.members.some((m) => m === i || this.neighbours[i]![m]! > 0));
    if (k < 0) return null;
    const { closedAt, ...prev } = this.closed[k]!;
    this.closed.splice(k, 1);
    const inc: Incident = {
      ...prev,
      members: prev.members.includes(i) ? [...prev.members] : [...prev.members, i],
      suspectedAt: ts,
      lastAnomaly: ts,
      signalLostAt: null,
      signalLosses: 0,
      reopened: (prev.reopened ?? 0) + 1,
    };
    this.incidents.push(inc);
    const node = this.nodes[i]!;
    const detail = { incidentId: inc.id, reopened: inc.reopened ?? 1, previouslyClosedAt: isoUtc(closedAt), originNode: inc.origin, firstAnomalyAt: isoUtc(inc.firstAnomaly), nodes: inc.members.map((m) => this.nodes[m]!.id).join(',') };
    if (inc.confirmedAt !== null) {
      inc.confirmedAt = ts;
      emit(makeEvent('fire-confirmed', this.eventId(inc, 'confirmed'), inc.zone, isoUtc(ts), { ...detail, confirmedBy: 'reopened', corroboratingNode: null, timeToDetectS: Math.round((ts - inc.firstAnomaly) / 1000) }, { nodeId: node.id }));
    } else {
      emit(makeEvent('fire-suspected', this.eventId(inc, 'suspected'), inc.zone, isoUtc(ts), { ...detail, timeToDetectS: 0 }, { nodeId: node.id }));
    }
    return inc;
  }

  /** `<incident>-<what>`, `-r<n>` once re-opened. */
  private eventId(inc: Incident, what: string, ...more: string[]): string {
    return inc.reopened ? stableId(inc.id, what, `r${inc.reopened}`, ...more) : stableId(inc.id, what, ...more);
  }

  private confirm(inc: Incident, i: number, ts: number, by: 'persistence' | 'neighbour', partner: number | null, emit: EventSink): void {
    inc.confirmedAt = ts;
    inc.confirmedBy = by;
    const node = this.nodes[i]!;
    emit(
      makeEvent('fire-confirmed', this.eventId(inc, 'confirmed'), inc.zone, isoUtc(ts), {
        incidentId: inc.id,
        confirmedBy: by,
        corroboratingNode: partner === null ? null : this.nodes[partner]!.id,
        originNode: inc.origin,
        firstAnomalyAt: isoUtc(inc.firstAnomaly),
        timeToDetectS: Math.round((ts - inc.firstAnomaly) / 1000),
        nodes: inc.members.map((m) => this.nodes[m]!.id).join(','),
      }, { nodeId: node.id }),
    );
  }

  /** Node i is back to its baseline: it leaves its incident; the incident clears with its last member. */
  private calm(i: number, ts: number, emit: EventSink): void {
    const st = this.state[i]!;
    st.suspected = false;
    st.episodeStart = NaN;
    st.hist = 0;
    const id = st.incident;
    st.incident = null;
    const inc = this.incidents.find((x) => x.id === id);
    if (!inc) return;
    if (inc.members.some((m) => this.state[m]!.suspected)) return;
    this.closeIncident(inc, ts);
    emit(
      makeEvent('fire-cleared', this.eventId(inc, 'cleared'), inc.zone, isoUtc(ts), {
        incidentId: inc.id,
        confirmed: inc.confirmedAt !== null,
        reason: 'baseline',
        originNode: inc.origin,
        nodes: inc.members.map((m) => this.nodes[m]!.id).join(','),
        durationS: Math.round((ts - inc.firstAnomaly) / 1000),
      }, { nodeId: inc.origin }),
    );
  }

  /** Out of the active list; kept reopenWithinS so that a re-appearing fire continues it. */
  private closeIncident(inc: Incident, ts: number): void {
    this.incidents = this.incidents.filter((x) => x !== inc);
    for (const m of inc.members) {
      const s = this.state[m]!;
      if (s.incident === inc.id) {
        s.incident = null;
        s.suspected = false;
        s.episodeStart = NaN;
        s.hist = 0;
      }
    }
    this.closed.push({ ...inc, members: [...inc.members], closedAt: ts });
  }

  /**
   * Clock advance. An incident no healthy member has reported an anomaly for in staleAfterS has
   * lost its signal: nobody knows whether the fire is out (fire-signal-lost; it stays open). One
   * that stays without news for reopenWithinS more is given up silently (its alert stays open
   * for people to close). Closed incidents older than reopenWithinS are forgotten.
   */
  onTick(nowMs: number, emit: EventSink): void {
    const window = this.cfg.reopenWithinS * 1000;
    while (this.closed.length > 0 && nowMs - this.closed[0]!.closedAt > window) this.closed.shift();
    if (this.incidents.length === 0) return;
    const limit = this.cfg.staleAfterS * 1000;
    for (const inc of [...this.incidents]) {
      const lostAt = inc.signalLostAt ?? null;
      if (lostAt === null && nowMs - inc.lastAnomaly >= limit) {
        const at = inc.lastAnomaly + limit;
        inc.signalLostAt = at;
        inc.signalLosses = (inc.signalLosses ?? 0) + 1;
        const silent = inc.members.filter((m) => !this.isHealthy(m)).map((m) => this.nodes[m]!.id);
        emit(
          makeEvent('fire-signal-lost', this.eventId(inc, 'signal-lost', ...(inc.signalLosses > 1 ? [String(inc.signalLosses)] : [])), inc.zone, isoUtc(at), {
            incidentId: inc.id,
            confirmed: inc.confirmedAt !== null,
            originNode: inc.origin,
            nodes: inc.members.map((m) => this.nodes[m]!.id).join(','),
            unhealthyNodes: silent.join(','),
            lastAnomalyAt: isoUtc(inc.lastAnomaly),
            silentForS: Math.round(limit / 1000),
          }, { nodeId: inc.origin }),
        );
      } else if (lostAt !== null && nowMs - lostAt >= window) {
        this.closeIncident(inc, nowMs);
      }
    }
  }
}
