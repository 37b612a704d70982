// Environment configuration, parsed once by zod. Secrets and endpoints come only from here.
import { BlockList, isIP } from 'node:net';
import { z } from 'zod';
import { ConfigError, parseEnv } from '../platform/config-error.ts';

const port = z.coerce.number({ error: 'expected a port number' }).int('expected a whole port number').min(0, 'expected a port number 0–65535').max(65535, 'expected a port number 0–65535');
const positiveInt = z.coerce.number().int().positive();
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

/**
 * A service's MQTT client id: `ews-<role>` or `ews-<role>-<suffix>`. The broker gives these ids only
 * to `svc-<role>` (broker/acl.ts), so a stolen node key cannot take over a service's session.
 */
export function serviceClientId(role: string) {
  const pattern = new RegExp(`^ews-${role}(-[a-z0-9-]{1,40})?$`);
  return z.string().regex(pattern, `must be ews-${role} or ews-${role}-<suffix> (lower-case letters, digits, dashes): the broker reserves these to svc-${role}`).default(`ews-${role}`);
}

/** Schemes mqtt.js connects with. */
const MQTT_URL_PROTOCOLS = new Set(['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:']);

/** One or more broker URLs separated by commas (README "Scaling beyond one machine"). */
export const brokerUrlList = z.string().superRefine((value, ctx) => {
  const urls = value.split(',').map((u) => u.trim());
  for (const url of urls) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !MQTT_URL_PROTOCOLS.has(parsed.protocol) || !parsed.hostname) {
      ctx.addIssue({ code: 'custom', message: `"${url}" is not a broker URL: expected mqtt://host:port (or mqtts://, ws://, wss://), several separated by commas` });
      return;
    }
  }
});

/**
 * One or more http(s) base URLs of a service's API separated by commas: a service running as a leader and
 * a standby (README "Scaling beyond one machine"); platform/api-failover.ts tries them in turn.
 */
export const apiUrlList = z.string().superRefine((value, ctx) => {
  for (const url of value.split(',').map((u) => u.trim())) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || !parsed.hostname) {
      ctx.addIssue({ code: 'custom', message: `"${url}" is not an API URL: expected http://host:port (or https://), several separated by commas` });
      return;
    }
  }
});

/** The sample site file shipped in the repository, relative to the repository root: the one default of every site path. */
export const DEFAULT_SITE_FILE = 'config/lai-chau.site.yaml';

