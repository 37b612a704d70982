import { describe, expect, it } from 'vitest';
import { LogRateLimiter, OVERFLOW_KEY, rateLimitedWarn } from './log-limiter.ts';
import { createLogger } from './logger.ts';

function clock(start = 0) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('LogRateLimiter', () => {
  it('lets perInterval lines through per key, counts the rest, and reports them when the key starts again', () => {
    const c = clock();
    const limiter = new LogRateLimiter({ perInterval: 3, intervalMs: 10_000, now: c.now });
    const first = Array.from({ length: 1000 }, () => limiter.take('bad-json'));
    expect(first.filter((r) => r.log)).toHaveLength(3);
    expect(limiter.take('too-large')).toStrictEqual({ log: true, suppressedBefore: 0 });
    c.advance(10_000);
    expect(limiter.take('bad-json')).toStrictEqual({ log: true, suppressedBefore: 997 });
    expect(limiter.take('bad-json')).toStrictEqual({ log: true, suppressedBefore: 0 });
  });

  it('drain reports each ended interval once, and only those with lines held back', () => {
    const c = clock();
    const limiter = new LogRateLimiter({ perInterval: 1, intervalMs: 1000, now: c.now });
    limiter.take('a');
    limiter.take('a');
    limiter.take('b');
    expect(limiter.drain()).toStrictEqual([]);
    c.advance(999);
    expect(limiter.drain()).toStrictEqual([]);
    c.advance(1);
    expect(limiter.drain()).toStrictEqual([{ key: 'a', suppressed: 1 }]);
    expect(limiter.drain()).toStrictEqual([]);
    expect(limiter.take('a')).toStrictEqual({ log: true, suppressedBefore: 0 });
  });

  it('tracks at most maxKeys keys; the rest share one', () => {
    const c = clock();
    const limiter = new LogRateLimiter({ perInterval: 1, intervalMs: 1000, maxKeys: 2, now: c.now });
    for (let i = 0; i < 1000; i++) limiter.take(`k${i}`);
    c.advance(1000);
    expect(limiter.drain()).toStrictEqual([{ key: OVERFLOW_KEY, suppressed: 997 }]);
  });
});

describe('rateLimitedWarn', () => {
  it('writes at most perInterval lines per code, then one summary with the count', () => {
    const lines: Record<string, unknown>[] = [];
    const log = createLogger('test', 'info', { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
    const c = clock();
    const warn = rateLimitedWarn(log, 'message dead-lettered', { perInterval: 5, intervalMs: 10_000 }, c.now);
    for (let i = 0; i < 6000; i++) warn.warn(i % 2 ? 'invalid-json' : 'schema', { nodeId: `n${i}` });
    expect(lines).toHaveLength(10);
    expect(lines.every((l) => l.msg === 'message dead-lettered')).toBe(true);
    c.advance(10_000);
    warn.warn('schema', { nodeId: 'late' });
    expect(lines.slice(10).map((l) => [l.code, l.suppressed ?? null, l.nodeId ?? null])).toStrictEqual([
      ['schema', 2995, null],
      ['schema', null, 'late'],
    ]);
    warn.close();
    expect(lines.slice(12).map((l) => [l.code, l.suppressed])).toStrictEqual([['invalid-json', 2995]]);
  });
});
