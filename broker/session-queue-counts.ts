// The per-client cap on stored QoS 1 messages, shared by the session store and the old store kept
// for comparison: how many messages each persistent session holds (queued offline or awaiting PUBACK).
import type { WriteCombiningLevel } from './write-combining-level.ts';

const OUTGOING_PREFIX = 'outgoing:';

/** The key prefix of a client's queued messages (aedes-persistence-level's layout). */
export function outgoingClientPrefix(clientId: string): string {
  return `${OUTGOING_PREFIX}${encodeURIComponent(clientId)}:`;
}

/** Exactly this client's queued-message keys: ':' → ';' is the next byte (the library's own trick). */
export function outgoingRange(clientId: string) {
  const prefix = outgoingClientPrefix(clientId);
  return { gte: prefix, lt: `${prefix.slice(0, -1)};` };
}

export class SessionQueueCounts {
  readonly #counts = new Map<string, Promise<number> | number>();

  constructor(private readonly db: WriteCombiningLevel) {}

  /** Messages currently stored for a client, counted on disk once and then kept up to date. */
  async queuedFor(clientId: string): Promise<number> {
    const known = this.#counts.get(clientId);
    if (known !== undefined) return known;
    const counting = (async () => {
      let n = 0;
      for await (const _key of this.db.keys(outgoingRange(clientId))) n += 1;
      this.#counts.set(clientId, n);
      return n;
    })();
    this.#counts.set(clientId, counting);
    return counting;
  }

  /** Forget the cached count (the broker calls this when a client connects, as sessions may be cleaned). */
  forget(clientId: string): void {
    this.#counts.delete(clientId);
  }

  /**
   * Takes a place in the client's queue, or gives the count when it is full. Enqueues for one client
   * run concurrently: the check and the increment happen in one synchronous step once the count is
   * known (reading the awaited value let every enqueue waiting on the first count pass the cap).
   */
  async take(clientId: string, limit: number): Promise<{ taken: true } | { taken: false; queued: number }> {
    let queued = this.#counts.get(clientId);
    while (typeof queued !== 'number') {
      await this.queuedFor(clientId);
      queued = this.#counts.get(clientId);
    }
    if (queued >= limit) return { taken: false, queued };
    this.#counts.set(clientId, queued + 1);
    return { taken: true };
  }

  /** A message left the client's queue (acknowledged). */
  release(clientId: string): void {
    const n = this.#counts.get(clientId);
    if (typeof n === 'number') this.#counts.set(clientId, Math.max(0, n - 1));
  }

  /** Stored messages per known client (for the queue-depth gauge). */
  known(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [k, v] of this.#counts) if (typeof v === 'number') out.set(k, v);
    return out;
  }
}
