// `fire-ews start | broker | ingest`: run services alone or all in one process, with a clean Ctrl-C.
// `start` runs them on one clock (README "Time model") and, on a terminal, prints a short summary
// instead of JSON logs (cli/console.ts).
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadEnv, type Env } from '../contracts/config.ts';
import { sitePolicy } from '../contracts/site.ts';
import { createLogger, createRootLogger } from '../platform/logger.ts';
import type { HealthCheck } from '../platform/metrics.ts';
import { leaseInOneProcessError, runUntilSignal, serveMetrics, serviceContextFromEnv, serviceCredentials, type RunningService, type ServiceContext, type Stoppable } from '../platform/service-shell.ts';
import { loadSiteFile } from '../platform/site-file.ts';
import type { PipelineClock } from '../platform/clock.ts';
import { clockModeOf, pipelineClockFromEnv, startClockLink } from '../platform/clock-link.ts';
import { parseWith, pipelineSpeed } from '../platform/cli-options.ts';
import { startBrokerService } from '../broker/main.ts';
import type { RunningBroker } from '../broker/server.ts';
import { startIngestService } from '../ingest/main.ts';
import type { RunningIngest } from '../ingest/service.ts';
import { loadAlertsEnv } from '../alerts/config.ts';
import { startRulesService } from '../rules/main.ts';
import { loadRulesEnvExtras } from '../rules/env.ts';
import { startAlertsService, type RunningAlerts } from '../alerts/service.ts';
import { startBackgroundSimulation } from '../simulator/run.ts';
import { RunRefusedError } from '../simulator/run-clock.ts';
import { loadScenario } from '../simulator/scenario.ts';
import { assertPortsFree, type PortClaim } from '../platform/ports.ts';
import { clockText, StartConsole } from './console.ts';
import { loadBoardEnv } from '../board/cli.ts';
import { runBoard } from '../board/main.ts';
import { startDrillPlayer } from '../simulator/drill-player.ts';
import { randomBytes } from 'node:crypto';

async function metricsService(rt: ServiceContext, health: HealthCheck): Promise<Stoppable[]> {
  return serveMetrics(rt.logger, rt.env.EWS_HTTP_HOST, rt.env.EWS_HTTP_PORT, health);
}

/** The ports a service's own /metrics and /healthz listener takes. */
const metricsPort = (env: Env): PortClaim => ({ variable: 'EWS_HTTP_PORT', host: env.EWS_HTTP_HOST, port: env.EWS_HTTP_PORT });

/** The broker's listeners: MQTT, MQTT over WebSocket and, with a certificate, MQTT over TLS. */
function brokerPorts(env: Env): PortClaim[] {
  const tls = env.MQTT_TLS_CERT_FILE && env.MQTT_TLS_KEY_FILE;
  return [
    { variable: 'MQTT_PORT', host: env.MQTT_HOST, port: env.MQTT_PORT },
    { variable: 'MQTT_WS_PORT', host: env.MQTT_HOST, port: env.MQTT_WS_PORT },
    ...(tls ? [{ variable: 'MQTT_TLS_PORT', host: env.MQTT_HOST, port: env.MQTT_TLS_PORT }] : []),
  ];
}

/** The clock link of a standalone service (README "Time model"): on the wall clock unless EWS_FOLLOW_RUN_CLOCKS=true. */
function standaloneClock(rt: ServiceContext, role: 'ingest'): { clock: PipelineClock; link: Stoppable & { ready: Promise<void> } } {
  const clock = pipelineClockFromEnv(rt.env, false);
  const link = startClockLink({ url: rt.env.MQTT_URL, ...serviceCredentials(rt, role), clientId: `${rt.env.INGEST_CLIENT_ID}-clock`, role, services: { [role]: clockModeOf(clock) }, clock, log: rt.logger });
  return { clock, link: { name: 'clock link', ready: link.ready, close: () => link.close() } };
}

interface StartOptions {
  scenario: string;
  speed?: number;
  simulation: boolean;
  alerts: boolean;
  board: boolean;
}

const fmtCount = (v: number) => v.toLocaleString('en-US');

