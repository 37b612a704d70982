import { describe, expect, it } from 'vitest';
import { indexSite } from '../contracts/site.ts';
import { loadSiteFile } from '../platform/site-file.ts';
import { validateMessage } from './validate.ts';
import { readingLine } from './line-protocol.ts';
import { RecentReadings } from './dedupe.ts';

const site = indexSite(loadSiteFile(new URL('../config/lai-chau.site.yaml', import.meta.url).pathname));
const limits = { maxPayloadBytes: 4096, maxFutureMs: 300_000, maxAgeMs: 400 * 86_400_000 };
const now = Date.parse('2026-02-14T06:00:00Z');
const topic = 'ews/v1/readings/san-thang-01';
const reading = { nodeId: 'san-thang-01', seq: 1, ts: '2026-02-14T05:59:00Z', temperatureC: 24.5, humidityPct: 55, smoke: 120 };
const check = (payload: string | Buffer, t = topic) => validateMessage(t, Buffer.isBuffer(payload) ? payload : Buffer.from(payload), now, site, limits);

describe('validateMessage', () => {
  it('a valid reading is accepted with its zone and own timestamp', () => {
    expect(check(JSON.stringify(reading))).toMatchObject({ ok: true, kind: 'reading', zoneId: 'san-thang', tsMs: Date.parse(reading.ts) });
    // A late reading (store-and-forward, 3 days old) keeps its own time.
    const late = check(JSON.stringify({ ...reading, ts: '2026-02-11T06:00:00Z' }));
    expect(late).toMatchObject({ ok: true, kind: 'reading', tsMs: Date.parse('2026-02-11T06:00:00Z') });
  });

  describe('each kind of bad input is refused with a clear reason code', () => {
    it.each<{ name: string; payload: string | Buffer; code: string; reason: RegExp; topic?: string }>([
      { name: 'truncated JSON', payload: '{"nodeId": "san-thang-01", ', code: 'malformed-json', reason: /malformed JSON/ },
      { name: 'a NaN literal', payload: '{"temperatureC": NaN}', code: 'malformed-json', reason: /malformed JSON/ },
      { name: 'smoke missing', payload: JSON.stringify({ ...reading, smoke: undefined }), code: 'schema', reason: /smoke: Invalid input: expected number/ },
      { name: 'temperature as a string', payload: JSON.stringify({ ...reading, temperatureC: '24.5' }), code: 'schema', reason: /temperatureC/ },
      { name: 'temperature 1e999 (JSON.parse gives Infinity)', payload: JSON.stringify(reading).replace('24.5', '1e999'), code: 'schema', reason: /temperatureC/ },
      { name: 'humidity 150 %', payload: JSON.stringify({ ...reading, humidityPct: 150 }), code: 'schema', reason: /humidityPct: Too big/ },
      { name: 'temperature −100 °C', payload: JSON.stringify({ ...reading, temperatureC: -100 }), code: 'schema', reason: /temperatureC: Too small/ },
      { name: 'a 1 MiB payload', payload: Buffer.alloc(1024 * 1024, 0x61), code: 'too-large', reason: /1048576 bytes exceeds 4096/ },
      { name: 'a day in the future', payload: JSON.stringify({ ...reading, ts: '2026-02-15T06:00:00Z' }), code: 'future-timestamp', reason: /86400 s in the future/ },
      { name: 'two years old', payload: JSON.stringify({ ...reading, ts: '2024-01-01T00:00:00Z' }), code: 'too-old', reason: /older than 400 days/ },
      { name: "another node's id", payload: JSON.stringify({ ...reading, nodeId: 'san-thang-02' }), code: 'topic-mismatch', reason: /does not match topic node san-thang-01/ },
      { name: 'a node not in the registry', payload: JSON.stringify({ ...reading, nodeId: 'ghost-01' }), code: 'unknown-node', reason: /not in the site registry/, topic: 'ews/v1/readings/ghost-01' },
      { name: 'a danger topic', payload: '{}', code: 'unknown-topic', reason: /not a reading or status topic/, topic: 'ews/v1/danger/san-thang' },
    ])('$name → $code', ({ payload, code, reason, topic: t }) => {
      expect(check(payload, t)).toMatchObject({ ok: false, code, reason: expect.stringMatching(reason) });
    });
  });

  it('a status message (the will) is stamped on arrival when it has no time', () => {
    const r = validateMessage('ews/v1/status/san-thang-01', Buffer.from('{"nodeId":"san-thang-01","status":"offline"}'), now, site, limits);
    expect(r).toMatchObject({ ok: true, kind: 'status', tsMs: now });
  });
});

it('line protocol keeps the values, tags node and zone, ms time', () => {
  expect(readingLine({ ...reading, rainMm: 0.4, batteryV: 3.91 }, 'san-thang', Date.parse(reading.ts))).toBe('reading,node=san-thang-01,zone=san-thang battery=3.91,humidity=55.0,rain=0.4,seq=1i,smoke=120.0,temperature=24.5 1771048740000');
});

it('recent readings: a re-delivery is a duplicate, another reading at the same time a conflict; the window forgets the oldest', () => {
  const recent = new RecentReadings(3);
  for (const s of [1, 2, 3]) expect(recent.check('n', s * 1000, s, `v${s}`)).toBe('new');
  expect(recent.check('n', 1000, 1, 'v1')).toBe('duplicate');
  // A stuck clock: seq 9 carries the time of seq 1.
  expect(recent.check('n', 1000, 9, 'v9')).toStrictEqual({ conflictWithSeq: 1 });
  // Same sequence and time, other values: a conflict too.
  expect(recent.check('n', 2000, 2, 'changed')).toStrictEqual({ conflictWithSeq: 2 });
  expect(recent.check('n', 4000, 4, 'v4')).toBe('new');
  expect(recent.check('n', 1000, 1, 'v1'), 'forgotten beyond the window').toBe('new');
  expect(recent.check('other', 4000, 4, 'v4')).toBe('new');
  // A rebooted node reuses sequence 2 at a new time: new.
  expect(recent.check('n', 99_000, 2, 'v2')).toBe('new');
});

it.each([
  { ts: '9999-12-31T23:59:59Z', code: 'future-timestamp' },
  { ts: '1970-01-01T00:00:00Z', code: 'too-old' },
])('a status message stamped $ts is refused like a reading ($code)', ({ ts, code }) => {
  const status = JSON.stringify({ nodeId: 'san-thang-01', status: 'online', ts });
  expect(check(status, 'ews/v1/status/san-thang-01')).toMatchObject({ ok: false, code, nodeId: 'san-thang-01' });
  // Without a ts (a will message) it is stamped on arrival.
  expect(check(JSON.stringify({ nodeId: 'san-thang-01', status: 'offline' }), 'ews/v1/status/san-thang-01')).toMatchObject({ ok: true, tsMs: now });
});
