// The broker session of a consuming service (ingest, rules, alerts): a persistent session (clean=false,
// fixed client id) so the broker queues QoS 1 messages while the service is down, and a manual
// PUBACK: mqtt.js acknowledges a message only when `handle` calls done(), i.e. once its effect is
// durable. Subscribes again on every (re)connect and logs `<service> subscribed` once the SUBACK
// grants every filter.
//
// Group acknowledgement: mqtt.js hands over the next message only after the PUBACK of the previous
// one, so one message per disk commit. A handler that commits several messages at once calls
// readNext() to take the next message before its commit; the PUBACK of a message it let through
// early is held back here until it calls ack() (after COMMIT), so "acknowledged ⇒ durable" still
// holds. PUBACKs held for a connection that closed are dropped: the broker re-delivers those
// messages on the next connection, and their packet ids may be reused there for other messages.
import type { IPublishPacket, MqttClient, Packet } from 'mqtt';
import { connectToBrokers } from './broker-urls.ts';
import type { Logger } from './logger.ts';

export interface DurableSessionOptions {
  /** One broker URL, or several separated by commas (the next is tried when one is lost). */
  url: string;
  clientId: string;
  username: string;
  password: string;
  /** Names the log lines: `<service> connected to broker`, `<service> subscribed`. */
  service: string;
  filters: string[];
  log: Logger;
  /**
   * Call ack() only once the message's effect is durable (its PUBACK then goes out). Until then the
   * next message waits, unless the handler calls readNext() (group commit: ack() after COMMIT).
   */
  handle: (packet: IPublishPacket, ack: () => void, readNext: () => void) => void;
  /** false: QoS 0 publishes are dropped while offline instead of piling up in memory. */
  queueQoSZero?: boolean;
}

export function connectDurableSession(opts: DurableSessionOptions): MqttClient {
  const { log, service } = opts;
  const client = connectToBrokers(opts.url, {
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
  installGroupAcks(client, opts.handle);
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

type SendPacket = (packet: Packet, cb?: (err?: Error) => void, ...rest: unknown[]) => void;

/**
 * Wraps mqtt.js's packet sender (a private method of mqtt 5.x; the version is pinned in
 * package.json) to hold the PUBACKs of messages let through by readNext() until their ack().
 */
function installGroupAcks(client: MqttClient, handle: DurableSessionOptions['handle']): void {
  const internals = client as unknown as { _sendPacket: SendPacket };
  const send: SendPacket = internals._sendPacket.bind(client);
  // Per connection: message id → its PUBACK held (or not yet built) until ack().
  let connection = 0;
  let held = new Map<number, Packet | null>();
  client.on('close', () => {
    connection += 1;
    held = new Map();
  });
  internals._sendPacket = (packet, cb, ...rest) => {
    if (packet.cmd === 'puback' && packet.messageId !== undefined && held.has(packet.messageId)) {
      held.set(packet.messageId, packet);
      cb?.(); // mqtt.js moves on to the next message; the PUBACK waits for ack()
      return;
    }
    send(packet, cb, ...rest); // every other packet exactly as mqtt.js sends it
  };
  client.handleMessage = (packet, done) => {
    const publish = packet as IPublishPacket;
    const id = publish.qos === 1 ? publish.messageId : undefined;
    const myConnection = connection;
    let movedOn = false;
    let acked = false;
    const readNext = () => {
      if (movedOn || id === undefined) return;
      movedOn = true;
      held.set(id, null);
      done();
    };
    const ack = () => {
      if (acked) return;
      acked = true;
      if (!movedOn) {
        movedOn = true;
        done();
        return;
      }
      if (id === undefined || myConnection !== connection) return;
      const puback = held.get(id);
      held.delete(id);
      if (puback) send(puback);
    };
    handle(publish, ack, readNext);
  };
}
