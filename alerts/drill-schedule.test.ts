// Scheduled drills: node-cron's real matching of the site file's expressions (first Monday of the
// dry-season months, Asia/Ho_Chi_Minh), the slots due between two injected times, the slot's drill id
// (its idempotency key) and the decision at a slot (start, skip for a real alert, nothing twice).
import cron from 'node-cron';
import { pino } from 'pino';
import { afterAll, assert, describe, expect, it, vi } from 'vitest';
import { drillRequestSchema, MAX_DRILL_ID_LENGTH } from '../contracts/alerts-api.ts';
import { topics } from '../contracts/topics.ts';
import { openDatabase } from '../platform/sqlite.ts';
import { scheduledDrillSchema, type ScheduledDrill } from '../contracts/site.ts';
import { emptyEngineState, handleEvent, startDrill, type EngineState } from './engine.ts';
import { newDrillId } from './http.ts';
import { CATCH_UP_MS, decideSlot, dueSlots, nextRun, realAlertsOf, scheduledDrillId, startDrillSchedule } from './drill-schedule.ts';
import { laiChauContext } from '../test/support/alerts-fixtures.ts';

const TZ = 'Asia/Ho_Chi_Minh';
const FIRST_MONDAY = '30 8 1-7 1-4,11,12 1';
const entry: ScheduledDrill = scheduledDrillSchema.parse({ zone: 'san-thang', kind: 'fire-confirmed', cron: FIRST_MONDAY });
const tasks: ReturnType<typeof cron.createTask>[] = [];
/** node-cron's own matcher (a task never started: no timer). */
function matcher(expr: string) {
  const task = cron.createTask(expr, () => {}, { timezone: TZ });
  tasks.push(task);
  return (d: Date) => task.match(d);
}
afterAll(async () => {
  for (const t of tasks) await t.destroy();
});

const local = (s: string) => Date.parse(`${s}+07:00`);

describe('node-cron reads the site file\'s schedule as written', () => {
  it('"30 8 1-7 1-4,11,12 1" is the first Monday of January–April, November and December at 08:30 local (day-of-month AND day-of-week)', () => {
    const matches = matcher(FIRST_MONDAY);
    const hits: string[] = [];
    // Every day of 2027 at 08:30 local, and at 08:29 and 08:31 (never).
    for (let day = local('2027-01-01T08:30:00'); day < local('2028-01-01T00:00:00'); day += 86_400_000) {
      if (matches(new Date(day))) hits.push(new Date(day + 7 * 3_600_000).toISOString().slice(0, 10));
      expect(matches(new Date(day - 60_000)) || matches(new Date(day + 60_000))).toBe(false);
    }
    expect(hits).toStrictEqual(['2027-01-04', '2027-02-01', '2027-03-01', '2027-04-05', '2027-11-01', '2027-12-06']);
    // Vixie cron would OR the two day fields (every Monday and the 1st–7th); node-cron does not.
    const everyMonday = matcher('30 8 * 1-4,11,12 1');
    expect(everyMonday(new Date(local('2027-01-11T08:30:00')))).toBe(true);
    expect(matches(new Date(local('2027-01-11T08:30:00')))).toBe(false);
    // The same days as node-cron's "first Monday" (1#1).
    const nth = matcher('30 8 * 1-4,11,12 1#1');
    for (const d of hits) expect(nth(new Date(local(`${d}T08:30:00`)))).toBe(true);
  });

  it('the next start: node-cron\'s next match; null where node-cron finds none (it throws), never an error at start-up', () => {
    const task = cron.createTask(FIRST_MONDAY, () => {}, { timezone: TZ });
    tasks.push(task);
    expect(nextRun(task)?.getTime()).toBeGreaterThan(Date.now());
    expect(nextRun({ getNextRuns: () => { throw new Error('Could not find next matching date within reasonable time range'); } })).toBeNull();
    // Impossible days are refused by the site schema (node-cron's validate), before any task exists.
    expect(scheduledDrillSchema.safeParse({ zone: 'san-thang', cron: '30 8 30 2 *' }).success).toBe(false);
  });

  it('in the site\'s timezone, not the process\'s: 08:30 local is 01:30 UTC', () => {
    expect(matcher(FIRST_MONDAY)(new Date('2027-01-04T01:30:00Z'))).toBe(true);
    expect(matcher(FIRST_MONDAY)(new Date('2027-01-04T08:30:00Z'))).toBe(false);
  });
});

