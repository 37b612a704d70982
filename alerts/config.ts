// Environment of the alerts service, parsed once. Extends the shared env schema; to be merged into
// contracts/config.ts. Secrets (Twilio token, API key) come only from the environment.
import { z } from 'zod';
import { envSchema } from '../contracts/config.ts';

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));
const positiveInt = z.coerce.number().int().positive();

export const alertsEnvSchema = envSchema
  .extend({
    /** Default: <EWS_DATA_DIR>/alerts.sqlite */
    ALERTS_DB_FILE: optionalString,
    /** Default: twilio when TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are set, else dryrun. */
    ALERTS_TRANSPORT: z.enum(['dryrun', 'twilio', 'gammu']).optional(),
    ALERTS_HTTP_HOST: z.string().default('127.0.0.1'),
    ALERTS_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8090),
    /** Public base URL of this server: ack links and the URL Twilio signs status callbacks with. */
    ALERTS_PUBLIC_URL: z.url().default('http://127.0.0.1:8090'),
    /** Key for POST /api/ack and GET /api/alerts (header X-API-Key or Authorization: Bearer). */
    ALERTS_API_KEY: optionalString.pipe(z.string().min(16, 'ALERTS_API_KEY must be at least 16 characters').optional()),
    ALERTS_MQTT_CLIENT_ID: z.string().default('ews-alerts'),
    /** Sender rate (Twilio alphanumeric sender: 10 segments/s). */
    ALERTS_RATE_SEGMENTS_PER_S: z.coerce.number().positive().default(10),
    ALERTS_RATE_BURST: positiveInt.default(10),
    ALERTS_SEND_CONCURRENCY: positiveInt.default(4),
    /** A message not handed over within this many seconds is failed, and Twilio's validityPeriod. */
    ALERTS_VALIDITY_S: z.coerce.number().int().min(60).max(36_000).default(900),
    ALERTS_RETRY_BASE_MS: positiveInt.default(1000),
    ALERTS_RETRY_CAP_MS: positiveInt.default(60_000),
    TWILIO_ACCOUNT_SID: optionalString.pipe(z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'expected AC followed by 32 hex digits').optional()),
    TWILIO_AUTH_TOKEN: optionalString,
    TWILIO_MESSAGING_SERVICE_SID: optionalString.pipe(z.string().regex(/^MG[0-9a-fA-F]{32}$/, 'expected MG followed by 32 hex digits').optional()),
    /** Registered alphanumeric sender, used when no Messaging Service is given. */
    TWILIO_FROM: optionalString,
    /** Tests and benches only: base URL of a local double of the Messages API. */
    ALERTS_TWILIO_API_BASE_URL: optionalString,
    GAMMU_SMSD_CONFIG: optionalString,
    GAMMU_INJECT_COMMAND: z.string().default('gammu-smsd-inject'),
    /** gammu-smsd inboxpath: replies there are read as acknowledgements. */
    GAMMU_INBOX_DIR: optionalString,
  })
  .superRefine((env, ctx) => {
    if (env.ALERTS_TRANSPORT === 'twilio' && (!env.TWILIO_ACCOUNT_SID || !env.TWILIO_AUTH_TOKEN)) {
      ctx.addIssue({ code: 'custom', message: 'the twilio transport needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN', path: ['ALERTS_TRANSPORT'] });
    }
    if (env.ALERTS_TRANSPORT === 'gammu' && !env.GAMMU_SMSD_CONFIG) {
      ctx.addIssue({ code: 'custom', message: 'the gammu transport needs GAMMU_SMSD_CONFIG', path: ['ALERTS_TRANSPORT'] });
    }
  });
export type AlertsEnv = z.infer<typeof alertsEnvSchema>;

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
