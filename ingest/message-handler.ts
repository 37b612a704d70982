// What ingest does with one message, decided without I/O: dead-letter it (with its reason code),
// store a node status line, skip a re-delivered reading, or store a reading line. The service applies
// the decision inside its group-commit transaction (ingest/service.ts).
import type { Refusal } from '../contracts/message-checks.ts';
import type { NodeStatus } from '../contracts/payloads.ts';
import type { SiteIndex } from '../contracts/site.ts';
import type { RecentReadings } from './dedupe.ts';
import { nodeStatusLine, readingLine } from './line-protocol.ts';
import { validateMessage, type IngestLimits } from './validate.ts';

export type IngestDecision =
  /** `received`: the label of ews_ingest_received_total (a valid reading can still be refused: duplicate-timestamp). */
  | { action: 'dead-letter'; refused: Omit<Refusal, 'ok'>; received: 'invalid' | 'reading' }
  | { action: 'store-status'; line: string; tsMs: number; status: NodeStatus; zoneId: string }
  | { action: 'skip-duplicate' }
  /** The reading is now remembered by `recent`; forget it if the transaction rolls back. */
  | { action: 'store-reading'; line: string; tsMs: number; nodeId: string };

export function decideIngest(topic: string, payload: Buffer, nowMs: number, site: SiteIndex, limits: IngestLimits, recent: RecentReadings): IngestDecision {
  const result = validateMessage(topic, payload, nowMs, site, limits);
  if (!result.ok) return { action: 'dead-letter', refused: result, received: 'invalid' };
  if (result.kind === 'status') {
    return { action: 'store-status', line: nodeStatusLine(result.status, result.zoneId, result.tsMs), tsMs: result.tsMs, status: result.status, zoneId: result.zoneId };
  }
  const { reading } = result;
  const line = readingLine(reading, result.zoneId, result.tsMs);
  const seen = recent.check(reading.nodeId, result.tsMs, reading.seq, line);
  if (seen === 'duplicate') return { action: 'skip-duplicate' };
  if (seen !== 'new') {
    const reason = `reading seq ${reading.seq} has the time ${reading.ts} of seq ${seen.conflictWithSeq} with different values; the first is kept`;
    return { action: 'dead-letter', refused: { code: 'duplicate-timestamp', reason, nodeId: reading.nodeId }, received: 'reading' };
  }
  return { action: 'store-reading', line, tsMs: result.tsMs, nodeId: reading.nodeId };
}
