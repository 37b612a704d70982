// Drives a simulation run into a destination: a file (as fast as possible) or the broker through
// emulated nodes (paced on a clock), and the background run the main process starts.
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Reading } from '../contracts/payloads.ts';
import type { Site } from '../contracts/site.ts';
import type { Logger } from '../platform/logger.ts';
import { systemClock, type Clock } from './clock.ts';
import { scenarioNodes, simulate, type SimMessage, type SimulationRun } from './engine.ts';
import { NodeFleet, type BrokerAccess } from './mqtt-io.ts';
import type { ReadingSink } from './replay.ts';
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
  signal?: AbortSignal | undefined;
  onMessage?: (counts: RunCounts, m: SimMessage) => void;
}

/** Plays the run through emulated nodes: each message leaves at wallStart + (atMs − start)/speed. */
export async function runLive(opts: LiveRunOptions): Promise<RunCounts> {
  const clock = opts.clock ?? systemClock;
  const wallStart = clock.now();
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
  await opts.fleet.idle();
  return counts;
}

export interface BackgroundSimulationOptions {
  access: BrokerAccess;
  site: Site;
  /** Built-in name or YAML path; default normal-day. */
  scenario?: string;
  /** Default 1 (real time). */
  speed?: number;
  logger?: Logger;
  /** Start of scenario time; default now, so readings carry current timestamps. */
  startMs?: number;
}

export interface BackgroundSimulation {
  stop(): Promise<void>;
  /** Resolves when the scenario ends or stop() finishes. */
  done: Promise<RunCounts>;
}

/** Runs a scenario through emulated nodes in the background (what `npm start` uses to show data flowing). */
export async function startBackgroundSimulation(opts: BackgroundSimulationOptions): Promise<BackgroundSimulation> {
  const base: Scenario = loadScenario(opts.scenario ?? 'normal-day');
  const scenario = withStart(base, opts.startMs ?? Date.now());
  const nodes = scenarioNodes(scenario, opts.site);
  const run = simulate(scenario, nodes);
  const fleet = new NodeFleet(opts.access, {
    onEvent: (e) => {
      if (e.kind !== 'connected') opts.logger?.debug({ nodeId: e.nodeId, detail: e.detail }, `simulated node ${e.kind}`);
    },
  });
  await fleet.connectAll(nodes.map((n) => n.id));
  opts.logger?.info({ scenario: scenario.name, nodes: nodes.length, speed: opts.speed ?? 1 }, 'background simulation started');
  const abort = new AbortController();
  const done = runLive({ run, fleet, speed: opts.speed ?? 1, signal: abort.signal }).finally(() => fleet.closeAll());
  return {
    done,
    async stop() {
      abort.abort();
      await done.catch(() => undefined);
    },
  };
}