/** `fire-ews start`: broker, ingest, rules, alerts, the situation board and a background simulation in one process, on one clock. */
async function startCommand(options: StartOptions): Promise<void> {
  const env = loadEnv();
  const rulesExtras = loadRulesEnvExtras();
  const leaseRefused = leaseInOneProcessError(rulesExtras);
  if (leaseRefused) throw leaseRefused;
  const alertsEnv = options.alerts ? loadAlertsEnv() : null;
  const boardEnv = options.board ? loadBoardEnv() : null;
  if (!options.simulation && options.speed !== undefined) throw new StartUsageError('--speed sets the background simulation\'s speed; with --no-simulation leave it out (simulate or replay into this pipeline instead)');
  // A bad scenario name or file is one message before anything starts.
  const scenario = options.simulation ? loadScenario(options.scenario) : null;
  const speed = options.speed ?? 1;
  const site = loadSiteFile(env.EWS_SITE_FILE);
  // Every port in use at once, each with its variable, before anything starts listening.
  await assertPortsFree([
    ...brokerPorts(env),
    metricsPort(env),
    ...(alertsEnv ? [{ variable: 'ALERTS_HTTP_PORT', host: alertsEnv.ALERTS_HTTP_HOST, port: alertsEnv.ALERTS_HTTP_PORT }] : []),
    ...(boardEnv ? [{ variable: 'BOARD_HTTP_PORT', host: boardEnv.BOARD_HTTP_HOST, port: boardEnv.BOARD_HTTP_PORT }] : []),
  ]);
  const timeZone = site.site.timezone;
  const consoleMode = env.EWS_LOG_FORMAT === 'auto' && process.stdout.isTTY === true;
  let ui: StartConsole | null = null;
  const root = createRootLogger(env.EWS_LOG_LEVEL, consoleMode ? { write: (chunk: string) => ui?.logDestination.write(chunk) } : undefined);
  const logger = root.child({ service: 'ews' });
  const clock = pipelineClockFromEnv(env, true);
  const rt = serviceContextFromEnv(env, logger, clock);
  const mode = clockModeOf(clock);
  let ingestCounts: RunningIngest['counts'] | null = null;
  let smsCounts: { sent: number } | null = null;
  let smsQueued = 0;
  let stopping = false;
  const policy = alertsEnv ? sitePolicy(site) : null;
  ui = consoleMode
    ? new StartConsole({
        write: (text) => process.stdout.write(text),
        site,
        timeZone,
        policy,
        publicUrl: alertsEnv?.ALERTS_PUBLIC_URL ?? '',
        counts: () => ({ readingsStored: ingestCounts?.readingsStored ?? 0, deadLetters: ingestCounts?.deadLetters ?? 0, events: ui?.events ?? 0, smsQueued, smsSent: smsCounts?.sent ?? 0 }),
        pipelineClock: () => ({ now: clock.now(), speed: clock.activeRun?.speed ?? null }),
      })
    : null;

  await runUntilSignal(
    logger,
    async (started) => {
      // Every service starts the same way (start<Name>Service(context, extras), platform/service-shell.ts),
      // in this order, each on the local broker with its own logger; runUntilSignal stops them in reverse.
      const running: { broker?: RunningBroker & RunningService; ingest?: RunningIngest; alerts?: RunningAlerts } = {};
      const localMqtt = () => {
        if (!running.broker) throw new Error('the broker starts first');
        return `mqtt://127.0.0.1:${running.broker.port}`;
      };
      const on = <E extends Env>(service: string, serviceEnv: E): ServiceContext<E> => ({ ...rt, env: { ...serviceEnv, MQTT_URL: localMqtt() }, logger: root.child({ service }) });
      // The alerts API key the board uses in this one process (ALERTS_API_KEY, or one for this run).
      const boardApiKey = alertsEnv?.ALERTS_API_KEY ?? randomBytes(24).toString('base64url');
      const services: { name: string; start: () => Promise<RunningService> }[] = [
        { name: 'broker', start: async () => (running.broker = await startBrokerService({ ...rt, logger: root.child({ service: 'broker' }) })) },
        { name: 'ingest', start: async () => (running.ingest = await startIngestService(on('ingest', rt.env))) },
        { name: 'rules', start: () => startRulesService(on('rules', { ...rt.env, ...rulesExtras }), { onEvent: (e) => ui?.event(e) }) },
        ...(alertsEnv
          ? [
              {
                name: 'alerts',
                // Its /metrics and /healthz are this process's one listener (below).
                start: async () =>
                  (running.alerts = await startAlertsService(on('alerts', { ...alertsEnv, ALERTS_API_KEY: boardApiKey }), {
                    onNotification: (wave) => {
                      smsQueued += wave.recipients.length;
                      ui?.sms(wave);
                    },
                  })),
              },
            ]
          : []),
      ];
      for (const { name, start } of services) {
        const service = await start();
        started.push({ name, close: () => service.close() });
      }
      const { broker, ingest, alerts } = running;
      if (!broker || !ingest) throw new Error('broker and ingest start first');
      ingestCounts = ingest.counts;
      smsCounts = alerts?.sms ?? null;
      if (alerts) {
        // Sensor drills from the board and the schedule (README "Drills"): played as svc-simulator, never by alerts.
        const player = startDrillPlayer({ site: rt.site, access: { url: localMqtt(), secret: rt.secret() }, api: { url: `http://127.0.0.1:${alerts.httpPort}`, key: boardApiKey }, log: root.child({ service: 'drill-player' }) });
        started.push({ name: 'drill player', close: () => player.close() });
      }
      let board: Awaited<ReturnType<typeof runBoard>> | null = null;
      if (boardEnv) {
        const alertsUrl = alerts ? `http://127.0.0.1:${alerts.httpPort}` : undefined;
        board = await runBoard({ ...boardEnv, MQTT_URL: localMqtt(), EWS_BROKER_SECRET: rt.secret(), BOARD_ALERTS_URL: alertsUrl, ALERTS_API_KEY: alertsUrl ? boardApiKey : undefined }, rt.site, serviceCredentials(rt, 'board'), root.child({ service: 'board' }), { generateKiosk: true });
        const runningBoard = board;
        started.push({ name: 'board', close: () => runningBoard.close() });
      }
      // How this process judges time, for simulate/replay to check; the run clocks it follows.
      const link = startClockLink({
        url: localMqtt(),
        ...serviceCredentials(rt, 'rules'),
        clientId: `${rulesExtras.RULES_CLIENT_ID}-clock`,
        role: 'rules',
        services: { ingest: mode, rules: rulesExtras.RULES_CLOCK === 'readings' ? 'readings' : mode, ...(alertsEnv ? { alerts: mode } : {}) },
        clock,
        log: root.child({ service: 'clock' }),
      });
      started.push({ name: 'clock link', close: () => link.close() });
      await link.ready;
      // One /healthz for the process: 503 when ingest or alerts is unhealthy (alerts: MQTT down, or the SMS transport degraded).
      const runningAlerts = alerts;
      started.push(
        ...(await metricsService(rt, () => {
          const ingestHealth = ingest.health();
          const alertsHealth = runningAlerts?.health();
          return { ok: ingestHealth.ok && (alertsHealth?.ok ?? true), detail: { brokerClients: broker.aedes.connectedClients, ingest: ingestHealth.detail, ...(alertsHealth ? { alerts: alertsHealth.detail } : {}) } };
        })),
      );
      const where = {
        mqtt: `mqtt://${rt.env.MQTT_HOST}:${broker.port}`,
        ws: broker.wsPort ? `ws://${rt.env.MQTT_HOST}:${broker.wsPort}` : null,
        store: rt.env.INFLUX_URL ? `InfluxDB ${rt.env.INFLUX_URL}` : `${join(rt.env.EWS_DATA_DIR, 'ingest.sqlite')} (table local_readings)`,
        alerts: alerts ? `${alerts.transport === 'dryrun' ? '' : `${alerts.transport}, `}outbox ${alertsEnv?.ALERTS_DB_FILE ?? join(rt.env.EWS_DATA_DIR, 'alerts.sqlite')}, acknowledgement links and API http://${alertsEnv?.ALERTS_HTTP_HOST}:${alerts.httpPort}` : null,
        metrics: rt.env.EWS_HTTP_PORT ? `http://${rt.env.EWS_HTTP_HOST}:${rt.env.EWS_HTTP_PORT}/metrics` : null,
        board: board ? (board.kioskUrl ?? board.url) : null,
      };
      if (ui) {
        ui.dryRun = alerts?.transport === 'dryrun';
        ui.ackMode = alerts?.ackMode ?? 'reply';
        for (const line of [...banner(where, rt, clock, alerts?.transport ?? null), ...whereNext(where, rt)]) ui.line(line);
        if (!scenario) ui.line('');
      }
      logger.info({ mqtt: broker.port, site: rt.site.site.name, nodes: rt.site.nodes.length, followsRunClocks: clock.followsRuns }, 'pipeline running; Ctrl-C to stop');
      if (scenario) {
        const simulation = startBackgroundSimulation({
          access: { url: localMqtt(), secret: rt.secret() },
          site: rt.site,
          scenario: options.scenario,
          speed,
          logger: root.child({ service: 'simulator' }),
          onPlanned: (run, announced) => {
            // Now that it is placed: simulate/replay into this pipeline would mix two fleets of the same nodes.
            link.setSimulating(`simulate ${scenario.name}${speed === 1 ? '' : ` ×${speed}`}`);
            const placed = `${clockText(run.startMs, timeZone, false)} → ${clockText(run.endMs, timeZone, false)}`;
            ui?.line(
              announced.clock
                ? `  simulation ${scenario.name} ×${speed}: ${durationText(run.endMs - run.startMs)} of scenario in ${durationText((run.endMs - run.startMs) / speed)}, placed ${placed} so that it ends now; the pipeline follows its clock (run ${announced.clock.runId})`
                : `  simulation ${scenario.name} in real time: ${durationText(run.endMs - run.startMs)} from now (${nodesText(run)})`,
            );
            ui?.line('');
            ui?.status(true);
          },
        });
        started.push({
          name: 'simulator',
          // Stop following run clocks first: the pipeline is going down, so the end of the run must
          // not move its clock (every simulated node would look offline for a moment).
          close: async () => {
            await link.close();
            await simulation.stop();
          },
        });
        simulation.done.then(
          (play) => {
            if (stopping) return;
            link.setSimulating(null);
            const left = play.unacknowledged ? `, ${fmtCount(play.unacknowledged)} not acknowledged by the broker` : '';
            logger.info({ scenario: scenario.name, readings: play.counts.readings, unacknowledged: play.unacknowledged }, 'background simulation ended; the pipeline keeps running');
            ui?.status(true);
            ui?.line(
              `${clockText(Date.now(), timeZone)}  simulation ${scenario.name} ended: ${fmtCount(play.counts.readings)} readings sent${left}. The pipeline keeps running on the wall clock; ` +
                'the simulated nodes are silent now, so rules will report them offline in a few minutes. Ctrl-C to stop.',
            );
            for (const line of whereNext(where, rt)) ui?.line(line);
          },
          (err: unknown) => {
            if (err instanceof RunRefusedError) logger.error({ err: err.message }, 'background simulation refused');
            else logger.error({ err: err instanceof Error ? err.message : String(err) }, 'background simulation failed');
          },
        );
      }
      ui?.start();
    },
    {
      onStopping: () => {
        stopping = true;
        ui?.stop();
        ui?.line(`${clockText(Date.now(), timeZone)}  stopping… (another Ctrl-C, a moment later, stops at once)`);
      },
    },
  );
  if (ui) process.once('exit', (code) => process.stdout.write(code === 0 ? `${clockText(Date.now(), timeZone)}  stopped cleanly\n` : ''));
}