describe('which slots are due', () => {
  const matches = matcher(FIRST_MONDAY);
  const slot = local('2027-01-04T08:30:00');

  it.each([
    ['the minute passes', slot - 10_000, slot + 500, [slot]],
    ['before it', slot - 60_000, slot - 1, []],
    ['the slot was handled at the last look', slot, slot + 59_000, []],
    ['a restart 10 minutes later catches up', slot - 60_000, slot + 10 * 60_000, [slot]],
    ['not beyond the catch-up window', slot - 86_400_000, slot + CATCH_UP_MS + 60_000, []],
  ])('%s', (_what, from, to, expected) => {
    expect(dueSlots([matches], from, to).map((s) => s.slotMs)).toStrictEqual(expected);
  });

  it('several entries, oldest slot first', () => {
    const every5 = matcher('*/5 * * * *');
    expect(dueSlots([matches, every5], slot - 6 * 60_000, slot)).toStrictEqual([
      { index: 1, slotMs: slot - 5 * 60_000 },
      { index: 0, slotMs: slot },
      { index: 1, slotMs: slot },
    ]);
  });
});

describe('the slot\'s drill id is its idempotency key', () => {
  it('the same entry and minute give the same id; another minute or entry another one', () => {
    const slot = local('2027-01-04T08:30:00');
    const id = scheduledDrillId(entry, slot);
    expect(id).toMatch(/^san-thang-20270104-0130-[a-z2-9]{4}$/);
    expect(scheduledDrillId({ ...entry }, slot)).toBe(id);
    expect(scheduledDrillId(entry, local('2027-02-01T08:30:00'))).not.toBe(id);
    expect(scheduledDrillId({ ...entry, kind: 'fire-suspected' }, slot)).not.toBe(id);
  });
});

describe('every drill id fits a topic level, whatever the zone id\'s length', () => {
  const slot = local('2027-01-04T08:30:00');
  // A zone id may have 63 characters (TOPIC_ID_PATTERN); before, a zone id of 39 or more gave ids of up to
  // 59 characters, whose alert topic (drill-<id>) and sensor drill request were refused.
  it.each([9, 38, 39, 40, 57, 63])('a zone id of %i characters', (n) => {
    const zone = `z${'a'.repeat(n - 1)}`;
    const sensor = scheduledDrillSchema.parse({ zone, cron: '30 8 * * *', depth: 'sensor' });
    for (const id of [newDrillId(zone, slot), scheduledDrillId(sensor, slot)]) {
      expect(id.length).toBeLessThanOrEqual(MAX_DRILL_ID_LENGTH);
      expect(() => topics.drillAlert(`drill-${id}`)).not.toThrow();
      // A zone id that fits is kept whole, else cut to 38 characters.
      expect(id.startsWith(`${zone.slice(0, 38)}-`)).toBe(true);
      expect(id).toMatch(/-\d{8}-\d{4}-[a-z2-9]{4}$/);
    }
    const d = decideSlot(sensor, slot, emptyEngineState(), () => null);
    assert(d.action === 'request');
    expect(drillRequestSchema.safeParse({ ...d.ask, requestedAt: slot }).success).toBe(true);
  });

  it('a cut that ends on a dash leaves no double dash; two long zones cut alike keep distinct scheduled ids', () => {
    const a = `${'a'.repeat(37)}-north`;
    expect(newDrillId(a, slot)).toMatch(new RegExp(`^${'a'.repeat(37)}-20270104-0130-[a-z2-9]{4}$`));
    const b = `${'a'.repeat(37)}-south`;
    expect(scheduledDrillId({ ...entry, zone: a }, slot)).not.toBe(scheduledDrillId({ ...entry, zone: b }, slot));
  });
});

