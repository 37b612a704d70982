// `fire-ews simulate | replay | record`: the simulator's command-line face. Runs into the broker are
// placed on the pipeline's clock and checked against it first (README "Time model"); file work goes
// as fast as it can, with a progress bar on a terminal and one summary line at the end.
import { statSync } from 'node:fs';
import { Option, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { z } from 'zod';
import { drillPlayerEnvSchema, loadEnv } from '../contracts/config.ts';
import { parseEnv, redactUrlPasswords } from '../platform/config-error.ts';
import { createLogger } from '../platform/logger.ts';
import { runUntilSignal, serveMetrics } from '../platform/service-shell.ts';
import { startDrillPlayer } from './drill-player.ts';
import { nodeIdSchema } from '../contracts/payloads.ts';
import { resolveBrokerSecret } from '../platform/credentials.ts';
import { loadSiteFile } from '../platform/site-file.ts';
import { placeRun, systemClock } from '../platform/clock.ts';
import { parseWith, pipelineSpeed, speedSchema } from '../platform/cli-options.ts';
import { loadTestNodes, scenarioNodes, simulate, type SimulatedNode, type SimulationRun } from './engine.ts';
import { MqttReadingSink, recordReadings, type BrokerAccess } from './mqtt-io.ts';
import { formatFromFileName, REPLAY_FORMATS, type ReplayFormat } from '../contracts/reading-files.ts';
import { readFileRows, replayRows, ReplayFileError, type ReadingSink, type ReplayStats } from './replay.ts';
import { announceRun, RunRefusedError, type AnnouncedRun, type RunTiming } from './run-clock.ts';
import { NdjsonFileSink, playScenario, runToSink, type RunCounts } from './run.ts';
import { listBuiltinScenarios, loadScenario, parseDurationMs, withStart, type Scenario } from './scenario.ts';
import { DAY_MS, DAY_REGIMES, localMidnightMs } from './weather.ts';

const positiveNumber = z.coerce.number().positive();
const positiveInt = z.coerce.number().int().positive();
const seedSchema = z.coerce.number().int().min(0).max(2 ** 32 - 1);
/** `now` stays a word until the command runs: it means the moment the run starts. */
const instantOrNow = z.union([z.literal('now'), z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))]);
const durationText = z.string().transform((s, ctx) => {
  const ms = parseDurationMs(s);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: `expected a duration like 90s, 10m, 4h or 30d, got ${JSON.stringify(s)}` });
    return z.NEVER;
  }
  return ms;
});

function brokerAccess(url: string | undefined): BrokerAccess {
  const env = loadEnv();
  return { url: url ?? env.MQTT_URL, secret: resolveBrokerSecret(env.EWS_BROKER_SECRET, env.EWS_DATA_DIR).secret };
}

/** A progress bar on stderr (rate and ETA) when stderr is a terminal; nothing otherwise (the summary line says it all). */
function progressBar(unit: string, total: number) {
  if (!process.stderr.isTTY) return { update: (_value: number) => undefined, stop: (_value: number) => undefined };
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
  bar.start(Math.max(1, total), 0, { rate: 0 });
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
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 2 * 86_400) return `${(s / 3600).toFixed(1).replace(/\.0$/, '')} h`;
  return `${(s / 86_400).toFixed(1).replace(/\.0$/, '')} days`;
}

function regimeSummary(days: readonly { regime: string }[]): string {
  return DAY_REGIMES.filter((r) => days.some((d) => d.regime === r))
    .map((r) => `${days.filter((d) => d.regime === r).length} ${r}`)
    .join(', ');
}

/** How a paced run was placed, for the line printed before it starts. */
function placementText(announced: AnnouncedRun, timing: RunTiming, dataStartMs: number, dataEndMs: number): string {
  if (timing.kind === 'fast') return `as fast as the broker takes it, timestamps ${iso(dataStartMs)} → ${iso(dataEndMs)} as they are`;
  const span = `${iso(dataStartMs)} → ${iso(dataEndMs)}`;
  if (timing.kind === 'own-time') return `×${timing.speed}, timestamps ${span} as they are`;
  const wall = duration((dataEndMs - dataStartMs) / timing.speed);
  if (!announced.clock) return `in real time, stamped ${span} (from now)`;
  return `×${timing.speed} (${wall} of wall time), placed ${span} so that it ends now; run clock ${announced.clock.runId} announced and followed by the pipeline`;
}

