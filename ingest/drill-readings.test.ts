import { describe, expect, it } from 'vitest';
import { indexSite } from '../contracts/site.ts';
import { loadSiteFile } from '../platform/site-file.ts';
import { isDrillReadingTopic, validateDrillReading } from './drill-readings.ts';
import { validateMessage } from './validate.ts';

const site = indexSite(loadSiteFile(new URL('../config/lai-chau.site.yaml', import.meta.url).pathname));
const limits = { maxPayloadBytes: 4096, maxFutureMs: 300_000, maxAgeMs: 400 * 86_400_000 };
const now = Date.parse('2026-02-14T06:00:00Z');
const topic = 'ews/v1/drill/readings/san-thang-07';
const drill = { id: 'san-thang-20260214-0550-abcd', depth: 'sensor' };
const reading = { nodeId: 'san-thang-07', seq: 3, ts: '2026-02-14T05:59:00Z', temperatureC: 24.5, humidityPct: 55, smoke: 1200.5, drill };
const check = (payload: unknown, t = topic) => validateDrillReading(t, Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)), now, site, limits);

describe('sensor drill readings in ingest', () => {
  it('a drill reading becomes a drill_reading point tagged with its drill, never a reading point', () => {
    expect(check(reading)).toStrictEqual({
      ok: true,
      drillId: drill.id,
      tsMs: Date.parse(reading.ts),
      line: `drill_reading,drill=${drill.id},node=san-thang-07,zone=san-thang humidity=55.0,seq=3i,smoke=1200.5,temperature=24.5 ${Date.parse(reading.ts)}`,
    });
    expect(isDrillReadingTopic(topic)).toBe(true);
    expect(isDrillReadingTopic('ews/v1/readings/san-thang-07')).toBe(false);
  });

  it.each<{ name: string; payload: unknown; code: string; reason: RegExp; topic?: string }>([
    { name: 'no drill mark', payload: { ...reading, drill: undefined }, code: 'schema', reason: /^drill: Invalid input/ },
    { name: 'an alert-drill mark', payload: { ...reading, drill: { ...drill, depth: 'alert' } }, code: 'schema', reason: /depth must be sensor/ },
    { name: 'not JSON', payload: '{"nodeId":', code: 'malformed-json', reason: /malformed JSON/ },
    { name: "another node's id", payload: { ...reading, nodeId: 'san-thang-02' }, code: 'topic-mismatch', reason: /does not match topic node san-thang-07/ },
    { name: 'a node not in the registry', payload: { ...reading, nodeId: 'ghost-01' }, code: 'unknown-node', reason: /not in the site registry/, topic: 'ews/v1/drill/readings/ghost-01' },
    { name: 'a day in the future', payload: { ...reading, ts: '2026-02-15T06:00:00Z' }, code: 'future-timestamp', reason: /in the future/ },
    { name: 'humidity 150 %', payload: { ...reading, humidityPct: 150 }, code: 'schema', reason: /humidityPct: Too big/ },
    { name: 'a 5 kB payload', payload: { ...reading, pad: 'x'.repeat(5000) }, code: 'too-large', reason: /exceeds 4096/ },
    { name: 'a real readings topic', payload: reading, code: 'unknown-topic', reason: /not a drill reading topic/, topic: 'ews/v1/readings/san-thang-07' },
  ])('$name → $code', ({ payload, code, reason, topic: t }) => {
    expect(check(payload, t)).toMatchObject({ ok: false, code, reason: expect.stringMatching(reason) });
  });

  it('the same reading with its drill mark on the real readings topic is dead-lettered by the strict real schema', () => {
    const real = validateMessage('ews/v1/readings/san-thang-07', Buffer.from(JSON.stringify(reading)), now, site, limits);
    expect(real).toMatchObject({ ok: false, code: 'schema', reason: expect.stringMatching(/Unrecognized key: "drill"/) });
  });
});
