// Sensor drills asked for by the board's form (`POST /api/drills` with depth sensor and no plume) and by
// the site file's schedule (`depth: sensor`): this service never plays a plume itself — it faces the
// internet and must not hold the simulator's right to publish readings — so it publishes a request on
// `ews/v1/drill/requests/<zone>` (QoS 1) for the drill player (simulator/drill-player.ts, svc-simulator),
// which plans the plume, starts the drill through `POST /api/drills` with the request's drill id, and plays it.
import type { MqttClient } from 'mqtt';
import { drillRequestSchema, type DrillRequestMessage } from '../contracts/alerts-api.ts';
import type { Site } from '../contracts/site.ts';
import { topics } from '../contracts/topics.ts';
import type { Logger } from '../platform/logger.ts';

/** The broker must take a request (PUBACK) within this, or the caller is told it was not requested. */
export const REQUEST_PUBACK_TIMEOUT_MS = 5_000;

export type SensorDrillAskInput = Omit<DrillRequestMessage, 'requestedAt'>;
export type SensorDrillRequester = (ask: SensorDrillAskInput) => Promise<{ ok: true } | { ok: false; status: 422 | 503; reason: string }>;

/** Why a zone cannot have a sensor drill (no sensor nodes; a node not of the zone), or null. Pure. */
export function sensorDrillRefusal(site: Site, zoneId: string, node: string | undefined): string | null {
  if (!site.zones.some((z) => z.id === zoneId)) return `unknown zone ${zoneId}`;
  const nodes = site.nodes.filter((n) => n.zone === zoneId);
  if (nodes.length === 0) return `zone ${zoneId} has no sensor nodes: a sensor drill needs some (an alert drill rehearses the SMS path only)`;
  if (node !== undefined && !nodes.some((n) => n.id === node)) return `node ${node} is not in zone ${zoneId}`;
  return null;
}

/**
 * Publishes requests on the service's broker session. Refuses at once when the session is down (a
 * request queued in memory could go out minutes later, after the member was told it failed) and when
 * the broker has not acknowledged it within REQUEST_PUBACK_TIMEOUT_MS.
 */
export function drillRequestPublisher(o: { site: Site; client: () => Pick<MqttClient, 'connected' | 'publishAsync'> | null; log: Logger; now?: () => number; pubackTimeoutMs?: number }): SensorDrillRequester {
  const now = o.now ?? Date.now;
  const timeoutMs = o.pubackTimeoutMs ?? REQUEST_PUBACK_TIMEOUT_MS;
  return async (ask) => {
    const refusal = sensorDrillRefusal(o.site, ask.zoneId, ask.node);
    if (refusal) return { ok: false, status: 422, reason: refusal };
    const client = o.client();
    if (!client?.connected) return { ok: false, status: 503, reason: 'the alerts service is not connected to the broker: the drill player cannot be asked now' };
    const request = drillRequestSchema.parse({ ...ask, requestedAt: now() });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.publishAsync(topics.drillRequest(request.zoneId), JSON.stringify(request), { qos: 1 }),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no PUBACK within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (err) {
      o.log.error({ drillId: request.drillId, zoneId: request.zoneId, err: (err as Error).message }, 'sensor drill request not taken by the broker');
      return { ok: false, status: 503, reason: `the broker did not take the request: ${(err as Error).message}` };
    } finally {
      clearTimeout(timer);
    }
    o.log.info({ drillId: request.drillId, zoneId: request.zoneId, speed: request.speed, dryRun: request.dryRun, startedBy: request.startedBy }, 'sensor drill requested from the drill player');
    return { ok: true };
  };
}