export const envSchema = z.object({
  EWS_DATA_DIR: z.string().default('./data'),
  EWS_SITE_FILE: z.string().default(DEFAULT_SITE_FILE),
  EWS_LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /** auto: `fire-ews start` on a terminal prints a short human summary, JSON logs otherwise; json: always JSON logs. */
  EWS_LOG_FORMAT: z.enum(['auto', 'json']).default('auto'),
  /**
   * Follow the clock of accelerated runs announced on ews/v1/clock (README "Time model"). Default:
   * true in `fire-ews start`, false for the standalone services (a stolen simulator key must not move
   * a production pipeline's clock).
   */
  EWS_FOLLOW_RUN_CLOCKS: z.stringbool({ truthy: ['true', '1', 'yes'], falsy: ['false', '0', 'no'] }).optional(),
  /** /metrics and /healthz of a service (the embedded process serves one for all). 0 disables. */
  EWS_HTTP_PORT: port.default(9464),
  EWS_HTTP_HOST: z.string().default('127.0.0.1'),
  /** Seconds between the `pipeline` points each service writes to InfluxDB for the dashboards; 0 disables. */
  EWS_PIPELINE_STATS_S: z.coerce.number().int().min(0).default(10),
  /** Broker secret: node and service passwords are HMACs of their usernames under it. */
  EWS_BROKER_SECRET: optionalString.pipe(z.string().min(16, 'EWS_BROKER_SECRET must be at least 16 characters').optional()),

  MQTT_HOST: z.string().default('0.0.0.0'),
  MQTT_PORT: port.default(1883),
  /** MQTT over WebSocket; 0 disables. */
  MQTT_WS_PORT: port.default(8083),
  MQTT_TLS_PORT: port.default(8883),
  MQTT_TLS_CERT_FILE: optionalString,
  MQTT_TLS_KEY_FILE: optionalString,
  /** Per-client cap on QoS 1 messages queued for an offline persistent session. */
  BROKER_QUEUE_LIMIT: positiveInt.default(1_000_000),
  /** Connections allowed to wait for authentication at once; more are closed on arrival. */
  BROKER_MAX_PENDING_CONNECTIONS: positiveInt.default(256),
  /**
   * Where the broker keeps sessions, subscriptions, retained messages and queued QoS 1 messages:
   * `level` (LevelDB in <EWS_DATA_DIR>/broker-sessions, one broker) or `redis` (aedes-persistence-redis
   * at BROKER_REDIS_URL: several brokers share them; README "Scaling beyond one machine").
   */
  BROKER_PERSISTENCE: z.enum(['level', 'redis'], { error: 'must be level (one broker, LevelDB) or redis (a broker cluster on BROKER_REDIS_URL)' }).default('level'),
  /** How a message published on one broker reaches subscribers on the others: `local` (one broker) or `redis` (mqemitter-redis pub/sub). */
  BROKER_EMITTER: z.enum(['local', 'redis'], { error: 'must be local (one broker) or redis (a broker cluster on BROKER_REDIS_URL)' }).default('local'),
  /** The Redis of a broker cluster: redis://[:password@]host:port[/db] (rediss:// for TLS). */
  BROKER_REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379' }).default('redis://127.0.0.1:6379'),


  /**
   * Where services and simulated nodes connect: one broker URL, or several separated by commas
   * (a broker cluster): a client that loses its broker connects to the next one in the list.
   */
  MQTT_URL: brokerUrlList.default('mqtt://127.0.0.1:1883'),
  /** A service's own credentials; when absent they are derived from EWS_BROKER_SECRET. */
  MQTT_USERNAME: optionalString,
  MQTT_PASSWORD: optionalString,

  /** InfluxDB; absent = local SQLite store only. */
  INFLUX_URL: optionalString.pipe(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:8086' }).optional()),
  /** v2: @influxdata/influxdb-client (InfluxDB 1.8+, 2.x, 3.x); v1: the /write endpoint of older 1.x servers. */
  INFLUX_API: z.enum(['v2', 'v1']).default('v2'),
  INFLUX_TOKEN: optionalString,
  INFLUX_ORG: z.string().default(''),
  INFLUX_BUCKET: z.string().default('ews'),
  INFLUX_DATABASE: z.string().default('ews'),
  INFLUX_RETENTION_POLICY: optionalString,
  INFLUX_USERNAME: optionalString,
  INFLUX_PASSWORD: optionalString,
  INFLUX_TIMEOUT_MS: positiveInt.default(10_000),

  /** `ews-ingest[-…]`: the broker reserves `ews-<role>` ids to their service account. */
  INGEST_CLIENT_ID: serviceClientId('ingest'),
  /**
   * Set on a broker with shared subscriptions (Mosquitto 2, EMQX, HiveMQ, VerneMQ; not our aedes
   * broker): ingest subscribes through `$share/<group>/…`, so several workers, each with its own
   * INGEST_CLIENT_ID, split the readings between them. Absent: a plain subscription.
   */
  INGEST_SHARED_GROUP: optionalString.pipe(z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a share group name such as ingest (lower-case letters, digits, dashes; no / + #)').optional()),
  INGEST_BATCH_SIZE: positiveInt.default(5000),
  INGEST_FLUSH_MS: positiveInt.default(200),
  /** Spool cap (rows); at the cap ingest stops acknowledging so the broker keeps the messages. */
  INGEST_SPOOL_MAX_ROWS: positiveInt.default(2_000_000),
  INGEST_MAX_PAYLOAD_BYTES: positiveInt.default(4096),
  INGEST_MAX_FUTURE_S: positiveInt.default(300),
  INGEST_MAX_AGE_DAYS: positiveInt.default(400),
  /** Rows kept in the local store when no InfluxDB is configured. */
  INGEST_LOCAL_RETENTION_ROWS: positiveInt.default(5_000_000),
  /**
   * TEST HOOK, refused unless NODE_ENV=test: ingest SIGKILLs itself inside the first group-commit
   * transaction that brings it to this many spooled messages, after the INSERTs and before COMMIT
   * (test/integration/ingest-pipeline.test.ts proves nothing is lost or duplicated then).
   */
  EWS_TEST_KILL_INGEST_BEFORE_COMMIT: positiveInt.optional(),
});
export type Env = z.infer<typeof envSchema>;

/** The shared variables; a bad one is a ConfigError naming each variable (fire-ews prints it, exit 2). */
export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const env = parseEnv(envSchema, source);
  if (env.EWS_TEST_KILL_INGEST_BEFORE_COMMIT !== undefined && source.NODE_ENV !== 'test') {
    throw new ConfigError([{ where: 'EWS_TEST_KILL_INGEST_BEFORE_COMMIT', problem: 'a test hook that makes ingest kill itself; only tests set it (with NODE_ENV=test)', fix: 'remove it from the environment' }]);
  }
  return env;
}

/**
 * Standby services (README "Scaling beyond one machine"), read by `fire-ews rules` and
 * `fire-ews alerts run` (platform/service-shell.ts awaitLeadership): with LEADER_LEASE_REDIS_URL set,
 * the service acts only while it holds its lease in that Redis (platform/leader-lease.ts); a second
 * process of the same service waits as a standby. Absent: the service acts alone.
 */
export const leaderLeaseEnvExtras = z.object({
  LEADER_LEASE_REDIS_URL: optionalString.pipe(z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379' }).optional()),
  /** The lease's length: a dead leader is replaced within about ttl + ttl/3 + the service's start-up. */
  LEADER_LEASE_TTL_MS: z.coerce.number().int('expected whole milliseconds').min(1000, 'expected at least 1000 ms').max(600_000, 'expected at most 600000 ms').default(15_000),
  /** The lease of service S is `<prefix>S` (ews:lease:rules, ews:lease:alerts); another prefix when several sites share a Redis. */
  LEADER_LEASE_PREFIX: z.string().regex(/^[A-Za-z0-9:_.-]{1,80}$/, 'must be a Redis key prefix of letters, digits, : _ . - (at most 80)').default('ews:lease:'),
  /**
   * true for a process meant as a standby (the compose cluster profile's rules-b, alerts-b): without
   * LEADER_LEASE_REDIS_URL it refuses to start instead of acting beside the other one.
   */
  LEADER_LEASE_REQUIRED: z.stringbool({ truthy: ['true', '1', 'yes'], falsy: ['false', '0', 'no'] }).default(false),
});
export type LeaderLeaseEnv = z.infer<typeof leaderLeaseEnvExtras>;

/** The variables only the rules service reads (rules/env.ts loads them). */
export const rulesEnvExtras = z.object({
  ...leaderLeaseEnvExtras.shape,
  /** Fixed MQTT client id: the persistent session (clean=false) belongs to it; `ews-rules[-…]` (reserved to svc-rules). */
  RULES_CLIENT_ID: serviceClientId('rules'),
  /** Default: <EWS_DATA_DIR>/rules.sqlite */
  RULES_DB_FILE: optionalString,
  /** Rules tuning YAML (rules/config.ts); defaults otherwise. */
  RULES_CONFIG_FILE: optionalString,
  /**
   * wall: a reading arrives at the wall clock (production). readings: the fleet's own time, from the
   * readings' timestamps (replays and tests: a recorded day played fast behaves as it did live).
   */
  RULES_CLOCK: z.enum(['wall', 'readings']).default('wall'),
  /** IANA zone of the schedules (the official level is a local 13:00 value). */
  RULES_TIMEZONE: z.string().default('Asia/Ho_Chi_Minh'),
  /** node-cron expression of the provisional (official: false) publication. */
  RULES_PROVISIONAL_CRON: z.string().default('0 * * * *'),
  /** Tick of the engine (offline nodes, stale incidents), in seconds of the pipeline's clock (README "Time model"). */
  RULES_TICK_S: positiveInt.default(10),
  /** A checkpoint of the engine state after this many journal entries (or RULES_CHECKPOINT_S). */
  RULES_CHECKPOINT_EVERY: positiveInt.default(5000),
  RULES_CHECKPOINT_S: positiveInt.default(30),
  /** Lines per InfluxDB write. */
  RULES_INFLUX_BATCH: positiveInt.default(1000),
});
export type RulesEnvExtras = z.infer<typeof rulesEnvExtras>;

export const rulesEnvSchema = envSchema.extend(rulesEnvExtras.shape);
export type RulesEnv = z.infer<typeof rulesEnvSchema>;

/**
 * The alerts service's own variables (SMS transports, its HTTP server, rate and retries), on top of
 * the shared ones. Secrets (Twilio token, API key) come only from the environment.
 */
export const alertsEnvExtras = z.object({
  ...leaderLeaseEnvExtras.shape,
  /** Default: <EWS_DATA_DIR>/alerts.sqlite */
  ALERTS_DB_FILE: optionalString,
  /** Default: twilio when TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are set, else dryrun. */
  ALERTS_TRANSPORT: z.enum(['dryrun', 'twilio', 'gammu']).optional(),
  ALERTS_HTTP_HOST: z.string().default('127.0.0.1'),
  ALERTS_HTTP_PORT: port.default(8090),
  /** The public port's guards against slow and numerous clients. */
  ALERTS_HTTP_MAX_CONNECTIONS: positiveInt.default(200),
  ALERTS_HTTP_HEADERS_TIMEOUT_MS: positiveInt.default(10_000),
  ALERTS_HTTP_REQUEST_TIMEOUT_MS: positiveInt.default(30_000),
  ALERTS_HTTP_IDLE_TIMEOUT_MS: positiveInt.default(30_000),
  /** Public base URL of this server: ack links and the URL Twilio signs status callbacks with. */
  ALERTS_PUBLIC_URL: z.url().default('http://127.0.0.1:8090'),
  /** Key for POST /api/ack and GET /api/alerts (header X-API-Key or Authorization: Bearer). */
  ALERTS_API_KEY: optionalString.pipe(z.string().min(16, 'ALERTS_API_KEY must be at least 16 characters').optional()),
  ALERTS_MQTT_CLIENT_ID: serviceClientId('alerts'),
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
  TWILIO_FROM: optionalString.pipe(
    z
      .string()
      .refine(
        (v) => /^\+[1-9]\d{7,14}$/.test(v) || (/^[A-Za-z0-9 ]{1,11}$/.test(v) && /[A-Za-z]/.test(v)),
        'must be an E.164 number like +84912345678 or an alphanumeric sender ID of at most 11 letters, digits or spaces with at least one letter (e.g. "PCCR LCHAU")',
      )
      .optional(),
  ),
  /**
   * Whether people can answer the Twilio sender with the ack code (a number that receives SMS, in a
   * country where Twilio has two-way SMS). Not in Vietnam, and never from an alphanumeric sender:
   * then the SMS carry only the ack link (alerts/README.md "Twilio in Vietnam").
   */
  TWILIO_RECEIVES_REPLIES: z.stringbool({ truthy: ['true', '1', 'yes'], falsy: ['false', '0', 'no'] }).default(false),
  /** Tests and benches only: base URL of a local double of the Messages API. */
  ALERTS_TWILIO_API_BASE_URL: optionalString,
  /** gammu-smsd configuration file: the transport injects with it (gammu-smsd must run with the same file). */
  GAMMU_SMSD_CONFIG: optionalString,
  GAMMU_INJECT_COMMAND: z.string().default('gammu-smsd-inject'),
  /** gammu-smsd inboxpath (files backend): replies there are read as acknowledgements. */
  GAMMU_INBOX_DIR: optionalString,
});

/** Shared variables + the alerts service's, with the cross-field rules of the transports. */
/** Loopback, private (RFC 1918, RFC 4193), link-local, unspecified, or a name that only resolves locally. */
export function isNonPublicHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.local') || host.endsWith('.internal') || host.endsWith('.lan') || (!host.includes('.') && !host.includes(':'))) return true;
  const version = isIP(host);
  if (version === 0) return false;
  return PRIVATE_RANGES.check(host, version === 4 ? 'ipv4' : 'ipv6');
}
const PRIVATE_RANGES = new BlockList();
for (const [net, bits] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16]] as const) PRIVATE_RANGES.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10]] as const) PRIVATE_RANGES.addSubnet(net, bits, 'ipv6');

