import { describe, expect, it } from 'vitest';
import { topics } from '../contracts/topics.ts';
import { decideRules } from './message-handler.ts';

const reading = { nodeId: 'san-thang-01', seq: 7, ts: '2026-03-20T13:00:00+07:00', temperatureC: 31, humidityPct: 40, smoke: 110 };
const known = (id: string) => id.startsWith('san-thang-');
const never = () => false;
const decide = (topic: string, payload: unknown, isDuplicate: (nodeId: string, seq: number, tsMs: number) => boolean = never) =>
  decideRules(topic, Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)), known, isDuplicate);

describe('decideRules: what rules does with one message', () => {
  it('a reading of a known node is applied at its own time', () => {
    expect(decide(topics.reading('san-thang-01'), reading)).toStrictEqual({ action: 'apply-reading', reading, tsMs: Date.parse('2026-03-20T06:00:00Z') });
  });

  it('a reading the engine has applied already is skipped (asked with node, seq and time)', () => {
    const asked: unknown[] = [];
    const seen = (...args: unknown[]) => (asked.push(args), true);
    expect(decide(topics.reading('san-thang-01'), reading, seen)).toStrictEqual({ action: 'skip-duplicate' });
    expect(asked).toStrictEqual([['san-thang-01', 7, Date.parse('2026-03-20T06:00:00Z')]]);
  });

  it('a status is only noted', () => {
    expect(decide(topics.status('san-thang-01'), { nodeId: 'san-thang-01', status: 'offline', reason: 'will' })).toMatchObject({ action: 'note-status', status: { status: 'offline' } });
  });

  it.each([
    { name: 'not JSON', topic: topics.reading('san-thang-01'), payload: '{not json', code: 'malformed-json', reading: true },
    { name: 'a bad time', topic: topics.reading('san-thang-01'), payload: { ...reading, ts: 'yesterday' }, code: 'schema', reading: true },
    { name: "another node's reading", topic: topics.reading('san-thang-01'), payload: { ...reading, nodeId: 'san-thang-03' }, code: 'topic-mismatch', reading: true },
    { name: 'a node not in the site file', topic: topics.reading('ghost-01'), payload: { ...reading, nodeId: 'ghost-01' }, code: 'unknown-node', reading: true },
    { name: 'a status of an unknown kind', topic: topics.status('san-thang-01'), payload: { nodeId: 'san-thang-01', status: 'sleeping' }, code: 'schema', reading: false },
    { name: 'a danger topic', topic: topics.danger('san-thang'), payload: {}, code: 'unknown-topic', reading: true },
  ])('$name → dead letter $code', ({ topic, payload, code, reading: countsAsReading }) => {
    expect(decide(topic, payload)).toMatchObject({ action: 'dead-letter', refused: { code }, reading: countsAsReading });
  });

  it("rules' reading schema (looser than ingest's) lets an out-of-range temperature through, as before", () => {
    expect(decide(topics.reading('san-thang-01'), { ...reading, temperatureC: -100 })).toMatchObject({ action: 'apply-reading' });
  });
});
