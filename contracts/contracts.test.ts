
import { expect, it } from 'vitest';
import { parseTopic, topics } from './topics.ts';
import { readingSchema } from './payloads.ts';

it('topic builders and the parser agree', () => {
  expect(topics.reading('san-thang-01')).toBe('ews/v1/readings/san-thang-01');
  expect(parseTopic(topics.reading('san-thang-01'))).toStrictEqual({ kind: 'reading', nodeId: 'san-thang-01' });
  expect(parseTopic(topics.status('nam-loong-02'))).toStrictEqual({ kind: 'status', nodeId: 'nam-loong-02' });
  expect(parseTopic(topics.event('fire-confirmed', 'san-thang'))).toStrictEqual({ kind: 'event', eventKind: 'fire-confirmed', zoneId: 'san-thang' });
  expect(parseTopic(topics.danger('san-thang'))).toStrictEqual({ kind: 'danger', zoneId: 'san-thang' });
  expect(parseTopic(topics.deadLetter('ingest'))).toStrictEqual({ kind: 'deadletter', service: 'ingest' });
});

it('topics refuse ids that would break the topic tree', () => {
  expect(() => topics.reading('a/b')).toThrow(/invalid node id/);
  expect(() => topics.reading('+')).toThrow(/invalid node id/);
  expect(() => topics.reading('San-Thang')).toThrow(/invalid node id/);
  expect(parseTopic('ews/v1/readings/a/b')).toBeNull();
  expect(parseTopic('ews/v2/readings/a')).toBeNull();
  expect(parseTopic('ews/v1/events/fire-burning/san-thang')).toBeNull();
  expect(parseTopic('$SYS/broker/uptime')).toBeNull();
});

const valid = { nodeId: 'san-thang-01', seq: 7, ts: '2026-02-14T06:00:00Z', temperatureC: 24.5, humidityPct: 55, smoke: 120 };

it('reading schema accepts a valid reading, with an offset or Z', () => {
  expect(readingSchema.safeParse(valid).success).toBe(true);
  expect(readingSchema.safeParse({ ...valid, ts: '2026-02-14T13:00:00+07:00', rainMm: 0.2, windMs: 3, batteryV: 3.9, rssiDbm: -97 }).success).toBe(true);
});

it('reading schema rejects out-of-range, wrong types, non-finite and unknown fields', () => {
  const bad: Record<string, unknown>[] = [
    { ...valid, humidityPct: 150 },
    { ...valid, temperatureC: -100 },
    { ...valid, temperatureC: '24' },
    { ...valid, temperatureC: Infinity },
    { ...valid, temperatureC: NaN },
    { ...valid, seq: -1 },
    { ...valid, seq: 1.5 },
    { ...valid, ts: '2026-02-14 06:00' },
    { ...valid, ts: '2026-02-14T06:00:00' },
    { ...valid, temprature: 3 },
    { ...valid, nodeId: 'San Thang' },
  ];
  for (const b of bad) expect(readingSchema.safeParse(b).success, JSON.stringify(b)).toBe(false);
  const { smoke: _smoke, ...missing } = valid;
  expect(readingSchema.safeParse(missing).success).toBe(false);
});
