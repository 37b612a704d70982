// The broker session of a consuming service (ingest, rules): a persistent session (clean=false,
// fixed client id) so the broker queues QoS 1 messages while the service is down, and a manual
// PUBACK: mqtt.js acknowledges a message only when `handle` calls done(), i.e. once its effect is
// durable. Subscribes again on every (re)connect and logs `<service> subscribed` once the SUBACK
// grants every filter.
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import type { Logger } from './logger.ts';

export interface DurableSessionOptions {
  url: string;
  clientId: string;
  username: string;
  password: string;
  /** Names the log lines: `<service> connected to broker`, `<service> subscribed`. */
  service: string;
  filters: string[];
  log: Logger;
  /** Call done() only once the message's effect is durable (mqtt.js then sends the PUBACK). */
  handle: (packet: IPublishPacket, done: () => void) => void;
  /** false: QoS 0 publishes are dropped while offline instead of piling up in memory. */
  queueQoSZero?: boolean;
}

export function connectDurableSession(opts: DurableSessionOptions): MqttClient {
  const { log, service } = opts;
  const client = mqtt.connect(opts.url, {
    clientId: opts.clientId,
    username: opts.username,
    password: opts.password,
    clean: false,
    protocolVersion: 4,
    reconnectPeriod: 1000,
    // Rural links are slow.
    connectTimeout: 30_000,
    keepalive: 30,
    queueQoSZero: opts.queueQoSZero ?? true,
  });
  client.handleMessage = (packet, done) => opts.handle(packet as IPublishPacket, () => done());
  client.on('connect', (connack) => {
    log.info({ sessionPresent: connack.sessionPresent, clientId: opts.clientId }, `${service} connected to broker`);
    client.subscribe(opts.filters, { qos: 1 }, (err, granted) => {
      if (err) log.error({ err: err.message }, 'subscribe failed');
      else if (granted?.some((g) => g.qos === 128)) log.error({ granted }, 'broker refused a subscription');
      else log.info({ filters: granted?.map((g) => g.topic) }, `${service} subscribed`);
    });
  });
  client.on('reconnect', () => log.debug(`${service} reconnecting to broker`));
  // While the service is closing its connection, a late PUBACK may meet a closed socket
  // ("write after end", ECONNRESET): expected, not an error.
  client.on('offline', () => (client.disconnecting ? log.debug(`${service} disconnected`) : log.warn(`${service} lost the broker connection`)));
  client.on('error', (err) => (client.disconnecting ? log.debug({ err: err.message }, `${service} MQTT error while closing`) : log.error({ err: err.message }, `${service} MQTT error`)));
  return client;
}
