// Process entry of the alerts service (also what `fire-ews alerts run` does), without the rest of the CLI.
import { createLogger } from '../platform/logger.ts';
import { loadAlertsEnv, type AlertsEnv } from './config.ts';
import { assertPortsFree } from '../platform/ports.ts';
import { reportFatal } from '../platform/fatal.ts';
import { checkAlertsConfiguration, startAlertsService, type RunningAlerts } from './service.ts';
import { awaitLeadership, healthWithLeadership, runUntilSignal, serveMetrics, serviceContextFromEnv, serviceCredentials, type Leadership, type ServiceContext } from '../platform/service-shell.ts';
import type { PipelineClock } from '../platform/clock.ts';
import { clockModeOf, pipelineClockFromEnv, startClockLink } from '../platform/clock-link.ts';

/** A refused configuration: one line naming the variable or file and what to do, exit code 2, no stack trace. */
function refuse(err: unknown): never {
  process.exit(reportFatal(err, (text) => process.stderr.write(text)));
}

let env: AlertsEnv;
let clock: PipelineClock;
let context: ServiceContext<AlertsEnv>;
try {
  env = loadAlertsEnv();
  // Both listeners probed together: every port in use is named at once (a ConfigError, exit 2).
  await assertPortsFree([
    { variable: 'ALERTS_HTTP_PORT', host: env.ALERTS_HTTP_HOST, port: env.ALERTS_HTTP_PORT },
    { variable: 'EWS_HTTP_PORT', host: env.EWS_HTTP_HOST, port: env.EWS_HTTP_PORT },
  ]);
  // Standalone: on the wall clock unless EWS_FOLLOW_RUN_CLOCKS=true (README "Time model").
  clock = pipelineClockFromEnv(env, false);
  context = serviceContextFromEnv(env, createLogger('alerts', env.EWS_LOG_LEVEL), clock);
} catch (err) {
  refuse(err);
}
const log = context.logger;
await runUntilSignal(
  log,
  async (started) => {
    let running: RunningAlerts | null = null;
    let leadership: Leadership = 'alone';
    // /metrics and the detailed /healthz: 503 while MQTT is down or the transport fails every message;
    // a standby answers 200 and says so.
    started.push(...(await serveMetrics(log, env.EWS_HTTP_HOST, env.EWS_HTTP_PORT, healthWithLeadership(() => leadership, () => running))));
    // A refused configuration is found now, also by a standby, not at its takeover.
    checkAlertsConfiguration(env, context.site);
    // With LEADER_LEASE_REDIS_URL, nothing below runs until this process holds the lease: the
    // outbox and its sender, the drill schedule, the HTTP API and the session (same client ids as the
    // other alerts process) belong to the leader only.
    leadership = await awaitLeadership(env, 'alerts', log, started, { onStandby: () => (leadership = 'standby') });
    const clockLink = startClockLink({
      url: env.MQTT_URL,
      ...serviceCredentials(context, 'alerts'),
      clientId: `${env.ALERTS_MQTT_CLIENT_ID}-clock`,
      role: 'alerts',
      services: { alerts: clockModeOf(clock) },
      clock,
      log,
    });
    started.push({ name: 'clock link', close: () => clockLink.close() });
    const alerts = await startAlertsService(context);
    running = alerts;
    started.push({ name: 'alerts', close: () => alerts.close() });
    log.info({ httpPort: alerts.httpPort, followsRunClocks: clock.followsRuns, leadership }, 'alerts service running');
  },
  // A refused start (templates that do not fit, the sample roster…): one message, no stack trace.
  { onStartFailure: refuse },
).catch(refuse);
