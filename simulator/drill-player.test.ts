import { describe, expect, it, vi } from 'vitest';
import { FetchError } from '../platform/fetch-json.ts';
import { drillRequestSchema, type DrillRequestMessage } from '../contracts/alerts-api.ts';
import { decideDrillRequest, MAX_PLUMES, parseDrillRequest, REQUEST_MAX_AGE_MS, retryTransient } from './drill-player.ts';

const T = Date.parse('2027-01-04T01:30:00Z');
const request = (over: Partial<DrillRequestMessage> = {}): DrillRequestMessage => drillRequestSchema.parse({ drillId: 'san-thang-20270104-0130-abcd', zoneId: 'san-thang', requestedAt: T, startedBy: 'schedule', ...over });
const idle = { seen: new Set<string>(), playing: new Map<string, string>() };

describe('a sensor drill request: play or refuse', () => {
  it('a fresh request for an idle zone plays', () => {
    expect(decideDrillRequest(request(), T + 5_000, idle)).toStrictEqual({ action: 'play' });
  });
  it.each([
    { name: 'older than the bound', at: T + REQUEST_MAX_AGE_MS + 1, outcome: 'stale' },
    { name: 'exactly at the bound', at: T + REQUEST_MAX_AGE_MS, outcome: null },
    { name: 'stamped 2 minutes ahead', at: T - 120_000, outcome: 'stale' },
  ])('$name → $outcome', ({ at, outcome }) => {
    const d = decideDrillRequest(request(), at, idle);
    expect(d.action === 'refuse' ? d.outcome : null).toBe(outcome);
  });
  it('a request id taken already (a redelivery) is not played twice', () => {
    const d = decideDrillRequest(request(), T, { seen: new Set(['san-thang-20270104-0130-abcd']), playing: new Map() });
    expect(d).toMatchObject({ action: 'refuse', outcome: 'duplicate' });
  });
  it('one plume at a time per zone, and at most MAX_PLUMES in all', () => {
    expect(decideDrillRequest(request(), T, { seen: new Set(), playing: new Map([['san-thang', 'san-thang-x']]) })).toStrictEqual({ action: 'refuse', outcome: 'zone-busy', reason: 'the plume of drill san-thang-x is still playing in san-thang' });
    const full = new Map(Array.from({ length: MAX_PLUMES }, (_, i) => [`zone-${i}`, `d-${i}`] as const));
    expect(decideDrillRequest(request(), T, { seen: new Set(), playing: full })).toMatchObject({ action: 'refuse', outcome: 'too-many' });
  });
});

describe('a request message', () => {
  const payload = (v: unknown) => Buffer.from(JSON.stringify(v));
  it('parses with its defaults (real time, sent)', () => {
    const r = parseDrillRequest('ews/v1/drill/requests/san-thang', payload({ drillId: 'd-1', zoneId: 'san-thang', requestedAt: T, startedBy: 'Lò Văn A (m01)' }));
    expect(r).toStrictEqual({ ok: true, request: { drillId: 'd-1', zoneId: 'san-thang', requestedAt: T, startedBy: 'Lò Văn A (m01)', speed: 1, dryRun: false } });
  });
  it.each([
    { name: 'another topic', topic: 'ews/v1/drill/readings/san-thang-01', body: payload(request()), reason: 'not a drill request topic' },
    { name: 'not JSON', topic: 'ews/v1/drill/requests/san-thang', body: Buffer.from('{'), reason: 'not JSON' },
    { name: 'an unknown field', topic: 'ews/v1/drill/requests/san-thang', body: payload({ ...request(), plume: {} }), reason: 'Unrecognized key' },
    { name: 'speed below 1', topic: 'ews/v1/drill/requests/san-thang', body: payload({ ...request(), speed: 0.5 }), reason: 'speed' },
    { name: 'a drill id too long for its alert\'s topic', topic: 'ews/v1/drill/requests/san-thang', body: payload({ ...request(), drillId: 'x'.repeat(58) }), reason: 'at most 57 characters' },
    { name: 'a bad audience', topic: 'ews/v1/drill/requests/san-thang', body: payload({ ...request(), audience: ['everyone'] }), reason: 'audience' },
    { name: 'topic and payload zones differ', topic: 'ews/v1/drill/requests/nam-loong', body: payload(request()), reason: 'topic zone nam-loong and payload zone san-thang differ' },
  ])('refuses $name with a reason', ({ topic, body, reason }) => {
    const r = parseDrillRequest(topic, body);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.reason).toContain(reason);
  });
});

describe('asking the alerts API again', () => {
  const sleep = vi.fn(async () => {});
  it.each([
    { name: 'unreachable, then up', errors: [new FetchError('POST /api/drills: ECONNREFUSED')], calls: 2, result: 'ok' },
    { name: '503 twice, then up', errors: [new FetchError('HTTP 503', 503), new FetchError('HTTP 503', 503)], calls: 3, result: 'ok' },
    { name: 'a 409 (the drill exists): final', errors: [new FetchError('HTTP 409', 409)], calls: 1, result: 'HTTP 409' },
    { name: 'a 422: final', errors: [new FetchError('HTTP 422', 422)], calls: 1, result: 'HTTP 422' },
    { name: 'a plan error: final', errors: [new Error('zone x has no sensor nodes')], calls: 1, result: 'zone x has no sensor nodes' },
    { name: 'down longer than the delays', errors: [1, 2, 3].map(() => new FetchError('no answer')), calls: 3, result: 'no answer' },
  ])('$name → $calls calls, $result', async ({ errors, calls, result }) => {
    const queue = [...errors];
    const attempt = vi.fn(async () => {
      const e = queue.shift();
      if (e) throw e;
      return 'ok';
    });
    const outcome = await retryTransient(attempt, { delaysMs: [10, 20], sleep }).catch((err: Error) => err.message);
    expect(outcome).toBe(result);
    expect(attempt).toHaveBeenCalledTimes(calls);
  });
  it('never again once canRetry says no (the drill was recorded: a plume failure is not the API\'s)', async () => {
    const attempt = vi.fn(async () => {
      throw new FetchError('no answer');
    });
    await expect(retryTransient(attempt, { delaysMs: [10, 20], canRetry: () => false, sleep })).rejects.toThrow('no answer');
    expect(attempt).toHaveBeenCalledOnce();
  });
});
