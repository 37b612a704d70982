// The fire into a running pipeline, as the README's quick start shows it with two terminals:
// `npm start -- --no-simulation`, then `npx fire-ews simulate --scenario fire-san-thang --speed 60`
// — or the recording `npx fire-ews simulate … --out fire.ndjson` replayed with
// `npx fire-ews replay fire.ndjson --shift-to-now --speed 60`. Both ways run at once (≈ 6 min).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, it, type ExpectStatic } from 'vitest';
import type { Reading } from '../../contracts/payloads.ts';
import { announcedRun, readmeCommand, ruleEvents, sandbox, Shell, smsRows, type Sandbox } from './harness.ts';
import { checkFireDemo, fireScenarioFacts } from './fire-checks.ts';

const facts = fireScenarioFacts();
const boxes: Sandbox[] = [];
const shells: Shell[] = [];
afterAll(() => {
  for (const s of shells) s.kill();
  for (const b of boxes) b.remove();
});

async function pipeline(box: Sandbox): Promise<Shell> {
  const start = new Shell(readmeCommand('npm start -- --no-simulation'), box.env, { cwd: box.dir });
  shells.push(start);
  await start.waitFor('"msg":"pipeline running; Ctrl-C to stop"', 120_000);
  return start;
}

async function stop(expect: ExpectStatic, start: Shell): Promise<void> {
  const from = start.logs.length;
  expect(await start.ctrlC()).toBe(130);
  const shutdown = start.logs.slice(from);
  expect(shutdown.map((l) => l.msg)).toContain('stopped cleanly');
  expect(shutdown.filter((l) => l.level >= 40), 'no warning or error while stopping').toStrictEqual([]);
}

describe.concurrent('into `npm start -- --no-simulation`', () => {
  it('`npx fire-ews simulate --scenario fire-san-thang --speed 60`: the pipeline follows the run\'s clock; a --fast run of past data is refused first', async ({ expect }) => {
    const box = await sandbox('simulate-into');
    boxes.push(box);
    const start = await pipeline(box);
    // The wrong combination: past data as fast as possible into rules on the pipeline's clock.
    const fast = new Shell('npx fire-ews simulate --scenario fire-san-thang --fast', box.env, { cwd: box.dir });
    shells.push(fast);
    expect(await fast.within(120_000)).toBe(2);
    expect(fast.err).toMatch(/^refused: --fast sends readings with their own timestamps as fast as possible \(from 2026-03-20 04:00Z, .*RULES_CLOCK=readings/m);
    expect(ruleEvents(box.dataDir), 'nothing was sent').toStrictEqual([]);

    const started = Date.now();
    const sim = new Shell(readmeCommand('npx fire-ews simulate --scenario fire-san-thang --speed 60'), box.env, { cwd: box.dir });
    shells.push(sim);
    const run = await announcedRun(box);
    expect(await sim.within(8 * 60_000)).toBe(0);
    expect(sim.err).toMatch(/^simulate fire-san-thang: 33 emulated nodes → mqtt:\/\/127\.0\.0\.1:\d+, ×60 \(5 min of wall time\), placed .* so that it ends now; run clock run-[0-9a-f]+ announced and followed by the pipeline$/m);
    // The scenario as written (its March afternoon, the same readings as its recording), moved to end now.
    expect(sim.err).toMatch(/^simulate fire-san-thang \(seed 409\): 9,730 readings, 1 link events, 33 nodes, .* in \d+\.\d s, \d+ readings\/s; played as written \(2026-03-20T04:00:00Z → 2026-03-20T09:00:00Z\) and moved [\d.]+ days to end now$/m);
    const numbers = checkFireDemo(expect, box.dataDir, run, run.anchorSimMs, facts);
    console.log(`[fire demo, simulate into start] ${JSON.stringify(numbers)}; wall ${((Date.now() - started) / 1000).toFixed(0)} s`);
    // The pipeline said it followed the run and came back to the wall clock.
    const msgs = start.logs.map((l) => l.msg);
    expect(msgs).toContain('following the clock of an accelerated run');
    expect(msgs).toContain('accelerated run ended; back on the wall clock');
    await stop(expect, start);
  });

  it('`npx fire-ews simulate … --out fire.ndjson`, then `npx fire-ews replay fire.ndjson --shift-to-now --speed 60`', async ({ expect }) => {
    const box = await sandbox('replay-into');
    boxes.push(box);
    const start = await pipeline(box);
    // A recording: written as fast as it can be, one summary line (stderr is not a terminal).
    const record = new Shell(readmeCommand('npx fire-ews simulate --scenario fire-san-thang --out fire.ndjson'), box.env, { cwd: box.dir });
    shells.push(record);
    expect(await record.within(120_000)).toBe(0);
    expect(record.err.trim().split('\n')).toStrictEqual([expect.stringMatching(/^simulate fire-san-thang \(seed 409\): 9,730 readings, 1 link events, 33 nodes, 2026-03-20T04:00:00Z → 2026-03-20T09:00:00Z .* → fire\.ndjson \([\d,]+ bytes\) in \d+\.\d s/)]);
    const recorded = readFileSync(join(box.dir, 'fire.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Reading);
    expect(recorded).toHaveLength(9730);

    const started = Date.now();
    const replay = new Shell(readmeCommand('npx fire-ews replay fire.ndjson --shift-to-now --speed 60'), box.env, { cwd: box.dir });
    shells.push(replay);
    const run = await announcedRun(box);
    expect(await replay.within(8 * 60_000)).toBe(0);
    expect(replay.err).toMatch(/^replay fire\.ndjson: 9,730 readings → mqtt:\/\/127\.0\.0\.1:\d+, ×60 \(5 min of wall time\), placed .* so that it ends now; run clock run-[0-9a-f]+ announced/m);
    expect(replay.err).toMatch(/^replay fire\.ndjson \(ndjson\): 9,730 rows, 9,730 replayed, 0 filtered out, 0 bad; data .* \(shifted by [\d.]+ days\) in \d+\.\d s/m);
    // The recording's first reading lies on the run's anchor; the scenario's start a little before it.
    const numbers = checkFireDemo(expect, box.dataDir, run, run.anchorSimMs - (facts.firstTsMs - facts.scenario.start), facts);
    console.log(`[fire demo, replay --shift-to-now into start] ${JSON.stringify(numbers)}; wall ${((Date.now() - started) / 1000).toFixed(0)} s`);
    expect(smsRows(box.dataDir).length).toBe(numbers.sms);
    await stop(expect, start);
  });
});
