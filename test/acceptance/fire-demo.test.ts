// The fire demo as a newcomer runs it, on a terminal: `npm start -- --scenario fire-san-thang
// --speed 60` (five hours of fire in five minutes). Beside it, a normal day at the same speed must
// not alert anybody. Both run at once (≈ 6 min in all); each reads only its own checkout's stores.
import { afterAll, describe, it } from 'vitest';
import { deadLetters, readmeCommand, ruleEvents, sandbox, Shell, smsRows, storedReadings, announcedRun, type Sandbox } from './harness.ts';
import { checkFireDemo, fireScenarioFacts } from './fire-checks.ts';

const facts = fireScenarioFacts();
const boxes: Sandbox[] = [];
const shells: Shell[] = [];
afterAll(() => {
  for (const s of shells) s.kill();
  for (const b of boxes) b.remove();
});

describe.concurrent('npm start, accelerated', () => {
  it('`npm start -- --scenario fire-san-thang --speed 60` on a terminal: the fire reaches the right people in time, and only the truth', async ({ expect }) => {
    const box = await sandbox('fire-demo');
    boxes.push(box);
    const started = Date.now();
    const demo = new Shell(readmeCommand('npm start -- --scenario fire-san-thang --speed 60'), box.env, { cwd: box.dir, tty: true });
    shells.push(demo);
    await demo.waitFor('simulation fire-san-thang ×60', 120_000);
    const run = await announcedRun(box);
    // Five hours at ×60 placed to end now; then the console says the simulation ended.
    await demo.waitFor(/simulation fire-san-thang ended: [\d,]+ readings sent/, 7 * 60_000);
    const numbers = checkFireDemo(expect, box.dataDir, run, run.anchorSimMs, facts);
    console.log(`[fire demo, npm start --speed 60] ${JSON.stringify(numbers)}; wall ${((Date.now() - started) / 1000).toFixed(0)} s`);

    // What the newcomer read on the terminal.
    const screen = demo.screen;
    expect(screen).toContain(`  broker     mqtt://127.0.0.1:${box.mqttPort}`);
    expect(screen).toMatch(/ {2}readings {3}no INFLUX_URL: stored in .*data\/ingest\.sqlite \(table local_readings\)/);
    expect(screen).toMatch(/ {2}alerts {5}dry run, SMS are NOT sent/);
    expect(screen).toMatch(/ {4}SMS outbox {2}sqlite3 .*data\/alerts\.sqlite/);
    expect(screen).toMatch(/\d\d:\d\d:\d\d {2}pipeline time \d\d:\d\d \(×60\) {2}readings [\d,]+ stored · dead letters 0 · events \d+ · SMS [\d,]+ queued, [\d,]+ sent/);
    expect(screen).toMatch(/EVENT {2}NGHI CHÁY {2}suspected fire — San Thàng \(san-thang-07\) at \d\d:\d\d {2}incident fire-san-thang-07-/);
    expect(screen).toMatch(/EVENT {2}CHÁY RỪNG {2}confirmed fire — San Thàng/);
    expect(screen).toMatch(/SMS \(dry run\) {2}×8 fire-suspected → 8 people: leaders of 8 teams: "PCCR LAI CHAU: NGHI CHAY tai San Thang/);
    expect(screen).toMatch(/SMS \(dry run\) {2}×150 fire-confirmed → 150 people: 8 teams \(100\), Ban Chỉ huy PCCCR xã San Thàng \(27\), city board \(23\)/);
    expect(screen, 'no JSON log lines on a terminal').not.toMatch(/^\{"level"/m);
    expect(screen, 'no node status lines').not.toContain('node status');

    // Ctrl-C: a clean stop, no spurious errors on the way out (npm reports 130 for a Ctrl-C; node exits 0).
    const stopAt = demo.screen.length;
    const code = await demo.ctrlC();
    const shutdown = demo.screen.slice(stopAt);
    expect(shutdown).toMatch(/stopping… \(another Ctrl-C, a moment later, stops at once\)/);
    expect(shutdown).toMatch(/\d\d:\d\d:\d\d {2}stopped cleanly/);
    expect(shutdown, 'no warning or error while stopping (ECONNRESET, write after end)').not.toMatch(/ (WARN|ERROR|FATAL) /);
    expect(code).toBe(130);
  });

  it('`npm start -- --scenario normal-day --speed 60`, five hours of an ordinary day: no fire, no SMS, nothing refused', async ({ expect }) => {
    const box = await sandbox('normal-day');
    boxes.push(box);
    const day = new Shell('npm start -- --scenario normal-day --speed 60', box.env, { cwd: box.dir });
    shells.push(day);
    await day.waitFor('"msg":"background simulation started"', 120_000);
    const run = await announcedRun(box);
    // Five hours of the day (the scenario is 24 h: stop it there).
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, run.anchorWallMs + 5 * 60_000 - Date.now())));
    const events = ruleEvents(box.dataDir);
    expect(events.filter((e) => e.kind.startsWith('fire-')), 'no fire event').toStrictEqual([]);
    expect(events.filter((e) => e.kind.startsWith('node-')), 'no node fault or offline node').toStrictEqual([]);
    expect(smsRows(box.dataDir), 'no SMS at all').toStrictEqual([]);
    expect(deadLetters(box.dataDir)).toStrictEqual({});
    const stored = storedReadings(box.dataDir);
    expect(stored, '33 nodes a reading a minute for about 5 hours').toBeGreaterThan(33 * 280);
    console.log(`[normal day ×60] ${stored} readings stored in 5 min, ${events.length} events (${[...new Set(events.map((e) => e.kind))].join(', ') || 'none'})`);
    // Not a terminal: JSON logs, `service` once per line.
    expect(day.logs.length).toBeGreaterThan(10);
    expect(day.out.split('\n').filter((l) => (l.match(/"service":/g) ?? []).length > 1), 'no duplicate service key').toStrictEqual([]);
    const stopAt = day.logs.length;
    expect(await day.ctrlC()).toBe(130);
    const shutdown = day.logs.slice(stopAt);
    expect(shutdown.map((l) => l.msg)).toContain('stopped cleanly');
    expect(shutdown.filter((l) => l.level >= 40), 'no warning or error while stopping').toStrictEqual([]);
  });
});
