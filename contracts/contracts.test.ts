import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTopic, topics } from './topics.ts';
import { readingSchema } from './payloads.ts';

test('topic builders and the parser agree', () => {
  assert.equal(topics.reading('san-thang-01'), 'ews/v1/readings/san-thang-01');
  assert.deepEqual(parseTopic(topics.reading('san-thang-01')), { kind: 'reading', nodeId: 'san-thang-01' });
  assert.deepEqual(parseTopic(topics.status('nam-loong-02')), { kind: 'status', nodeId: 'nam-loong-02' });
  assert.deepEqual(parseTopic(topics.event('fire-confirmed', 'san-thang')), { kind: 'event', eventKind: 'fire-confirmed', zoneId: 'san-thang' });
  assert.deepEqual(parseTopic(topics.danger('san-thang')), { kind: 'danger', zoneId: 'san-thang' });
  assert.deepEqual(parseTopic(topics.deadLetter('ingest')), { kind: 'deadletter', service: 'ingest' });
});

test('topics refuse ids that would break the topic tree', () => {
  assert.throws(() => topics.reading('a/b'), /invalid node id/);
  assert.throws(() => topics.reading('+'), /invalid node id/);
  assert.throws(() => topics.reading('San-Thang'), /invalid node id/);
  assert.equal(parseTopic('ews/v1/readings/a/b'), null);
  assert.equal(parseTopic('ews/v2/readings/a'), null);
  assert.equal(parseTopic('ews/v1/events/fire-burning/san-thang'), null);
  assert.equal(parseTopic('$SYS/broker/uptime'), null);
});

const valid = { nodeId: 'san-thang-01', seq: 7, ts: '2026-02-14T06:00:00Z', temperatureC: 24.5, humidityPct: 55, smoke: 120 };

test('reading schema accepts a valid reading, with an offset or Z', () => {
  assert.equal(readingSchema.safeParse(valid).success, true);
  assert.equal(readingSchema.safeParse({ ...valid, ts: '2026-02-14T13:00:00+07:00', rainMm: 0.2, windMs: 3, batteryV: 3.9, rssiDbm: -97 }).success, true);
});

test('reading schema rejects out-of-range, wrong types, non-finite and unknown fields', () => {
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
  for (const b of bad) assert.equal(readingSchema.safeParse(b).success, false, JSON.stringify(b));
  const { smoke: _smoke, ...missing } = valid;
  assert.equal(readingSchema.safeParse(missing).success, false);
});
