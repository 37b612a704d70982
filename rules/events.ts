// Event construction: stable ids and payloads that match contracts/payloads.ts eventSchema.
import type { EventKind } from '../contracts/topics.ts';
import type { DangerLevel, FireEvent } from '../contracts/payloads.ts';
import { TOPIC_ID_PATTERN } from '../contracts/topics.ts';

export type EventDetail = Record<string, string | number | boolean | null>;
export type EventSink = (event: FireEvent) => void;

/** 32-bit FNV-1a, base 36: a short stable stand-in for an over-long id part. */
export function shortHash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36);
}

/**
 * Joins id parts with '-' into a topic-safe id (≤ 63 chars, a-z0-9-). The same parts always give
 * the same id. When too long, the longest part is replaced by its hash.
 */
export function stableId(...parts: string[]): string {
  let id = parts.join('-').toLowerCase().replace(/[^a-z0-9-]/g, '-');
  if (id.length > 63) {
    const longest = parts.reduce((a, b) => (b.length > a.length ? b : a));
    id = parts
      .map((p) => (p === longest ? shortHash(p) : p))
      .join('-')
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-')
      .slice(0, 63);
  }
  if (!TOPIC_ID_PATTERN.test(id)) id = `x${shortHash(id)}`;
  return id;
}

export function makeEvent(
  kind: EventKind,
  eventId: string,
  zoneId: string,
  ts: string,
  detail: EventDetail,
  extra: { nodeId?: string; level?: DangerLevel; previousLevel?: DangerLevel } = {},
): FireEvent {
  const event: FireEvent = { eventId, kind, zoneId, ts, detail };
  if (extra.nodeId !== undefined) event.nodeId = extra.nodeId;
  if (extra.level !== undefined) event.level = extra.level;
  if (extra.previousLevel !== undefined) event.previousLevel = extra.previousLevel;
  return event;
}
