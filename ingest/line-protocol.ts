// How readings, node status and dead letters become InfluxDB points (ms precision), through the
// one schema and line writer in contracts/measurements.ts.
// Point identity = measurement + tags + time, so a re-delivered reading overwrites itself.
import { lineOf } from '../contracts/measurements.ts';
import type { NodeStatus } from '../contracts/payloads.ts';
import type { RejectCode } from './validate.ts';

export { readingLine } from '../contracts/measurements.ts';

export function nodeStatusLine(s: NodeStatus, zoneId: string, tsMs: number): string {
  return lineOf('node_status', { node: s.nodeId, zone: zoneId }, { online: s.status === 'online', reason: s.reason || undefined }, tsMs) as string;
}

export function deadLetterLine(code: RejectCode, nodeId: string | undefined, id: number, tsMs: number): string {
  return lineOf('dead_letter', { service: 'ingest', reason: code, node: nodeId }, { id, count: 1 }, tsMs) as string;
}
