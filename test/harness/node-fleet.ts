// The site's nodes connected to a list of brokers (a cluster, README "Scaling beyond one machine"),
// each starting on its own broker of the list, with where each one is connected and since when: what
// the failover test and the cluster bench watch while they kill a broker.
import type { MqttClient } from 'mqtt';
import { connectToBrokers, spreadIndex } from '../../platform/broker-urls.ts';
import { derivePassword } from '../../platform/credentials.ts';

export interface NodeFleet {
  clients: MqttClient[];
  /** Node id → the port of the broker it is connected to (its latest connection). */
  onPort: Map<string, number>;
  /** Node id → wall time of its latest connection. */
  connectedAt: Map<string, number>;
}

export function connectNodeFleet(brokerList: string, nodeIds: readonly string[], secret: string): NodeFleet {
  const fleet: NodeFleet = { clients: [], onPort: new Map(), connectedAt: new Map() };
  for (const nodeId of nodeIds) {
    const client = connectToBrokers(brokerList, { clientId: nodeId, username: nodeId, password: derivePassword(secret, nodeId), clean: true, reconnectPeriod: 1000, connectTimeout: 10_000, keepalive: 30 }, spreadIndex(nodeId));
    client.on('connect', () => {
      fleet.onPort.set(nodeId, client.options.port ?? 0);
      fleet.connectedAt.set(nodeId, Date.now());
    });
    fleet.clients.push(client);
  }
  return fleet;
}

/** The nearest-rank p-th percentile of ascending values. */
export const nearestRank = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
