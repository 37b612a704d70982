// What the alerts integration tests share: an in-process broker for the site's nodes, the alerts
// service's base environment (data dir, site, broker, HTTP port), a flag set once the service has
// subscribed, and a publisher connected as svc-rules to play the rules service's events.
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { pino, type Logger } from 'pino';
import { startBroker, type RunningBroker } from '../../broker/server.ts';
import type { Site } from '../../contracts/site.ts';
import { derivePassword } from '../../platform/credentials.ts';
import { freePort } from './ports.ts';

export interface AlertsTestBed {
  log: Logger;
  broker: RunningBroker;
  /** True once the alerts service (client id ews-alerts) has subscribed. */
  subscribed: () => boolean;
  /** EWS_DATA_DIR, EWS_SITE_FILE, EWS_BROKER_SECRET, MQTT_URL, ALERTS_HTTP_PORT, ALERTS_PUBLIC_URL. */
  env: Record<string, string>;
  /** A client acting as the rules service (it may publish events). */
  connectRules: (clientId: string) => Promise<MqttClient>;
}

export async function startAlertsTestBed(dir: string, siteFile: string, site: Site, secret: string): Promise<AlertsTestBed> {
  const log = pino({ level: process.env.EWS_TEST_LOGS ? 'info' : 'silent' });
  const broker = await startBroker({ host: '127.0.0.1', port: 0, wsPort: 0, dataDir: join(dir, 'broker'), secret, nodeIds: new Set(site.nodes.map((n) => n.id)), queueLimit: 10_000, logger: log });
  let subscribed = false;
  broker.aedes.on('subscribe', (_subs, client) => {
    if (client?.id === 'ews-alerts') subscribed = true;
  });
  const httpPort = await freePort();
  const url = `mqtt://127.0.0.1:${broker.port}`;
  return {
    log,
    broker,
    subscribed: () => subscribed,
    env: { EWS_DATA_DIR: join(dir, 'data'), EWS_SITE_FILE: siteFile, EWS_BROKER_SECRET: secret, MQTT_URL: url, ALERTS_HTTP_PORT: String(httpPort), ALERTS_PUBLIC_URL: `http://127.0.0.1:${httpPort}` },
    connectRules: (clientId) => mqtt.connectAsync(url, { clientId, username: 'svc-rules', password: derivePassword(secret, 'svc-rules') }),
  };
}
