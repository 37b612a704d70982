// Checks docker-compose.yml, .env.example, the Dockerfile and the Grafana provisioning YAML against
// each other and against the services' zod env schemas, without a Docker engine (none in CI or on
// the developers' machines: nothing here has started the stack). `docker-compose config -q` (Debian's
// Compose v1, installed by .ci/run) runs too when present: skipped locally without it, required in CI.
import { assert, describe, expect, it } from 'vitest';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import type { z } from 'zod';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');
const execFileAsync = promisify(execFile);
const requireTools = Boolean(process.env.CI || process.env.EWS_REQUIRE_INTEGRATION);

// ---------------------------------------------------------------------------------------------
// Which schema each container parses its environment with, found at run time by importing the
// modules that define them: a variable added to a schema is checked here with no edit to this file.
// ---------------------------------------------------------------------------------------------

type AnySchema = z.ZodType;

/** Keys of a zod object, looking through refinements, pipes and wrappers. */
function schemaKeys(schema: unknown): string[] | undefined {
  const s = schema as { shape?: Record<string, unknown>; _zod?: { def?: Record<string, unknown> } } | null;
  if (!s || typeof s !== 'object') return undefined;
  if (s.shape && typeof s.shape === 'object') return Object.keys(s.shape);
  const def = s._zod?.def;
  for (const inner of [def?.in, def?.schema, def?.innerType]) {
    const keys = schemaKeys(inner);
    if (keys) return keys;
  }
  return undefined;
}

/** Modules that define or re-export env schemas (every one is defined in contracts/config.ts). */
const SCHEMA_MODULES = ['contracts/config.ts', 'rules/env.ts', 'alerts/config.ts'];

async function exportedSchemas(): Promise<Array<{ name: string; schema: AnySchema; keys: string[] }>> {
  const found: Array<{ name: string; schema: AnySchema; keys: string[] }> = [];
  for (const file of SCHEMA_MODULES) {
    if (!existsSync(join(root, file))) continue;
    const mod = (await import(pathToFileURL(join(root, file)).href)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(mod)) {
      const keys = schemaKeys(value);
      if (keys && typeof (value as { safeParse?: unknown }).safeParse === 'function') found.push({ name: `${file}:${name}`, schema: value as AnySchema, keys });
    }
  }
  return found;
}

interface ServiceSchema {
  /** Every variable the container's process parses. */
  keys: Set<string>;
  /** Parses a complete environment the way the service does at start-up. */
  parse: (env: Record<string, string>) => { success: boolean; error?: unknown };
}

async function serviceSchemas(): Promise<Record<string, ServiceSchema>> {
  const all = await exportedSchemas();
  const pick = (what: string, match: (keys: string[]) => boolean) => {
    // the widest schema that matches (a service schema extends the shared one)
    const hits = all.filter((s) => match(s.keys)).sort((a, b) => b.keys.length - a.keys.length);
    assert(hits[0], `no exported zod schema for ${what} in ${SCHEMA_MODULES.join(', ')}`);
    return hits[0];
  };
  const shared = pick('the shared env (EWS_DATA_DIR)', (k) => k.includes('EWS_DATA_DIR') && k.includes('MQTT_URL') && !k.some((x) => x.startsWith('RULES_') || x.startsWith('ALERTS_')));
  const rulesExtras = pick('the rules env (RULES_CLIENT_ID)', (k) => k.includes('RULES_CLIENT_ID'));
  const alerts = pick('the alerts env (ALERTS_PUBLIC_URL)', (k) => k.includes('ALERTS_PUBLIC_URL'));
  const board = pick('the board env (BOARD_HTTP_PORT)', (k) => k.includes('BOARD_HTTP_PORT'));
  const drillPlayer = pick('the drill player env (ALERTS_URL)', (k) => k.includes('ALERTS_URL') && k.includes('MQTT_URL'));
  const sharedService: ServiceSchema = { keys: new Set(shared.keys), parse: (env) => shared.schema.safeParse(env) };
  const services: Record<string, ServiceSchema> = {
    broker: sharedService,
    ingest: sharedService,
    'broker-b': sharedService,
    'ingest-b': sharedService,
    simulator: sharedService,
    // rules parses the shared schema and its extras (contracts/config.ts rulesEnvSchema = shared.extend(extras))
    rules: {
      keys: new Set([...shared.keys, ...rulesExtras.keys]),
      parse: (env) => {
        const a = shared.schema.safeParse(env);
        const b = rulesExtras.schema.safeParse(env);
        return a.success ? b : a;
      },
    },
    alerts: {
      keys: new Set([...shared.keys, ...alerts.keys]),
      parse: (env) => {
        const a = shared.schema.safeParse(env);
        const b = alerts.schema.safeParse(env);
        return a.success ? b : a;
      },
    },
    'drill-player': { keys: new Set(drillPlayer.keys), parse: (env) => drillPlayer.schema.safeParse(env) },
    board: {
      keys: new Set([...shared.keys, ...board.keys]),
      parse: (env) => {
        const a = shared.schema.safeParse(env);
        const b = board.schema.safeParse(env);
        return a.success ? b : a;
      },
    },
  };
  // the cluster profile's standbys parse what rules and alerts parse
  return { ...services, 'rules-b': services.rules!, 'alerts-b': services.alerts! };
}

