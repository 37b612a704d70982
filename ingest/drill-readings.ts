// A sensor drill's simulated readings (README "Drills", `ews/v1/drill/readings/<nodeId>`): checked like
// a real reading — size, JSON, schema, the topic's node, the site registry, the time window — and
// stored as a `drill_reading` point (tag `drill`), never as a `reading`: no query of real readings
// (dashboards, the board, baselines) can count one. Pure.
import { checkSensorMessage, refusal, type Refusal } from '../contracts/message-checks.ts';
import { drillReadingSchema } from '../contracts/payloads.ts';
import { drillReadingLine } from '../contracts/measurements.ts';
import { parseTopic } from '../contracts/topics.ts';
import type { SiteIndex } from '../contracts/site.ts';
import { validateMessage, type IngestLimits } from './validate.ts';

export type DrillReadingResult = { ok: true; line: string; tsMs: number; drillId: string } | Refusal;

/** Whether a topic is a drill reading's (ingest then calls `validateDrillReading` instead of `validateMessage`). */
export const isDrillReadingTopic = (topic: string): boolean => parseTopic(topic)?.kind === 'drill-reading';

/**
 * One drill reading: the real checks run on the reading without its mark (the same codes and
 * reasons as a real reading, so the same dead-letter dashboards count them), then the mark's.
 */
export function validateDrillReading(topic: string, payload: Buffer, nowMs: number, site: SiteIndex, limits: IngestLimits): DrillReadingResult {
  const checked = checkSensorMessage(topic, payload, { readingSchema: drillReadingSchema, maxPayloadBytes: limits.maxPayloadBytes, drill: true });
  if (!checked.ok) return checked;
  if (checked.kind !== 'reading') return refusal('unknown-topic', 'not a drill reading');
  const nodeId = checked.nodeId;
  const { drill, ...reading } = checked.reading;
  if (drill.depth !== 'sensor') return { ok: false, code: 'schema', reason: `drill reading: drill.depth must be sensor, got ${drill.depth}`, nodeId };
  // The real reading checks (topic node, site registry, time window) on the reading as a real topic would carry it.
  const real = validateMessage(`ews/v1/readings/${nodeId}`, Buffer.from(JSON.stringify(reading)), nowMs, site, { ...limits, maxPayloadBytes: Number.MAX_SAFE_INTEGER });
  if (!real.ok) return real;
  if (real.kind !== 'reading') return { ok: false, code: 'unknown-topic', reason: 'not a reading', nodeId };
  return { ok: true, line: drillReadingLine(checked.reading, real.zoneId, real.tsMs), tsMs: real.tsMs, drillId: drill.id };
}
