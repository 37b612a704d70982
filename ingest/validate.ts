// Pure validation of one MQTT message for ingest: the shared checks (topic, size, JSON, schema, topic
// and payload agreeing: contracts/message-checks.ts), then ingest's own: site registry and time.
import { readingSchema, type NodeStatus, type Reading } from '../contracts/payloads.ts';
import type { SiteIndex } from '../contracts/site.ts';
import { checkSensorMessage, refusal, type Refusal } from '../contracts/message-checks.ts';

export type { RejectCode } from '../contracts/message-checks.ts';

export interface IngestLimits {
  maxPayloadBytes: number;
  /** Readings stamped further ahead than this are refused (a node clock gone wrong). */
  maxFutureMs: number;
  /** Readings older than this are refused (store-and-forward is allowed up to it). */
  maxAgeMs: number;
}

export type ValidatedMessage =
  | { ok: true; kind: 'reading'; reading: Reading; zoneId: string; tsMs: number }
  | { ok: true; kind: 'status'; status: NodeStatus; zoneId: string; tsMs: number }
  | Refusal;

export function validateMessage(topic: string, payload: Buffer, nowMs: number, site: SiteIndex, limits: IngestLimits): ValidatedMessage {
  const message = checkSensorMessage(topic, payload, { readingSchema, maxPayloadBytes: limits.maxPayloadBytes });
  if (!message.ok) return message;
  if (message.kind === 'status') {
    const node = site.nodes.get(message.nodeId);
    if (!node) return refusal('unknown-node', `node ${message.nodeId} is not in the site registry`, message.nodeId);
    const { status } = message;
    // A will message carries no time of its own: it is stamped on arrival.
    const tsMs = status.ts ? Date.parse(status.ts) : nowMs;
    const outside = status.ts ? outsideWindow(status.ts, tsMs, nowMs, limits, message.nodeId) : null;
    if (outside) return outside;
    return { ok: true, kind: 'status', status, zoneId: node.zone, tsMs };
  }
  const { reading } = message;
  const placed = placeReading(reading.nodeId, reading.ts, nowMs, site, limits);
  if (!placed.ok) return placed;
  return { ok: true, kind: 'reading', reading, zoneId: placed.zoneId, tsMs: placed.tsMs };
}

/** A schema-checked reading's node in the site registry and its time in the accepted window: its zone and time. */
export function placeReading(nodeId: string, ts: string, nowMs: number, site: SiteIndex, limits: IngestLimits): { ok: true; zoneId: string; tsMs: number } | Refusal {
  const node = site.nodes.get(nodeId);
  if (!node) return refusal('unknown-node', `node ${nodeId} is not in the site registry`, nodeId);
  const tsMs = Date.parse(ts);
  return outsideWindow(ts, tsMs, nowMs, limits, nodeId) ?? { ok: true, zoneId: node.zone, tsMs };
}

/** The accepted time window, for readings and status messages alike (InfluxDB refuses what lies far outside it). */
function outsideWindow(ts: string, tsMs: number, nowMs: number, limits: IngestLimits, nodeId: string): Refusal | null {
  if (tsMs > nowMs + limits.maxFutureMs) {
    return refusal('future-timestamp', `timestamp ${ts} is ${Math.round((tsMs - nowMs) / 1000)} s in the future (limit ${limits.maxFutureMs / 1000} s)`, nodeId);
  }
  if (tsMs < nowMs - limits.maxAgeMs) {
    return refusal('too-old', `timestamp ${ts} is older than ${Math.round(limits.maxAgeMs / 86_400_000)} days`, nodeId);
  }
  return null;
}