const nodesText = (run: { expectedReadings: number }) => `about ${fmtCount(run.expectedReadings)} readings`;

/** Refused option combinations of `start`: one message, exit code 2. */
class StartUsageError extends Error {}

function durationText(ms: number): string {
  const min = Math.round(ms / 60_000);
  if (min < 90) return `${min} min`;
  const h = ms / 3600_000;
  return `${Number.isInteger(h) ? h : h.toFixed(1)} h`;
}

interface Where {
  mqtt: string;
  ws: string | null;
  store: string;
  alerts: string | null;
  metrics: string | null;
  board: string | null;
}

function banner(where: Where, rt: ServiceContext, clock: PipelineClock, transport: string | null): string[] {
  return [
    `fire-ews — ${rt.site.site.name}: broker, ingest, rules, alerts and the situation board in one process (Ctrl-C to stop). Times are ${rt.site.site.timezone}.`,
    `  broker     ${where.mqtt}${where.ws ? ` · MQTT over WebSocket ${where.ws}` : ''}`,
    `  readings   ${rt.env.INFLUX_URL ? where.store : `no INFLUX_URL: stored in ${where.store}`}`,
    `  rules      fire detection and danger levels on the pipeline's clock${clock.followsRuns ? ' (follows accelerated runs: README "Time model")' : ''}`,
    where.alerts ? `  alerts     ${transport === 'dryrun' ? 'dry run, SMS are NOT sent (no Twilio credentials); ' : ''}${where.alerts}` : '  alerts     off (--no-alerts)',
    where.board ? `  board      situation board ${where.board} (read-only link for a wall screen; members sign in at /login)` : '  board      off (--no-board)',
    '  A status line every 5 s; each event and each SMS as it happens; warnings and errors as text (EWS_LOG_FORMAT=json for JSON logs).',
  ];
}

