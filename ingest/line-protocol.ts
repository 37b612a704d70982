// How readings, node status and dead letters become InfluxDB points (ms precision).
// Point identity = measurement + tags + time, so a re-delivered reading overwrites itself.
import { Point } from '@influxdata/influxdb-client';
import type { NodeStatus, Reading } from '../contracts/payloads.ts';
import type { RejectCode } from './validate.ts';

export const MEASUREMENTS = { reading: 'reading', nodeStatus: 'node_status', deadLetter: 'dead_letter' } as const;

export function readingLine(r: Reading, zoneId: string, tsMs: number): string {
  const p = new Point(MEASUREMENTS.reading)
    .tag('node', r.nodeId)
    .tag('zone', zoneId)
    .floatField('temperature', r.temperatureC)
    .floatField('humidity', r.humidityPct)
    .floatField('smoke', r.smoke)
    .intField('seq', r.seq);
  if (r.rainMm !== undefined) p.floatField('rain', r.rainMm);
  if (r.windMs !== undefined) p.floatField('wind', r.windMs);
  if (r.batteryV !== undefined) p.floatField('battery', r.batteryV);
  if (r.rssiDbm !== undefined) p.floatField('rssi', r.rssiDbm);
  return p.timestamp(tsMs).toLineProtocol() as string;
}

export function nodeStatusLine(s: NodeStatus, zoneId: string, tsMs: number): string {
  const p = new Point(MEASUREMENTS.nodeStatus).tag('node', s.nodeId).tag('zone', zoneId).booleanField('online', s.status === 'online');
  if (s.reason) p.stringField('reason', s.reason);
  return p.timestamp(tsMs).toLineProtocol() as string;
}

export function deadLetterLine(code: RejectCode, nodeId: string | undefined, id: number, tsMs: number): string {
  const p = new Point(MEASUREMENTS.deadLetter).tag('service', 'ingest').tag('reason', code);
  if (nodeId) p.tag('node', nodeId);
  return p.intField('id', id).intField('count', 1).timestamp(tsMs).toLineProtocol() as string;
}
