// The pipeline's clock (README "Time model"): placement of an accelerated run, the followed clock,
// and which announcements move it.
import { describe, expect, it, vi } from 'vitest';
import { runClockSchema, type RunClock } from '../contracts/payloads.ts';
import { PipelineClock, placeRun, runEndWallMs, runTimeAt } from './clock.ts';

const H = 3600_000;
const WALL = Date.parse('2026-12-04T17:00:00Z');

function announced(speed: number, durationMs: number, wallStart = WALL, runId = 'run-1'): RunClock {
  const p = placeRun(wallStart, durationMs, speed);
  return runClockSchema.parse({ runId, source: 'simulate fire-san-thang', speed, anchorWallMs: p.anchorWallMs, anchorSimMs: p.anchorSimMs, endSimMs: p.endSimMs, state: 'running' });
}

describe('placing an accelerated run so that it ends at the wall clock\'s now', () => {
  it.each([
    { speed: 60, durationMs: 5 * H, startBackMs: 5 * H * (59 / 60) },
    { speed: 1, durationMs: 5 * H, startBackMs: 0 },
    { speed: 600, durationMs: 24 * H, startBackMs: 24 * H * (599 / 600) },
  ])('×$speed over $durationMs ms starts $startBackMs ms back and meets the wall at its end', ({ speed, durationMs, startBackMs }) => {
    const p = placeRun(WALL, durationMs, speed);
    expect(WALL - p.anchorSimMs).toBeCloseTo(startBackMs, -1);
    expect(p.endSimMs).toBe(p.anchorSimMs + durationMs);
    expect(Math.abs(p.endWallMs - p.endSimMs)).toBeLessThanOrEqual(1);
  });

  it('refuses a speed below 1 or not finite (such a run would be ahead of the wall)', () => {
    expect(() => placeRun(WALL, H, 0.5)).toThrow(/speed ≥ 1/);
    expect(() => placeRun(WALL, H, Infinity)).toThrow(/finite/);
  });

  it('the run clock is never ahead of the wall and ends on it; a clock that would be is refused by the contract', () => {
    const run = announced(60, 5 * H);
    for (let w = WALL; w <= runEndWallMs(run) + 10_000; w += 7_000) expect(runTimeAt(run, w)).toBeLessThanOrEqual(w + 1);
    expect(runTimeAt(run, runEndWallMs(run) + 1)).toBe(runEndWallMs(run) + 1);
    const ahead = { ...run, anchorSimMs: WALL, endSimMs: WALL + 5 * H };
    expect(runClockSchema.safeParse(ahead).success).toBe(false);
  });
});

describe('PipelineClock', () => {
  it('on the wall clock until a run is announced; then the run\'s time, `speed` times faster; the wall again at its end', () => {
    let wall = WALL;
    const clock = new PipelineClock(true, () => wall);
    expect(clock.now()).toBe(WALL);
    expect(clock.epoch).toBeNull();
    const onChange = vi.fn();
    clock.onChange(onChange);
    const run = announced(60, 5 * H);
    expect(clock.follow(run)).toMatchObject({ runId: 'run-1', before: WALL, after: run.anchorSimMs });
    expect(onChange).toHaveBeenCalledTimes(1);
    expect(clock.epoch).toBe('run-1');
    expect(clock.rate()).toBe(60);
    wall += 60_000;
    expect(clock.now()).toBe(run.anchorSimMs + 3600_000);
    // Wall delay until a pipeline instant: 10 clock minutes are 10 wall seconds at ×60.
    expect(clock.wallDelayUntil(clock.now() + 600_000)).toBe(10_000);
    // The same announcement again (a retained message after a reconnect) changes nothing.
    expect(clock.follow(run)).toBeNull();
    expect(onChange).toHaveBeenCalledTimes(1);
    wall = runEndWallMs(run) + 5000;
    expect(clock.now()).toBe(wall);
    expect(clock.rate()).toBe(1);
    expect(clock.activeRun).toBeNull();
    // Its end is announced too: the clock stays on the wall, the epoch stays (no new timeline).
    expect(clock.follow({ ...run, state: 'ended', reason: 'completed' })).toMatchObject({ runId: null });
    expect(clock.epoch).toBe('run-1');
  });

  it('an interrupted run ends early: the clock jumps forward to the wall, never back', () => {
    let wall = WALL;
    const clock = new PipelineClock(true, () => wall);
    const run = announced(60, 5 * H);
    clock.follow(run);
    wall += 60_000;
    const during = clock.now();
    clock.follow({ ...run, state: 'ended', reason: 'interrupted' });
    expect(clock.now()).toBe(wall);
    expect(clock.now()).toBeGreaterThan(during);
  });

  it('a clock that does not follow runs ignores announcements (the standalone default)', () => {
    const clock = new PipelineClock(false, () => WALL);
    expect(clock.follow(announced(60, 5 * H))).toBeNull();
    expect(clock.now()).toBe(WALL);
    expect(clock.epoch).toBeNull();
  });

  it('a run that already ended (retained after a restart) does not move a fresh clock', () => {
    const wall = WALL + 6 * H;
    const clock = new PipelineClock(true, () => wall);
    expect(clock.follow(announced(60, 5 * H))).toBeNull();
    expect(clock.follow({ ...announced(60, 5 * H, WALL, 'run-2'), state: 'ended' })).toBeNull();
    expect(clock.now()).toBe(wall);
  });

  it('a second run is a new timeline: the clock moves back again and the epoch changes', () => {
    let wall = WALL;
    const clock = new PipelineClock(true, () => wall);
    clock.follow(announced(60, 5 * H));
    wall = WALL + 10 * 60_000;
    const change = clock.follow(announced(60, 2 * H, wall, 'run-2'));
    expect(change?.runId).toBe('run-2');
    expect(change!.after).toBeLessThan(change!.before);
    expect(clock.epoch).toBe('run-2');
  });

  it('sleepUntil waits until the clock reads the target (ten clock minutes are 1 s of wall time at ×600)', async () => {
    const clock = new PipelineClock(true);
    clock.follow(announced(600, 2 * H, Date.now()));
    const target = clock.now() + 600_000;
    await clock.sleepUntil(target);
    expect(clock.now()).toBeGreaterThanOrEqual(target);
  });
});