export const alertsEnvSchema = envSchema.extend(alertsEnvExtras.shape).superRefine((env, ctx) => {
  if (env.ALERTS_TRANSPORT === 'twilio' && (!env.TWILIO_ACCOUNT_SID || !env.TWILIO_AUTH_TOKEN)) {
    ctx.addIssue({ code: 'custom', message: 'the twilio transport needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN', path: ['ALERTS_TRANSPORT'] });
  }
  const twilio = env.ALERTS_TRANSPORT === 'twilio' || (!env.ALERTS_TRANSPORT && env.TWILIO_ACCOUNT_SID !== undefined && env.TWILIO_AUTH_TOKEN !== undefined);
  if (twilio && env.TWILIO_RECEIVES_REPLIES && env.TWILIO_FROM && !env.TWILIO_FROM.startsWith('+')) {
    ctx.addIssue({ code: 'custom', message: `an alphanumeric sender (TWILIO_FROM=${env.TWILIO_FROM}) cannot receive replies: set TWILIO_RECEIVES_REPLIES=false`, path: ['TWILIO_RECEIVES_REPLIES'] });
  }
  // Twilio must reach the status callback and phones the ack links: a loopback or private address points nowhere.
  // ALERTS_TWILIO_API_BASE_URL (tests and benches only) means a local double, which does reach it.
  if (twilio && !env.ALERTS_TWILIO_API_BASE_URL && isNonPublicHost(new URL(env.ALERTS_PUBLIC_URL).hostname)) {
    ctx.addIssue({
      code: 'custom',
      message: `${env.ALERTS_PUBLIC_URL} is a loopback or private address: Twilio's status callbacks and the ack links in every SMS would point nowhere; set it to the public https address of port ALERTS_HTTP_PORT`,
      path: ['ALERTS_PUBLIC_URL'],
    });
  }
  if (env.ALERTS_TRANSPORT === 'gammu' && !env.GAMMU_SMSD_CONFIG) {
    ctx.addIssue({ code: 'custom', message: 'the gammu transport needs GAMMU_SMSD_CONFIG', path: ['ALERTS_TRANSPORT'] });
  }
});
export type AlertsEnv = z.infer<typeof alertsEnvSchema>;

