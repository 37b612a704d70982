// The run-clock handshake over a real broker, in one process (README "Time model"): a pipeline
// process announces how it judges time, a simulator's accelerated run is checked, announced,
// confirmed by the pipeline before the first reading, followed, and released at its end; a process
// that stops removes its status; wrong runs are refused before anything is sent.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { pipelineClockSchema, type PipelineClockStatus } from '../../contracts/payloads.ts';
import { topics } from '../../contracts/topics.ts';
import type { RunningBroker } from '../../broker/server.ts';
import { PipelineClock } from '../../platform/clock.ts';
import { startClockLink, type ClockLink } from '../../platform/clock-link.ts';
import { derivePassword } from '../../platform/credentials.ts';
import { loadSiteFile } from '../../platform/site-file.ts';
import { scenarioNodes } from '../../simulator/engine.ts';
import { playScenario } from '../../simulator/run.ts';
import { announceRun, RunRefusedError } from '../../simulator/run-clock.ts';
import { loadScenario } from '../../simulator/scenario.ts';
import { waitFor } from '../harness/ports.ts';
import { ServiceProcess, SITE_FILE, TEST_SECRET, serviceEnv, startSiteBroker, tempDataDir } from '../harness/services.ts';

const silent = pino({ level: 'silent' });
const tmp = tempDataDir('clock-link');
let broker: RunningBroker;
let url: string;
const access = () => ({ url, secret: TEST_SECRET });

beforeAll(async () => {
  ({ broker, url } = await startSiteBroker(tmp.dir));
});
afterAll(async () => {
  await broker?.close();
  tmp.remove();
});

function link(role: 'ingest' | 'rules' | 'alerts', clock: PipelineClock, services: PipelineClockStatus['services']): ClockLink {
  const username = `svc-${role}`;
  return startClockLink({ url, username, password: derivePassword(TEST_SECRET, username), clientId: `clock-test-${role}-${Math.random().toString(16).slice(2, 6)}`, role, services, clock, log: silent });
}

/** The retained statuses, as svc-observer sees them. */
async function statuses(): Promise<PipelineClockStatus[]> {
  const client = await mqtt.connectAsync(url, { username: 'svc-observer', password: derivePassword(TEST_SECRET, 'svc-observer'), clientId: `clock-observer-${Math.random().toString(16).slice(2, 6)}` });
  const seen = new Map<string, PipelineClockStatus>();
  client.on('message', (_t, payload) => {
    if (payload.length) {
      const s = pipelineClockSchema.parse(JSON.parse(payload.toString('utf8')));
      seen.set(s.role, s);
    }
  });
  await client.subscribeAsync(topics.allPipelineClocks, { qos: 1 });
  await new Promise((resolve) => setTimeout(resolve, 300));
  await client.endAsync();
  return [...seen.values()];
}

