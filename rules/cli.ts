import { Option, type Command } from 'commander';
import { createWriteStream, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { CsvReadingParser, formatFromFileName, parseLineProtocolLine, REPLAY_FORMATS, type ReplayFormat } from '../contracts/reading-files.ts';
import type { DangerTable } from '../contracts/site.ts';
import { loadSiteFile } from '../platform/site-file.ts';
import { NATIONAL_DANGER_TABLE } from './nesterov.ts';
import { FFMC_COEFFICIENT_1985, LAI_CHAU_LATITUDE } from './fwi.ts';
import { runFwiCsv, runNesterovCsv, type ToolResult } from './daily-tools.ts';
import { Backtest, formatSummary, truthSchema, type TruthFire } from './backtest.ts';
import { loadRulesConfig, DEFAULT_RULES_CONFIG } from './config.ts';
import { forEachLine } from './lines.ts';
import { createLogger } from '../platform/logger.ts';
import { awaitLeadership, healthWithLeadership, runUntilSignal, serveMetrics, serviceContextFromEnv, serviceCredentials, type Leadership } from '../platform/service-shell.ts';
import { clockModeOf, pipelineClockFromEnv, startClockLink } from '../platform/clock-link.ts';
import { DEFAULT_SITE_FILE } from '../contracts/config.ts';
import { loadRulesEnv } from './env.ts';
import { assertPortsFree } from '../platform/ports.ts';
import { startRulesService } from './main.ts';
import type { RunningRules } from './service.ts';

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

function readInput(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * The danger table in force: `--site <file>`, else $EWS_SITE_FILE or config/lai-chau.site.yaml when
 * present, else the national table. A site file that is present but invalid is an error, never a
 * silent fallback to another province's table.
 */
export function resolveDangerTable(siteOption: string | undefined): { table: DangerTable; source: string } {
  const file = siteOption ?? process.env.EWS_SITE_FILE ?? DEFAULT_SITE_FILE;
  if (!siteOption && !existsSync(file)) return { table: NATIONAL_DANGER_TABLE, source: 'national table (QĐ 127/2000)' };
  // A ConfigError naming --site or EWS_SITE_FILE, or each bad line (fire-ews prints it, exit 2).
  return { table: loadSiteFile(file, siteOption ? '--site' : 'EWS_SITE_FILE').dangerTable, source: file };
}

function number(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new CliError(`--${name} must be a number in ${min}…${max}, got ${JSON.stringify(value)}`);
    return n;
  };
}

function emit(result: ToolResult): void {
  if (result.stdout) process.stdout.write(result.stdout);
  for (const line of result.stderr) process.stderr.write(line + '\n');
  process.exitCode = result.exitCode;
}

function guarded(action: () => void): void {
  try {
    action();
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    process.stderr.write(`fire-ews: ${err.message}\n`);
    process.exitCode = err.exitCode;
  }
}

/** Adds this service's commands to `fire-ews`. */
export function registerRulesCommands(program: Command): void {
  program
    .command('rules')
    .description('run the rules service alone (connects to MQTT_URL as svc-rules; state in <EWS_DATA_DIR>/rules.sqlite)')
    .action(async () => {
      const env = loadRulesEnv();
      const log = createLogger('rules', env.EWS_LOG_LEVEL);
      // Standalone: on the wall clock unless EWS_FOLLOW_RUN_CLOCKS=true (README "Time model").
      const clock = pipelineClockFromEnv(env, false);
      const context = serviceContextFromEnv(env, log, clock);
      // Before connecting: a bad RULES_CONFIG_FILE or a port in use is one message (exit 2), not a fatal log line.
      if (env.RULES_CONFIG_FILE) loadRulesConfig(env.RULES_CONFIG_FILE);
      await assertPortsFree([{ variable: 'EWS_HTTP_PORT', host: env.EWS_HTTP_HOST, port: env.EWS_HTTP_PORT }]);
      await runUntilSignal(log, async (started) => {
        let rules: RunningRules | null = null;
        let leadership: Leadership = 'alone';
        // /healthz answers from the start: a standby says so (platform/service-shell.ts).
        started.push(...(await serveMetrics(log, env.EWS_HTTP_HOST, env.EWS_HTTP_PORT, healthWithLeadership(() => leadership, () => rules))));
        // With LEADER_LEASE_REDIS_URL, nothing below runs until this process holds the lease: the
        // clock link and the session share their client ids with the other rules process.
        leadership = await awaitLeadership(env, 'rules', log, started, { onStandby: () => (leadership = 'standby') });
        const clockLink = startClockLink({
          url: env.MQTT_URL,
          ...serviceCredentials(context, 'rules'),
          clientId: `${env.RULES_CLIENT_ID}-clock`,
          role: 'rules',
          services: { rules: env.RULES_CLOCK === 'readings' ? 'readings' : clockModeOf(clock) },
          clock,
          log,
        });
        started.push({ name: 'clock link', close: () => clockLink.close() });
        const running = await startRulesService(context);
        rules = running;
        started.push({ name: 'rules', close: () => running.close() });
        log.info({ clientId: env.RULES_CLIENT_ID, clock: env.RULES_CLOCK, leadership }, 'rules service running');
      });
    });

  program
    .command('nesterov')
    .description('Vietnam fire-danger level from daily 13:00 weather: CSV date,t13,rh13,rain → CSV date,d13,p,level')
    .requiredOption('--input <file>', 'CSV with header date,t13,rh13,rain (°C, %, mm); - for stdin')
    .option('--site <file>', `site file whose dangerTable to use (default $EWS_SITE_FILE or ${DEFAULT_SITE_FILE}, else the national table)`)
    .option('--p0 <P>', 'index carried in from before the first day', '0')
    .addHelpText(
      'after',
      '\nBad rows are reported on stderr as file:line; the output stops before the first bad row and the exit code is 1.\n',
    )
    .action((opts: { input: string; site?: string; p0: string }) =>
      guarded(() => {
        const { table } = resolveDangerTable(opts.site);
        const p0 = number('p0', 0, 1e9)(opts.p0);
        emit(runNesterovCsv(readInput(opts.input), opts.input === '-' ? 'stdin' : opts.input, { table, p0 }));
      }),
    );

  program
    .command('backtest')
    .argument('<readings>', 'readings in delivery order: NDJSON, CSV or InfluxDB line protocol (as replay reads them; - for stdin)')
    .addOption(new Option('--format <format>', 'input format (default from the file extension: .csv, .lp/.line/.influx, else NDJSON)').choices([...REPLAY_FORMATS]))
    .description('run the whole rules engine offline over readings under virtual time; events as NDJSON on stdout, a summary on stderr')
    .option('--site <file>', `site file (default $EWS_SITE_FILE or ${DEFAULT_SITE_FILE})`)
    .option('--rules-config <file>', 'rules tuning YAML (detection, health, danger); defaults otherwise')
    .option('--truth <file>', 'ground truth: JSON [{"zone","from","to"}] fire windows, to count false confirmations')
    .option('--summary <file>', 'also write the summary as JSON here')
    .option('--dangers <file>', 'write the official daily danger payloads as NDJSON here')
    .action((file: string, opts: { format?: ReplayFormat; site?: string; rulesConfig?: string; truth?: string; summary?: string; dangers?: string }) =>
      guarded(() => {
        const siteFile = opts.site ?? process.env.EWS_SITE_FILE ?? DEFAULT_SITE_FILE;
        const site = loadSiteFile(siteFile, opts.site ? '--site' : 'EWS_SITE_FILE');
        const config = opts.rulesConfig ? loadRulesConfig(opts.rulesConfig, '--rules-config') : DEFAULT_RULES_CONFIG;
        let truth: TruthFire[] | undefined;
        if (opts.truth) {
          const parsed = truthSchema.safeParse(JSON.parse(readInput(opts.truth)));
          if (!parsed.success) throw new CliError(`truth file ${opts.truth}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
          truth = parsed.data;
        }
        const dangerOut = opts.dangers ? createWriteStream(opts.dangers) : null;
        const chunks: string[] = [];
        const flush = () => {
          if (chunks.length) process.stdout.write(chunks.splice(0).join(''));
        };
        const bt = new Backtest(site, {
          config,
          ...(truth ? { truth } : {}),
          onEvent: (e) => {
            chunks.push(JSON.stringify(e) + '\n');
            if (chunks.length >= 1024) flush();
          },
          onDanger: (d) => dangerOut?.write(JSON.stringify(d) + '\n'),
        });
        const t0 = performance.now();
        const format = opts.format ?? (file === '-' ? 'ndjson' : formatFromFileName(file));
        let csv: CsvReadingParser | undefined;
        const rowOf = (line: string, n: number) => {
          if (format === 'line-protocol') return bt.row(parseLineProtocolLine(line), n);
          if (csv) return bt.row(csv.parse(line), n);
          if (line.trim() === '') return;
          const parser = CsvReadingParser.fromHeader(line);
          if ('error' in parser) throw new CliError(`${file}:${n}: ${parser.error}`);
          csv = parser;
        };
        // On a terminal, progress through the file on stderr (the summary follows in any case).
        const size = file !== '-' && process.stderr.isTTY ? statSync(file).size : 0;
        const progress = size
          ? (bytes: number, lines: number) => {
              const s = (performance.now() - t0) / 1000;
              process.stderr.write(`\rbacktest ${file}: ${Math.round((100 * bytes) / size)} % of ${(size / 1e6).toFixed(0)} MB, ${lines.toLocaleString('en-US')} lines, ${Math.round(lines / Math.max(s, 0.001)).toLocaleString('en-US')} lines/s`);
            }
          : undefined;
        try {
          forEachLine(file, format === 'ndjson' ? (line, n) => bt.line(line, n) : rowOf, undefined, progress);
          if (progress) process.stderr.write('\r\x1b[K');
        } catch (err) {
          if (err instanceof CliError) throw err;
          throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
        const summary = bt.finish();
        const wallMs = performance.now() - t0;
        flush();
        dangerOut?.end();
        process.stderr.write(formatSummary(summary, wallMs) + '\n');
        if (opts.summary) writeFileSync(opts.summary, JSON.stringify({ ...summary, wallMs: Math.round(wallMs) }, null, 2) + '\n');
        process.exitCode = summary.badLines > 0 ? 1 : 0;
      }),
    );

  program
    .command('fwi')
    .description('Canadian FWI System (cffdrs) from daily noon weather: CSV date,temp,rh,wind,precip[,lat] → CSV date,ffmc,dmc,dc,isi,bui,fwi,dsr')
    .requiredOption('--input <file>', 'CSV with header date,temp,rh,wind,precip and optional lat (°C, %, km/h, mm, °N); - for stdin')
    .option('--ffmc0 <n>', 'start-up FFMC', '85')
    .option('--dmc0 <n>', 'start-up DMC', '6')
    .option('--dc0 <n>', 'start-up DC', '15')
    .option('--lat <deg>', `latitude for rows without a lat column (default Lai Châu ${LAI_CHAU_LATITUDE})`)
    .option('--no-lat-adjust', 'use the Canadian (46°N) day-length factors everywhere, as cffdrs lat.adjust=FALSE')
    .option('--fwi1985', 'use the 1985 FORTRAN FFMC constant 147.2 (reproduces the Van Wagner & Pickett table) instead of cffdrs 147.27723')
    .action((opts: { input: string; ffmc0: string; dmc0: string; dc0: string; lat?: string; latAdjust: boolean; fwi1985?: boolean }) =>
      guarded(() => {
        const start = { ffmc: number('ffmc0', 0, 101)(opts.ffmc0), dmc: number('dmc0', 0, 1e5)(opts.dmc0), dc: number('dc0', 0, 1e5)(opts.dc0) };
        const lat = opts.lat === undefined ? LAI_CHAU_LATITUDE : number('lat', -90, 90)(opts.lat);
        emit(
          runFwiCsv(readInput(opts.input), opts.input === '-' ? 'stdin' : opts.input, {
            start,
            lat,
            latAdjust: opts.latAdjust,
            ...(opts.fwi1985 ? { ffmcCoefficient: FFMC_COEFFICIENT_1985 } : {}),
          }),
        );
      }),
    );
}