/** The fire-ews containers and the CLI command each runs. */
const EWS_SERVICES: Record<string, string[]> = {
  broker: ['broker'],
  ingest: ['ingest'],
  rules: ['rules'],
  alerts: ['alerts', 'run'],
  board: ['board'],
  simulator: ['simulate'],
  'drill-player': ['drill-player'],
  // the cluster profile
  'broker-b': ['broker'],
  'ingest-b': ['ingest'],
  'rules-b': ['rules'],
  'alerts-b': ['alerts', 'run'],
};
/** Services of the cluster profile (README "Scaling beyond one machine"). */
const CLUSTER_SERVICES = ['redis', 'broker-b', 'ingest-b', 'rules-b', 'alerts-b'];
/** The cluster profile's standbys: each shares its state volume with the service it stands in for (one writer at a time: the lease). */
const STANDBY_OF: Record<string, string> = { 'rules-b': 'rules', 'alerts-b': 'alerts' };

/**
 * Variables a service's schema parses that docker-compose.yml may leave out because the default is
 * right inside a container. Everything else the schema has must be passed. Keep the reason honest:
 * a variable an operator must be able to set belongs in docker-compose.yml and .env.example instead.
 */
const DEFAULT_IS_FINE: Record<string, string> = {
  EWS_TEST_KILL_INGEST_BEFORE_COMMIT: 'a test hook (ingest kills itself), refused unless NODE_ENV=test: never set in a deployment',
  MQTT_USERNAME: 'svc-<role> is the service account; its password is derived from EWS_BROKER_SECRET',
  MQTT_PASSWORD: 'derived from EWS_BROKER_SECRET (platform/credentials.ts)',
  INFLUX_DATABASE: 'v1 /write API only; the stack runs INFLUX_API=v2 against InfluxDB 2.7',
  INFLUX_RETENTION_POLICY: 'v1 /write API only',
  INFLUX_USERNAME: 'v1 /write API only (v2 uses INFLUX_TOKEN)',
  INFLUX_PASSWORD: 'v1 /write API only (v2 uses INFLUX_TOKEN)',
  INFLUX_TIMEOUT_MS: '10 s per write; a slow write is retried from the spool',
  EWS_PIPELINE_STATS_S: 'pipeline figures for the dashboards every 10 s',
  INGEST_CLIENT_ID: 'fixed ews-ingest: one ingest per stack, its persistent session lives in broker-data',
  INGEST_SHARED_GROUP: 'unset: the stack runs fire-ews broker, which refuses $share subscriptions; set only with another broker (README Other MQTT brokers)',
  INGEST_BATCH_SIZE: 'tuning (README Configuration)',
  INGEST_FLUSH_MS: 'tuning',
  INGEST_SPOOL_MAX_ROWS: 'tuning; 2,000,000 rows fit the ingest-data volume of any server that runs this',
  INGEST_MAX_PAYLOAD_BYTES: 'part of the node contract, not a deployment choice',
  INGEST_MAX_FUTURE_S: 'part of the node contract',
  INGEST_MAX_AGE_DAYS: 'part of the node contract',
  INGEST_LOCAL_RETENTION_ROWS: 'local store is used only without InfluxDB; the stack has one',
  RULES_CLIENT_ID: 'fixed ews-rules: one rules service per stack',
  RULES_DB_FILE: 'default <EWS_DATA_DIR>/rules.sqlite is on the rules-data volume',
  RULES_CLOCK: 'wall is production; readings is for replays and tests',
  EWS_LOG_FORMAT: 'auto gives JSON logs when stdout is not a terminal, as in a container',
  RULES_TIMEZONE: 'Asia/Ho_Chi_Minh: the official 13:00 level is Lai Châu local time',
  RULES_PROVISIONAL_CRON: 'tuning',
  RULES_TICK_S: 'tuning',
  RULES_CHECKPOINT_EVERY: 'tuning',
  RULES_CHECKPOINT_S: 'tuning',
  RULES_INFLUX_BATCH: 'tuning',
  ALERTS_DB_FILE: 'default <EWS_DATA_DIR>/alerts.sqlite is on the alerts-data volume',
  ALERTS_TRANSPORT: 'unset = twilio when TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are set, else dry run; a blank value would fail the enum',
  ALERTS_MQTT_CLIENT_ID: 'fixed ews-alerts: one alerts service per stack',
  ALERTS_RATE_SEGMENTS_PER_S: "Twilio's 10 segments/s for an alphanumeric sender",
  ALERTS_RATE_BURST: 'tuning',
  ALERTS_SEND_CONCURRENCY: 'tuning',
  ALERTS_VALIDITY_S: 'tuning',
  ALERTS_RETRY_BASE_MS: 'tuning',
  ALERTS_RETRY_CAP_MS: 'tuning',
  ALERTS_TWILIO_API_BASE_URL: 'tests and benches only (a local double of the Twilio API)',
  ALERTS_HTTP_MAX_CONNECTIONS: 'tuning of the public port (README, alerts/README.md HTTP)',
  ALERTS_HTTP_HEADERS_TIMEOUT_MS: 'tuning of the public port',
  ALERTS_HTTP_REQUEST_TIMEOUT_MS: 'tuning of the public port',
  ALERTS_HTTP_IDLE_TIMEOUT_MS: 'tuning of the public port',
  GAMMU_SMSD_CONFIG: 'the gammu transport is not supported in the image (needs gammu-smsd and the USB modem); run alerts on the host for it',
  GAMMU_INJECT_COMMAND: 'gammu transport only (see GAMMU_SMSD_CONFIG)',
  GAMMU_INBOX_DIR: 'gammu transport only (see GAMMU_SMSD_CONFIG)',
  BOARD_DB_FILE: 'default <EWS_DATA_DIR>/board.sqlite is on the board-data volume',
  BOARD_MQTT_CLIENT_ID: 'fixed ews-board: one board per stack, its persistent session lives in broker-data',
  BOARD_SESSION_SECRET: 'generated once and kept in board-data (board-secrets.json, mode 0600)',
  BOARD_SESSION_HOURS: 'tuning (12 h signed in)',
  BOARD_LOCAL_STORE_FILE: 'the local store is used only without InfluxDB; the stack has one',
  BOARD_CHROMIUM: 'the image installs /usr/bin/chromium',
};

