// `fire-ews start | broker | ingest`: run services alone or all in one process, with a clean Ctrl-C.
import type { Command } from 'commander';
import { loadEnv, type Env } from '../contracts/config.ts';
import type { Site } from '../contracts/site.ts';
import { derivePassword, resolveBrokerSecret, serviceUsername, type ServiceRole } from '../platform/credentials.ts';
import { createLogger, type Logger } from '../platform/logger.ts';
import { startMetricsServer, type HealthCheck } from '../platform/metrics.ts';
import { loadSiteFile } from '../platform/site-file.ts';
import { runBroker } from '../broker/main.ts';
import { runIngest } from '../ingest/main.ts';
import { loadAlertsEnv } from '../alerts/config.ts';
import { runRules } from '../rules/main.ts';
import { runAlertsService } from '../alerts/main.ts';
import { startBackgroundSimulation } from '../simulator/run.ts';
import { loadBoardEnv } from '../board/cli.ts';
import { runBoard } from '../board/main.ts';
import { randomBytes } from 'node:crypto';

interface Runtime {
  env: Env;
  site: Site;
  logger: Logger;
  secret: () => string;
  credentialsFor: (role: ServiceRole) => { username: string; password: string };
}

function loadRuntime(name: string): Runtime {
  const env = loadEnv();
  const logger = createLogger(name, env.EWS_LOG_LEVEL);
  const site = loadSiteFile(env.EWS_SITE_FILE);
  let secret: string | undefined;
  const getSecret = () => {
    if (secret === undefined) {
      const resolved = resolveBrokerSecret(env.EWS_BROKER_SECRET, env.EWS_DATA_DIR);
      if (resolved.source === 'generated') logger.warn({ dataDir: env.EWS_DATA_DIR }, 'no EWS_BROKER_SECRET: generated one and kept it in the data dir (set it in production)');
      secret = resolved.secret;
    }
    return secret;
  };
  return {
    env,
    site,
    logger,
    secret: getSecret,
    credentialsFor: (role) => {
      const username = env.MQTT_USERNAME ?? serviceUsername(role);
      return { username, password: env.MQTT_PASSWORD ?? derivePassword(getSecret(), username) };
    },
  };
}

type Stoppable = { name: string; close(): Promise<void> };

/** Runs until SIGINT/SIGTERM, then closes services in reverse order and exits 0. */
async function runUntilSignal(logger: Logger, start: () => Promise<Stoppable[]>): Promise<void> {
  let services: Stoppable[] = [];
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without finishing shutdown');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    for (const s of [...services].reverse()) {
      try {
        await s.close();
      } catch (err) {
        logger.error({ service: s.name, err: err instanceof Error ? err.message : String(err) }, 'error while stopping');
      }
    }
    logger.info('stopped cleanly');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  try {
    services = await start();
  } catch (err) {
    logger.fatal({ err: err instanceof Error ? err.message : String(err) }, 'start-up failed');
    for (const s of [...services].reverse()) await s.close().catch(() => undefined);
    process.exit(1);
  }
}

async function metricsService(rt: Runtime, health: HealthCheck): Promise<Stoppable[]> {
  if (rt.env.EWS_HTTP_PORT === 0) return [];
  const server = await startMetricsServer(rt.env.EWS_HTTP_HOST, rt.env.EWS_HTTP_PORT, health);
  rt.logger.info({ url: `http://${rt.env.EWS_HTTP_HOST}:${rt.env.EWS_HTTP_PORT}/metrics` }, 'metrics and health endpoint');
  return [{ name: 'metrics', close: () => new Promise<void>((resolve) => server.close(() => resolve())) }];
}