describe('the decision at a slot', () => {
  const ctx = laiChauContext();
  const slot = local('2027-01-04T08:30:00');
  const none = () => null;
  const fire = (kind: 'fire-suspected' | 'node-offline', zoneId: string, eventId: string) => ({ eventId, kind, zoneId, nodeId: `${zoneId}-01`, ts: new Date(slot - 60_000).toISOString(), detail: {} });
  const withEvent = (state: EngineState, e: ReturnType<typeof fire>) => handleEvent(ctx, state, e, slot - 60_000).state;

  it('starts the drill as the site file says, started by the schedule', () => {
    const d = decideSlot({ ...entry, dryRun: true, audience: ['team-leaders'] }, slot, emptyEngineState(), none);
    expect(d).toStrictEqual({ action: 'start', drillId: scheduledDrillId(entry, slot), request: { drillId: scheduledDrillId(entry, slot), kind: 'fire-confirmed', zoneId: 'san-thang', audience: ['team-leaders'], dryRun: true, startedBy: 'schedule' } });
  });

  it('skips it while a real fire alert of its zone is open, says which; a fire elsewhere, a node alert or another drill do not stop it', () => {
    const burning = withEvent(emptyEngineState(), fire('fire-suspected', 'san-thang', 'real-1'));
    expect(realAlertsOf(burning, 'san-thang')).toHaveLength(1);
    const d = decideSlot(entry, slot, burning, none);
    expect(d).toMatchObject({ action: 'skip', reason: `a real alert of san-thang is open: ${realAlertsOf(burning, 'san-thang')[0]}` });

    let calm = withEvent(emptyEngineState(), fire('fire-suspected', 'nam-loong', 'real-2'));
    calm = withEvent(calm, fire('node-offline', 'san-thang', 'node-1'));
    calm = startDrill(ctx, calm, { drillId: 'san-thang-manual', kind: 'fire-suspected', zoneId: 'san-thang', audience: null, dryRun: true, startedBy: 'cli' }, slot - 60_000, new Date(slot).toISOString()).state;
    expect(realAlertsOf(calm, 'san-thang')).toStrictEqual([]);
    expect(decideSlot(entry, slot, calm, none).action).toBe('start');
  });

  it('a sensor entry asks the drill player for its plume under the slot\'s id; a real fire of its zone skips it the same way', () => {
    const sensor = scheduledDrillSchema.parse({ zone: 'san-thang', cron: FIRST_MONDAY, depth: 'sensor', speed: 60, node: 'san-thang-07', dryRun: true });
    const id = scheduledDrillId(sensor, slot);
    expect(decideSlot(sensor, slot, emptyEngineState(), none)).toStrictEqual({ action: 'request', drillId: id, ask: { drillId: id, zoneId: 'san-thang', speed: 60, node: 'san-thang-07', dryRun: true, startedBy: 'schedule' } });
    const burning = withEvent(emptyEngineState(), fire('fire-suspected', 'san-thang', 'real-s'));
    expect(decideSlot(sensor, slot, burning, none).action).toBe('skip');
  });

  it('an acknowledged fire still stops it; a resolved one does not', () => {
    const state = withEvent(emptyEngineState(), fire('fire-suspected', 'san-thang', 'real-3'));
    const [alertId] = realAlertsOf(state, 'san-thang');
    const acked = structuredClone(state);
    (acked.alerts[alertId as string] as { status: string }).status = 'acknowledged';
    expect(decideSlot(entry, slot, acked, none).action).toBe('skip');
    const resolved = structuredClone(state);
    (resolved.alerts[alertId as string] as { status: string }).status = 'resolved';
    expect(decideSlot(entry, slot, resolved, none).action).toBe('start');
  });

  it('a slot decided before a restart is not decided again', () => {
    const id = scheduledDrillId(entry, slot);
    expect(decideSlot(entry, slot, emptyEngineState(), (d) => (d === id ? 'started already' : null))).toStrictEqual({ action: 'none', drillId: id, reason: 'started already' });
  });
});

