// Environment of the alerts service. The schema is defined once in contracts/config.ts
// (alertsEnvSchema: the shared variables plus ALERTS_*, TWILIO_*, GAMMU_*); re-exported here.
import { alertsEnvSchema, type AlertsEnv } from '../contracts/config.ts';

export { alertsEnvExtras, alertsEnvSchema, type AlertsEnv } from '../contracts/config.ts';

export function loadAlertsEnv(source: NodeJS.ProcessEnv = process.env): AlertsEnv {
  const result = alertsEnvSchema.safeParse(source);
  if (!result.success) {
    throw new Error(`invalid alerts configuration:\n${result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  }
  return result.data;
}

export function chooseTransport(env: AlertsEnv): 'dryrun' | 'twilio' | 'gammu' {
  if (env.ALERTS_TRANSPORT) return env.ALERTS_TRANSPORT;
  return env.TWILIO_ACCOUNT_SID && env.TWILIO_AUTH_TOKEN ? 'twilio' : 'dryrun';
}
