// Process entry of the alerts service (also what `fire-ews alerts run` does), without the rest of the CLI.
import { createLogger } from '../platform/logger.ts';
import { loadAlertsEnv } from './config.ts';
import { runAlertsService } from './main.ts';

const env = loadAlertsEnv();
const log = createLogger('alerts', env.EWS_LOG_LEVEL);
const running = await runAlertsService(env, log);
log.info({ httpPort: running.httpPort }, 'alerts service running');
const stop = () => {
  void running.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