describe('the schedule in the site file', () => {
  it.each([
    [{ zone: 'san-thang', cron: '30 8 1-7 * 1 *' }, 'cron must have 5 fields'],
    [{ zone: 'san-thang', cron: '30 25 * * *' }, 'not a node-cron expression'],
    [{ zone: 'san-thang', cron: FIRST_MONDAY, speed: 60 }, 'speed is for depth: sensor only'],
    [{ zone: 'san-thang', cron: FIRST_MONDAY, node: 'san-thang-07' }, 'node is for depth: sensor only'],
    [{ zone: 'san-thang', cron: FIRST_MONDAY, depth: 'sensor', speed: 0.5 }, 'speed'],
    [{ zone: 'san-thang', cron: FIRST_MONDAY, kind: 'flood' }, 'kind'],
  ])('%j is refused (%s)', (input, message) => {
    const r = scheduledDrillSchema.safeParse(input);
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain(message);
  });

  it('defaults: a confirmed-fire alert drill, sent for real', () => {
    expect(scheduledDrillSchema.parse({ zone: 'san-thang', cron: FIRST_MONDAY })).toStrictEqual({ zone: 'san-thang', kind: 'fire-confirmed', cron: FIRST_MONDAY, depth: 'alert', dryRun: false });
  });
});

