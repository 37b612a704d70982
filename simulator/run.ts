// Drives a simulation run into a destination: a file (as fast as possible) or the broker through
// emulated nodes (paced, placed and announced on the pipeline's clock: README "Time model"), and
// the background run the main process starts.
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Reading } from '../contracts/payloads.ts';
import type { Site } from '../contracts/site.ts';
import type { Logger } from '../platform/logger.ts';
import { runTimeAt, systemClock, type Clock } from '../platform/clock.ts';
import { scenarioNodes, simulate, type SimMessage, type SimulatedNode, type SimulationRun } from './engine.ts';
import { NodeFleet, type BrokerAccess, type EmulatedNodeOptions } from './mqtt-io.ts';
import type { ReadingSink } from './replay.ts';
import { announceRun, type AnnouncedRun, type RunTiming } from './run-clock.ts';
import { loadScenario, withStart, type Scenario } from './scenario.ts';

/** Writes one JSON reading per line; waits for the stream to drain when its buffer is full. */
export class NdjsonFileSink implements ReadingSink {
  private readonly stream: WriteStream | NodeJS.WritableStream;
  private readonly ownsStream: boolean;
  constructor(pathOrStdout: string) {
    this.ownsStream = pathOrStdout !== '-';
    this.stream = this.ownsStream ? createWriteStream(pathOrStdout, { highWaterMark: 1 << 20 }) : process.stdout;
  }
  write(reading: Reading): void | Promise<void> {
    if (!this.stream.write(`${JSON.stringify(reading)}\n`)) return once(this.stream, 'drain').then(() => undefined);
  }
  async close(): Promise<void> {
    if (!this.ownsStream) return;
    const finished = once(this.stream, 'finish');
    this.stream.end();
    await finished;
  }
}

export interface RunCounts {
  readings: number;
  linkEvents: number;
}

/** Every reading of the run into the sink, in delivery order (link events only counted). */
export async function runToSink(run: SimulationRun, sink: ReadingSink, onMessage?: (counts: RunCounts, m: SimMessage) => void): Promise<RunCounts> {
  const counts: RunCounts = { readings: 0, linkEvents: 0 };
  for (const m of run.messages) {
    if (m.kind === 'reading') {
      counts.readings++;
      const pending = sink.write(m.reading);
      if (pending) await pending;
    } else counts.linkEvents++;
    onMessage?.(counts, m);
  }
  await sink.close();
  return counts;
}

export interface LiveRunOptions {
  run: SimulationRun;
  fleet: NodeFleet;
  /** Scenario time runs this many times faster than the clock; Infinity = as fast as possible. */
  speed: number;
  clock?: Clock;
  /** Wall instant the run's start maps to (an announced run's anchor); default: now. */
  startWallMs?: number;
  signal?: AbortSignal | undefined;
  onMessage?: (counts: RunCounts, m: SimMessage) => void;
}

/** Plays the run through emulated nodes: each message leaves at wallStart + (atMs − start)/speed. */
export async function runLive(opts: LiveRunOptions): Promise<RunCounts> {
  const clock = opts.clock ?? systemClock;
  const wallStart = opts.startWallMs ?? clock.now();
  const counts: RunCounts = { readings: 0, linkEvents: 0 };
  for (const m of opts.run.messages) {
    if (opts.signal?.aborted) break;
    if (Number.isFinite(opts.speed)) {
      const due = wallStart + (m.atMs - opts.run.startMs) / opts.speed;
      if (due > clock.now()) await clock.sleepUntil(due, opts.signal);
      if (opts.signal?.aborted) break;
    }
    const node = opts.fleet.node(m.nodeId);
    if (m.kind === 'reading') {
      counts.readings++;
      const pending = node.send(m.reading);
      if (pending) await pending;
    } else {
      counts.linkEvents++;
      if (m.up) await node.connect();
      else await node.linkDown();
    }
    opts.onMessage?.(counts, m);
  }
  // What is still in flight is waited for (bounded) by fleet.closeAll().
  return counts;
}

/** The same run with every timestamp (delivery and observation) moved by deltaMs. */
export function shiftRun(run: SimulationRun, deltaMs: number): SimulationRun {
  if (deltaMs === 0) return run;
  const messages: Iterable<SimMessage> = {
    *[Symbol.iterator]() {
      for (const m of run.messages) {
        if (m.kind === 'link') yield { ...m, atMs: m.atMs + deltaMs };
        else yield { ...m, atMs: m.atMs + deltaMs, reading: { ...m.reading, ts: new Date(Date.parse(m.reading.ts) + deltaMs).toISOString() } };
      }
    },
  };
  return { ...run, messages, startMs: run.startMs + deltaMs, endMs: run.endMs + deltaMs };
}

export interface ScenarioPlayOptions {
  access: BrokerAccess;
  /** The scenario as loaded (at its own date). */
  scenario: Scenario;
  nodes: readonly SimulatedNode[];
  seed?: number | undefined;
  /**
   * ≥ 1: placed on the pipeline's clock so that it ends at the wall clock's now (README "Time
   * model"); above 1 its clock is announced and followed. Infinity: --fast, at its own time.
   */
  speed: number;
  /** Keep the scenario at its own (or --start) time instead of placing it (needs rules on the readings' clock). */
  ownTime?: boolean;
  signal?: AbortSignal | undefined;
  onMessage?: (counts: RunCounts, m: SimMessage) => void;
  /** Once the run is placed and announced, before the first reading. */
  onPlanned?: (run: SimulationRun, announced: AnnouncedRun) => void;
  fleet?: EmulatedNodeOptions;
}

