// Process entry of the alerts service (also what `fire-ews alerts run` does), without the rest of the CLI.
import { createLogger } from '../platform/logger.ts';
import { AlertsConfigError, loadAlertsEnv } from './config.ts';
import { runAlertsService } from './main.ts';
import { clockModeOf, pipelineClockFromEnv, startClockLink } from '../platform/clock-link.ts';
import { derivePassword, resolveBrokerSecret, serviceUsername } from '../platform/credentials.ts';

/** A refused configuration: its message (naming the variable or file and what to do), exit code 2, no stack trace. */
function refuse(err: unknown): never {
  if (err instanceof AlertsConfigError) {
    process.stderr.write(`alerts: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}

let env: ReturnType<typeof loadAlertsEnv>;
try {
  env = loadAlertsEnv();
} catch (err) {
  refuse(err);
}
const log = createLogger('alerts', env.EWS_LOG_LEVEL);
// Standalone: on the wall clock unless EWS_FOLLOW_RUN_CLOCKS=true (README "Time model").
const clock = pipelineClockFromEnv(env, false);
const username = env.MQTT_USERNAME ?? serviceUsername('alerts');
const clockLink = startClockLink({
  url: env.MQTT_URL,
  username,
  password: env.MQTT_PASSWORD ?? derivePassword(resolveBrokerSecret(env.EWS_BROKER_SECRET, env.EWS_DATA_DIR).secret, username),
  clientId: `${env.ALERTS_MQTT_CLIENT_ID}-clock`,
  role: 'alerts',
  services: { alerts: clockModeOf(clock) },
  clock,
  log,
});
const running = await runAlertsService(env, log, { clock }).catch(async (err: unknown) => {
  await clockLink.close();
  return refuse(err);
});
log.info({ httpPort: running.httpPort, followsRunClocks: clock.followsRuns }, 'alerts service running');
const stop = () => {
  void Promise.all([running.close(), clockLink.close()]).then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