function whereNext(where: Where, rt: ServiceContext): string[] {
  const alertsDb = where.alerts ? join(rt.env.EWS_DATA_DIR, 'alerts.sqlite') : null;
  return [
    '  Where to look:',
    ...(alertsDb ? [`    SMS outbox  sqlite3 ${alertsDb} "SELECT step, phone, body FROM outbox ORDER BY id DESC LIMIT 20"`] : []),
    `    readings    ${where.store}`,
    ...(where.metrics ? [`    metrics     ${where.metrics} · health ${where.metrics.replace(/metrics$/, 'healthz')}`] : []),
    '    dashboards  Grafana over InfluxDB: set the INFLUX_* variables (README "Dashboards" and "Deployment")',
  ];
}
export function registerServiceCommands(program: Command): void {
  program
    .command('start')
    .description('run the whole pipeline in one process (broker, ingest, rules, alerts, the situation board, a background simulation) on one clock; works without InfluxDB')
    .option('--scenario <name>', 'scenario the background simulation plays (built-in name or YAML file)', 'normal-day')
    .option('--speed <factor>', 'background simulation speed: 1 = real time (default), 60 = one hour of scenario a minute, placed to end now (README "Time model")', parseWith(pipelineSpeed, '--speed'))
    .option('--no-simulation', 'do not run the background simulation (simulate or replay into this pipeline instead)')
    .option('--no-alerts', 'do not run the alerts service')
    .option('--no-board', 'do not run the situation board')
    .action(async (options: StartOptions) => {
      try {
        await startCommand(options);
      } catch (err) {
        if (!(err instanceof StartUsageError)) throw err;
        console.error(err.message);
        process.exit(2);
      }
    });

  program
    .command('broker')
    .description('run the MQTT broker alone')
    .action(async () => {
      const env = loadEnv();
      const rt = serviceContextFromEnv(env, createLogger('broker', env.EWS_LOG_LEVEL));
      await assertPortsFree([...brokerPorts(env), metricsPort(env)]);
      await runUntilSignal(rt.logger, async (started) => {
        const broker = await startBrokerService(rt);
        started.push({ name: 'broker', close: () => broker.close() }, ...(await metricsService(rt, () => broker.health())));
      });
    });

  program
    .command('ingest')
    .description('run the ingest service alone (connects to MQTT_URL)')
    .action(async () => {
      const env = loadEnv();
      const rt = serviceContextFromEnv(env, createLogger('ingest', env.EWS_LOG_LEVEL));
      await assertPortsFree([metricsPort(env)]);
      await runUntilSignal(rt.logger, async (started) => {
        const { clock, link } = standaloneClock(rt, 'ingest');
        started.push(link);
        const ingest = await startIngestService({ ...rt, clock });
        // 503 while disconnected from the broker, with the spool full, or InfluxDB failing for a minute.
        started.push({ name: 'ingest', close: () => ingest.close() }, ...(await metricsService(rt, () => ingest.health())));
        rt.logger.info({ followsRunClocks: clock.followsRuns }, 'ingest running');
      });
    });
}