export interface ScenarioPlay {
  counts: RunCounts;
  run: SimulationRun;
  announced: AnnouncedRun;
  /** Readings the broker never acknowledged (it went away before the end). */
  unacknowledged: number;
  /** How far the scenario's timestamps were moved (an accelerated run placed to end now); 0 otherwise. */
  shiftMs: number;
}

/**
 * Plays a scenario into the broker the way every command does it: checks the run against the
 * pipeline's clocks, places and announces it, connects the emulated nodes, paces the messages
 * from the announced anchor, then ends the run. Throws RunRefusedError when the pipeline cannot
 * judge the run's time.
 */
export async function playScenario(opts: ScenarioPlayOptions): Promise<ScenarioPlay> {
  const { scenario } = opts;
  const fast = !Number.isFinite(opts.speed);
  const timing: RunTiming = fast ? { kind: 'fast', firstTsMs: scenario.start } : opts.ownTime ? { kind: 'own-time', speed: opts.speed, firstTsMs: scenario.start } : { kind: 'placed', speed: opts.speed };
  const announced = await announceRun({ access: opts.access, timing, durationMs: scenario.duration, source: `simulate ${scenario.name}` });
  // In real time the scenario is re-timed to start now (its weather follows the hours it is played
  // in). Accelerated, it is played as written — its fire on the afternoon it was written for — and
  // only its timestamps move, so that it ends now: the same readings as its recording replayed with
  // --shift-to-now.
  const seed = opts.seed ?? scenario.seed;
  const shiftMs = timing.kind === 'placed' && timing.speed !== 1 ? announced.anchorSimMs - scenario.start : 0;
  const run = timing.kind === 'placed' && timing.speed === 1 ? simulate(withStart(scenario, announced.anchorSimMs), opts.nodes, seed) : shiftRun(simulate(scenario, opts.nodes, seed), shiftMs);
  // Status messages carry the run's time, like the readings (a following pipeline judges both by it).
  const runClock = announced.clock;
  const fleet = new NodeFleet(opts.access, { ...opts.fleet, ...(runClock ? { now: () => runTimeAt(runClock, Date.now()) } : {}) });
  let reason = 'completed';
  try {
    await fleet.connectAll(opts.nodes.map((n) => n.id));
    opts.onPlanned?.(run, announced);
    const counts = await runLive({ run, fleet, speed: opts.speed, startWallMs: fast ? undefined : announced.anchorWallMs, signal: opts.signal, onMessage: opts.onMessage });
    if (opts.signal?.aborted) reason = 'interrupted';
    const unacknowledged = await fleet.closeAll(opts.signal?.aborted ? 'simulation interrupted' : 'simulation ended');
    return { counts, run, announced, unacknowledged, shiftMs };
  } catch (err) {
    reason = 'failed';
    await fleet.closeAll('simulation failed').catch(() => undefined);
    throw err;
  } finally {
    await announced.end(reason);
  }
}

export interface BackgroundSimulationOptions {
  access: BrokerAccess;
  site: Site;
  /** Built-in name or YAML path; default normal-day. */
  scenario?: string;
  /** Default 1 (real time). Above 1 the run is placed to end at the wall clock's now and its clock announced. */
  speed?: number;
  logger?: Logger;
  /** Once placed and announced, before the first reading. */
  onPlanned?: (run: SimulationRun, announced: AnnouncedRun) => void;
}

export interface BackgroundSimulation {
  stop(): Promise<void>;
  /** Resolves when the scenario ends or stop() finishes. */
  done: Promise<ScenarioPlay>;
}

/** Runs a scenario through emulated nodes in the background (what `npm start` uses to show data flowing). */
export function startBackgroundSimulation(opts: BackgroundSimulationOptions): BackgroundSimulation {
  const scenario = loadScenario(opts.scenario ?? 'normal-day');
  const nodes = scenarioNodes(scenario, opts.site);
  const abort = new AbortController();
  const done = playScenario({
    access: opts.access,
    scenario,
    nodes,
    speed: opts.speed ?? 1,
    signal: abort.signal,
    onPlanned: (run, announced) => {
      opts.logger?.info(
        { scenario: scenario.name, nodes: nodes.length, speed: opts.speed ?? 1, runId: announced.clock?.runId, scenarioTime: `${new Date(run.startMs).toISOString()} → ${new Date(run.endMs).toISOString()}` },
        'background simulation started',
      );
      opts.onPlanned?.(run, announced);
    },
    fleet: {
      onEvent: (e) => {
        if (e.kind !== 'connected') opts.logger?.debug({ nodeId: e.nodeId, detail: e.detail }, `simulated node ${e.kind}`);
      },
    },
  });
  return {
    done,
    async stop() {
      abort.abort();
      await done.catch(() => undefined);
    },
  };
}
