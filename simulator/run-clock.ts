// Before a run goes into the broker: does its timing fit how the running pipeline judges time, and
// — for an accelerated run — announce its clock on `ews/v1/clock` and wait until every pipeline
// process that follows run clocks has taken it (README "Time model"). Wrong combinations are refused
// with one message saying what would go wrong and what to do instead.
import type { MqttClient } from 'mqtt';
import { connectToBrokersAsync } from '../platform/broker-urls.ts';
import { randomBytes } from 'node:crypto';
import { pipelineClockSchema, runClockSchema, type PipelineClockStatus, type RunClock } from '../contracts/payloads.ts';
import { topics } from '../contracts/topics.ts';
import { derivePassword, serviceUsername } from '../platform/credentials.ts';
import { placeRun, runEndWallMs, runIsActive } from '../platform/clock.ts';
import type { BrokerAccess } from './mqtt-io.ts';

/** How a run's readings are timed. */
export type RunTiming =
  /** Stamped on the pipeline's clock: the run is placed to end at the wall clock's now. */
  | { kind: 'placed'; speed: number }
  /** The data's own timestamps (a recording, a scenario at its own date), paced at `speed`. */
  | { kind: 'own-time'; speed: number; firstTsMs: number }
  /** The data's own timestamps as fast as the broker acknowledges them. */
  | { kind: 'fast'; firstTsMs: number };

export type RunCheck = { ok: true; note?: string } | { ok: false; message: string };

/** A refusal the CLI prints as one message and exits non-zero with. */
export class RunRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunRefusedError';
  }
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + 'Z';

function lateBy(firstTsMs: number, nowMs: number): string {
  const s = Math.max(0, (nowMs - firstTsMs) / 1000);
  if (s >= 2 * 86_400) return `${Math.round(s / 86_400)} days`;
  if (s >= 2 * 3600) return `${Math.round(s / 3600)} hours`;
  return `${Math.round(s / 60)} minutes`;
}

function who(statuses: readonly PipelineClockStatus[], service: 'ingest' | 'rules' | 'alerts', modes: readonly string[]): string[] {
  return statuses.filter((s) => s.services[service] !== undefined && modes.includes(s.services[service])).map((s) => `${service} (svc-${s.role})`);
}

/**
 * Whether a run fits the pipeline processes that announced their clocks. Pure; `nowMs` only words
 * the message.
 */
export function checkRunAgainstPipeline(timing: RunTiming, statuses: readonly PipelineClockStatus[], nowMs: number): RunCheck {
  if (statuses.length === 0) {
    return { ok: true, note: `no pipeline process announced how it judges time on this broker (${topics.allPipelineClocks}); nothing checked` };
  }
  const busy = statuses.find((s) => s.simulating);
  if (busy) {
    return {
      ok: false,
      message: `refused: the pipeline plays its own simulation (${busy.simulating}); two fleets of the same nodes would fight over their connections and mix their readings. Start it with \`npm start -- --no-simulation\` to simulate or replay into it.`,
    };
  }
  if (timing.kind === 'placed') {
    if (timing.speed === 1) return { ok: true };
    const notFollowing = [...who(statuses, 'ingest', ['wall']), ...who(statuses, 'rules', ['wall']), ...who(statuses, 'alerts', ['wall'])];
    if (notFollowing.length === 0) return { ok: true };
    return {
      ok: false,
      message:
        `refused: an accelerated run (--speed ${timing.speed}) needs every pipeline service to follow run clocks, but ${notFollowing.join(', ')} ` +
        `judge${notFollowing.length === 1 ? 's' : ''} time on the wall clock: the run's readings would look up to hours late there (clock-skew faults, nodes offline, false all-clears). ` +
        'Start the pipeline with `fire-ews start` (it follows run clocks) or set EWS_FOLLOW_RUN_CLOCKS=true on ingest, rules and alerts; or play at --speed 1; or write a file with --out.',
    };
  }
  const notReadings = who(statuses, 'rules', ['wall', 'follow']);
  if (notReadings.length === 0) return { ok: true };
  const what = timing.kind === 'fast' ? '--fast sends readings with their own timestamps as fast as possible' : 'the readings keep their own timestamps';
  return {
    ok: false,
    message:
      `refused: ${what} (from ${day(timing.firstTsMs)}, ${lateBy(timing.firstTsMs, nowMs)} before now), but ${notReadings.join(', ')} judges time on ` +
      `the pipeline's clock, where they would look that late (clock-skew faults, false all-clears). Play it placed on the pipeline's clock instead ` +
      `(simulate: leave out --fast/--start; replay: --shift-to-now with --speed N), or run rules with RULES_CLOCK=readings, or write a file with --out.`,
  };
}

export interface AnnouncedRun {
  clock: RunClock | null;
  /** Wall instant at which pacing starts (the run's anchor). */
  anchorWallMs: number;
  /** Where the data's time starts (placed runs), for the simulator to stamp its readings. */
  anchorSimMs: number;
  /** Printed before the run when nothing could be checked. */
  note: string | undefined;
  /** Announces the end (placed accelerated runs) and disconnects. */
  end(reason: string): Promise<void>;
}

export interface AnnounceOptions {
  access: BrokerAccess;
  timing: RunTiming;
  /** Data span, for placing the run. */
  durationMs: number;
  source: string;
  /** How long to wait for retained statuses after subscribing. */
  settleMs?: number;
  /** How long the pipeline may take to confirm the run clock. */
  handshakeMs?: number;
  /** Pacing starts this long after the announcement (the handshake happens meanwhile). */
  leadMs?: number;
  now?: () => number;
}

function parseJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
}

function collectRetained(client: MqttClient, settleMs: number): Promise<{ statuses: PipelineClockStatus[]; running: RunClock | null }> {
  const statuses = new Map<string, PipelineClockStatus>();
  let running: RunClock | null = null;
  return new Promise((resolve, reject) => {
    client.on('message', (topic, payload) => {
      if (payload.length === 0) return;
      const json = parseJson(payload);
      if (topic === topics.clock) {
        const r = runClockSchema.safeParse(json);
        if (r.success) running = r.data;
      } else {
        const s = pipelineClockSchema.safeParse(json);
        if (s.success) statuses.set(s.data.role, s.data);
      }
    });
    client.subscribe([topics.clock, topics.allPipelineClocks], { qos: 1 }, (err, granted) => {
      if (err) return reject(err);
      if (granted?.some((g) => g.qos === 128)) return reject(new RunRefusedError('the broker refused svc-simulator the clock topics (ews/v1/clock, ews/v1/clock/pipeline/+): is the broker older than this simulator?'));
      // Retained messages follow the SUBACK at once; give them a moment.
      setTimeout(() => resolve({ statuses: [...statuses.values()], running }), settleMs);
    });
  });
}

/**
 * Checks the run against the pipeline and, for an accelerated placed run, announces its clock and
 * waits until every following process has confirmed it. Throws RunRefusedError with the reason.
 */
export async function announceRun(opts: AnnounceOptions): Promise<AnnouncedRun> {
  const now = opts.now ?? Date.now;
  const runId = `run-${randomBytes(5).toString('hex')}`;
  const accelerated = opts.timing.kind === 'placed' && opts.timing.speed !== 1;
  const anchorWallMs = now() + (accelerated ? (opts.leadMs ?? 2000) : 0);
  const speed = opts.timing.kind === 'fast' ? 1 : opts.timing.speed;
  const place = opts.timing.kind === 'placed' ? placeRun(anchorWallMs, opts.durationMs, opts.timing.speed) : null;
  const clock: RunClock | null =
    accelerated && place ? runClockSchema.parse({ runId, source: opts.source.slice(0, 200), speed, anchorWallMs, anchorSimMs: place.anchorSimMs, endSimMs: place.endSimMs, state: 'running' }) : null;
  const ended = (reason: string) => JSON.stringify({ ...clock, state: 'ended', reason });
  const username = serviceUsername('simulator');
  const client = await connectToBrokersAsync(opts.access.url, {
    protocolVersion: 4,
    clean: true,
    clientId: `sim-clock-${process.pid}-${runId.slice(4)}`,
    username,
    password: derivePassword(opts.access.secret, username),
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    // A simulator that dies mid-run ends its run: following pipelines go back to the wall clock.
    ...(clock ? { will: { topic: topics.clock, payload: Buffer.from(ended('simulator connection lost')), qos: 1 as const, retain: true } } : {}),
  });
  const close = () => new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
  let note: string | undefined;
  try {
    const { statuses, running } = await collectRetained(client, opts.settleMs ?? 400);
    if (running && runIsActive(running, now())) {
      throw new RunRefusedError(
        `refused: another accelerated run is in progress on this broker (${running.source}, ${running.runId}, ×${running.speed}) until ${new Date(runEndWallMs(running)).toISOString()}; ` +
          'wait for it to end or stop it (Ctrl-C) first',
      );
    }
    const check = checkRunAgainstPipeline(opts.timing, statuses, now());
    if (!check.ok) throw new RunRefusedError(check.message);
    note = check.note;
    if (clock) {
      const following = statuses.filter((s) => Object.values(s.services).includes('follow'));
      const confirmed = new Set<string>();
      const allConfirmed = new Promise<void>((resolve) => {
        const done = () => following.every((s) => confirmed.has(s.role)) && resolve();
        client.on('message', (topic, payload) => {
          if (payload.length === 0 || topic === topics.clock) return;
          const s = pipelineClockSchema.safeParse(parseJson(payload));
          if (s.success && s.data.runId === runId) confirmed.add(s.data.role);
          done();
        });
        done();
      });
      await client.publishAsync(topics.clock, JSON.stringify(clock), { qos: 1, retain: true });
      const handshakeMs = opts.handshakeMs ?? 15_000;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([allConfirmed.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), handshakeMs)))]);
      clearTimeout(timer);
      if (timedOut) {
        await client.publishAsync(topics.clock, ended('the pipeline did not confirm it'), { qos: 1, retain: true });
        const missing = following.filter((s) => !confirmed.has(s.role)).map((s) => `svc-${s.role}`);
        throw new RunRefusedError(`refused: ${missing.join(', ')} did not confirm the run clock within ${handshakeMs / 1000} s; is that pipeline process stuck?`);
      }
    }
  } catch (err) {
    await close();
    throw err;
  }
  if (!clock) await close();
  let endedOnce = false;
  return {
    clock,
    anchorWallMs,
    anchorSimMs: place?.anchorSimMs ?? anchorWallMs,
    note,
    async end(reason: string) {
      if (!clock || endedOnce) return;
      endedOnce = true;
      await client.publishAsync(topics.clock, ended(reason), { qos: 1, retain: true }).catch(() => undefined);
      await close();
    },
  };
}
