// Environment of the alerts service. The schema is defined once in contracts/config.ts
// (alertsEnvSchema: the shared variables plus ALERTS_*, TWILIO_*, GAMMU_*); re-exported here.
import { alertsEnvSchema, type AlertsEnv } from '../contracts/config.ts';
import { parseEnv } from '../platform/config-error.ts';

export { alertsEnvExtras, alertsEnvSchema, type AlertsEnv } from '../contracts/config.ts';

/** A bad variable is a ConfigError naming it (fire-ews prints it, exit 2). */
export function loadAlertsEnv(source: NodeJS.ProcessEnv = process.env): AlertsEnv {
  return parseEnv(alertsEnvSchema, source);
}

export function chooseTransport(env: AlertsEnv): 'dryrun' | 'twilio' | 'gammu' {
  if (env.ALERTS_TRANSPORT) return env.ALERTS_TRANSPORT;
  return env.TWILIO_ACCOUNT_SID && env.TWILIO_AUTH_TOKEN ? 'twilio' : 'dryrun';
}
