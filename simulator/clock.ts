// Time source for anything paced by the scenario or a recording. Tests use VirtualClock, so pacing
// is checked exactly without waiting on the wall clock.
import { setTimeout as sleepMs } from 'node:timers/promises';

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves once now() ≥ ms, or early when the signal aborts. */
  sleepUntil(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  async sleepUntil(ms: number, signal?: AbortSignal) {
    const wait = ms - Date.now();
    if (wait <= 0 || signal?.aborted) return;
    await sleepMs(wait, undefined, signal ? { signal } : undefined).catch((err: unknown) => {
      if (!(err instanceof Error && err.name === 'AbortError')) throw err;
    });
  },
};

/** A clock that jumps forward when asked to sleep. */
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
