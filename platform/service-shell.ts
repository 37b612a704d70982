// The shell every consuming service (ingest, rules, alerts) runs in, so delivery, health and
// shutdown are written once:
//  - its broker session: the durable session of platform/mqtt-session.ts (persistent, PUBACK only
//    after the handler's ack()), subscribed to a list of routes {filter, handle}; each message goes to
//    the handler of the first route whose filter matches its topic. A service adds a subscription by
//    adding a route.
//  - its lifecycle: every service starts as `start<Name>Service(context: ServiceContext, extras?)`
//    and returns a RunningService (health() for /healthz, close()); runUntilSignal runs a set of them until SIGINT/SIGTERM and closes them in reverse order;
//    serveMetrics puts /metrics and /healthz on EWS_HTTP_HOST:EWS_HTTP_PORT.
//  - its leadership (standby services): with LEADER_LEASE_REDIS_URL, awaitLeadership holds the
//    service back until it holds the lease (platform/leader-lease.ts), and ends the process the
//    moment it loses it.
// Dead letters follow platform/dead-letters.ts.
import { hostname } from 'node:os';
import type { MqttClient } from 'mqtt';
import { Redis } from 'ioredis';
import type { Env, LeaderLeaseEnv } from '../contracts/config.ts';
import type { Site } from '../contracts/site.ts';
import type { PipelineClock } from './clock.ts';
import { ConfigError } from './config-error.ts';
import { derivePassword, resolveBrokerSecret, serviceUsername, type ServiceRole } from './credentials.ts';
import type { Logger } from './logger.ts';
import { loadSiteFile } from './site-file.ts';
import { startMetricsServer, type HealthCheck } from './metrics.ts';
import { connectDurableSession, type DurableSessionOptions } from './mqtt-session.ts';
import { LeaderLease } from './leader-lease.ts';
import { probeRedisAtStart } from './redis-probe.ts';
import { rateLimitedWarn } from './log-limiter.ts';

export type MessageHandler = DurableSessionOptions['handle'];

export interface MessageRoute {
  /** An MQTT topic filter (`+`, `#`; a `$share/<group>/` prefix is allowed). */
  filter: string;
  handle: MessageHandler;
}

export interface ServiceSessionOptions extends Omit<DurableSessionOptions, 'filters' | 'handle'> {
  /** Subscribed together; a message goes to the first route whose filter matches its topic. */
  routes: readonly MessageRoute[];
}

/** Whether `topic` matches the MQTT filter (a `$share/<group>/` prefix is not part of the match). */
export function topicMatches(filter: string, topic: string): boolean {
  const plain = filter.startsWith('$share/') ? filter.split('/').slice(2).join('/') : filter;
  const f = plain.split('/');
  const t = topic.split('/');
  // MQTT-4.7.2-1: wildcards at the first level do not match topics beginning with `$`.
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i += 1) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * The handler for `topic`: the first matching route's. A topic no route matches (the broker should
 * not send one) goes to the first route, whose checks refuse it as `unknown-topic`.
 */
export function routeFor(routes: readonly MessageRoute[], topic: string): MessageHandler {
  const first = routes[0];
  if (!first) throw new Error('a service session needs at least one route');
  return (routes.find((r) => topicMatches(r.filter, topic)) ?? first).handle;
}

/** Connects the service's durable session with its routes. */
export function connectServiceSession(opts: ServiceSessionOptions): MqttClient {
  const { routes, ...session } = opts;
  routeFor(routes, ''); // refuses an empty list at start, not at the first message
  return connectDurableSession({
    ...session,
    filters: routes.map((r) => r.filter),
    handle: (packet, ack, readNext) => routeFor(routes, packet.topic)(packet, ack, readNext),
  });
}

/** Ends the session: unacknowledged messages stay queued at the broker for the next start. */
export function closeSession(client: MqttClient): Promise<void> {
  return new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
}

/**
 * What every service's start function takes (`start<Name>Service(context, extras?)`): its parsed
 * environment, the site, its logger, the broker secret and the pipeline's clock. What only one
 * service needs (rules' event callback, the console's SMS callback) is its optional second argument.
 */
export interface ServiceContext<E extends Env = Env> {
  env: E;
  site: Site;
  logger: Logger;
  /** The broker secret service passwords are derived from; resolved on first use (platform/credentials.ts). */
  secret: () => string;
  /** The pipeline's clock (README "Time model"); default: the wall clock. */
  clock?: PipelineClock;
}

/**
 * A context from the environment: the site from EWS_SITE_FILE, the secret from EWS_BROKER_SECRET or
 * the data dir (generated and kept there when neither has one, with a warning).
 */
