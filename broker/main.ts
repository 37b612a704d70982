// Entry point of the broker service (also started by `fire-ews start`).
import { accessSync, constants } from 'node:fs';
import type { Env } from '../contracts/config.ts';
import { unreadableFileError } from '../platform/config-error.ts';
import type { Site } from '../contracts/site.ts';
import type { Logger } from '../platform/logger.ts';
import { startBroker, type RunningBroker } from './server.ts';

/** A TLS certificate or key that cannot be read is a configuration error naming its variable. */
function assertReadable(variable: string, file: string): void {
  try {
    accessSync(file, constants.R_OK);
  } catch (err) {
    throw unreadableFileError(file, variable, err, `set ${variable} to a readable PEM file (deploy/tls/README.md), or unset both MQTT_TLS_* files to run without TLS`);
  }
}

export function runBroker(env: Env, site: Site, secret: string, logger: Logger): Promise<RunningBroker> {
  if (env.MQTT_TLS_CERT_FILE && env.MQTT_TLS_KEY_FILE) {
    assertReadable('MQTT_TLS_CERT_FILE', env.MQTT_TLS_CERT_FILE);
    assertReadable('MQTT_TLS_KEY_FILE', env.MQTT_TLS_KEY_FILE);
  }
  return startBroker({
    host: env.MQTT_HOST,
    port: env.MQTT_PORT,
    wsPort: env.MQTT_WS_PORT,
    tls: env.MQTT_TLS_CERT_FILE && env.MQTT_TLS_KEY_FILE ? { port: env.MQTT_TLS_PORT, certFile: env.MQTT_TLS_CERT_FILE, keyFile: env.MQTT_TLS_KEY_FILE } : undefined,
    dataDir: env.EWS_DATA_DIR,
    secret,
    nodeIds: new Set(site.nodes.map((n) => n.id)),
    queueLimit: env.BROKER_QUEUE_LIMIT,
    maxPendingConnections: env.BROKER_MAX_PENDING_CONNECTIONS,
    logger,
  });
}
