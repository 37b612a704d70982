// The service's deterministic core: the engine plus what the service adds around it — duplicate
// filtering of redelivered messages, the arrival clock, and the hourly provisional schedule.
// Pure: time comes in with each input. The same inputs in the same order give the same outputs, so
// a checkpoint plus the journal after it reproduces the state exactly (see store.ts).
import { z } from 'zod';
import { readingSchema, type Danger, type FireEvent } from '../contracts/payloads.ts';
import type { Site } from '../contracts/site.ts';
import type { RulesConfig } from './config.ts';
import { RulesEngine, type EngineReading, type EngineState } from './engine.ts';
import { HOUR_MS, MINUTE_MS } from './time.ts';
import { parseStateJson, stringifyState } from './state-json.ts';

/**
 * The contract reading with the sensor channels unbounded: a temperature or humidity outside the
 * physical limits is a node fault the engine must see and report (out-of-range), not bad input.
 * Everything else (ids, seq, timestamp, rain, wind, RSSI, unknown fields) is the contract's check.
 */
export const rulesReadingSchema = readingSchema.extend({
  temperatureC: z.number(),
  humidityPct: z.number(),
  smoke: z.number(),
  batteryV: z.number().optional(),
});

export type ClockMode = 'wall' | 'readings';

export type CoreInput =
  | { kind: 'reading'; reading: EngineReading; tsMs: number; rxMs: number }
  | { kind: 'tick'; rxMs: number }
  /** The pipeline's clock entered another timeline (a new accelerated run, or back to the wall): README "Time model". */
  | { kind: 'rebase'; rxMs: number; epoch: string | null };

export interface CoreOutput {
  events: FireEvent[];
  dangers: Danger[];
}

export interface CoreState {
  version: 1;
  engine: EngineState | null;
  /** Per node, the last RECENT_KEYS `seq@tsMs` keys applied (a redelivered message is skipped). */
  recent: Record<string, string[]>;
  clock: { now: number; ahead: [string, number][] };
  /** Next provisional publication (local top of the hour); NaN before the first input. */
  nextProvisionalMs: number;
  /** The pipeline clock's timeline the engine is on (a run id, null = the wall clock; absent in older states). */
  epoch?: string | null;
}

const RECENT_KEYS = 256;

/** The next local top of the hour strictly after `ms`. */
export function nextLocalHour(ms: number, offsetMin: number): number {
  const offset = offsetMin * MINUTE_MS;
  return Math.floor((ms + offset) / HOUR_MS) * HOUR_MS + HOUR_MS - offset;
}

/**
 * The cron expression (local time) at which the official value of a day can first be computed:
 * the 13:00 window closes at 13:00 + windowMinutes, plus graceS for late readings (13:17 by default).
 * The value itself is the 13:00 observation (payload ts 13:00 local).
 */
export function officialCronExpression(config: RulesConfig): string {
  const minute = config.danger.officialMinute + config.danger.windowMinutes + Math.ceil(config.danger.graceS / 60);
  return `${minute % 60} ${Math.floor(minute / 60) % 24} * * *`;
}

/**
 * The fleet's time from the readings' own timestamps (the backtest's VirtualClock extends it): it follows
 * them forward; a jump of more than maxJumpMs needs a second node that agrees, so one node with a
 * fast clock cannot drag time forward. Its state is part of the checkpoint.
 */
export class FleetClock {
  now: number;
  readonly ahead: Map<string, number>;
  constructor(
    private readonly maxJumpMs: number,
    state?: CoreState['clock'],
  ) {
    this.now = state?.now ?? NaN;
    this.ahead = new Map(state?.ahead ?? []);
  }

  observe(nodeId: string, tsMs: number): number {
    if (Number.isNaN(this.now)) this.now = tsMs;
    if (!(tsMs > this.now)) return this.now;
    if (tsMs - this.now <= this.maxJumpMs) {
      this.now = tsMs;
      this.ahead.clear();
      return this.now;
    }
    for (const [other, t] of this.ahead) {
      if (other !== nodeId && Math.abs(t - tsMs) <= this.maxJumpMs) {
        this.now = Math.min(t, tsMs);
        this.ahead.clear();
        return this.now;
      }
    }
    this.ahead.set(nodeId, tsMs);
    return this.now;
  }
}

