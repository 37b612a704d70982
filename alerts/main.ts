// Process entry of the alerts service (also what `fire-ews alerts run` does), without the rest of the CLI.
import { createLogger } from '../platform/logger.ts';
import { loadAlertsEnv, type AlertsEnv } from './config.ts';
import { assertPortsFree } from '../platform/ports.ts';
import { reportFatal } from '../platform/fatal.ts';
import { startAlertsService } from './service.ts';
import { runUntilSignal, serveMetrics, serviceContextFromEnv, serviceCredentials, type ServiceContext } from '../platform/service-shell.ts';
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
const clockLink = startClockLink({
  url: env.MQTT_URL,
  ...serviceCredentials(context, 'alerts'),
  clientId: `${env.ALERTS_MQTT_CLIENT_ID}-clock`,
  role: 'alerts',
  services: { alerts: clockModeOf(clock) },
  clock,
  log,
});
await runUntilSignal(
  log,
  async (started) => {
    started.push({ name: 'clock link', close: () => clockLink.close() });
    const running = await startAlertsService(context);
    // /metrics and the detailed /healthz: 503 while MQTT is down or the transport fails every message.
    started.push({ name: 'alerts', close: () => running.close() }, ...(await serveMetrics(log, env.EWS_HTTP_HOST, env.EWS_HTTP_PORT, () => running.health())));
    log.info({ httpPort: running.httpPort, followsRunClocks: clock.followsRuns }, 'alerts service running');
  },
  // A refused start (templates that do not fit, the sample roster…): one message, no stack trace.
  { onStartFailure: refuse },
).catch(refuse);
