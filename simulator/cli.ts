// `fire-ews simulate | replay | record`: the simulator's command-line face.
import { statSync } from 'node:fs';
import { Option, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { z } from 'zod';
import { loadEnv } from '../contracts/config.ts';
import { nodeIdSchema } from '../contracts/payloads.ts';
import { resolveBrokerSecret } from '../platform/credentials.ts';
import { loadSiteFile } from '../platform/site-file.ts';
import { systemClock } from './clock.ts';
import { loadTestNodes, scenarioNodes, simulate, type SimulatedNode } from './engine.ts';
import { MqttReadingSink, NodeFleet, recordReadings, type BrokerAccess } from './mqtt-io.ts';
import { formatFromFileName, REPLAY_FORMATS, type ReplayFormat } from '../contracts/reading-files.ts';
import { readFileRows, replayRows, ReplayFileError, type ReadingSink } from './replay.ts';
import { NdjsonFileSink, runLive, runToSink, type RunCounts } from './run.ts';
import { listBuiltinScenarios, loadScenario, parseDurationMs, withStart, type Scenario } from './scenario.ts';
import { DAY_MS, DAY_REGIMES, localMidnightMs } from './weather.ts';

const positiveNumber = z.coerce.number().positive();
const positiveInt = z.coerce.number().int().positive();
const seedSchema = z.coerce.number().int().min(0).max(2 ** 32 - 1);
const instantOrNow = z.union([z.literal('now').transform(() => Date.now()), z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))]);
const durationText = z.string().transform((s, ctx) => {
  const ms = parseDurationMs(s);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: `expected a duration like 90s, 10m, 4h or 30d, got ${JSON.stringify(s)}` });
    return z.NEVER;
  }
  return ms;
});

/** Parses one option with zod; commander reports the message as an invalid argument. */
function parseWith<T>(schema: z.ZodType<T>, what: string) {
  return (value: string): T => {
    const r = schema.safeParse(value);
    if (!r.success) throw new Error(`${what}: ${r.error.issues[0]?.message ?? 'invalid'}`);
    return r.data;
  };
}

function brokerAccess(url: string | undefined): BrokerAccess {
  const env = loadEnv();
  return { url: url ?? env.MQTT_URL, secret: resolveBrokerSecret(env.EWS_BROKER_SECRET, env.EWS_DATA_DIR).secret };
}

