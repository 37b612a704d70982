// The pipeline's one clock (README "Time model"). Normally the wall clock. A pipeline that follows
// run clocks (`fire-ews start`, or a service with EWS_FOLLOW_RUN_CLOCKS=true) takes its "now" from
// the accelerated run announced on `ews/v1/clock`: now = anchorSim + (wall − anchorWall) · speed.
// Ingest's time window, rules' arrival times and schedules and alerts' timers read this clock;
// process telemetry (logs, metrics, pipeline points, SMS rate limits and validity) stays on the wall.
import { setTimeout as sleepMs } from 'node:timers/promises';
import type { RunClock } from '../contracts/payloads.ts';

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves once now() ≥ ms, or early when the signal aborts. */
  sleepUntil(ms: number, signal?: AbortSignal): Promise<void>;
}

async function sleepWall(wallMs: number, signal?: AbortSignal): Promise<void> {
  if (wallMs <= 0 || signal?.aborted) return;
  await sleepMs(wallMs, undefined, signal ? { signal } : undefined).catch((err: unknown) => {
    if (!(err instanceof Error && err.name === 'AbortError')) throw err;
  });
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleepUntil: (ms, signal) => sleepWall(ms - Date.now(), signal),
};

/** A clock that jumps forward when asked to sleep (tests of pacing). */
export class VirtualClock implements Clock {
  sleeps = 0;
  constructor(private current: number) {}
  now(): number {
    return this.current;
  }
  async sleepUntil(ms: number): Promise<void> {
    if (ms > this.current) {
      this.current = ms;
      this.sleeps++;
    }
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

/**
 * Where an accelerated run of `durationMs` of data is placed so that its time ENDS at the wall
 * clock's now when the run ends: simStart = wallStart − D · (1 − 1/speed). Readings are then never
 * in the future, and at the end the followed clock meets the wall clock (nothing jumps backwards).
 */
export function placeRun(wallStartMs: number, durationMs: number, speed: number): { anchorWallMs: number; anchorSimMs: number; endSimMs: number; endWallMs: number } {
  if (!(speed >= 1) || !Number.isFinite(speed)) throw new Error(`a run placed on the pipeline's clock needs a finite speed ≥ 1, got ${speed}`);
  const anchorSimMs = Math.round(wallStartMs - durationMs * (1 - 1 / speed));
  return { anchorWallMs: wallStartMs, anchorSimMs, endSimMs: anchorSimMs + durationMs, endWallMs: Math.round(wallStartMs + durationMs / speed) };
}

/** Run time at a wall instant: linear while the run lasts, the wall clock once it has ended. */
export function runTimeAt(run: RunClock, wallMs: number): number {
  if (run.state === 'ended' || wallMs >= runEndWallMs(run)) return wallMs;
  return Math.round(run.anchorSimMs + (wallMs - run.anchorWallMs) * run.speed);
}

/** The wall instant at which the run's clock reaches its end (and meets the wall clock). */
export function runEndWallMs(run: RunClock): number {
  return run.anchorWallMs + (run.endSimMs - run.anchorSimMs) / run.speed;
}

/** Whether an announced run is still running at this wall instant. */
export function runIsActive(run: RunClock, wallMs: number): boolean {
  return run.state === 'running' && wallMs < runEndWallMs(run);
}

export interface PipelineClockChange {
  /** The run now followed (null: the wall clock). */
  runId: string | null;
  /** Clock value just before and just after the change. */
  before: number;
  after: number;
}

/**
 * The clock a pipeline process shares between its services. `epoch` names the timeline: null on
 * the wall clock, the run id while it follows a run. A new run moves time back once (the run is
 * placed to end at the wall's now); services see that through `epoch` and re-base what they keep
 * (rules journals it, alerts shifts its timers), and listeners reschedule their timers.
 */
export class PipelineClock implements Clock {
  private run: RunClock | null = null;
  private readonly listeners = new Set<(change: PipelineClockChange) => void>();

  constructor(
    /** Whether announced runs are followed at all (else this is the wall clock). */
    readonly followsRuns: boolean,
    private readonly wall: () => number = Date.now,
  ) {}

  now(): number {
    const w = this.wall();
    return this.run ? runTimeAt(this.run, w) : w;
  }

  /** How many clock milliseconds pass per wall millisecond right now. */
  rate(): number {
    return this.run && runIsActive(this.run, this.wall()) ? this.run.speed : 1;
  }

  /** The run followed, while it runs (null on the wall clock or once it has ended). */
  get activeRun(): RunClock | null {
    return this.run && runIsActive(this.run, this.wall()) ? this.run : null;
  }

  /** Timeline id: the followed run's id, null on the wall clock. Changes once per run. */
  get epoch(): string | null {
    return this.run?.runId ?? null;
  }

  /** Wall milliseconds until this clock reads `ms` (0 if it already does). */
  wallDelayUntil(ms: number): number {
    const now = this.now();
    if (ms <= now) return 0;
    const run = this.activeRun;
    if (!run) return ms - now;
    // Linear while the run lasts; after its end the clock is the wall clock.
    const endWall = runEndWallMs(run);
    const w = this.wall();
    const atRunRate = (ms - now) / run.speed;
    return w + atRunRate <= endWall ? atRunRate : endWall - w + (ms - run.endSimMs);
  }

  async sleepUntil(ms: number, signal?: AbortSignal): Promise<void> {
    while (!signal?.aborted && this.now() < ms) await sleepWall(Math.max(1, Math.min(this.wallDelayUntil(ms), 1000)), signal);
  }

  /** Takes an announcement from `ews/v1/clock`. Returns the change, or null when nothing changed. */
  follow(announcement: RunClock): PipelineClockChange | null {
    if (!this.followsRuns) return null;
    const current = this.run;
    if (current?.runId === announcement.runId) {
      // The same run: only its end changes anything (an ended run stays ended).
      if (!(current.state === 'running' && announcement.state === 'ended')) return null;
    } else if (!runIsActive(announcement, this.wall())) {
      // Another run that has already ended (a retained message after a restart): the wall clock.
      return null;
    }
    const before = this.now();
    this.run = announcement;
    const change = { runId: announcement.state === 'running' ? announcement.runId : null, before, after: this.now() };
    for (const l of this.listeners) l(change);
    return change;
  }

  onChange(listener: (change: PipelineClockChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