interface SimulateOptions {
  scenario: string;
  seed?: number;
  out?: string;
  fast?: boolean;
  speed?: number;
  start?: number | 'now';
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
  if (opts.fast && opts.speed !== undefined) throw new RunRefusedError('give either --fast or --speed, not both');
  const loadMode = opts.nodes !== undefined || opts.rate !== undefined;
  const startAt = opts.start === 'now' ? Date.now() : opts.start;
  let scenario: Scenario;
  let nodes: SimulatedNode[];
  if (loadMode) {
    if (opts.nodes === undefined || opts.rate === undefined) throw new RunRefusedError('load mode needs both --nodes N and --rate R (readings/s in total)');
    if (opts.speed !== undefined) throw new RunRefusedError('load mode is paced by --rate (readings/s); leave out --speed');
    // Load readings carry current timestamps so the pipeline treats them as live.
    scenario = { ...loadScenario('normal-day'), name: `load-${opts.nodes}x${opts.rate}`, start: startAt ?? Date.now(), duration: opts.duration ?? 60_000, events: [] };
    nodes = loadTestNodes(opts.nodes, opts.rate);
  } else {
    scenario = loadScenario(opts.scenario);
    if (opts.duration !== undefined) scenario = { ...scenario, duration: opts.duration };
    const env = loadEnv();
    nodes = scenarioNodes(scenario, loadSiteFile(opts.site ?? env.EWS_SITE_FILE, opts.site ? '--site' : 'EWS_SITE_FILE'));
  }
  const seed = opts.seed ?? scenario.seed;
  const started = Date.now();
  let counts: RunCounts;
  let destination: string;
  let run: SimulationRun;
  let extra = '';
  /** The scenario's own time span (an accelerated run's timestamps are moved from it). */
  let shiftMs = 0;
  if (opts.out) {
    if (opts.speed !== undefined) process.stderr.write('note: --out writes as fast as it can; --speed applies to publishing\n');
    if (startAt !== undefined) scenario = withStart(scenario, startAt);
    run = simulate(scenario, nodes, seed);
    const bar = progressBar('readings', run.expectedReadings);
    counts = await runToSink(run, new NdjsonFileSink(opts.out), (c) => {
      if ((c.readings & 255) === 0) bar.update(c.readings);
    });
    bar.stop(counts.readings);
    destination = opts.out === '-' ? 'stdout' : `${opts.out} (${fmt(statSync(opts.out).size)} bytes)`;
  } else {
    const access = brokerAccess(opts.url);
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      if (loadMode) {
        ({ counts, run } = await loadRun(access, scenario, nodes, seed, opts.fast === true, abort.signal));
        destination = `${access.url} (as svc-simulator, ${opts.fast ? 'fast' : 'at --rate'})`;
      } else {
        const speed = opts.fast ? Infinity : (opts.speed ?? 1);
        if (!opts.fast && speed < 1) throw new RunRefusedError(`--speed ${speed}: a run into the broker goes at least at real time (1); slower would stamp readings in the future of the pipeline's clock`);
        // --start keeps the scenario at that time (its own time); `now` at real time is the default placement anyway.
        const ownTime = opts.fast === true || (startAt !== undefined && !(opts.start === 'now' && speed === 1));
        if (opts.start === 'now' && speed > 1 && Number.isFinite(speed)) {
          throw new RunRefusedError(
            `--start now with --speed ${speed} would stamp readings up to ${duration(scenario.duration * (1 - 1 / speed))} in the future; leave out --start: an accelerated run is placed to end at the current time`,
          );
        }
        if (startAt !== undefined && ownTime) scenario = withStart(scenario, startAt);
        let bar = progressBar('readings', 0);
        const play = await playScenario({
          access,
          scenario,
          nodes,
          seed,
          speed,
          ownTime,
          signal: abort.signal,
          onPlanned: (planned, announced) => {
            if (announced.note) process.stderr.write(`note: ${announced.note}\n`);
            const timing: RunTiming = !Number.isFinite(speed) ? { kind: 'fast', firstTsMs: planned.startMs } : ownTime ? { kind: 'own-time', speed, firstTsMs: planned.startMs } : { kind: 'placed', speed };
            process.stderr.write(`simulate ${scenario.name}: ${nodes.length} emulated nodes → ${access.url}, ${placementText(announced, timing, planned.startMs, planned.endMs)}\n`);
            bar = progressBar('readings', planned.expectedReadings);
          },
          onMessage: (c) => {
            if ((c.readings & 255) === 0) bar.update(c.readings);
          },
        });
        bar.stop(play.counts.readings);
        ({ counts, run, shiftMs } = play);
        if (shiftMs !== 0) extra += `; played as written (${iso(run.startMs - shiftMs)} → ${iso(run.endMs - shiftMs)}) and moved ${duration(Math.abs(shiftMs))} to end now`;
        if (play.unacknowledged > 0) extra = `; ${fmt(play.unacknowledged)} readings never acknowledged (the broker went away)`;
        if (abort.signal.aborted) extra += '; interrupted';
        destination = `${access.url} (${nodes.length} emulated nodes, ${Number.isFinite(speed) ? `×${speed}` : 'fast'})`;
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
  const seconds = (Date.now() - started) / 1000;
  const days = run.weather.days.filter((d) => localMidnightMs(d.localDay) < run.endMs - shiftMs && localMidnightMs(d.localDay) + DAY_MS > run.startMs - shiftMs);
  console.error(
    `simulate ${scenario.name} (seed ${seed}): ${fmt(counts.readings)} readings, ${counts.linkEvents} link events, ${nodes.length} nodes, ${iso(run.startMs)} → ${iso(run.endMs)}` +
      ` (${regimeSummary(days)}; ${run.sources.length} fire/burn sources) → ${destination} in ${seconds.toFixed(1)} s, ${fmt(Math.round(counts.readings / Math.max(seconds, 0.001)))} readings/s${extra}`,
  );
}

/** Load mode: virtual nodes have no credentials of their own, so svc-simulator publishes for them, stamped now. */
async function loadRun(access: BrokerAccess, scenario: Scenario, nodes: SimulatedNode[], seed: number, fast: boolean, signal: AbortSignal): Promise<{ counts: RunCounts; run: SimulationRun }> {
  const announced = await announceRun({ access, timing: { kind: 'placed', speed: 1 }, durationMs: scenario.duration, source: `simulate ${scenario.name}` });
  if (announced.note) process.stderr.write(`note: ${announced.note}\n`);
  const run = simulate(withStart(scenario, announced.anchorSimMs), nodes, seed);
  const sink = await MqttReadingSink.open(access, `sim-load-${process.pid}`);
  const counts: RunCounts = { readings: 0, linkEvents: 0 };
  const wallStart = systemClock.now();
  for (const m of run.messages) {
    if (signal.aborted) break;
    if (m.kind !== 'reading') continue;
    if (!fast) await systemClock.sleepUntil(wallStart + (m.atMs - run.startMs), signal);
    const pending = sink.write(m.reading);
    if (pending) await pending;
    counts.readings++;
  }
  await sink.close();
  return { counts, run };
}

interface ReplayCommandOptions {
  speed?: number;
  fast?: boolean;
  format?: ReplayFormat;
  node?: string[];
  from?: number | 'now';
  to?: number | 'now';
  shiftToNow?: boolean;
  out?: string;
  url?: string;
}

/** Exit code when some rows were bad but the rest replayed. */
export const EXIT_BAD_ROWS = 3;

/** A sink that only counts (the pre-scan). */
const nullSink: ReadingSink = { write: () => undefined, close: async () => undefined };

async function replayCommand(file: string, opts: ReplayCommandOptions): Promise<void> {
  if (opts.fast && opts.speed !== undefined) throw new RunRefusedError('give either --fast or --speed, not both');
  const format = opts.format ?? formatFromFileName(file);
  try {
    statSync(file);
  } catch (err) {
    throw new ReplayFileError(file, 0, `cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const nodes = opts.node?.flatMap((n) => n.split(',')).map((n) => nodeIdSchema.parse(n.trim()));
  const now = Date.now();
  const filters = {
    nodes: nodes ? new Set(nodes) : undefined,
    fromMs: opts.from === 'now' ? now : opts.from,
    toMs: opts.to === 'now' ? now : opts.to,
  };
  // Without --speed, a file is written as fast as it can be; the broker gets the original spacing.
  const speed = opts.fast ? Infinity : (opts.speed ?? (opts.out ? Infinity : 1));
  if (!opts.out && Number.isFinite(speed) && speed < 1) {
    throw new RunRefusedError(`--speed ${speed}: a replay into the broker goes at least at real time (1); slower would stamp readings in the future of the pipeline's clock`);
  }

  // A first pass: how many rows (the progress bar) and the data's span (placing --shift-to-now).
  const scan = await replayRows(readFileRows(file, format), nullSink, { speed: Infinity, clock: systemClock, ...filters });
  if (scan.firstTsMs === undefined || scan.maxTsMs === undefined) {
    console.error(`${file} (${format}): ${fmt(scan.rows)} rows, nothing to replay (${fmt(scan.filtered)} filtered out, ${fmt(scan.bad)} bad)`);
    if (scan.bad > 0) process.exitCode = EXIT_BAD_ROWS;
    return;
  }
  const spanMs = scan.maxTsMs - scan.firstTsMs;

  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  let sink: ReadingSink;
  let announced: AnnouncedRun | undefined;
  let shiftMs: number | undefined;
  let startWallMs: number | undefined;
  if (opts.out) {
    sink = new NdjsonFileSink(opts.out);
    if (opts.shiftToNow) {
      // The data is placed to end now (at the end of a paced write): never in the future.
      const wallStart = Date.now();
      shiftMs = (Number.isFinite(speed) ? placeRun(wallStart, spanMs, Math.max(1, speed)).anchorSimMs : wallStart - spanMs) - scan.firstTsMs;
      startWallMs = wallStart;
    }
  } else {
    const access = brokerAccess(opts.url);
    const timing: RunTiming = !Number.isFinite(speed)
      ? { kind: 'fast', firstTsMs: scan.firstTsMs + (opts.shiftToNow ? Date.now() - scan.maxTsMs : 0) }
      : opts.shiftToNow
        ? { kind: 'placed', speed }
        : { kind: 'own-time', speed, firstTsMs: scan.firstTsMs };
    announced = await announceRun({ access, timing, durationMs: spanMs, source: `replay ${file}` });
    if (announced.note) process.stderr.write(`note: ${announced.note}\n`);
    if (timing.kind === 'placed') {
      shiftMs = announced.anchorSimMs - scan.firstTsMs;
      startWallMs = announced.anchorWallMs;
    } else if (opts.shiftToNow) shiftMs = Date.now() - scan.maxTsMs;
    process.stderr.write(
      `replay ${file}: ${fmt(scan.replayed)} readings → ${access.url}, ${placementText(announced, timing, scan.firstTsMs + (shiftMs ?? 0), scan.maxTsMs + (shiftMs ?? 0))}\n`,
    );
    sink = await MqttReadingSink.open(access);
  }
  const bar = progressBar('readings', scan.replayed);
  let shownBad = 0;
  const started = Date.now();
  let stats: ReplayStats;
  try {
    stats = await replayRows(readFileRows(file, format), sink, {
      speed,
      clock: systemClock,
      ...filters,
      shiftMs,
      startWallMs,
      signal: abort.signal,
      onBadRow: (line, message) => {
        if (shownBad++ < 100) process.stderr.write(`${process.stderr.isTTY ? '\n' : ''}${file}:${line}: ${message}\n`);
      },
      onReading: (s) => {
        if ((s.replayed & 255) === 0) bar.update(s.replayed);
      },
    });
  } finally {
    process.off('SIGINT', onSignal);
    await sink.close();
    await announced?.end(abort.signal.aborted ? 'interrupted' : 'completed');
  }
  bar.stop(stats.replayed);
  const seconds = (Date.now() - started) / 1000;
  const shift = shiftMs ?? 0;
  const span = stats.firstTsMs !== undefined ? `${iso(stats.firstTsMs + shift)} → ${iso((stats.maxTsMs ?? stats.firstTsMs) + shift)}${shift !== 0 ? ` (shifted by ${duration(Math.abs(shift))}${shift < 0 ? ' back' : ''})` : ''}` : 'nothing';
  console.error(
    `replay ${file} (${format}): ${fmt(stats.rows)} rows, ${fmt(stats.replayed)} replayed, ${fmt(stats.filtered)} filtered out, ${fmt(stats.bad)} bad${shownBad > 100 ? ' (first 100 shown)' : ''}; ` +
      `data ${span} in ${seconds.toFixed(1)} s (${fmt(Math.round(stats.replayed / Math.max(seconds, 0.001)))} readings/s) → ${opts.out ?? 'broker'}${abort.signal.aborted ? '; interrupted' : ''}`,
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
  console.error(`recording ${redactUrlPasswords(access.url)} ews/v1/readings/+ → ${opts.out} (Ctrl-C to stop)`);
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

/** Refusals and unusable files: one message, exit code 2 (1 for an unusable replay file, as before). */
async function guarded(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    if (err instanceof ReplayFileError) {
      console.error(err.message);
      process.exitCode = 1;
      return;
    }
    if (err instanceof RunRefusedError) {
      console.error(err.message);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
}

/** Adds this service's commands to `fire-ews`. */
export function registerSimulatorCommands(program: Command): void {
  program
    .command('simulate')
    .description('Generate sensor readings from a scenario: to a file (NDJSON) or to the broker through emulated nodes, placed on the pipeline\'s clock')
    .option('-s, --scenario <name|file>', `built-in scenario or a YAML file (built-ins: ${listBuiltinScenarios().join(', ')})`, 'normal-day')
    .option('--seed <n>', 'override the scenario seed', parseWith(seedSchema, '--seed'))
    .option('-o, --out <file>', 'write NDJSON readings here (- for stdout) as fast as possible instead of publishing')
    .option('--fast', 'publish as fast as possible at the scenario\'s own time (needs rules on the readings\' clock, RULES_CLOCK=readings)')
    .option('--speed <x>', 'scenario time runs x times faster than real time (default 1); above 1 the run is placed to end now and its clock announced', parseWith(pipelineSpeed, '--speed'))
    .option('--start <iso|now>', 'move the scenario to start at this instant (--out, --fast; into the broker it keeps that time)', parseWith(instantOrNow, '--start'))
    .option('--duration <d>', 'override the scenario duration (90s, 10m, 4h, 30d)', parseWith(durationText, '--duration'))
    .option('--site <file>', 'site file (default EWS_SITE_FILE)')
    .option('--nodes <n>', 'load mode: this many virtual nodes', parseWith(positiveInt, '--nodes'))
    .option('--rate <r>', 'load mode: readings per second from all virtual nodes together', parseWith(positiveNumber, '--rate'))
    .option('--url <mqtt-url>', 'broker (default MQTT_URL)')
    .option('--list', 'list the built-in scenarios')
    .action(async (opts: SimulateOptions) => guarded(() => simulateCommand(opts)));

  program
    .command('replay <file>')
    .description('Replay readings from NDJSON, CSV or InfluxDB line protocol into the broker (keeping their spacing) or to a file (as fast as possible)')
    .option('--speed <x>', 'divide the original spacing by x (default 1 into the broker; a file is written as fast as possible unless given)', parseWith(speedSchema(), '--speed'))
    .option('--fast', 'as fast as possible (into the broker: needs rules on the readings\' clock, RULES_CLOCK=readings)')
    .addOption(new Option('--format <format>', 'input format (default from the file extension: .csv, .lp/.line/.influx, else NDJSON)').choices(REPLAY_FORMATS))
    .option('--node <ids...>', 'only these nodes (repeat or comma-separate)')
    .option('--from <iso>', 'only readings at or after this instant', parseWith(instantOrNow, '--from'))
    .option('--to <iso>', 'only readings before this instant', parseWith(instantOrNow, '--to'))
    .option('--shift-to-now', 'move the timestamps onto the pipeline\'s clock so that the data ends now (at the end of the run)')
    .option('-o, --out <file>', 'write NDJSON here instead of publishing')
    .option('--url <mqtt-url>', 'broker (default MQTT_URL)')
    .action(async (file: string, opts: ReplayCommandOptions) => guarded(() => replayCommand(file, opts)));

  program
    .command('drill-player')
    .description('play the sensor drills the board and the site file\'s schedule request (ews/v1/drill/requests/+, as svc-simulator): plan the plume, start the drill through the alerts API, play it; needs MQTT_URL, the broker secret, ALERTS_URL and ALERTS_API_KEY')
    .action(async () => {
      loadEnv(); // the shared checks (a test hook outside tests)
      const env = parseEnv(drillPlayerEnvSchema, process.env);
      const api = env;
      const site = loadSiteFile(env.EWS_SITE_FILE);
      const log = createLogger('drill-player');
      const access = brokerAccess(undefined);
      await runUntilSignal(log, async (started) => {
        const player = startDrillPlayer({ site, access, api: { url: api.ALERTS_URL, key: api.ALERTS_API_KEY }, log });
        started.push({ name: 'drill player', close: () => player.close() }, ...(await serveMetrics(log, env.EWS_HTTP_HOST, env.EWS_HTTP_PORT, () => player.health())));
        log.info({ alerts: redactUrlPasswords(api.ALERTS_URL), broker: redactUrlPasswords(access.url) }, 'drill player running');
      });
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
