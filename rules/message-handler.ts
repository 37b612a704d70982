// What rules does with one message, decided without I/O: dead-letter it (the shared checks of
// contracts/message-checks.ts, then a node not in the site file), note a node status, skip a reading
// it has already applied, or apply a reading. The service journals and applies it (rules/service.ts).
import { checkSensorMessage, type Refusal } from '../contracts/message-checks.ts';
import type { NodeStatus } from '../contracts/payloads.ts';
import { rulesReadingSchema } from './core.ts';
import type { EngineReading } from './engine.ts';
import { parseInstant } from './time.ts';

export type RulesDecision =
  /** `reading`: counted in ews_rules_readings_total{result="dead-letter"} (everything but a status message). */
  | { action: 'dead-letter'; refused: Omit<Refusal, 'ok'>; reading: boolean }
  /** Informational: the engine judges offline/online from the readings' cadence itself. */
  | { action: 'note-status'; status: NodeStatus }
  | { action: 'skip-duplicate' }
  | { action: 'apply-reading'; reading: EngineReading; tsMs: number };

export function decideRules(topic: string, payload: Buffer, knownNode: (nodeId: string) => boolean, isDuplicate: (nodeId: string, seq: number, tsMs: number) => boolean): RulesDecision {
  const message = checkSensorMessage(topic, payload, { readingSchema: rulesReadingSchema });
  if (!message.ok) return { action: 'dead-letter', refused: message, reading: !topic.startsWith('ews/v1/status/') };
  if (message.kind === 'status') return { action: 'note-status', status: message.status };
  const { reading } = message;
  if (!knownNode(reading.nodeId)) return { action: 'dead-letter', refused: { code: 'unknown-node', reason: `node ${reading.nodeId} is not in the site file`, nodeId: reading.nodeId }, reading: true };
  const tsMs = parseInstant(reading.ts);
  if (isDuplicate(reading.nodeId, reading.seq, tsMs)) return { action: 'skip-duplicate' };
  return { action: 'apply-reading', reading: reading as EngineReading, tsMs };
}
