// The loop every service runs between its SQLite spool and InfluxDB: write a batch, again at once
// while there is more, pause when the spool is empty, and back off (exponential, full jitter,
// 0.5 → 30 s) while InfluxDB fails, so a struggling server is not hammered and nothing is dropped.
import { writeIsolatingRefused, type LineWriter } from './influx-writer.ts';
import type { Logger } from './logger.ts';

/** 'wrote': a batch left the spool (written, or refused for its content and kept); 'empty': nothing to write. */
export type DrainOutcome = 'wrote' | 'empty';

export interface SpoolDrainOptions {
  /** One batch. Throws on a transient failure: the rows stay in the spool and are retried. */
  step: () => Promise<DrainOutcome>;
  /** Pause when the spool is empty (or after a batch that leaves too little for another). */
  idleMs: number;
  /** After a batch: go again at once? Default yes (ingest waits for a full batch). */
  continueAfterWrite?: () => boolean;
  log: Logger;
  /** What the failure log says stays behind. */
  what: string;
  /** Extra log fields (spool depth). */
  describe?: () => Record<string, unknown>;
}

export class SpoolDrain {
  #failing = false;
  #failingSince: number | null = null;
  #backoffMs = 0;
  #running = false;
  #wake: (() => void) | undefined;
  #loop: Promise<void> = Promise.resolve();
  /** Steps run one at a time, whether from the loop or from flush(). */
  #chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: SpoolDrainOptions) {}

  /** True while writes fail: callers then leave the backoff alone instead of waking the loop. */
  /** When the current run of failed writes began (epoch ms); null while writes succeed. */
  get failingSince(): number | null {
    return this.#failingSince;
  }

  get failing(): boolean {
    return this.#failing;
  }

  start(): this {
    this.#running = true;
    this.#loop = this.#run();
    return this;
  }

  /** Cuts a pause short (new rows, shutdown). */
  wake(): void {
    this.#wake?.();
  }

  /** Writes everything spooled now (shutdown, tests): true once the spool is empty, false if a write failed. */
  async flush(): Promise<boolean> {
    for (;;) {
      const outcome = await this.#attempt();
      if (outcome === 'failed') return false;
      if (outcome === 'empty') return true;
    }
  }

  /** Stops the loop after the batch in hand. */
  async stop(): Promise<void> {
    this.#running = false;
    this.wake();
    await this.#loop;
  }

  async #attempt(): Promise<DrainOutcome | 'failed'> {
    const step = this.#chain.then(this.opts.step);
    this.#chain = step.catch(() => undefined);
    try {
      const outcome = await step;
      if (this.#failing) this.opts.log.info(this.opts.describe?.() ?? {}, 'InfluxDB writes succeed again; draining the spool');
      this.#failing = false;
      this.#failingSince = null;
      this.#backoffMs = 0;
      return outcome;
    } catch (err) {
      if (!this.#failing) this.opts.log.error({ err: err instanceof Error ? err.message : String(err), ...this.opts.describe?.() }, `InfluxDB write failed; ${this.opts.what} stay in the spool and are retried`);
      this.#failing = true;
      this.#failingSince ??= Date.now();
      this.#backoffMs = Math.min(30_000, Math.max(500, this.#backoffMs * 2));
      return 'failed';
    }
  }

  async #run(): Promise<void> {
    while (this.#running) {
      const outcome = await this.#attempt();
      if (!this.#running) break;
      if (outcome === 'wrote' && (this.opts.continueAfterWrite?.() ?? true)) continue;
      await this.#pause(outcome === 'failed' ? Math.random() * this.#backoffMs + 100 : this.opts.idleMs);
    }
  }

  #pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    }).finally(() => {
      this.#wake = undefined;
    });
  }
}

/** A spool the drain step reads: oldest rows first; settle = refused lines kept in the refused table, the batch released. */
export interface DrainableSpool<R extends { line: string }> {
  peek(limit: number): R[];
  settle(rows: readonly R[], refused: readonly { index: number; error: string }[]): void;
}

/**
 * The one drain step of every service: peek a batch, write it (a line InfluxDB refuses for its
 * content is isolated by halving, platform/influx-writer.ts), settle it (refused lines kept in the
 * spool's refused table with the error, the batch released). Throws on a transient failure: the
 * rows stay and SpoolDrain retries with backoff. `rows` is empty when there was nothing to write.
 */
export async function writeSpoolBatch<R extends { line: string }>(
  spool: DrainableSpool<R>,
  writer: LineWriter,
  batch: number,
  log: Logger,
  refusedTable: string,
): Promise<{ outcome: DrainOutcome; rows: R[]; refused: number }> {
  const rows = spool.peek(batch);
  if (rows.length === 0) return { outcome: 'empty', rows, refused: 0 };
  const refused = await writeIsolatingRefused(writer, rows.map((r) => r.line));
  spool.settle(rows, refused);
  if (refused.length > 0) {
    log.error({ refused: refused.length, of: rows.length, err: refused[0]?.error, line: rows[refused[0]?.index ?? 0]?.line.slice(0, 200) }, `InfluxDB refused lines for their content; kept in ${refusedTable}, the rest of the batch written`);
  }
  return { outcome: 'wrote', rows, refused: refused.length };
}