export function serviceContextFromEnv<E extends Env>(env: E, logger: Logger, clock?: PipelineClock): ServiceContext<E> {
  const site = loadSiteFile(env.EWS_SITE_FILE);
  let secret: string | undefined;
  return {
    env,
    site,
    logger,
    ...(clock ? { clock } : {}),
    secret: () => {
      if (secret === undefined) {
        const resolved = resolveBrokerSecret(env.EWS_BROKER_SECRET, env.EWS_DATA_DIR);
        if (resolved.source === 'generated') logger.warn({ dataDir: env.EWS_DATA_DIR }, 'no EWS_BROKER_SECRET: generated one and kept it in the data dir (set it in production)');
        secret = resolved.secret;
      }
      return secret;
    },
  };
}

/** A service's broker login: MQTT_USERNAME/MQTT_PASSWORD when set, else svc-<role> with the password derived from the secret. */
export function serviceCredentials(context: ServiceContext, role: ServiceRole): { username: string; password: string } {
  const username = context.env.MQTT_USERNAME ?? serviceUsername(role);
  return { username, password: context.env.MQTT_PASSWORD ?? derivePassword(context.secret(), username) };
}

/** What every started service gives back. */
export interface RunningService {
  /** For /healthz: ok, and what an operator needs to see why not. */
  health(): { ok: boolean; detail: Record<string, unknown> };
  /** Stops taking messages, flushes what it holds, closes its files. */
  close(): Promise<void>;
}

export interface Stoppable {
  name: string;
  close(): Promise<void>;
}

/**
 * Runs until SIGINT/SIGTERM, then closes what `start` started in reverse order and exits 0. A
 * ConfigError while starting is thrown to the caller (one message, exit 2); another error is given
 * to `onStartFailure` (default: logged as fatal, exit 1).
 */
