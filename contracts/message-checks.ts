// The checks every consuming service makes of one MQTT message before it believes it: topic, size,
// JSON, schema, topic and payload agreeing. Pure; one set of reason codes for every service, so a
// dead letter means the same thing whoever refused it. What only one service knows (ingest's site
// registry and time window, rules' node list) is checked after this, with the same codes.
import type { z } from 'zod';
import { describeZodError, eventSchema, nodeStatusSchema, type FireEvent, type NodeStatus, type RejectCode } from './payloads.ts';

export { REJECT_CODES, type RejectCode } from './payloads.ts';
import { parseTopic } from './topics.ts';


export interface Refusal {
  ok: false;
  code: RejectCode;
  reason: string;
  nodeId?: string;
}

export function refusal(code: RejectCode, reason: string, nodeId?: string): Refusal {
  return nodeId === undefined ? { ok: false, code, reason } : { ok: false, code, reason, nodeId };
}

/** A JSON value, or why the payload is none (too large, not JSON). */
export function decodeJson(payload: Buffer, maxPayloadBytes: number | undefined, nodeId?: string): { ok: true; json: unknown } | Refusal {
  if (maxPayloadBytes !== undefined && payload.length > maxPayloadBytes) {
    return refusal('too-large', `payload of ${payload.length} bytes exceeds ${maxPayloadBytes}`, nodeId);
  }
  try {
    return { ok: true, json: JSON.parse(payload.toString('utf8')) };
  } catch (err) {
    return refusal('malformed-json', `malformed JSON: ${err instanceof Error ? err.message : String(err)}`, nodeId);
  }
}

export type SensorMessage<R> = { ok: true; kind: 'reading'; nodeId: string; reading: R } | { ok: true; kind: 'status'; nodeId: string; status: NodeStatus } | Refusal;

/**
 * A message on `ews/v1/readings/<node>` or `ews/v1/status/<node>` — or, with `drill`, only on a
 * sensor drill's `ews/v1/drill/readings/<node>` — : its reading (parsed by the service's
 * `readingSchema`) or status, with the topic's node equal to the payload's.
 */
export function checkSensorMessage<S extends z.ZodType<{ nodeId: string }>>(
  topic: string,
  payload: Buffer,
  opts: { readingSchema: S; maxPayloadBytes?: number; drill?: boolean },
): SensorMessage<z.infer<S>> {
  const parsedTopic = parseTopic(topic);
  if (opts.drill) {
    if (parsedTopic?.kind !== 'drill-reading') return refusal('unknown-topic', `topic ${topic} is not a drill reading topic`);
  } else if (!parsedTopic || (parsedTopic.kind !== 'reading' && parsedTopic.kind !== 'status')) {
    return refusal('unknown-topic', `topic ${topic} is not a reading or status topic`);
  }
  const nodeId = parsedTopic.nodeId;
  const decoded = decodeJson(payload, opts.maxPayloadBytes, nodeId);
  if (!decoded.ok) return decoded;
  if (parsedTopic.kind === 'status') {
    const status = nodeStatusSchema.safeParse(decoded.json);
    if (!status.success) return refusal('schema', describeZodError(status.error), nodeId);
    if (status.data.nodeId !== nodeId) return refusal('topic-mismatch', `payload nodeId ${status.data.nodeId} does not match topic node ${nodeId}`, nodeId);
    return { ok: true, kind: 'status', nodeId, status: status.data };
  }
  const reading = opts.readingSchema.safeParse(decoded.json);
  if (!reading.success) return refusal('schema', describeZodError(reading.error), nodeId);
  if (reading.data.nodeId !== nodeId) return refusal('topic-mismatch', `payload nodeId ${reading.data.nodeId} does not match topic node ${nodeId}`, nodeId);
  return { ok: true, kind: 'reading', nodeId, reading: reading.data };
}

/** A message on `ews/v1/events/<kind>/<zone>`: the event, with the topic's kind and zone equal to the payload's. */
export function checkEventMessage(topic: string, payload: Buffer): { ok: true; event: FireEvent } | Refusal {
  const parsedTopic = parseTopic(topic);
  if (!parsedTopic || parsedTopic.kind !== 'event') return refusal('unknown-topic', `topic ${topic} is not an event topic`);
  const decoded = decodeJson(payload, undefined);
  if (!decoded.ok) return decoded;
  const event = eventSchema.safeParse(decoded.json);
  if (!event.success) return refusal('schema', describeZodError(event.error));
  if (event.data.kind !== parsedTopic.eventKind || event.data.zoneId !== parsedTopic.zoneId) {
    return refusal('topic-mismatch', `payload ${event.data.kind} in ${event.data.zoneId} on the topic of ${parsedTopic.eventKind} in ${parsedTopic.zoneId}`);
  }
  return { ok: true, event: event.data };
}
