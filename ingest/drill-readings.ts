// A sensor drill's simulated readings (README "Drills", `ews/v1/drill/readings/<nodeId>`): checked like
// a real reading — size, JSON, schema, the topic's node, the site registry, the time window — and
// stored as a `drill_reading` point (tag `drill`), never as a `reading`: no query of real readings
// (dashboards, the board, baselines) can count one. Pure.
import { checkSensorMessage, refusal, type Refusal } from '../contracts/message-checks.ts';
import { drillReadingSchema } from '../contracts/payloads.ts';
import { drillReadingLine } from '../contracts/measurements.ts';
import { parseTopic } from '../contracts/topics.ts';
import type { SiteIndex } from '../contracts/site.ts';
import { placeReading, type IngestLimits } from './validate.ts';

export type DrillReadingResult = { ok: true; line: string; tsMs: number; drillId: string } | Refusal;

/** Whether a topic is a drill reading's (ingest then calls `validateDrillReading` instead of `validateMessage`). */
export const isDrillReadingTopic = (topic: string): boolean => parseTopic(topic)?.kind === 'drill-reading';

/**
 * One drill reading: the same checks as a real reading (the shared message checks with the drill
 * schema, the site registry, the time window; the same codes, so the same dead-letter dashboards count
 * them), and its mark's.
 */
export function validateDrillReading(topic: string, payload: Buffer, nowMs: number, site: SiteIndex, limits: IngestLimits): DrillReadingResult {
  const checked = checkSensorMessage(topic, payload, { readingSchema: drillReadingSchema, maxPayloadBytes: limits.maxPayloadBytes, drill: true });
  if (!checked.ok) return checked;
  if (checked.kind !== 'reading') return refusal('unknown-topic', 'not a drill reading');
  const nodeId = checked.nodeId;
  const { drill } = checked.reading;
  if (drill.depth !== 'sensor') return refusal('schema', `drill reading: drill.depth must be sensor, got ${drill.depth}`, nodeId);
  // The real reading's own checks: the site registry and the time window.
  const placed = placeReading(nodeId, checked.reading.ts, nowMs, site, limits);
  if (!placed.ok) return placed;
  return { ok: true, line: drillReadingLine(checked.reading, placed.zoneId, placed.tsMs), tsMs: placed.tsMs, drillId: drill.id };
}