export async function runUntilSignal(
  logger: Logger,
  start: (started: Stoppable[]) => Promise<void>,
  opts: { onStopping?: () => void; onStartFailure?: (err: unknown) => never } = {},
): Promise<void> {
  const services: Stoppable[] = [];
  let stoppingAt = 0;
  const stop = async (signal: string) => {
    if (stoppingAt) {
      // Ctrl-C under `npm start` reaches us twice (from the terminal and forwarded by npm): only a
      // second signal a while later means "stop now".
      if (Date.now() - stoppingAt < 2000) return;
      logger.warn({ signal }, 'second signal: exiting without finishing shutdown');
      process.exit(1);
    }
    stoppingAt = Date.now();
    opts.onStopping?.();
    logger.info({ signal }, 'shutting down');
    for (const s of [...services].reverse()) {
      try {
        await s.close();
      } catch (err) {
        logger.error({ stopping: s.name, err: err instanceof Error ? err.message : String(err) }, 'error while stopping');
      }
    }
    logger.info('stopped cleanly');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  try {
    await start(services);
  } catch (err) {
    for (const s of [...services].reverse()) await s.close().catch(() => undefined);
    // A configuration problem found while starting: fire-ews prints it as one message (exit 2).
    if (err instanceof ConfigError) throw err;
    if (opts.onStartFailure) opts.onStartFailure(err);
    logger.fatal({ err: err instanceof Error ? err.message : String(err) }, 'start-up failed');
    process.exit(1);
  }
}

/** /metrics and /healthz on host:port, as a Stoppable; none when port is 0 (another listener serves them). */
export async function serveMetrics(logger: Logger, host: string, port: number, health: HealthCheck): Promise<Stoppable[]> {
  if (port === 0) return [];
  const server = await startMetricsServer(host, port, health);
  logger.info({ url: `http://${host}:${port}/metrics` }, 'metrics and health endpoint');
  return [{ name: 'metrics', close: () => new Promise<void>((resolve) => server.close(() => resolve())) }];
}

/** Exit code of a leader that lost its lease: its supervisor restarts it, and it comes back as a standby. */
export const LEASE_LOST_EXIT_CODE = 3;

/** Where a service stands: alone (no lease configured), standby (waiting for the lease) or leader. */
export type Leadership = 'alone' | 'standby' | 'leader';

/**
 * `fire-ews start` runs every service in one process: there is nothing to stand by for, and a lease
 * would not be taken. A LEADER_LEASE_REDIS_URL (or LEADER_LEASE_REQUIRED) given to it is refused with
 * one message rather than ignored, so nobody believes the one process has a standby. TTL and prefix
 * alone are left alone: an operator's .env copied from .env.example sets them with no Redis URL.
 */
export function leaseInOneProcessError(env: Pick<LeaderLeaseEnv, 'LEADER_LEASE_REDIS_URL' | 'LEADER_LEASE_REQUIRED'>): ConfigError | null {
  if (!env.LEADER_LEASE_REDIS_URL && !env.LEADER_LEASE_REQUIRED) return null;
  return new ConfigError([
    {
      where: env.LEADER_LEASE_REDIS_URL ? 'LEADER_LEASE_REDIS_URL' : 'LEADER_LEASE_REQUIRED',
      problem: 'fire-ews start runs every service in one process and takes no lease: standby services are separate `fire-ews rules` and `fire-ews alerts run` processes (README "Scaling beyond one machine")',
      fix: `unset ${env.LEADER_LEASE_REDIS_URL ? 'LEADER_LEASE_REDIS_URL' : 'LEADER_LEASE_REQUIRED'} for fire-ews start, or run the services as separate processes`,
    },
  ]);
}

/**
 * Standby services (README "Scaling beyond one machine"). Without LEADER_LEASE_REDIS_URL: returns
 * at once, the service acts alone. With it: checks Redis once (unreachable: a ConfigError naming the
 * variable, exit 2), then competes for the lease `<LEADER_LEASE_PREFIX><service>` (`ews:lease:rules`, `ews:lease:alerts`)
 * and resolves only once this process holds it; `onStandby` is called while it waits. Everything
 * that acts — state files, subscriptions, schedules, senders, HTTP API — starts after this, so a
 * standby does nothing but wait. The lease is pushed on `started` first, so a clean stop releases it
 * after the service has closed its files, and the standby takes over at its next attempt. A leader
 * that cannot renew its lease in time (Redis gone, or cut off from it) exits at once with
 * LEASE_LOST_EXIT_CODE: it may no longer be the only one acting.
 */
export async function awaitLeadership(
  env: LeaderLeaseEnv,
  service: 'rules' | 'alerts',
  logger: Logger,
  started: Stoppable[],
  opts: { onStandby?: () => void; onLost?: (reason: string) => void } = {},
): Promise<Leadership> {
  const url = env.LEADER_LEASE_REDIS_URL;
  if (!url && env.LEADER_LEASE_REQUIRED) {
    throw new ConfigError([
      {
        where: 'LEADER_LEASE_REDIS_URL',
        problem: `not set, but LEADER_LEASE_REQUIRED=true: this ${service} process is meant as a standby, and without the lease it would act beside the other one`,
        fix: 'set LEADER_LEASE_REDIS_URL to the Redis the standby services share, the same for both processes',
      },
    ]);
  }
  if (!url) return 'alone';
  await probeRedisAtStart(url, 'LEADER_LEASE_REDIS_URL', `without it no ${service} process may act`, 'start redis-server there or set LEADER_LEASE_REDIS_URL to the Redis the standby services share; or unset it to run one process alone');
  // Commands fail fast while Redis is away (the lease retries every ttl/3 by itself).
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  const redisWarnings = rateLimitedWarn(logger, 'leader lease: Redis unreachable', { perInterval: 1, intervalMs: 10_000 });
  redis.on('error', (err: Error) => redisWarnings.warn('redis', { err: err.message }));
  const key = `${env.LEADER_LEASE_PREFIX}${service}`;
  const ttlMs = env.LEADER_LEASE_TTL_MS;
  let acquired: () => void = () => undefined;
  const leading = new Promise<void>((resolve) => (acquired = resolve));
  const onLost =
    opts.onLost ??
    ((reason: string) => {
      logger.fatal({ lease: key, reason }, 'lost the leader lease: exiting at once so that no two processes act');
      process.exit(LEASE_LOST_EXIT_CODE);
    });
  const lease = new LeaderLease({ redis, key, ttlMs, owner: `${hostname()}:${process.pid}`, onAcquired: () => acquired(), onLost });
  started.push({
    name: 'leader lease',
    close: async () => {
      await lease.stop();
      redis.disconnect();
      redisWarnings.close();
    },
  });
  await lease.start();
  if (!lease.isLeader) {
    logger.info({ lease: key, ttlMs }, 'standby: another process holds the leader lease; waiting');
    opts.onStandby?.();
  }
  await leading;
  logger.info({ lease: key, owner: lease.owner, ttlMs }, 'leader lease acquired: starting');
  return 'leader';
}

/**
 * /healthz of a service that may be a standby: a standby is healthy (it is doing its job: waiting),
 * and says so; a service still starting is not healthy yet; once started, the service's own health,
 * with its leadership beside it.
 */
export function healthWithLeadership(leadership: () => Leadership, running: () => { health: HealthCheck } | null): HealthCheck {
  return () => {
    const service = running();
    const role = leadership();
    if (!service) return role === 'standby' ? { ok: true, detail: { leadership: role } } : { ok: false, detail: { leadership: role, starting: true } };
    const h = service.health();
    return { ok: h.ok, detail: { leadership: role, ...h.detail } };
  };
}
