import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkEventMessage, checkSensorMessage } from './message-checks.ts';
import { readingSchema } from './payloads.ts';
import { topics } from './topics.ts';

const reading = { nodeId: 'san-thang-01', seq: 1, ts: '2026-02-14T05:59:00Z', temperatureC: 24.5, humidityPct: 55, smoke: 120 };
const sensor = (topic: string, payload: string | Buffer, maxPayloadBytes?: number) =>
  checkSensorMessage(topic, Buffer.isBuffer(payload) ? payload : Buffer.from(payload), { readingSchema, ...(maxPayloadBytes === undefined ? {} : { maxPayloadBytes }) });

describe('checkSensorMessage: the checks ingest and rules share, with the same codes', () => {
  it('a reading and a status pass with the node of their topic', () => {
    expect(sensor(topics.reading('san-thang-01'), JSON.stringify(reading))).toStrictEqual({ ok: true, kind: 'reading', nodeId: 'san-thang-01', reading });
    expect(sensor(topics.status('san-thang-01'), '{"nodeId":"san-thang-01","status":"offline"}')).toMatchObject({ ok: true, kind: 'status', nodeId: 'san-thang-01', status: { status: 'offline' } });
  });

  it.each<{ name: string; topic: string; payload: string | Buffer; max?: number; code: string; reason: RegExp; nodeId?: string }>([
    { name: 'a danger topic', topic: topics.danger('san-thang'), payload: '{}', code: 'unknown-topic', reason: /not a reading or status topic/ },
    { name: 'over the size limit', topic: topics.reading('san-thang-01'), payload: 'x'.repeat(5000), max: 4096, code: 'too-large', reason: /5000 bytes exceeds 4096/, nodeId: 'san-thang-01' },
    { name: 'truncated JSON', topic: topics.reading('san-thang-01'), payload: '{"nodeId":', code: 'malformed-json', reason: /malformed JSON/, nodeId: 'san-thang-01' },
    { name: 'a reading without smoke', topic: topics.reading('san-thang-01'), payload: JSON.stringify({ ...reading, smoke: undefined }), code: 'schema', reason: /smoke/, nodeId: 'san-thang-01' },
    { name: 'a status of an unknown kind', topic: topics.status('san-thang-01'), payload: '{"nodeId":"san-thang-01","status":"sleeping"}', code: 'schema', reason: /status/, nodeId: 'san-thang-01' },
    { name: "another node's reading", topic: topics.reading('san-thang-01'), payload: JSON.stringify({ ...reading, nodeId: 'san-thang-02' }), code: 'topic-mismatch', reason: /san-thang-02 does not match topic node san-thang-01/, nodeId: 'san-thang-01' },
    { name: "another node's status", topic: topics.status('san-thang-01'), payload: '{"nodeId":"san-thang-02","status":"online"}', code: 'topic-mismatch', reason: /does not match/, nodeId: 'san-thang-01' },
  ])('$name → $code', ({ topic, payload, max, code, reason, nodeId }) => {
    const r = sensor(topic, payload, max);
    expect(r).toMatchObject({ ok: false, code, reason: expect.stringMatching(reason) });
    expect(r.ok ? undefined : r.nodeId).toBe(nodeId);
  });

  it('without a size limit a large payload is judged by its content', () => {
    expect(sensor(topics.reading('san-thang-01'), 'x'.repeat(5000))).toMatchObject({ ok: false, code: 'malformed-json' });
  });

  it("uses the service's reading schema (rules' looser one lets an out-of-range temperature through)", () => {
    const loose = readingSchema.extend({ temperatureC: z.number() });
    const cold = Buffer.from(JSON.stringify({ ...reading, temperatureC: -100 }));
    expect(checkSensorMessage(topics.reading('san-thang-01'), cold, { readingSchema })).toMatchObject({ ok: false, code: 'schema' });
    expect(checkSensorMessage(topics.reading('san-thang-01'), cold, { readingSchema: loose })).toMatchObject({ ok: true, reading: { temperatureC: -100 } });
  });
});

describe('checkEventMessage: what alerts believes of an event', () => {
  const event = { eventId: 'fire-san-thang-1', kind: 'fire-suspected', zoneId: 'san-thang', ts: '2026-02-14T05:59:00Z', nodeId: 'san-thang-01' };
  const check = (topic: string, payload: string) => checkEventMessage(topic, Buffer.from(payload));

  it('an event on its own topic passes', () => {
    expect(check(topics.event('fire-suspected', 'san-thang'), JSON.stringify(event))).toMatchObject({ ok: true, event: { eventId: 'fire-san-thang-1' } });
  });

  it.each([
    { name: 'a readings topic', topic: topics.reading('san-thang-01'), payload: JSON.stringify(event), code: 'unknown-topic' },
    { name: 'not JSON', topic: topics.event('fire-suspected', 'san-thang'), payload: 'fire!', code: 'malformed-json' },
    { name: 'no event id', topic: topics.event('fire-suspected', 'san-thang'), payload: JSON.stringify({ ...event, eventId: undefined }), code: 'schema' },
    { name: 'another zone', topic: topics.event('fire-suspected', 'muong-so'), payload: JSON.stringify(event), code: 'topic-mismatch' },
    { name: 'another kind', topic: topics.event('fire-confirmed', 'san-thang'), payload: JSON.stringify(event), code: 'topic-mismatch' },
  ])('$name → $code', ({ topic, payload, code }) => {
    expect(check(topic, payload)).toMatchObject({ ok: false, code });
  });
});