export class RulesCore {
  private engine: RulesEngine | null = null;
  private readonly recent = new Map<string, string[]>();
  private readonly recentSet = new Set<string>();
  private readonly clock: FleetClock;
  private nextProvisionalMs: number;
  private clockEpoch: string | null;
  private out: CoreOutput = { events: [], dangers: [] };

  constructor(
    private readonly site: Site,
    private readonly config: RulesConfig,
    readonly clockMode: ClockMode,
    state?: CoreState,
  ) {
    if (state && state.version !== 1) throw new Error(`unsupported rules service state version ${String(state.version)}`);
    this.clock = new FleetClock(config.health.maxClockSkewS * 1000, state?.clock);
    this.nextProvisionalMs = state?.nextProvisionalMs ?? NaN;
    this.clockEpoch = state?.epoch ?? null;
    if (state?.engine) this.engine = this.makeEngine(0, state.engine);
    for (const [node, keys] of Object.entries(state?.recent ?? {})) {
      this.recent.set(node, [...keys]);
      for (const k of keys) this.recentSet.add(`${node}#${k}`);
    }
  }

  private makeEngine(startMs: number, state?: EngineState): RulesEngine {
    return new RulesEngine(
      this.site,
      startMs,
      { event: (e) => this.out.events.push(e), danger: (d) => this.out.dangers.push(d) },
      this.config,
      state,
    );
  }

  /** Whether this reading (node, seq, time) was applied recently: a redelivery to skip. */
  isDuplicate(nodeId: string, seq: number, tsMs: number): boolean {
    return this.recentSet.has(`${nodeId}#${seq}@${tsMs}`);
  }

  /** Engine time (NaN before the first input). */
  get now(): number {
    return this.engine?.now ?? NaN;
  }

  get rulesEngine(): RulesEngine | null {
    return this.engine;
  }

  /** The pipeline clock's timeline the core last took (the service journals a rebase when it changes). */
  get epoch(): string | null {
    return this.clockEpoch;
  }

  /** Applies one input; returns what it produced. */
  apply(input: CoreInput): CoreOutput {
    this.out = { events: [], dangers: [] };
    let rx = input.rxMs;
    if (input.kind === 'rebase') {
      this.clockEpoch = input.epoch;
      // Only the pipeline's clock moves; under the readings' own clock nothing is re-based.
      if (this.clockMode === 'wall' && this.engine && rx < this.engine.now) {
        this.engine.rebase(rx);
        this.nextProvisionalMs = nextLocalHour(rx, this.config.utcOffsetMinutes);
      }
      return this.out;
    }
    if (input.kind === 'reading') {
      const { reading, tsMs } = input;
      if (this.clockMode === 'readings') rx = this.clock.observe(reading.nodeId, tsMs);
      const key = `${reading.seq}@${tsMs}`;
      const keys = this.recent.get(reading.nodeId) ?? [];
      keys.push(key);
      this.recentSet.add(`${reading.nodeId}#${key}`);
      if (keys.length > RECENT_KEYS) this.recentSet.delete(`${reading.nodeId}#${keys.shift()!}`);
      this.recent.set(reading.nodeId, keys);
      this.engine ??= this.makeEngine(rx);
      this.engine.ingest(reading, rx, tsMs);
    } else {
      // In readings mode time moves only with the readings; a wall tick changes nothing.
      if (this.clockMode === 'readings' || !this.engine) return this.out;
      this.engine.tick(rx);
    }
    const now = this.engine.now;
    if (Number.isNaN(this.nextProvisionalMs)) this.nextProvisionalMs = nextLocalHour(now, this.config.utcOffsetMinutes);
    else if (now >= this.nextProvisionalMs) {
      this.out.dangers.push(...this.engine.provisional(now));
      this.nextProvisionalMs = nextLocalHour(now, this.config.utcOffsetMinutes);
    }
    return this.out;
  }

  snapshot(): CoreState {
    return {
      version: 1,
      engine: this.engine ? this.engine.snapshot() : null,
      recent: Object.fromEntries(this.recent),
      clock: { now: this.clock.now, ahead: [...this.clock.ahead] },
      nextProvisionalMs: this.nextProvisionalMs,
      epoch: this.clockEpoch,
    };
  }
}

/** JSON with NaN and ±Infinity preserved (rules/state-json.ts). */
export function serializeCoreState(state: CoreState): string {
  return stringifyState(state);
}

export function parseCoreState(text: string): CoreState {
  return parseStateJson(text) as CoreState;
}