describe('startDrillSchedule after a restart (in-memory SQLite, an injected clock, no broker)', () => {
  const ctx = laiChauContext();
  const slot = local('2027-01-04T08:30:00');
  const log = pino({ level: 'silent' });

  it('starts the slot missed a few minutes ago once, records it, and a second start decides nothing', () => {
    const db = openDatabase(':memory:');
    const started = new Set<string>();
    const startDrillFn = vi.fn((req: { drillId: string }) => {
      started.add(req.drillId);
      return { ok: true as const, alert: { notified: ['a', 'b'] } as never };
    });
    const service = { engineState: emptyEngineState(), startDrill: startDrillFn };
    const opts = { drills: [entry], timezone: TZ, service, drillExists: (id: string) => started.has(id), db, log, now: () => slot + 4 * 60_000, catchUpDelayMs: 0 };
    startDrillSchedule(opts).stop();
    expect(startDrillFn).toHaveBeenCalledExactlyOnceWith({ drillId: scheduledDrillId(entry, slot), kind: 'fire-confirmed', zoneId: 'san-thang', audience: null, dryRun: false, startedBy: 'schedule' });
    startDrillSchedule({ ...opts, now: () => slot + 5 * 60_000 }).stop();
    expect(startDrillFn).toHaveBeenCalledTimes(1);
    expect(db.prepare('SELECT drill_id, outcome, reason FROM scheduled_drill_slots').all()).toStrictEqual([{ drill_id: scheduledDrillId(entry, slot), outcome: 'started', reason: null }]);
  });

  it('a real alert open: skipped and recorded with the reason, never started later; a refusal of the service is recorded too', () => {
    const db = openDatabase(':memory:');
    const burning = handleEvent(ctx, emptyEngineState(), { eventId: 'real-9', kind: 'fire-suspected', zoneId: 'san-thang', nodeId: 'san-thang-01', ts: new Date(slot - 60_000).toISOString(), detail: {} }, slot - 60_000).state;
    const startDrillFn = vi.fn(() => ({ ok: false as const, reason: 'nobody on the roster' }));
    const opts = { drills: [entry, { ...entry, zone: 'nam-loong' }], timezone: TZ, service: { engineState: burning, startDrill: startDrillFn }, drillExists: () => false, db, log, now: () => slot + 60_000, catchUpDelayMs: 0 };
    startDrillSchedule(opts).stop();
    startDrillSchedule({ ...opts, service: { engineState: emptyEngineState(), startDrill: startDrillFn } }).stop();
    expect(startDrillFn).toHaveBeenCalledExactlyOnceWith(expect.objectContaining({ zoneId: 'nam-loong' }));
    const rows = db.prepare('SELECT drill_id, outcome, reason FROM scheduled_drill_slots ORDER BY drill_id').all() as { drill_id: string; outcome: string; reason: string }[];
    expect(rows.map((r) => [r.drill_id.split('-2027')[0], r.outcome, r.reason])).toStrictEqual([
      ['nam-loong', 'skipped', 'nobody on the roster'],
      ['san-thang', 'skipped', `a real alert of san-thang is open: ${realAlertsOf(burning, 'san-thang').join(', ')}`],
    ]);
  });

  it('missed slots are decided after the delay (the broker\'s queued events first), and not at all once stopped', async () => {
    const make = () => {
      const startDrillFn = vi.fn(() => ({ ok: true as const, alert: { notified: [] } as never }));
      return { startDrillFn, opts: { drills: [entry], timezone: TZ, service: { engineState: emptyEngineState(), startDrill: startDrillFn }, drillExists: () => false, db: openDatabase(':memory:'), log, now: () => slot + 60_000, catchUpDelayMs: 50 } };
    };
    const a = make();
    const running = startDrillSchedule(a.opts);
    expect(a.startDrillFn).not.toHaveBeenCalled();
    const b = make();
    startDrillSchedule(b.opts).stop();
    await new Promise((r) => setTimeout(r, 200));
    running.stop();
    expect(a.startDrillFn).toHaveBeenCalledTimes(1);
    expect(b.startDrillFn).not.toHaveBeenCalled();
  });

  it('a sensor slot is recorded once its request is taken; a refused request is recorded as skipped with the reason; neither is asked again after a restart', async () => {
    const db = openDatabase(':memory:');
    const sensor = scheduledDrillSchema.parse({ zone: 'san-thang', cron: FIRST_MONDAY, depth: 'sensor', speed: 90 });
    const other = scheduledDrillSchema.parse({ zone: 'nam-loong', cron: FIRST_MONDAY, depth: 'sensor' });
    let release: () => void = () => {};
    const taken = new Promise<void>((r) => (release = r));
    const requestSensorDrill = vi.fn(async (ask: { zoneId: string }) => {
      if (ask.zoneId === 'nam-loong') return { ok: false as const, status: 503 as const, reason: 'the broker did not take the request' };
      await taken;
      return { ok: true as const };
    });
    const startDrillFn = vi.fn();
    const opts = { drills: [sensor, other], timezone: TZ, service: { engineState: emptyEngineState(), startDrill: startDrillFn }, requestSensorDrill, drillExists: () => false, db, log, now: () => slot + 60_000, catchUpDelayMs: 0 };
    startDrillSchedule(opts).stop();
    const rows = () => db.prepare('SELECT drill_id, outcome, reason FROM scheduled_drill_slots ORDER BY drill_id').all();
    await vi.waitFor(() => expect(rows()).toHaveLength(1));
    // Not recorded while the broker has not taken it (a crash now leaves the slot to the catch-up).
    expect(rows()).toStrictEqual([{ drill_id: scheduledDrillId(other, slot), outcome: 'skipped', reason: 'the broker did not take the request' }]);
    release();
    await vi.waitFor(() => expect(rows()).toHaveLength(2));
    expect(rows()).toContainEqual({ drill_id: scheduledDrillId(sensor, slot), outcome: 'started', reason: null });
    startDrillSchedule(opts).stop();
    await new Promise((r) => setTimeout(r, 20));
    expect(requestSensorDrill.mock.calls.map(([a]) => a)).toStrictEqual([
      { drillId: scheduledDrillId(sensor, slot), zoneId: 'san-thang', speed: 90, dryRun: false, startedBy: 'schedule' },
      { drillId: scheduledDrillId(other, slot), zoneId: 'nam-loong', speed: 1, dryRun: false, startedBy: 'schedule' },
    ]);
    expect(startDrillFn).not.toHaveBeenCalled();
  });

  it('no schedule: nothing is created', () => {
    const db = openDatabase(':memory:');
    startDrillSchedule({ drills: [], timezone: TZ, service: { engineState: emptyEngineState(), startDrill: vi.fn() }, drillExists: () => false, db, log }).stop();
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'scheduled_drill_slots'").all()).toStrictEqual([]);
  });
});
