import { describe, expect, it } from 'vitest';
import { parseTopic, topics } from './topics.ts';
import { alertLifecycleSchema, drillAlertLifecycleSchema, drillEventSchema, drillReadingSchema, eventSchema, readingSchema } from './payloads.ts';

describe('topic builders and the parser agree', () => {
  it('a reading topic is ews/v1/readings/<node>', () => {
    expect(topics.reading('san-thang-01')).toBe('ews/v1/readings/san-thang-01');
  });

  it.each([
    { topic: topics.reading('san-thang-01'), parsed: { kind: 'reading', nodeId: 'san-thang-01' } },
    { topic: topics.status('nam-loong-02'), parsed: { kind: 'status', nodeId: 'nam-loong-02' } },
    { topic: topics.event('fire-confirmed', 'san-thang'), parsed: { kind: 'event', eventKind: 'fire-confirmed', zoneId: 'san-thang' } },
    { topic: topics.danger('san-thang'), parsed: { kind: 'danger', zoneId: 'san-thang' } },
    { topic: topics.deadLetter('ingest'), parsed: { kind: 'deadletter', service: 'ingest' } },
  ])('$topic', ({ topic, parsed }) => {
    expect(parseTopic(topic)).toStrictEqual(parsed);
  });
});

describe('topics refuse ids that would break the topic tree', () => {
  it.each(['a/b', '+', 'San-Thang'])('node id %j is refused', (id) => {
    expect(() => topics.reading(id)).toThrow(/invalid node id/);
  });

  it.each(['ews/v1/readings/a/b', 'ews/v2/readings/a', 'ews/v1/events/fire-burning/san-thang', '$SYS/broker/uptime'])('%s is not one of ours', (topic) => {
    expect(parseTopic(topic)).toBeNull();
  });
});

const valid = { nodeId: 'san-thang-01', seq: 7, ts: '2026-02-14T06:00:00Z', temperatureC: 24.5, humidityPct: 55, smoke: 120 };

it('reading schema accepts a valid reading, with an offset or Z', () => {
  expect(readingSchema.safeParse(valid).success).toBe(true);
  expect(readingSchema.safeParse({ ...valid, ts: '2026-02-14T13:00:00+07:00', rainMm: 0.2, windMs: 3, batteryV: 3.9, rssiDbm: -97 }).success).toBe(true);
});

describe('reading schema rejects out-of-range, wrong types, non-finite and unknown fields', () => {
  const { smoke: _smoke, ...missing } = valid;
  it.each<{ name: string; reading: Record<string, unknown> }>([
    { name: 'humidity 150 %', reading: { ...valid, humidityPct: 150 } },
    { name: 'temperature −100 °C', reading: { ...valid, temperatureC: -100 } },
    { name: 'temperature as a string', reading: { ...valid, temperatureC: '24' } },
    { name: 'temperature Infinity', reading: { ...valid, temperatureC: Infinity } },
    { name: 'temperature NaN', reading: { ...valid, temperatureC: NaN } },
    { name: 'negative seq', reading: { ...valid, seq: -1 } },
    { name: 'fractional seq', reading: { ...valid, seq: 1.5 } },
    { name: 'ts with a space and no seconds', reading: { ...valid, ts: '2026-02-14 06:00' } },
    { name: 'ts without an offset', reading: { ...valid, ts: '2026-02-14T06:00:00' } },
    { name: 'an unknown field', reading: { ...valid, temprature: 3 } },
    { name: 'a node id with a space and capitals', reading: { ...valid, nodeId: 'San Thang' } },
    { name: 'smoke missing', reading: missing },
  ])('$name', ({ reading }) => {
    expect(readingSchema.safeParse(reading).success).toBe(false);
  });
});

describe('drills: their own topic subtree and a mark no real schema accepts', () => {
  const event = { eventId: 'drill-san-thang-x', kind: 'fire-confirmed', zoneId: 'san-thang', ts: '2026-03-02T08:30:00+07:00', detail: {} };
  it('drill topics parse as drill topics and are never matched by the real filters', () => {
    expect(parseTopic(topics.drillEvent('fire-confirmed', 'san-thang'))).toStrictEqual({ kind: 'drill-event', eventKind: 'fire-confirmed', zoneId: 'san-thang' });
    expect(parseTopic(topics.drillAlert('drill-san-thang-x'))).toStrictEqual({ kind: 'drill-alert', eventId: 'drill-san-thang-x' });
    expect(parseTopic('ews/v1/drill/events/flood/san-thang')).toBeNull();
    expect(parseTopic('ews/v1/drill/other/x')).toBeNull();
    expect(parseTopic(topics.drillRequest('san-thang'))).toStrictEqual({ kind: 'drill-request', zoneId: 'san-thang' });
    expect(parseTopic('ews/v1/drill/requests/San-Thang')).toBeNull();
    expect(parseTopic('ews/v1/drill/requests/san-thang/x')).toBeNull();
    expect(topics.drillEvent('fire-confirmed', 'san-thang').split('/').length).not.toBe(topics.allEvents.split('/').length);
    expect(topics.drillAlert('x').startsWith('ews/v1/alerts/')).toBe(false);
  });
  it('a sensor drill reading has its own topic, outside the real readings filter', () => {
    expect(parseTopic(topics.drillReading('san-thang-07'))).toStrictEqual({ kind: 'drill-reading', nodeId: 'san-thang-07' });
    expect(topics.drillReading('san-thang-07')).toBe('ews/v1/drill/readings/san-thang-07');
    expect(parseTopic('ews/v1/drill/readings/San_Thang')).toBeNull();
    expect(parseTopic('ews/v1/drill/readings/a/b')).toBeNull();
  });
  it('a drill reading needs its mark, and the real reading schema refuses the mark', () => {
    const reading = { nodeId: 'san-thang-07', seq: 1, ts: '2026-03-02T08:30:00+07:00', temperatureC: 24, humidityPct: 50, smoke: 210 };
    const drill = { id: 'san-thang-20260302-0130-abcd', depth: 'sensor' };
    expect(drillReadingSchema.safeParse({ ...reading, drill }).success).toBe(true);
    expect(drillReadingSchema.safeParse(reading).success).toBe(false);
    expect(readingSchema.safeParse({ ...reading, drill }).success).toBe(false);
    expect(drillReadingSchema.safeParse({ ...reading, drill: { ...drill, extra: 1 } }).success).toBe(false);
  });
  it('a drill payload needs its mark, and the real event and lifecycle schemas refuse it', () => {
    const drill = { id: 'san-thang-x', depth: 'alert' };
    expect(drillEventSchema.safeParse({ ...event, drill }).success).toBe(true);
    expect(drillEventSchema.safeParse(event).success).toBe(false);
    expect(eventSchema.safeParse({ ...event, drill }).success).toBe(false);
    const lifecycle = { eventId: 'drill-san-thang-x', state: 'queued', ts: '2026-03-02T01:30:00Z' };
    expect(alertLifecycleSchema.safeParse({ ...lifecycle, drill }).success).toBe(false);
    expect(drillAlertLifecycleSchema.safeParse({ ...lifecycle, drill }).success).toBe(true);
  });
});