/** A progress bar on stderr (rate and ETA); silent when stderr is not a terminal. */
function progressBar(unit: string, total: number) {
  const bar = new cliProgress.SingleBar(
    {
      format: `{bar} {percentage}% | {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  bar.start(total, 0, { rate: 0 });
  let last = 0;
  return {
    update(value: number) {
      const now = Date.now();
      if (now - last < 200) return;
      last = now;
      bar.update(Math.min(value, total), { rate: Math.round(value / Math.max(0.001, (now - started) / 1000)) });
    },
    stop(value: number) {
      bar.update(Math.min(value, total), { rate: Math.round(value / Math.max(0.001, (Date.now() - started) / 1000)) });
      bar.stop();
    },
  };
}

const fmt = (n: number) => n.toLocaleString('en-US');

function regimeSummary(days: readonly { regime: string }[]): string {
  return DAY_REGIMES.map((r) => `${days.filter((d) => d.regime === r).length} ${r}`).join(', ');
}

interface SimulateOptions {
  scenario: string;
  seed?: number;
  out?: string;
  fast?: boolean;
  speed?: number;
  start?: number;
  duration?: number;
  site?: string;
  nodes?: number;
  rate?: number;
  url?: string;
  list?: boolean;
}

async function simulateCommand(opts: SimulateOptions): Promise<void> {
  if (opts.list) {
    for (const name of listBuiltinScenarios()) console.log(`${name.padEnd(16)} ${loadScenario(name).description}`);
    return;
  }
  if (opts.fast && opts.speed !== undefined) throw new Error('give either --fast or --speed, not both');
  const loadMode = opts.nodes !== undefined || opts.rate !== undefined;
  let scenario: Scenario;
  let nodes: SimulatedNode[];
  if (loadMode) {
    if (opts.nodes === undefined || opts.rate === undefined) throw new Error('load mode needs both --nodes N and --rate R (readings/s in total)');
    // Load readings carry current timestamps so the pipeline treats them as live.
    scenario = { ...loadScenario('normal-day'), name: `load-${opts.nodes}x${opts.rate}`, start: opts.start ?? Date.now(), duration: opts.duration ?? 60_000, events: [] };
    nodes = loadTestNodes(opts.nodes, opts.rate);
  } else {
    scenario = loadScenario(opts.scenario);
    if (opts.start !== undefined) scenario = withStart(scenario, opts.start);
    if (opts.duration !== undefined) scenario = { ...scenario, duration: opts.duration };
    const env = loadEnv();
    nodes = scenarioNodes(scenario, loadSiteFile(opts.site ?? env.EWS_SITE_FILE));
  }
  const seed = opts.seed ?? scenario.seed;
  const run = simulate(scenario, nodes, seed);
  const started = Date.now();
  const bar = progressBar('readings', run.expectedReadings);
  const onMessage = (c: RunCounts) => {
    if ((c.readings & 255) === 0) bar.update(c.readings);
  };
  let counts: RunCounts;
  let destination: string;
  if (opts.out) {
    if (opts.speed !== undefined) process.stderr.write('note: --out writes as fast as possible; --speed applies to publishing\n');
    counts = await runToSink(run, new NdjsonFileSink(opts.out), onMessage);
    destination = opts.out === '-' ? 'stdout' : `${opts.out} (${fmt(statSync(opts.out).size)} bytes)`;
  } else {
    const access = brokerAccess(opts.url);
    const speed = opts.fast ? Infinity : (opts.speed ?? 1);
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      if (loadMode) {
        // Virtual nodes have no credentials of their own: publish for them as svc-simulator.
        const sink = await MqttReadingSink.open(access, `sim-load-${process.pid}`);
        counts = { readings: 0, linkEvents: 0 };
        const wallStart = systemClock.now();
        for (const m of run.messages) {
          if (abort.signal.aborted) break;
          if (m.kind !== 'reading') continue;
          if (Number.isFinite(speed)) await systemClock.sleepUntil(wallStart + (m.atMs - run.startMs) / speed, abort.signal);
          const pending = sink.write(m.reading);
          if (pending) await pending;
          counts.readings++;
          onMessage(counts);
        }
        await sink.close();
      } else {
        const fleet = new NodeFleet(access);
        await fleet.connectAll(nodes.map((n) => n.id));
        try {
          counts = await runLive({ run, fleet, speed, signal: abort.signal, onMessage });
        } finally {
          await fleet.closeAll(abort.signal.aborted ? 'simulation interrupted' : 'simulation ended');
        }
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    destination = `${access.url} (${loadMode ? 'as svc-simulator' : `${nodes.length} emulated nodes`}, ${Number.isFinite(speed) ? `×${speed}` : 'fast'})`;
  }
  bar.stop(counts.readings);
  const seconds = (Date.now() - started) / 1000;
  const days = run.weather.days.filter((d) => localMidnightMs(d.localDay) < run.endMs && localMidnightMs(d.localDay) + DAY_MS > run.startMs);
  console.error(
    [
      `scenario ${scenario.name} (seed ${seed}): ${new Date(run.startMs).toISOString()} → ${new Date(run.endMs).toISOString()}, ${nodes.length} nodes`,
      `weather: ${regimeSummary(days)}; fire/burn sources: ${run.sources.length}`,
      `${fmt(counts.readings)} readings, ${counts.linkEvents} link events → ${destination}`,
      `${seconds.toFixed(1)} s, ${fmt(Math.round(counts.readings / Math.max(seconds, 0.001)))} readings/s`,
    ].join('\n'),
  );
}

interface ReplayCommandOptions {
  speed?: number;
  fast?: boolean;
  format?: ReplayFormat;
  node?: string[];
  from?: number;
  to?: number;
  shiftToNow?: boolean;
  out?: string;
  url?: string;
}

/** Exit code when some rows were bad but the rest replayed. */
export const EXIT_BAD_ROWS = 3;

async function replayCommand(file: string, opts: ReplayCommandOptions): Promise<void> {
  if (opts.fast && opts.speed !== undefined) throw new Error('give either --fast or --speed, not both');
  const format = opts.format ?? formatFromFileName(file);
  const size = statSync(file).size;
  const nodes = opts.node?.flatMap((n) => n.split(',')).map((n) => nodeIdSchema.parse(n.trim()));
  const sink: ReadingSink = opts.out ? new NdjsonFileSink(opts.out) : await MqttReadingSink.open(brokerAccess(opts.url));
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  let shownBad = 0;
  // Progress by rows read is unknown up front; bytes are not exposed by readline, so show readings only.
  const bar = progressBar('readings', Math.max(1, Math.round(size / 200)));
  const started = Date.now();
  let stats;
  try {
    stats = await replayRows(readFileRows(file, format), sink, {
      speed: opts.fast ? Infinity : (opts.speed ?? 1),
      clock: systemClock,
      nodes: nodes ? new Set(nodes) : undefined,
      fromMs: opts.from,
      toMs: opts.to,
      shiftToNow: opts.shiftToNow,
      signal: abort.signal,
      onBadRow: (line, message) => {
        if (shownBad++ < 100) process.stderr.write(`\n${file}:${line}: ${message}\n`);
      },
      onReading: (s) => {
        if ((s.replayed & 255) === 0) bar.update(s.replayed);
      },
    });
  } finally {
    process.off('SIGINT', onSignal);
    await sink.close();
  }
  bar.stop(stats.replayed);
  const seconds = (Date.now() - started) / 1000;
  const span = stats.firstTsMs !== undefined ? `${new Date(stats.firstTsMs).toISOString()} → ${new Date(stats.lastTsMs ?? stats.firstTsMs).toISOString()}` : 'nothing';
  console.error(
    [
      `${file} (${format}): ${fmt(stats.rows)} rows, ${fmt(stats.replayed)} replayed, ${fmt(stats.filtered)} filtered out, ${fmt(stats.bad)} bad${shownBad > 100 ? ` (first 100 shown)` : ''}`,
      `data ${span} replayed in ${seconds.toFixed(1)} s (${fmt(Math.round(stats.replayed / Math.max(seconds, 0.001)))} readings/s) → ${opts.out ?? 'broker'}`,
    ].join('\n'),
  );
  if (stats.bad > 0) process.exitCode = EXIT_BAD_ROWS;
}

async function recordCommand(opts: { out: string; count?: number; duration?: number; url?: string }): Promise<void> {
  const access = brokerAccess(opts.url);
  const sink = new NdjsonFileSink(opts.out);
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const timer = opts.duration !== undefined ? setTimeout(onSignal, opts.duration) : undefined;
  console.error(`recording ${access.url} ews/v1/readings/+ → ${opts.out} (Ctrl-C to stop)`);
  const started = Date.now();
  let stats;
  try {
    stats = await recordReadings({
      access,
      sink,
      maxReadings: opts.count,
      signal: abort.signal,
      onInvalid: (topic, message) => process.stderr.write(`skipped an invalid reading on ${topic}: ${message}\n`),
    });
  } finally {
    if (timer) clearTimeout(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await sink.close();
  }
  console.error(`${fmt(stats.recorded)} readings recorded, ${stats.invalid} invalid skipped, in ${((Date.now() - started) / 1000).toFixed(1)} s → ${opts.out}`);
}

/** Adds this service's commands to `fire-ews`. */
export function registerSimulatorCommands(program: Command): void {
  program
    .command('simulate')
    .description('Generate sensor readings from a scenario: to a file (NDJSON) or to the broker through emulated nodes')
    .option('-s, --scenario <name|file>', `built-in scenario or a YAML file (built-ins: ${listBuiltinScenarios().join(', ')})`, 'normal-day')
    .option('--seed <n>', 'override the scenario seed', parseWith(seedSchema, '--seed'))
    .option('-o, --out <file>', 'write NDJSON readings here (- for stdout) instead of publishing')
    .option('--fast', 'publish as fast as possible (timestamps stay on the scenario clock)')
    .option('--speed <x>', 'scenario time runs x times faster than real time (default 1)', parseWith(positiveNumber, '--speed'))
    .option('--start <iso|now>', 'move the scenario to start at this instant', parseWith(instantOrNow, '--start'))
    .option('--duration <d>', 'override the scenario duration (90s, 10m, 4h, 30d)', parseWith(durationText, '--duration'))
    .option('--site <file>', 'site file (default EWS_SITE_FILE)')
    .option('--nodes <n>', 'load mode: this many virtual nodes', parseWith(positiveInt, '--nodes'))
    .option('--rate <r>', 'load mode: readings per second from all virtual nodes together', parseWith(positiveNumber, '--rate'))
    .option('--url <mqtt-url>', 'broker (default MQTT_URL)')
    .option('--list', 'list the built-in scenarios')
    .action(async (opts: SimulateOptions) => simulateCommand(opts));

  program
    .command('replay <file>')
    .description('Replay readings from NDJSON, CSV or InfluxDB line protocol into the broker (or a file), keeping their spacing')
    .option('--speed <x>', 'divide the original spacing by x (default 1)', parseWith(positiveNumber, '--speed'))
    .option('--fast', 'as fast as possible')
    .addOption(new Option('--format <format>', 'input format (default from the file extension: .csv, .lp/.line/.influx, else NDJSON)').choices(REPLAY_FORMATS))
    .option('--node <ids...>', 'only these nodes (repeat or comma-separate)')
    .option('--from <iso>', 'only readings at or after this instant', parseWith(instantOrNow, '--from'))
    .option('--to <iso>', 'only readings before this instant', parseWith(instantOrNow, '--to'))
    .option('--shift-to-now', 'move timestamps so the first replayed reading is stamped now')
    .option('-o, --out <file>', 'write NDJSON here instead of publishing')
    .option('--url <mqtt-url>', 'broker (default MQTT_URL)')
    .action(async (file: string, opts: ReplayCommandOptions) => {
      try {
        await replayCommand(file, opts);
      } catch (err) {
        if (err instanceof ReplayFileError) {
          console.error(err.message);
          process.exitCode = 1;
          return;
        }
        throw err;
      }
    });

  program
    .command('record')
    .description('Record live readings from the broker (as svc-recorder) to an NDJSON file')
    .requiredOption('-o, --out <file>', 'NDJSON file to write (- for stdout)')
    .option('--count <n>', 'stop after n readings', parseWith(positiveInt, '--count'))
    .option('--duration <d>', 'stop after this long (90s, 10m, 4h)', parseWith(durationText, '--duration'))
    .option('--url <mqtt-url>', 'broker (default MQTT_URL)')
    .action(async (opts: { out: string; count?: number; duration?: number; url?: string }) => recordCommand(opts));
}