describe('run clocks over the broker', () => {
  it('a following pipeline confirms an accelerated run before the first reading, follows it, and is back on the wall clock at its end', async () => {
    const clock = new PipelineClock(true);
    const l = link('rules', clock, { ingest: 'follow', rules: 'follow', alerts: 'follow' });
    await l.ready;
    expect(await statuses()).toStrictEqual([expect.objectContaining({ role: 'rules', runId: null, services: { ingest: 'follow', rules: 'follow', alerts: 'follow' } })]);
    const scenario = { ...loadScenario('fire-san-thang'), duration: 20 * 60_000 };
    const nodes = scenarioNodes(scenario, loadSiteFile(SITE_FILE));
    let clockAtFirstReading: number | undefined;
    let confirmedBeforeFirstReading: boolean | undefined;
    let planned: Awaited<ReturnType<typeof announceRun>> | undefined;
    const play = await playScenario({
      access: access(),
      scenario,
      nodes,
      speed: 120,
      onMessage: () => {
        if (clockAtFirstReading !== undefined) return;
        clockAtFirstReading = clock.now();
        confirmedBeforeFirstReading = planned?.clock !== null && clock.epoch === planned?.clock?.runId;
      },
      onPlanned: (_run, announced) => {
        planned = announced;
      },
    });
    expect(confirmedBeforeFirstReading, 'the pipeline was on the run clock before the first reading').toBe(true);
    expect(play.announced.clock).toMatchObject({ speed: 120, state: 'running' });
    // The run was placed to end now: its clock started 20·(1 − 1/120) minutes back and met the wall at the end.
    expect(play.announced.anchorWallMs - play.announced.anchorSimMs).toBe(Math.round(20 * 60_000 * (1 - 1 / 120)));
    expect(clockAtFirstReading!).toBeLessThan(Date.now() - 15 * 60_000);
    await waitFor(() => clock.activeRun === null, 5000, 'the run released');
    expect(Math.abs(clock.now() - Date.now())).toBeLessThan(1000);
    expect(play.counts.readings).toBeGreaterThanOrEqual(33 * 19);
    expect(play.unacknowledged).toBe(0);
    // A second accelerated run while none is active is fine; its status comes back to runId null.
    await waitFor(async () => (await statuses())[0]?.runId === null, 5000, 'status released');
    await l.close();
    expect(await statuses(), 'a stopped process removes its status').toStrictEqual([]);
  });

  it('an accelerated run into a wall-clock pipeline is refused before anything is announced', async () => {
    const l = link('rules', new PipelineClock(false), { rules: 'wall' });
    await l.ready;
    try {
      await expect(announceRun({ access: access(), timing: { kind: 'placed', speed: 60 }, durationMs: 3600_000, source: 'test' })).rejects.toThrow(RunRefusedError);
      await expect(announceRun({ access: access(), timing: { kind: 'placed', speed: 60 }, durationMs: 3600_000, source: 'test' })).rejects.toThrow(/^refused: an accelerated run \(--speed 60\) needs every pipeline service to follow run clocks, but rules \(svc-rules\)/);
      // Real time, stamped now: fine.
      const realTime = await announceRun({ access: access(), timing: { kind: 'placed', speed: 1 }, durationMs: 3600_000, source: 'test' });
      expect(realTime.clock).toBeNull();
      await realTime.end('completed');
    } finally {
      await l.close();
    }
  });

  it('a second accelerated run while one is going is refused', async () => {
    const clock = new PipelineClock(true);
    const l = link('ingest', clock, { ingest: 'follow' });
    await l.ready;
    const first = await announceRun({ access: access(), timing: { kind: 'placed', speed: 60 }, durationMs: 3600_000, source: 'first' });
    try {
      await waitFor(() => clock.epoch === first.clock?.runId, 5000, 'followed');
      await expect(announceRun({ access: access(), timing: { kind: 'placed', speed: 60 }, durationMs: 3600_000, source: 'second' })).rejects.toThrow(/^refused: another accelerated run is in progress on this broker \(first, run-[0-9a-f]+, ×60\)/);
    } finally {
      await first.end('completed');
      await waitFor(() => clock.activeRun === null, 5000, 'released by the ended message');
      await l.close();
    }
  });

  it('a pipeline process killed without a goodbye loses its status (its will), so nobody waits for it', async () => {
    const ingest = new ServiceProcess('ingest', serviceEnv(join(tmp.dir, 'ingest'), { MQTT_URL: url, EWS_FOLLOW_RUN_CLOCKS: 'true' })).start();
    try {
      await ingest.waitForLog('ingest running', 30_000);
      await waitFor(async () => (await statuses()).some((s) => s.role === 'ingest' && s.services.ingest === 'follow'), 10_000, 'its status');
      await ingest.stop('SIGKILL');
      // The broker notices the dead connection (keepalive) or the closed socket and publishes the will.
      await waitFor(async () => !(await statuses()).some((s) => s.role === 'ingest'), 60_000, 'the will removed the status');
    } finally {
      await ingest.stop('SIGKILL');
    }
  });
});
