// Entry point of the broker service (also started by `fire-ews start`).
import { accessSync, constants } from 'node:fs';
import type { Env } from '../contracts/config.ts';
import { ConfigError, unreadableFileError } from '../platform/config-error.ts';
import type { ClusterOptions } from './cluster.ts';
import type { RunningService, ServiceContext } from '../platform/service-shell.ts';
import { startBroker, type RunningBroker } from './server.ts';

/** A TLS certificate or key that cannot be read is a configuration error naming its variable. */
function assertReadable(variable: string, file: string): void {
  try {
    accessSync(file, constants.R_OK);
  } catch (err) {
    throw unreadableFileError(file, variable, err, `set ${variable} to a readable PEM file (deploy/tls/README.md), or unset both MQTT_TLS_* files to run without TLS`);
  }
}

/**
 * The broker's stores: `level`+`local` (one broker, the default), `redis`+`local` (one broker, sessions
 * in Redis), `redis`+`redis` (a cluster). `level`+`redis` would queue a message on the broker it was
 * published to, for a session that lives on another one: refused.
 */
export function clusterOptions(env: Pick<Env, 'BROKER_PERSISTENCE' | 'BROKER_EMITTER' | 'BROKER_REDIS_URL'>): ClusterOptions | undefined {
  if (env.BROKER_PERSISTENCE === 'level' && env.BROKER_EMITTER === 'redis') {
    throw new ConfigError([
      { where: 'BROKER_EMITTER', problem: 'redis needs BROKER_PERSISTENCE=redis: with LevelDB each broker would queue messages for sessions that live on another broker', fix: 'set BROKER_PERSISTENCE=redis as well (a cluster), or BROKER_EMITTER=local (one broker)' },
    ]);
  }
  if (env.BROKER_PERSISTENCE === 'level') return undefined;
  return { emitter: env.BROKER_EMITTER, redisUrl: env.BROKER_REDIS_URL };
}

/** Starts the broker as every service starts (platform/service-shell.ts); its health is its connected clients. */
export async function startBrokerService(context: ServiceContext): Promise<RunningBroker & RunningService> {
  const { env, site, logger } = context;
  const cluster = clusterOptions(env);
  if (env.MQTT_TLS_CERT_FILE && env.MQTT_TLS_KEY_FILE) {
    assertReadable('MQTT_TLS_CERT_FILE', env.MQTT_TLS_CERT_FILE);
    assertReadable('MQTT_TLS_KEY_FILE', env.MQTT_TLS_KEY_FILE);
  }
  const broker = await startBroker({
    host: env.MQTT_HOST,
    port: env.MQTT_PORT,
    wsPort: env.MQTT_WS_PORT,
    tls: env.MQTT_TLS_CERT_FILE && env.MQTT_TLS_KEY_FILE ? { port: env.MQTT_TLS_PORT, certFile: env.MQTT_TLS_CERT_FILE, keyFile: env.MQTT_TLS_KEY_FILE } : undefined,
    dataDir: env.EWS_DATA_DIR,
    secret: context.secret(),
    nodeIds: new Set(site.nodes.map((n) => n.id)),
    queueLimit: env.BROKER_QUEUE_LIMIT,
    maxPendingConnections: env.BROKER_MAX_PENDING_CONNECTIONS,
    logger,
    cluster,
  });
  return Object.assign(broker, { health: () => ({ ok: true, detail: { clients: broker.aedes.connectedClients } }) });
}
