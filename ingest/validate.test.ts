
import { expect, it } from 'vitest';
import { indexSite } from '../contracts/site.ts';
import { loadSiteFile } from '../platform/site-file.ts';
import { validateMessage } from './validate.ts';
import { readingLine } from './line-protocol.ts';
import { RecentSequences } from './dedupe.ts';

const site = indexSite(loadSiteFile(new URL('../config/lai-chau.site.yaml', import.meta.url).pathname));
const limits = { maxPayloadBytes: 4096, maxFutureMs: 300_000, maxAgeMs: 400 * 86_400_000 };
const now = Date.parse('2026-02-14T06:00:00Z');
const topic = 'ews/v1/readings/san-thang-01';
const reading = { nodeId: 'san-thang-01', seq: 1, ts: '2026-02-14T05:59:00Z', temperatureC: 24.5, humidityPct: 55, smoke: 120 };
const check = (payload: string | Buffer, t = topic) => validateMessage(t, Buffer.isBuffer(payload) ? payload : Buffer.from(payload), now, site, limits);

it('a valid reading is accepted with its zone and own timestamp', () => {
  const r = check(JSON.stringify(reading));
  expect(r.ok).toBe(true);
  if (r.ok && r.kind === 'reading') {
    expect(r.zoneId).toBe('san-thang');
    expect(r.tsMs).toBe(Date.parse(reading.ts));
  }
  // A late reading (store-and-forward, 3 days old) keeps its own time.
  const late = check(JSON.stringify({ ...reading, ts: '2026-02-11T06:00:00Z' }));
  expect(late.ok && late.kind === 'reading' && late.tsMs).toBe(Date.parse('2026-02-11T06:00:00Z'));
});

it('each kind of bad input is refused with a clear reason code', () => {
  const cases: [string | Buffer, string, RegExp, string?][] = [
    ['{"nodeId": "san-thang-01", ', 'malformed-json', /malformed JSON/],
    ['{"temperatureC": NaN}', 'malformed-json', /malformed JSON/],
    [JSON.stringify({ ...reading, smoke: undefined }), 'schema', /smoke: Invalid input: expected number/],
    [JSON.stringify({ ...reading, temperatureC: '24.5' }), 'schema', /temperatureC/],
    [JSON.stringify(reading).replace('24.5', '1e999'), 'schema', /temperatureC/], // JSON.parse gives Infinity
    [JSON.stringify({ ...reading, humidityPct: 150 }), 'schema', /humidityPct: Too big/],
    [JSON.stringify({ ...reading, temperatureC: -100 }), 'schema', /temperatureC: Too small/],
    [Buffer.alloc(1024 * 1024, 0x61), 'too-large', /1048576 bytes exceeds 4096/],
    [JSON.stringify({ ...reading, ts: '2026-02-15T06:00:00Z' }), 'future-timestamp', /86400 s in the future/],
    [JSON.stringify({ ...reading, ts: '2024-01-01T00:00:00Z' }), 'too-old', /older than 400 days/],
    [JSON.stringify({ ...reading, nodeId: 'san-thang-02' }), 'topic-mismatch', /does not match topic node san-thang-01/],
    [JSON.stringify({ ...reading, nodeId: 'ghost-01' }), 'unknown-node', /not in the site registry/, 'ews/v1/readings/ghost-01'],
    ['{}', 'unknown-topic', /not a reading or status topic/, 'ews/v1/danger/san-thang'],
  ];
  for (const [payload, code, reason, t] of cases) {
    const r = check(payload, t);
    expect(r.ok, `${code}: ${String(payload).slice(0, 60)}`).toBe(false);
    if (!r.ok) {
      expect(r.code, r.reason).toBe(code);
      expect(r.reason).toMatch(reason);
    }
  }
});

it('a status message (the will) is stamped on arrival when it has no time', () => {
  const r = validateMessage('ews/v1/status/san-thang-01', Buffer.from('{"nodeId":"san-thang-01","status":"offline"}'), now, site, limits);
  expect(r.ok && r.kind === 'status' && r.tsMs).toBe(now);
});

it('line protocol keeps the values, tags node and zone, ms time', () => {
  expect(readingLine({ ...reading, rainMm: 0.4, batteryV: 3.91 }, 'san-thang', Date.parse(reading.ts))).toBe('reading,node=san-thang-01,zone=san-thang battery=3.91,humidity=55,rain=0.4,seq=1i,smoke=120,temperature=24.5 1771048740000');
});

it('recent sequence window remembers re-deliveries and forgets beyond its size', () => {
  const recent = new RecentSequences(3);
  for (const s of [1, 2, 3]) recent.remember('n', s, s * 1000);
  expect(recent.has('n', 1, 1000)).toBe(true);
  recent.remember('n', 4, 4000);
  expect(recent.has('n', 1, 1000)).toBe(false);
  expect(recent.has('n', 4, 4000)).toBe(true);
  expect(recent.has('other', 4, 4000)).toBe(false);
  // A rebooted node reuses sequence 2 at a new time: not a duplicate.
  expect(recent.has('n', 2, 99_000)).toBe(false);
});
