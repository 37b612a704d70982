// Pure validation of one MQTT message for ingest: topic, size, JSON, schema, site registry, time.
import { nodeStatusSchema, readingSchema, type NodeStatus, type Reading } from '../contracts/payloads.ts';
import { parseTopic } from '../contracts/topics.ts';
import type { SiteIndex } from '../contracts/site.ts';
import { describeZodError } from '../contracts/payloads.ts';

export interface IngestLimits {
  maxPayloadBytes: number;
  /** Readings stamped further ahead than this are refused (a node clock gone wrong). */
  maxFutureMs: number;
  /** Readings older than this are refused (store-and-forward is allowed up to it). */
  maxAgeMs: number;
}

/** Short, stable reason codes: they label metrics and dashboards; the text says the detail. */
export type RejectCode =
  | 'too-large'
  | 'malformed-json'
  | 'schema'
  | 'unknown-topic'
  | 'unknown-node'
  | 'topic-mismatch'
  | 'future-timestamp'
  | 'too-old'
  | 'duplicate-timestamp';

export type ValidatedMessage =
  | { ok: true; kind: 'reading'; reading: Reading; zoneId: string; tsMs: number }
  | { ok: true; kind: 'status'; status: NodeStatus; zoneId: string; tsMs: number }
  | { ok: false; code: RejectCode; reason: string; nodeId?: string };

function reject(code: RejectCode, reason: string, nodeId?: string): ValidatedMessage {
  return nodeId === undefined ? { ok: false, code, reason } : { ok: false, code, reason, nodeId };
}

export function validateMessage(topic: string, payload: Buffer, nowMs: number, site: SiteIndex, limits: IngestLimits): ValidatedMessage {
  const parsedTopic = parseTopic(topic);
  if (!parsedTopic || (parsedTopic.kind !== 'reading' && parsedTopic.kind !== 'status')) {
    return reject('unknown-topic', `topic ${topic} is not a reading or status topic`);
  }
  const topicNode = parsedTopic.nodeId;
  if (payload.length > limits.maxPayloadBytes) {
    return reject('too-large', `payload of ${payload.length} bytes exceeds ${limits.maxPayloadBytes}`, topicNode);
  }
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    return reject('malformed-json', `malformed JSON: ${err instanceof Error ? err.message : String(err)}`, topicNode);
  }
  const node = site.nodes.get(topicNode);

  if (parsedTopic.kind === 'status') {
    const status = nodeStatusSchema.safeParse(json);
    if (!status.success) return reject('schema', describeZodError(status.error), topicNode);
    if (status.data.nodeId !== topicNode) {
      return reject('topic-mismatch', `payload nodeId ${status.data.nodeId} does not match topic node ${topicNode}`, topicNode);
    }
    if (!node) return reject('unknown-node', `node ${topicNode} is not in the site registry`, topicNode);
    // A will message carries no time of its own: it is stamped on arrival.
    const tsMs = status.data.ts ? Date.parse(status.data.ts) : nowMs;
    const outside = status.data.ts ? outsideWindow(status.data.ts, tsMs, nowMs, limits, topicNode) : null;
    if (outside) return outside;
    return { ok: true, kind: 'status', status: status.data, zoneId: node.zone, tsMs };
  }

  const reading = readingSchema.safeParse(json);
  if (!reading.success) return reject('schema', describeZodError(reading.error), topicNode);
  const r = reading.data;
  if (r.nodeId !== topicNode) {
    return reject('topic-mismatch', `payload nodeId ${r.nodeId} does not match topic node ${topicNode}`, topicNode);
  }
  if (!node) return reject('unknown-node', `node ${topicNode} is not in the site registry`, topicNode);
  const tsMs = Date.parse(r.ts);
  const outside = outsideWindow(r.ts, tsMs, nowMs, limits, topicNode);
  if (outside) return outside;
  return { ok: true, kind: 'reading', reading: r, zoneId: node.zone, tsMs };
}

/** The accepted time window, for readings and status messages alike (InfluxDB refuses what lies far outside it). */
function outsideWindow(ts: string, tsMs: number, nowMs: number, limits: IngestLimits, nodeId: string): ValidatedMessage | null {
  if (tsMs > nowMs + limits.maxFutureMs) {
    return reject('future-timestamp', `timestamp ${ts} is ${Math.round((tsMs - nowMs) / 1000)} s in the future (limit ${limits.maxFutureMs / 1000} s)`, nodeId);
  }
  if (tsMs < nowMs - limits.maxAgeMs) {
    return reject('too-old', `timestamp ${ts} is older than ${Math.round(limits.maxAgeMs / 86_400_000)} days`, nodeId);
  }
  return null;
}