/**
 * Variables of the shared schema a service parses but never uses (every process parses the whole
 * shared schema). Checked below: the name must not occur in the service's own source folder.
 */
const LISTENER = ['MQTT_HOST', 'MQTT_PORT', 'MQTT_WS_PORT', 'MQTT_TLS_PORT', 'MQTT_TLS_CERT_FILE', 'MQTT_TLS_KEY_FILE', 'BROKER_QUEUE_LIMIT', 'BROKER_MAX_PENDING_CONNECTIONS', 'BROKER_PERSISTENCE', 'BROKER_EMITTER', 'BROKER_REDIS_URL'];
const NOT_USED_BY: Record<string, { folder: string; names: string[] }> = {
  broker: { folder: 'broker', names: ['MQTT_URL', 'INFLUX_URL', 'INFLUX_API', 'INFLUX_TOKEN', 'INFLUX_ORG', 'INFLUX_BUCKET'] },
  'broker-b': { folder: 'broker', names: ['MQTT_URL', 'INFLUX_URL', 'INFLUX_API', 'INFLUX_TOKEN', 'INFLUX_ORG', 'INFLUX_BUCKET'] },
  ingest: { folder: 'ingest', names: LISTENER },
  'ingest-b': { folder: 'ingest', names: LISTENER },
  rules: { folder: 'rules', names: LISTENER },
  alerts: { folder: 'alerts', names: LISTENER },
  'rules-b': { folder: 'rules', names: LISTENER },
  'alerts-b': { folder: 'alerts', names: LISTENER },
  board: { folder: 'board', names: LISTENER },
  simulator: { folder: 'simulator', names: [...LISTENER, 'INFLUX_URL', 'INFLUX_API', 'INFLUX_TOKEN', 'INFLUX_ORG', 'INFLUX_BUCKET'] },
  'drill-player': { folder: 'simulator', names: [...LISTENER, 'INFLUX_URL', 'INFLUX_API', 'INFLUX_TOKEN', 'INFLUX_ORG', 'INFLUX_BUCKET'] },
};

// ---------------------------------------------------------------------------------------------
// The compose file, .env.example, and Compose's variable interpolation
// ---------------------------------------------------------------------------------------------

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string | number | boolean | null>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  restart?: string;
  profiles?: string[];
}
interface Compose {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const composeText = read('docker-compose.yml');
// merge: true resolves the `<<: *anchor` keys the way Compose does
const compose = parse(composeText, { merge: true }) as Compose;

/** NAME=value lines of .env.example, with whether a comment explains each. */
function parseEnvExample(text: string): Map<string, { value: string; line: number; explained: boolean }> {
  const vars = new Map<string, { value: string; line: number; explained: boolean }>();
  const lines = text.split('\n');
  let blockHasComment = false; // a contiguous block (no blank line) with a comment that is not a section header
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') {
      blockHasComment = false;
      return;
    }
    if (line.startsWith('#')) {
      if (!/^#\s*---/.test(line)) blockHasComment = true;
      return;
    }
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    assert(m, `.env.example:${i + 1}: not NAME=value: ${line}`);
    expect(vars.has(m[1]!), `.env.example:${i + 1}: ${m[1]} twice`).toBe(false);
    vars.set(m[1]!, { value: m[2]!, line: i + 1, explained: blockHasComment });
  });
  return vars;
}
const envExample = parseEnvExample(read('.env.example'));

/** ${VAR}, ${VAR:-x}, ${VAR-x}, ${VAR:?x}, ${VAR?x} and $VAR references ($$ is a literal $). */
function referencedVariables(text: string): Array<{ name: string; required: boolean }> {
  const out: Array<{ name: string; required: boolean }> = [];
  const re = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])[^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;
  const uncommented = text
    .split('\n')
    .map((l) => (/^\s*#/.test(l) ? '' : l))
    .join('\n');
  for (const m of uncommented.matchAll(re)) {
    if (m[0] === '$$') continue;
    const name = m[1] ?? m[3];
    if (name) out.push({ name, required: m[2] === ':?' || m[2] === '?' });
  }
  return out;
}

/** Compose's interpolation of one value against an .env (the subset the file uses; $$ → $). */
function interpolate(value: string, env: Record<string, string>, where: string): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (all, braced?: string, colon?: string, op?: string, arg?: string, bare?: string) => {
    if (all === '$$') return '$';
    const name = (braced ?? bare)!;
    const v = env[name];
    const missing = colon ? v === undefined || v === '' : v === undefined;
    if (op === '-') return missing ? (arg ?? '') : v!;
    if (op === '?') {
      if (missing) throw new Error(`${where}: ${name} is required: ${arg}`);
      return v!;
    }
    return v ?? '';
  });
}

/** A complete test .env: .env.example with every empty REQUIRED value given a valid placeholder. */
function placeholderEnv(): Record<string, string> {
  const required = new Set(referencedVariables(composeText).filter((r) => r.required).map((r) => r.name));
  const env: Record<string, string> = {};
  for (const [name, { value }] of envExample) {
    env[name] = value !== '' || !required.has(name) ? value : name.endsWith('_URL') ? 'https://ews.example.invalid' : `ci-placeholder-${name.toLowerCase()}-0123456789`;
  }
  return env;
}

