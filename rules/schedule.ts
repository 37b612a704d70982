// Rules' timers on the wall clock: the engine tick every RULES_TICK_S of pipeline time (faster in
// wall time while an accelerated run is followed, at least every 100 ms of wall time), the official
// level's moment (13:17 local: the 13:00 window has closed) and the hourly provisional value
// (node-cron, the site's timezone). In readings mode time moves only with the readings and the same
// schedule runs inside the core under that clock; only a clock change is followed here.
import cron, { type ScheduledTask } from 'node-cron';
import type { PipelineClock } from '../platform/clock.ts';
import type { Logger } from '../platform/logger.ts';
import type { ClockMode } from './core.ts';

export interface RulesScheduleOptions {
  clock: PipelineClock;
  clockMode: ClockMode;
  tickS: number;
  officialCron: string;
  provisionalCron: string;
  timezone: string;
  /** Journals a tick (the service's commit); `why` names the timer in a failure log. */
  tick: (why: string) => void;
  log: Logger;
}

export function startRulesSchedule(opts: RulesScheduleOptions): { stop(): Promise<void> } {
  const { clock } = opts;
  let running = true;
  let tickTimer: NodeJS.Timeout | undefined;
  const tasks: ScheduledTask[] = [];
  const scheduleTick = () => {
    if (!running) return;
    tickTimer = setTimeout(() => {
      opts.tick('interval');
      scheduleTick();
    }, Math.max(100, (opts.tickS * 1000) / clock.rate()));
  };
  const stopFollowingChanges = clock.onChange(() => {
    if (opts.clockMode !== 'wall' || !running) return;
    // Re-base now rather than at the next reading, and tick at the new rate.
    clearTimeout(tickTimer);
    opts.tick('clock changed');
    scheduleTick();
  });
  if (opts.clockMode === 'wall') {
    scheduleTick();
    tasks.push(cron.schedule(opts.officialCron, () => opts.tick('official'), { timezone: opts.timezone, name: 'rules-official' }));
    tasks.push(cron.schedule(opts.provisionalCron, () => opts.tick('provisional'), { timezone: opts.timezone, name: 'rules-provisional' }));
    opts.log.info({ official: opts.officialCron, provisional: opts.provisionalCron, timezone: opts.timezone }, 'rules schedules');
  }
  return {
    async stop() {
      running = false;
      clearTimeout(tickTimer);
      stopFollowingChanges();
      for (const t of tasks) await t.destroy();
    },
  };
}