export function registerServiceCommands(program: Command): void {
  program
    .command('start')
    .description('run the whole pipeline in one process (broker, ingest, rules, alerts, the situation board, a background simulation); works without InfluxDB')
    .option('--scenario <name>', 'scenario the background simulation plays (built-in name or YAML file)', 'normal-day')
    .option('--speed <factor>', 'background simulation speed (1 = real time)', '1')
    .option('--no-simulation', 'do not run the background simulation')
    .option('--no-alerts', 'do not run the alerts service')
    .option('--no-board', 'do not run the situation board')
    .action(async (options: { scenario: string; speed: string; simulation: boolean; alerts: boolean; board: boolean }) => {
      const rt = loadRuntime('ews');
      await runUntilSignal(rt.logger, async () => {
        const started: Stoppable[] = [];
        const broker = await runBroker(rt.env, rt.site, rt.secret(), rt.logger.child({ service: 'broker' }));
        started.push({ name: 'broker', close: () => broker.close() });
        const localMqtt = `mqtt://127.0.0.1:${broker.port}`;
        const ingestEnv = { ...rt.env, MQTT_URL: localMqtt };
        const ingest = await runIngest(ingestEnv, rt.site, rt.credentialsFor('ingest'), rt.logger.child({ service: 'ingest' }));
        started.push({ name: 'ingest', close: () => ingest.close() });
        const rules = await runRules({ ...rt.env, MQTT_URL: localMqtt }, rt.site, rt.credentialsFor('rules'), rt.logger.child({ service: 'rules' }));
        started.push({ name: 'rules', close: () => rules.close() });
        // The alerts API key the board uses in this one process (ALERTS_API_KEY, or one for this run).
        const boardApiKey = loadAlertsEnv().ALERTS_API_KEY ?? randomBytes(24).toString('base64url');
        let alertsUrl: string | undefined;
        if (options.alerts) {
          // EWS_HTTP_PORT 0: this process's one /metrics and /healthz listener (below) serves alerts too.
          const alerts = await runAlertsService({ ...loadAlertsEnv(), MQTT_URL: localMqtt, EWS_BROKER_SECRET: rt.secret(), ALERTS_API_KEY: boardApiKey, EWS_HTTP_PORT: 0 }, rt.logger.child({ service: 'alerts' }));
          alertsUrl = `http://127.0.0.1:${alerts.httpPort}`;
          started.push({ name: 'alerts', close: () => alerts.close() });
        }
        if (options.board) {
          const board = await runBoard({ ...loadBoardEnv(), MQTT_URL: localMqtt, EWS_BROKER_SECRET: rt.secret(), BOARD_ALERTS_URL: alertsUrl, ALERTS_API_KEY: alertsUrl ? boardApiKey : undefined }, rt.site, rt.credentialsFor('board'), rt.logger.child({ service: 'board' }), { generateKiosk: true });
          started.push({ name: 'board', close: () => board.close() });
        }
        if (options.simulation) {
          const simulation = await startBackgroundSimulation({
            access: { url: localMqtt, secret: rt.secret() },
            site: rt.site,
            scenario: options.scenario,
            speed: Number(options.speed),
            logger: rt.logger.child({ service: 'simulator' }),
          });
          started.push({ name: 'simulator', close: () => simulation.stop() });
        }
        started.push(...(await metricsService(rt, () => ({ ok: ingest.health().ok, detail: { brokerClients: broker.aedes.connectedClients, ingest: ingest.health().detail } }))));
        rt.logger.info({ mqtt: broker.port, site: rt.site.site.name, nodes: rt.site.nodes.length }, 'pipeline running; Ctrl-C to stop');
        return started;
      });
    });

  program
    .command('broker')
    .description('run the MQTT broker alone')
    .action(async () => {
      const rt = loadRuntime('broker');
      await runUntilSignal(rt.logger, async () => {
        const broker = await runBroker(rt.env, rt.site, rt.secret(), rt.logger);
        return [{ name: 'broker', close: () => broker.close() }, ...(await metricsService(rt, () => ({ ok: true, detail: { clients: broker.aedes.connectedClients } })))];
      });
    });

  program
    .command('ingest')
    .description('run the ingest service alone (connects to MQTT_URL)')
    .action(async () => {
      const rt = loadRuntime('ingest');
      await runUntilSignal(rt.logger, async () => {
        const ingest = await runIngest(rt.env, rt.site, rt.credentialsFor('ingest'), rt.logger);
        // 503 while disconnected from the broker, with the spool full, or InfluxDB failing for a minute.
        return [{ name: 'ingest', close: () => ingest.close() }, ...(await metricsService(rt, () => ingest.health()))];
      });
    });
}