function environmentOf(name: string, env: Record<string, string>): Record<string, string> {
  const svc = compose.services[name];
  assert(svc, `service ${name} missing`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(svc.environment ?? {})) out[k] = interpolate(String(v ?? ''), env, `${name}.environment.${k}`);
  return out;
}

/** volumes: entries as { source, target, readOnly, named }. */
function mountsOf(name: string): Array<{ source: string; target: string; readOnly: boolean; named: boolean }> {
  const env = placeholderEnv();
  return (compose.services[name]?.volumes ?? []).map((v) => {
    expect(typeof v, `${name}: use the short volume syntax (source:target[:ro])`).toBe('string');
    const [source = '', target = '', mode = ''] = interpolate(v, env, `${name}.volumes`).split(':');
    return { source, target, readOnly: mode.split(',').includes('ro'), named: /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(source) };
  });
}

function walkFiles(dir: string, pred: (f: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...walkFiles(full, pred));
    else if (pred(name)) out.push(full);
  }
  return out.sort();
}
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const provisioningFiles = walkFiles(join(root, 'dashboards/provisioning'), (f) => /\.ya?ml$/.test(f));

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

describe('service environments against the env schemas', () => {
  it('every variable a service reads is passed to it, or listed as a default that is fine in a container', async () => {
    const schemas = await serviceSchemas();
    const problems: string[] = [];
    for (const [service, schema] of Object.entries(schemas)) {
      const passed = new Set(Object.keys(compose.services[service]?.environment ?? {}));
      const notUsed = new Set(NOT_USED_BY[service]?.names ?? []);
      for (const key of schema.keys) {
        if (passed.has(key) || key in DEFAULT_IS_FINE || notUsed.has(key)) continue;
        problems.push(`${service}: reads ${key}, which docker-compose.yml does not pass (pass it, or add it with a reason to DEFAULT_IS_FINE)`);
      }
      // the other way round: a typo in docker-compose.yml is a variable nobody reads
      for (const key of passed) if (!schema.keys.has(key)) problems.push(`${service}: docker-compose.yml passes ${key}, which its env schema does not have`);
    }
    expect(problems).toStrictEqual([]);
  });

  it('no service reads a variable outside the env schemas (so the check above sees them all)', async () => {
    const schemas = await serviceSchemas();
    const everyKey = new Set(Object.values(schemas).flatMap((s) => [...s.keys]));
    const runtime = ['alerts', 'board', 'broker', 'ingest', 'rules', 'simulator', 'platform', 'contracts', 'cli'].flatMap((d) =>
      walkFiles(join(root, d), (f) => f.endsWith('.ts') && !f.endsWith('.test.ts')),
    );
    const direct: string[] = [];
    for (const f of runtime) {
      for (const m of readFileSync(f, 'utf8').matchAll(/process\.env(?:\.([A-Z_][A-Z0-9_]*)|\[['"]([A-Z_][A-Z0-9_]*)['"]\])/g)) {
        const name = m[1] ?? m[2]!;
        if (!everyKey.has(name)) direct.push(`${relative(root, f)} reads process.env.${name}, which no env schema parses`);
      }
    }
    expect(direct).toStrictEqual([]);
  });

  it('the allow-lists are honest: listed variables exist, and "not used" ones are not in that service\'s code', async () => {
    const schemas = await serviceSchemas();
    const everyKey = new Set(Object.values(schemas).flatMap((s) => [...s.keys]));
    for (const key of Object.keys(DEFAULT_IS_FINE)) expect(everyKey, `DEFAULT_IS_FINE lists ${key}, which no env schema has any more: remove it`).toContain(key);
    for (const [service, { folder, names }] of Object.entries(NOT_USED_BY)) {
      const sources = walkFiles(join(root, folder), (f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
      expect(sources.length, `no sources in ${folder}/`).toBeGreaterThan(0);
      for (const name of names) {
        expect(schemas[service]?.keys, `NOT_USED_BY.${service} lists ${name}, which its schema does not have`).toContain(name);
        const user = sources.find((f) => new RegExp(`\\b${name}\\b`).test(readFileSync(f, 'utf8')));
        expect(user, `NOT_USED_BY.${service} says ${name} is unused, but ${relative(root, user ?? '')} mentions it: pass it in docker-compose.yml`).toBeUndefined();
      }
    }
  });

  it('each service environment, filled from .env.example, parses with the service\'s own schema', async () => {
    const schemas = await serviceSchemas();
    const env = placeholderEnv();
    for (const [service, schema] of Object.entries(schemas)) {
      const result = schema.parse(environmentOf(service, env));
      expect(result.success, `${service}: the container environment fails its schema: ${JSON.stringify((result.error as { issues?: unknown })?.issues ?? result.error)}`).toBe(true);
    }
  });

  it('containers listen on all interfaces and find each other by service name', () => {
    const env = placeholderEnv();
    for (const service of Object.keys(EWS_SERVICES)) {
      const e = environmentOf(service, env);
      expect(e.EWS_DATA_DIR, `${service}: EWS_DATA_DIR`).toBe('/data');
      expect(e.EWS_HTTP_HOST, `${service}: EWS_HTTP_HOST must be 0.0.0.0 inside a container`).toBe('0.0.0.0');
      expect((e.EWS_BROKER_SECRET ?? '').length, `${service}: EWS_BROKER_SECRET must come from .env (one secret for broker and services)`).toBeGreaterThanOrEqual(16);
      if (service.endsWith('-b') && service !== 'broker-b') expect(e.MQTT_URL, `${service}: MQTT_URL, its own broker first`).toBe('mqtt://broker-b:1883,mqtt://broker:1883');
      else if (!service.startsWith('broker')) expect(e.MQTT_URL, `${service}: MQTT_URL`).toBe('mqtt://broker:1883');
      if (['ingest', 'ingest-b', 'rules', 'alerts', 'board', 'rules-b', 'alerts-b'].includes(service)) {
        expect(e.INFLUX_URL, `${service}: INFLUX_URL`).toBe('http://influxdb:8086');
        expect(e.INFLUX_API, `${service}: INFLUX_API`).toBe('v2');
        for (const k of ['INFLUX_TOKEN', 'INFLUX_ORG', 'INFLUX_BUCKET']) expect(e[k], `${service}: ${k}`).toBeTruthy();
      }
    }
    // one secret: every service interpolates the same variable
    for (const service of Object.keys(EWS_SERVICES)) expect(String(compose.services[service]?.environment?.EWS_BROKER_SECRET), `${service}: EWS_BROKER_SECRET must be \${EWS_BROKER_SECRET:?…}`).toMatch(/^\$\{EWS_BROKER_SECRET:\?/);
    const alerts = environmentOf('alerts', env);
    expect(alerts.ALERTS_HTTP_HOST).toBe('0.0.0.0');
    expect(String(compose.services.alerts?.environment?.ALERTS_PUBLIC_URL), 'ALERTS_PUBLIC_URL is required: ack links must reach the server').toMatch(/^\$\{ALERTS_PUBLIC_URL:\?/);
    // the board reaches the alerts API by service name, with the same key the alerts service checks
    const board = environmentOf('board', env);
    expect(board.BOARD_HTTP_HOST).toBe('0.0.0.0');
    expect(board.BOARD_ALERTS_URL).toBe(`http://alerts:${alerts.ALERTS_HTTP_PORT}`);
    expect(board.ALERTS_API_KEY, 'the board needs the alerts API key').toBe(alerts.ALERTS_API_KEY);
    expect(String(compose.services.board?.environment?.ALERTS_API_KEY)).toMatch(/^\$\{ALERTS_API_KEY:\?/);
    // the drill player starts sensor drills through the same API, with the same key
    const player = environmentOf('drill-player', env);
    expect(player.ALERTS_URL).toBe(`http://alerts:${alerts.ALERTS_HTTP_PORT}`);
    expect(player.ALERTS_API_KEY).toBe(alerts.ALERTS_API_KEY);
    // InfluxDB's token and the services' token are the same .env variable
    expect(compose.services.influxdb?.environment?.DOCKER_INFLUXDB_INIT_ADMIN_TOKEN).toBe(compose.services.ingest?.environment?.INFLUX_TOKEN);
    expect(environmentOf('influxdb', env).DOCKER_INFLUXDB_INIT_BUCKET).toBe(environmentOf('ingest', env).INFLUX_BUCKET);
    expect(environmentOf('influxdb', env).DOCKER_INFLUXDB_INIT_ORG).toBe(environmentOf('ingest', env).INFLUX_ORG);
  });
});

describe('published ports, health checks and start order', () => {
  it('published ports: MQTT 1883/8083/8883, Grafana 3000, alerts 8090, board 8080; InfluxDB only on the server itself', () => {
    const published = (s: string) => (compose.services[s]?.ports ?? []).map(String);
    expect(published('broker')).toStrictEqual(['1883:1883', '8083:8083', '8883:8883']);
    expect(published('grafana')).toStrictEqual(['3000:3000']);
    const env = placeholderEnv();
    expect(published('alerts')).toStrictEqual([`${environmentOf('alerts', env).ALERTS_HTTP_PORT}:${environmentOf('alerts', env).ALERTS_HTTP_PORT}`]);
    expect(published('board')).toStrictEqual([`${environmentOf('board', env).BOARD_HTTP_PORT}:${environmentOf('board', env).BOARD_HTTP_PORT}`]);
    for (const p of published('influxdb')) expect(p, 'InfluxDB must not be published beyond localhost').toMatch(/^127\.0\.0\.1:/);
    for (const s of ['ingest', 'rules', 'simulator']) expect(published(s), `${s} publishes nothing`).toStrictEqual([]);
  });

  it('every service has a real healthcheck on its own port and a restart policy', () => {
    const env = placeholderEnv();
    for (const [name, svc] of Object.entries(compose.services)) {
      expect(['always', 'unless-stopped', 'on-failure'], `${name}: restart policy (got ${svc.restart})`).toContain(svc.restart ?? '');
      assert(svc.healthcheck?.test, `${name}: healthcheck`);
      expect(svc.healthcheck.disable, `${name}: healthcheck disabled`).toBeFalsy();
      const test = Array.isArray(svc.healthcheck.test) ? svc.healthcheck.test : ['CMD-SHELL', svc.healthcheck.test];
      expect(['CMD', 'CMD-SHELL'], `${name}: healthcheck test starts with CMD or CMD-SHELL`).toContain(test[0] ?? '');
      if (name in EWS_SERVICES && name !== 'simulator') {
        const e = environmentOf(name, env);
        // alerts too: its public port answers only a bare liveness; the detailed health is internal.
        const port = e.EWS_HTTP_PORT;
        expect(port, `${name}: its health port must be set`).toBeTruthy();
        expect(port, `${name}: its health port must be enabled`).not.toBe('0');
        expect(test, `${name}: healthcheck on /healthz of its own port`).toStrictEqual(['CMD', 'node', 'deploy/healthcheck.js', `http://127.0.0.1:${port}/healthz`]);
      }
    }
    expect(existsSync(join(root, 'deploy/healthcheck.js'))).toBe(true);
  });

  it('depends_on waits for health, and only on services that have a healthcheck', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      if (!svc.depends_on) continue;
      expect(Array.isArray(svc.depends_on), `${name}: depends_on must use the long form with condition: service_healthy`).toBe(false);
      for (const [dep, cond] of Object.entries(svc.depends_on)) {
        expect(cond.condition, `${name} → ${dep}`).toBe('service_healthy');
        expect(compose.services[dep]?.healthcheck, `${name} depends on ${dep}, which has no healthcheck`).toBeTruthy();
        expect(compose.services[dep]?.profiles, `${name} depends on ${dep}, which only runs under a profile`).toBeFalsy();
      }
    }
    for (const s of ['ingest', 'rules', 'alerts', 'board', 'simulator']) expect(compose.services[s]?.depends_on, `${s} waits for the broker`).toBeTruthy();
    expect(compose.services.grafana?.depends_on, 'grafana waits for influxdb').toBeTruthy();
  });
});

describe('the cluster profile', () => {
  it('redis with an append-only file; broker-b always on the cluster\'s stores; the first broker switches with .env; services list both brokers through MQTT_URL', () => {
    const redis = compose.services.redis;
    expect(redis?.image).toMatch(/^redis:7\.\d+$/);
    expect(redis?.command).toEqual(expect.arrayContaining(['--appendonly', 'yes', '--appendfsync', 'everysec']));
    expect(mountsOf('redis')).toContainEqual(expect.objectContaining({ source: 'redis-data', target: '/data', named: true }));
    const env = placeholderEnv();
    const b = environmentOf('broker-b', env);
    expect(b).toMatchObject({ BROKER_PERSISTENCE: 'redis', BROKER_EMITTER: 'redis', BROKER_REDIS_URL: 'redis://redis:6379' });
    // the first broker: LevelDB by default, the cluster's stores once .env says so
    expect(environmentOf('broker', env)).toMatchObject({ BROKER_PERSISTENCE: 'level', BROKER_EMITTER: 'local', BROKER_REDIS_URL: 'redis://redis:6379' });
    const clusterEnv = { ...env, BROKER_PERSISTENCE: 'redis', BROKER_EMITTER: 'redis', MQTT_URL: 'mqtt://broker:1883,mqtt://broker-b:1883' };
    expect(environmentOf('broker', clusterEnv)).toMatchObject({ BROKER_PERSISTENCE: 'redis', BROKER_EMITTER: 'redis' });
    for (const s of ['ingest', 'rules', 'alerts', 'board', 'simulator']) expect(environmentOf(s, clusterEnv).MQTT_URL, s).toBe('mqtt://broker:1883,mqtt://broker-b:1883');
    // two ingest workers, two persistent sessions: each its own client id
    expect(environmentOf('ingest-b', env).INGEST_CLIENT_ID).toBe('ews-ingest-b');
    expect(compose.services['broker-b']?.ports).toStrictEqual(['1884:1883', '8884:8883']);
  });

  it('standby rules-b and alerts-b: the same volume and client ids as rules and alerts, the lease from .env, and no start without it', () => {
    const env = placeholderEnv();
    const leased = { ...env, LEADER_LEASE_REDIS_URL: 'redis://redis:6379' };
    for (const [standby, main] of Object.entries(STANDBY_OF)) {
      expect(mountsOf(standby), `${standby}: ${main}'s state volume`).toStrictEqual(mountsOf(main));
      const s = environmentOf(standby, leased);
      const m = environmentOf(main, leased);
      expect(s.LEADER_LEASE_REDIS_URL, `${standby}: the lease`).toBe('redis://redis:6379');
      expect(m.LEADER_LEASE_REDIS_URL, `${main}: the same lease`).toBe('redis://redis:6379');
      for (const k of ['LEADER_LEASE_TTL_MS', 'LEADER_LEASE_PREFIX', 'RULES_CLIENT_ID', 'ALERTS_MQTT_CLIENT_ID', 'EWS_DATA_DIR']) expect(s[k], `${standby}: ${k} as ${main}`).toBe(m[k]);
      // without LEADER_LEASE_REDIS_URL in .env the standby must refuse to start (it would act beside the other)
      expect(environmentOf(standby, env)).toMatchObject({ LEADER_LEASE_REDIS_URL: '', LEADER_LEASE_REQUIRED: 'true' });
      expect(environmentOf(main, env)).toMatchObject({ LEADER_LEASE_REDIS_URL: '', LEADER_LEASE_REQUIRED: 'false' });
    }
  });

  it('the board and the drill player list both alerts APIs through ALERTS_API_URLS: the standby\'s is a real service and port', () => {
    const clusterEnv = { ...placeholderEnv(), ALERTS_API_URLS: 'http://alerts:8090,http://alerts-b:8090' };
    expect(environmentOf('board', clusterEnv).BOARD_ALERTS_URL).toBe('http://alerts:8090,http://alerts-b:8090');
    expect(environmentOf('drill-player', clusterEnv).ALERTS_URL).toBe('http://alerts:8090,http://alerts-b:8090');
    for (const url of clusterEnv.ALERTS_API_URLS.split(',')) {
      const { hostname, port } = new URL(url);
      expect(environmentOf(hostname, clusterEnv).ALERTS_HTTP_PORT, `${url}: the port ${hostname} listens on`).toBe(port);
      expect(environmentOf(hostname, clusterEnv).ALERTS_API_KEY, `${hostname}: the key the board sends`).toBe(environmentOf('board', clusterEnv).ALERTS_API_KEY);
    }
  });
});

describe('volumes, images and commands', () => {
  it('all state is on named volumes; bind mounts are read-only configuration', () => {
    const declared = new Set(Object.keys(compose.volumes ?? {}));
    const env = placeholderEnv();
    const statePaths: Record<string, string[]> = {
      influxdb: ['/var/lib/influxdb2', '/etc/influxdb2'],
      grafana: ['/var/lib/grafana'],
    };
    for (const s of ['broker', 'ingest', 'rules', 'alerts', 'board', 'broker-b', 'ingest-b', 'rules-b', 'alerts-b']) {
      const e = environmentOf(s, env);
      statePaths[s] = [e.EWS_DATA_DIR!, ...[e.RULES_DB_FILE, e.ALERTS_DB_FILE, e.BOARD_DB_FILE].filter((f): f is string => Boolean(f)).map((f) => posix.dirname(f))];
    }
    const used = new Set<string>();
    for (const [name, paths] of Object.entries(statePaths)) {
      const mounts = mountsOf(name);
      for (const p of paths) {
        const m = mounts.filter((x) => p === x.target || p.startsWith(`${x.target}/`)).sort((a, b) => b.target.length - a.target.length)[0];
        assert(m, `${name}: state path ${p} is not on a volume`);
        expect(m, `${name}: state path ${p} must be a writable named volume, not ${m.source}`).toMatchObject({ named: true, readOnly: false });
      }
    }
    for (const name of Object.keys(compose.services)) {
      for (const m of mountsOf(name)) {
        if (m.named) {
          expect(declared, `${name}: volume ${m.source} is not declared under volumes:`).toContain(m.source);
          used.add(m.source);
        } else {
          expect(m.readOnly, `${name}: bind mount ${m.source} must be :ro (state belongs on named volumes)`).toBe(true);
        }
      }
    }
    for (const v of declared) expect(used, `volume ${v} is declared but not used`).toContain(v);
    // each service keeps its own volume: two SQLite writers never share one (a standby shares its
    // service's volume: it opens the files only once it holds the lease, test/hostile/standby-services.test.ts)
    const owners = new Map<string, string>();
    for (const name of Object.keys(compose.services)) {
      if (name in STANDBY_OF) continue;
      for (const m of mountsOf(name).filter((x) => x.named)) {
        expect(owners.get(m.source), `volume ${m.source} is mounted by ${owners.get(m.source)} and ${name}`).toBeUndefined();
        owners.set(m.source, name);
      }
    }
  });

  it('images are pinned; one multi-stage Dockerfile builds every fire-ews service', () => {
    const images = new Set<string>();
    for (const [name, svc] of Object.entries(compose.services)) {
      assert(svc.image, `${name}: image`);
      const [repo, tag = ''] = svc.image.split(/:(?=[^/]*$)/);
      expect(tag, `${name}: image ${svc.image} must be pinned to a version`).not.toBe('');
      expect(tag, `${name}: image ${svc.image} must be pinned to a version`).not.toBe('latest');
      if (name in EWS_SERVICES) {
        expect(svc.build, `${name}: built from ./Dockerfile`).toBe('.');
        images.add(svc.image);
      } else {
        expect(tag, `${name}: image ${svc.image} must carry a version number`).toMatch(/^\d+\.\d+/);
        expect(svc.build).toBeUndefined();
      }
      if (name === 'grafana') expect(repo, 'grafana/grafana-oss gets no new images since 12.4').toBe('grafana/grafana');
      if (name === 'influxdb') expect(svc.image).toMatch(/^influxdb:2\.7(\.\d+)?$/);
    }
    expect([...images], 'every fire-ews service runs the same image').toHaveLength(1);
    for (const [name, cmd] of Object.entries(EWS_SERVICES)) expect(compose.services[name]?.command?.slice(0, cmd.length), `${name}: command`).toStrictEqual(cmd);
    expect(compose.services.simulator?.profiles).toStrictEqual(['demo']);
    for (const [name, svc] of Object.entries(compose.services)) {
      if (CLUSTER_SERVICES.includes(name)) expect(svc.profiles, `${name} runs only in the cluster profile`).toStrictEqual(['cluster']);
      else if (name !== 'simulator') expect(svc.profiles, `${name} runs without a profile`).toBeUndefined();
    }

    const dockerfile = read('Dockerfile');
    const froms = [...dockerfile.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)].map((m) => m[1]!);
    expect(froms.length, 'multi-stage').toBeGreaterThanOrEqual(2);
    for (const f of froms) expect(f).toBe('node:20-bookworm-slim');
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile, 'better-sqlite3 may need a compiler').toMatch(/python3 make g\+\+/);
    expect(dockerfile).toMatch(/^USER node$/m);
    // The image runs the compiled JavaScript, built in the image from the copied source.
    expect(dockerfile).toMatch(/^RUN node --import tsx scripts\/build\.ts$/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "dist\/cli\/fire-ews\.js"\]$/m);
    const pkg = JSON.parse(read('package.json')) as { dependencies?: Record<string, string> };
    for (const dep of ['tsx', 'esbuild']) expect(pkg.dependencies?.[dep], `${dep} must stay a runtime dependency: the image builds after npm ci --omit=dev`).toBeTruthy();
    const dockerignore = read('.dockerignore').split('\n');
    for (const must of ['.env', 'node_modules', 'data', '.git']) expect(dockerignore, `.dockerignore: ${must}`).toContain(must);
  });

  it('the commands and the demo scenario exist', async () => {
    const env = placeholderEnv();
    const scenario = interpolate(compose.services.simulator?.command?.[2] ?? '', env, 'simulator.command');
    expect(existsSync(join(root, 'simulator/scenarios', `${scenario}.yaml`)), `scenario ${scenario}`).toBe(true);
    // `fire-ews <command> --help` exits 0 with that command's own usage (commander prints the top-level
    // usage for an unknown command); all at once, each start costs a second of tsx
    await Promise.all(
      Object.entries(EWS_SERVICES).map(async ([name, cmd]) => {
        const r = await execFileAsync(process.execPath, ['bin/fire-ews.js', ...cmd, '--help'], { cwd: root, encoding: 'utf8' }).catch((err: { stderr?: string }) => expect.unreachable(`${name}: fire-ews ${cmd.join(' ')} --help: ${err.stderr}`));
        expect(r.stdout, `${name}: fire-ews ${cmd.join(' ')} is not a command`).toMatch(new RegExp(`^Usage: fire-ews ${cmd.join(' ')} `, 'm'));
      }),
    );
  });
});

describe('.env.example and the Grafana provisioning', () => {
  it('.env.example lists every variable used, explains each, and holds no secret', () => {
    const problems: string[] = [];
    const used = new Map<string, string>();
    for (const r of referencedVariables(composeText)) used.set(r.name, 'docker-compose.yml');
    for (const [name, where] of used) if (!envExample.has(name)) problems.push(`${where} uses \${${name}}, missing from .env.example`);
    // The provisioning YAML reads the grafana container's environment: a variable there is either set
    // to a fixed value by docker-compose.yml (INFLUX_URL=http://influxdb:8086) or interpolated from
    // .env, and then it is one of docker-compose.yml's variables, checked just above.
    const grafanaEnv = compose.services.grafana?.environment ?? {};
    for (const f of provisioningFiles) {
      for (const r of referencedVariables(readFileSync(f, 'utf8'))) {
        if (!(r.name in grafanaEnv)) problems.push(`${relative(root, f)} uses \${${r.name}}, which the grafana service's environment does not set`);
        for (const inner of referencedVariables(String(grafanaEnv[r.name] ?? ''))) if (!envExample.has(inner.name)) problems.push(`${relative(root, f)}: \${${r.name}} comes from \${${inner.name}}, missing from .env.example`);
      }
    }
    for (const [name, { line, explained, value }] of envExample) {
      if (!used.has(name)) problems.push(`.env.example:${line}: ${name} is used nowhere (stale?)`);
      if (!explained) problems.push(`.env.example:${line}: ${name} has no comment`);
      if (/SECRET|TOKEN|PASSWORD|API_KEY|AUTH/.test(name) && value !== '') problems.push(`.env.example:${line}: ${name} must be blank (secrets live only in .env)`);
    }
    // every REQUIRED value is blank in the example: copying it unfilled must fail, not run with a default
    for (const r of referencedVariables(composeText).filter((x) => x.required)) if (envExample.get(r.name)?.value) problems.push(`${r.name} is required but .env.example gives it a value`);
    expect(problems).toStrictEqual([]);
    const tracked = spawnSync('git', ['ls-files', '--', '.env', '**/.env'], { cwd: root, encoding: 'utf8' });
    expect(tracked.stdout.trim(), '.env must never be committed').toBe('');
  });

  it('Grafana mounts the provisioning and the generated dashboards where the provider looks', () => {
    const mounts = mountsOf('grafana');
    const target = (src: string) => mounts.find((m) => m.source === src)?.target;
    expect(target('./dashboards/provisioning')).toBe('/etc/grafana/provisioning');
    const dashboardsTarget = target('./dashboards/generated');
    expect(dashboardsTarget).toBe('/var/lib/grafana/dashboards');
    const grafanaEnvironment = compose.services.grafana?.environment ?? {};
    const grafanaEnv = new Set(Object.keys(grafanaEnvironment));
    // a GF_* setting that names a dashboard file (the home dashboard) names one that is generated
    for (const [key, value] of Object.entries(grafanaEnvironment)) {
      const v = String(value);
      if (v.startsWith(`${dashboardsTarget}/`)) expect(existsSync(join(root, 'dashboards/generated', v.slice(`${dashboardsTarget}/`.length))), `grafana ${key}=${v}: no such file in dashboards/generated`).toBe(true);
    }
    for (const f of provisioningFiles) {
      const doc = parse(readFileSync(f, 'utf8')) as { providers?: Array<{ options?: { path?: string } }> } | null;
      for (const p of doc?.providers ?? []) {
        const path = p.options?.path;
        if (path) expect(path, `${relative(root, f)}: provider path ${path} is not the mounted ${dashboardsTarget}`).toMatch(new RegExp(`^${escapeRegExp(String(dashboardsTarget))}(/|$)`));
      }
      // Grafana expands $VAR from its own container environment only
      for (const r of referencedVariables(readFileSync(f, 'utf8'))) expect(grafanaEnv, `${relative(root, f)} uses \${${r.name}}: pass it to the grafana service`).toContain(r.name);
    }
  });
});

it('docker-compose config -q accepts the file with a filled .env and refuses the unfilled example (deploy/check-compose.sh)', (t) => {
  const which = spawnSync('sh', ['-c', 'command -v docker-compose || docker compose version'], { encoding: 'utf8' });
  if (which.status !== 0) {
    if (requireTools) expect.unreachable('docker-compose is missing (apt-get install docker-compose; .ci/run installs it)');
    t.skip('docker-compose not installed (apt-get install docker-compose)');
    return;
  }
  const r = spawnSync('bash', [join(root, 'deploy/check-compose.sh')], { encoding: 'utf8' });
  expect(r.status, `deploy/check-compose.sh: ${r.stdout}${r.stderr}`).toBe(0);
});
