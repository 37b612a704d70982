import { describe, expect, it, vi } from 'vitest';
import { PipelineClock } from '../platform/clock.ts';
import { createLogger } from '../platform/logger.ts';
import { startRulesSchedule, type RulesScheduleOptions } from './schedule.ts';

const base = (tick: (why: string) => void, clockMode: RulesScheduleOptions['clockMode']): RulesScheduleOptions => ({
  clock: new PipelineClock(false),
  clockMode,
  tickS: 0.1,
  officialCron: '17 13 * * *',
  provisionalCron: '0 * * * *',
  timezone: 'Asia/Ho_Chi_Minh',
  tick,
  log: createLogger('test', 'silent'),
});

describe('startRulesSchedule', () => {
  it('wall clock: the engine tick every RULES_TICK_S until stopped', async () => {
    const tick = vi.fn();
    const schedule = startRulesSchedule(base(tick, 'wall'));
    await vi.waitFor(() => expect(tick.mock.calls.length).toBeGreaterThanOrEqual(2), { timeout: 5000 });
    expect(new Set(tick.mock.calls.map(([why]) => why))).toStrictEqual(new Set(['interval']));
    await schedule.stop();
    const after = tick.mock.calls.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(tick.mock.calls.length, 'no tick after stop').toBe(after);
  });

  it('readings mode: no timers (time moves with the readings inside the core)', async () => {
    const tick = vi.fn();
    const schedule = startRulesSchedule(base(tick, 'readings'));
    await new Promise((r) => setTimeout(r, 300));
    expect(tick).not.toHaveBeenCalled();
    await schedule.stop();
  });
});