/**
 * The situation board's variables (`fire-ews board`), on top of the shared ones. BOARD_USERS holds
 * per-person password hashes (`fire-ews board-user <memberId>` prints an entry); BOARD_KIOSK_TOKEN is
 * the secret of the read-only wall-screen link. Both are secrets and come only from the environment.
 */
export const boardEnvExtras = z.object({
  BOARD_HTTP_HOST: z.string().default('127.0.0.1'),
  BOARD_HTTP_PORT: port.default(8080),
  /** The address the boards' browsers use (kiosk link, Secure cookies when https); default http://<BOARD_HTTP_HOST>:<port>. */
  BOARD_PUBLIC_URL: optionalString.pipe(z.url().optional()),
  /** Comma-separated `<memberId>:<scrypt hash>` entries; the ids are roster members (boards, rangers). */
  BOARD_USERS: optionalString,
  /** Read-only kiosk link `/kiosk/<token>` for wall screens; blank = no kiosk link. */
  BOARD_KIOSK_TOKEN: optionalString.pipe(z.string().min(32, 'BOARD_KIOSK_TOKEN must be at least 32 characters (openssl rand -hex 24)').regex(/^[A-Za-z0-9_-]+$/, 'BOARD_KIOSK_TOKEN may hold only letters, digits, - and _').optional()),
  /** Signs the session cookie; default: generated once and kept in the data dir. */
  BOARD_SESSION_SECRET: optionalString.pipe(z.string().min(32, 'BOARD_SESSION_SECRET must be at least 32 characters').optional()),
  /** Hours a board member stays signed in without using the board. */
  BOARD_SESSION_HOURS: z.coerce.number().positive().max(24 * 30).default(12),
  /** Default: <EWS_DATA_DIR>/board.sqlite */
  BOARD_DB_FILE: optionalString,
  BOARD_MQTT_CLIENT_ID: serviceClientId('board'),
  /** The alerts service's boards' API (GET /api/alerts, POST /api/ack with ALERTS_API_KEY); several comma-separated for a leader and a standby; blank = none. */
  BOARD_ALERTS_URL: optionalString.pipe(apiUrlList.optional()),
  /** The key of that API (the alerts service's ALERTS_API_KEY). */
  ALERTS_API_KEY: optionalString.pipe(z.string().min(16, 'ALERTS_API_KEY must be at least 16 characters').optional()),
  /** Where ingest keeps readings without InfluxDB (read-only here); default <EWS_DATA_DIR>/ingest.sqlite. */
  BOARD_LOCAL_STORE_FILE: optionalString,
  /** Map tiles (e.g. a local tile server `https://tiles.example/{z}/{x}/{y}.png`); blank = no tiles, zones drawn from the site file. */
  BOARD_TILE_URL: optionalString.pipe(z.string().regex(/^https?:\/\/\S*\{z\}\S*\{x\}\S*\{y\}\S*$/, 'BOARD_TILE_URL must be an http(s) URL with {z}, {x} and {y}').optional()),
  /** Chromium for the bulletin PDF. */
  BOARD_CHROMIUM: z.string().default('/usr/bin/chromium'),
});

export const boardEnvSchema = envSchema.extend(boardEnvExtras.shape);
export type BoardEnv = z.infer<typeof boardEnvSchema>;

/** `fire-ews drill …`: where the alerts service's API is, and its key (README "Drills"). */
export const drillCliEnvSchema = z.object({
  /** One alerts API URL, or several comma-separated (a leader and a standby): tried in turn. */
  ALERTS_URL: apiUrlList.default('http://127.0.0.1:8090'),
  ALERTS_API_KEY: z.string({ error: 'ALERTS_API_KEY is not set: drills are started through the alerts API, set it to the alerts service\'s key' }).min(16, 'ALERTS_API_KEY must be at least 16 characters'),
});
export type DrillCliEnv = z.infer<typeof drillCliEnvSchema>;

/** `fire-ews drill-player` (simulator/drill-player.ts): the shared variables (MQTT_URL, the broker secret, the site file) and the alerts API. */
export const drillPlayerEnvSchema = envSchema.extend(drillCliEnvSchema.shape);
export type DrillPlayerEnv = z.infer<typeof drillPlayerEnvSchema>;
