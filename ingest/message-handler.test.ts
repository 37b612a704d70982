import { describe, expect, it } from 'vitest';
import { indexSite } from '../contracts/site.ts';
import { topics } from '../contracts/topics.ts';
import { loadSiteFile } from '../platform/site-file.ts';
import { RecentReadings } from './dedupe.ts';
import { decideIngest } from './message-handler.ts';

const site = indexSite(loadSiteFile(new URL('../config/lai-chau.site.yaml', import.meta.url).pathname));
const limits = { maxPayloadBytes: 4096, maxFutureMs: 300_000, maxAgeMs: 400 * 86_400_000 };
const now = Date.parse('2026-02-14T06:00:00Z');
const reading = { nodeId: 'san-thang-01', seq: 1, ts: '2026-02-14T05:59:00Z', temperatureC: 24.5, humidityPct: 55, smoke: 120 };
const decide = (recent: RecentReadings, payload: unknown, topic = topics.reading('san-thang-01')) =>
  decideIngest(topic, Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)), now, site, limits, recent);

describe('decideIngest: what ingest does with one message', () => {
  it('a new reading is stored as its line, at its own time', () => {
    expect(decide(new RecentReadings(), reading)).toStrictEqual({ action: 'store-reading', line: expect.stringMatching(/^reading,node=san-thang-01,zone=san-thang /), tsMs: Date.parse(reading.ts), nodeId: 'san-thang-01' });
  });

  it('the same reading again is skipped; another one at the same time is dead-lettered as duplicate-timestamp', () => {
    const recent = new RecentReadings();
    decide(recent, reading);
    expect(decide(recent, reading)).toStrictEqual({ action: 'skip-duplicate' });
    expect(decide(recent, { ...reading, seq: 2, smoke: 900 })).toMatchObject({
      action: 'dead-letter',
      received: 'reading',
      refused: { code: 'duplicate-timestamp', nodeId: 'san-thang-01', reason: expect.stringMatching(/seq 2 has the time .* of seq 1/) },
    });
  });

  it('after a rolled-back transaction forgets it, the same reading is new again', () => {
    const recent = new RecentReadings();
    const first = decide(recent, reading);
    if (first.action !== 'store-reading') throw new Error('expected a stored reading');
    recent.forget(first.nodeId, first.tsMs);
    expect(decide(recent, reading)).toMatchObject({ action: 'store-reading' });
  });

  it('a status is stored as a node_status line, stamped on arrival when it has no time', () => {
    expect(decide(new RecentReadings(), { nodeId: 'san-thang-01', status: 'offline' }, topics.status('san-thang-01'))).toMatchObject({
      action: 'store-status',
      tsMs: now,
      zoneId: 'san-thang',
      line: expect.stringMatching(/^node_status,node=san-thang-01,zone=san-thang online=false/),
    });
  });

  it.each([
    ['malformed-json', '{"nodeId":', topics.reading('san-thang-01')],
    ['unknown-node', { ...reading, nodeId: 'ghost-01' }, topics.reading('ghost-01')],
    ['future-timestamp', { ...reading, ts: '2026-02-15T06:00:00Z' }, topics.reading('san-thang-01')],
  ])('bad input is dead-lettered with its code: %s', (code, payload, topic) => {
    const recent = new RecentReadings();
    expect(decide(recent, payload, topic)).toMatchObject({ action: 'dead-letter', received: 'invalid', refused: { code } });
    expect(recent.nodeCount, 'nothing remembered of it').toBe(0);
  });
});
