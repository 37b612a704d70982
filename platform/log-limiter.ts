// Rate-limited warnings for things a remote party can produce in bulk (dead letters): at most
// `perInterval` lines per key (a reason code) per interval; the rest are counted and reported as one
// summary line per key once their interval is over. Metrics and dead-letter stores still count
// every one; only the log is thinned (500 nodes at 200 msg/s of bad data printed 12,020 lines in 30 s).
import type { Logger } from './logger.ts';

interface Window {
  startMs: number;
  logged: number;
  suppressed: number;
}

export interface LimiterOptions {
  /** Lines let through per key and interval. */
  perInterval: number;
  intervalMs: number;
  /** Distinct keys tracked; more are counted under OVERFLOW_KEY (memory stays bounded). */
  maxKeys?: number;
  now: () => number;
}

export const OVERFLOW_KEY = '(other)';

/** Pure counter per key, on an injected clock. */
export class LogRateLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly maxKeys: number;

  constructor(private readonly opts: LimiterOptions) {
    this.maxKeys = opts.maxKeys ?? 256;
  }

  /**
   * Whether to log this occurrence of `key`; when a new interval starts for the key, also how many
   * of the previous interval were held back (not yet reported by drain()).
   */
  take(rawKey: string): { log: false } | { log: true; suppressedBefore: number } {
    const key = this.windows.has(rawKey) || this.windows.size < this.maxKeys ? rawKey : OVERFLOW_KEY;
    const now = this.opts.now();
    const w = this.windows.get(key);
    if (!w || now - w.startMs >= this.opts.intervalMs) {
      this.windows.set(key, { startMs: now, logged: 1, suppressed: 0 });
      return { log: true, suppressedBefore: w?.suppressed ?? 0 };
    }
    if (w.logged < this.opts.perInterval) {
      w.logged += 1;
      return { log: true, suppressedBefore: 0 };
    }
    w.suppressed += 1;
    return { log: false };
  }

  /** Keys whose interval is over, with what they held back; those keys start afresh. */
  drain(): { key: string; suppressed: number }[] {
    const now = this.opts.now();
    const out: { key: string; suppressed: number }[] = [];
    for (const [key, w] of this.windows) {
      if (now - w.startMs < this.opts.intervalMs) continue;
      this.windows.delete(key);
      if (w.suppressed > 0) out.push({ key, suppressed: w.suppressed });
    }
    return out;
  }

  /** Everything held back so far, whether or not its interval is over (at shutdown). */
  drainAll(): { key: string; suppressed: number }[] {
    const out = [...this.windows].filter(([, w]) => w.suppressed > 0).map(([key, w]) => ({ key, suppressed: w.suppressed }));
    this.windows.clear();
    return out;
  }
}

/** Dead-letter logging: 5 lines per reason per 10 s, then one summary per reason. */
export const DEAD_LETTER_LOG = { perInterval: 5, intervalMs: 10_000 } as const;

export interface RateLimitedWarn {
  /** A warn line with `fields` and `code`, unless `code` has had its share this interval. */
  warn(code: string, fields: Record<string, unknown>): void;
  /** Reports what is still held back and stops the summary timer. */
  close(): void;
}

/**
 * `log.warn(…, message)` limited per code on the wall clock (how fast lines scroll past an operator
 * is a wall-clock matter, whatever the pipeline's clock).
 */
export function rateLimitedWarn(log: Logger, message: string, opts: { perInterval: number; intervalMs: number } = DEAD_LETTER_LOG, now: () => number = Date.now): RateLimitedWarn {
  const limiter = new LogRateLimiter({ ...opts, now });
  const intervalS = opts.intervalMs / 1000;
  const summarize = (held: { key: string; suppressed: number }[]) => {
    for (const { key, suppressed } of held) log.warn({ code: key, suppressed, intervalS }, `${message}: ${suppressed} more with this code not logged one by one (metrics count every one)`);
  };
  const timer = setInterval(() => summarize(limiter.drain()), opts.intervalMs);
  timer.unref();
  return {
    warn(code, fields) {
      const r = limiter.take(code);
      if (!r.log) return;
      if (r.suppressedBefore > 0) summarize([{ key: code, suppressed: r.suppressedBefore }]);
      log.warn({ ...fields, code }, message);
    },
    close() {
      clearInterval(timer);
      summarize(limiter.drainAll());
    },
  };
}
