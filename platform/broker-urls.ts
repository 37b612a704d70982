// A client's brokers: MQTT_URL holds one broker URL or several separated by commas (a broker cluster,
// README "Scaling beyond one machine"). mqtt.js takes the list as its `servers` option and, on every
// reconnect, tries the next one in turn — a client whose broker died is on another broker after one
// reconnectPeriod. The first URL gives what the others cannot carry (path, query).
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export interface BrokerServer {
  host: string;
  port: number;
  protocol: 'mqtt' | 'mqtts' | 'tcp' | 'ssl' | 'ws' | 'wss';
}

const DEFAULT_PORTS: Record<BrokerServer['protocol'], number> = { mqtt: 1883, tcp: 1883, mqtts: 8883, ssl: 8883, ws: 80, wss: 443 };

/** The URLs of a comma-separated list, in order (MQTT_URL is validated by contracts/config.ts). */
export function brokerUrls(list: string): string[] {
  return list
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
}

export function brokerServer(url: string): BrokerServer {
  const parsed = new URL(url);
  const protocol = parsed.protocol.replace(/:$/, '') as BrokerServer['protocol'];
  return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: parsed.port ? Number(parsed.port) : DEFAULT_PORTS[protocol], protocol };
}

/**
 * The list turned by `startAt` places (a fleet of nodes passes a per-node number so that the nodes
 * spread over the brokers instead of all starting on the first).
 */
export function rotated<T>(items: readonly T[], startAt: number): T[] {
  if (items.length === 0) return [];
  const k = ((startAt % items.length) + items.length) % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** A small stable number from a client id (FNV-1a), to pick a node's first broker. */
export function spreadIndex(clientId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < clientId.length; i++) h = Math.imul(h ^ clientId.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** mqtt.connect's arguments for a list: the first URL, plus `servers` when there are several. */
export function brokerConnectArgs(list: string, options: IClientOptions, startAt = 0): [string, IClientOptions] {
  const urls = rotated(brokerUrls(list), startAt);
  const first = urls[0] ?? list;
  if (urls.length <= 1) return [first, options];
  return [first, { ...options, servers: urls.map(brokerServer) }];
}

/** mqtt.connect on a list of brokers. */
export function connectToBrokers(list: string, options: IClientOptions, startAt = 0): MqttClient {
  return mqtt.connect(...brokerConnectArgs(list, options, startAt));
}

/**
 * mqtt.connectAsync on a list of brokers. One broker: as mqtt.connectAsync (the first error rejects).
 * Several: mqtt.connectAsync would reject at the first broker that refuses the connection, so a dead
 * first broker would stop the client; here it goes on to the next and rejects only when every broker
 * of the list failed in a row, or at once when a broker refuses the credentials.
 */
export function connectToBrokersAsync(list: string, options: IClientOptions, startAt = 0): Promise<MqttClient> {
  const [first, opts] = brokerConnectArgs(list, options, startAt);
  const servers = opts.servers?.length ?? 0;
  if (servers <= 1) return mqtt.connectAsync(first, opts);
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(first, opts);
    let failures = 0;
    const done = () => {
      client.off('connect', onConnect);
      client.off('error', onError);
    };
    const onConnect = () => {
      done();
      resolve(client);
    };
    const onError = (err: Error & { code?: unknown }) => {
      failures += 1;
      // A CONNACK refusal (bad credentials, client id) carries a numeric code: retrying will not help.
      if (typeof err.code === 'number' || failures >= servers) {
        done();
        client.end(true);
        reject(err);
      }
    };
    client.on('connect', onConnect);
    client.on('error', onError);
  });
}
