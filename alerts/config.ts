// Environment of the alerts service. The schema is defined once in contracts/config.ts
// (alertsEnvSchema: the shared variables plus ALERTS_*, TWILIO_*, GAMMU_*); re-exported here.
import { alertsEnvSchema, type AlertsEnv } from '../contracts/config.ts';
import type { Site } from '../contracts/site.ts';
import { ConfigError, parseEnv } from '../platform/config-error.ts';
import type { AckMode } from './templates.ts';

export { alertsEnvExtras, alertsEnvSchema, type AlertsEnv } from '../contracts/config.ts';

/** A configuration the service refuses to start with: the message names the variable (or file) and what to do; no stack trace. */
export class AlertsConfigError extends ConfigError {
  constructor(message: string) {
    super([{ where: '', problem: message }]);
    this.name = 'AlertsConfigError';
  }
}

/** A bad variable is a ConfigError naming it (fire-ews prints it, exit 2). */
export function loadAlertsEnv(source: NodeJS.ProcessEnv = process.env): AlertsEnv {
  return parseEnv(alertsEnvSchema, source);
}

export function chooseTransport(env: AlertsEnv): 'dryrun' | 'twilio' | 'gammu' {
  if (env.ALERTS_TRANSPORT) return env.ALERTS_TRANSPORT;
  return env.TWILIO_ACCOUNT_SID && env.TWILIO_AUTH_TOKEN ? 'twilio' : 'dryrun';
}

/**
 * Whether the SMS ask for a reply with the ack code or carry only the link: the GSM modem receives
 * replies; Twilio only with TWILIO_RECEIVES_REPLIES (never in Vietnam, never from an alphanumeric
 * sender); the dry run writes what the modem would send.
 */
export function ackModeOf(env: AlertsEnv): AckMode {
  return chooseTransport(env) === 'twilio' && !env.TWILIO_RECEIVES_REPLIES ? 'link' : 'reply';
}

/** A real transport texts real people: refuse the illustrative roster (site.sampleData: true). */
export function refuseSampleRoster(env: AlertsEnv, site: Site): void {
  const transport = chooseTransport(env);
  if (transport !== 'dryrun' && site.site.sampleData) {
    throw new AlertsConfigError(
      `${env.EWS_SITE_FILE}: site.sampleData is true (an illustrative roster) and ALERTS_TRANSPORT is ${transport}: copy the site file, put the real roster in it, set sampleData: false and point EWS_SITE_FILE at the copy`,
    );
  }
}
