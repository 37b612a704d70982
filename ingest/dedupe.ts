/**
 * Remembers the last `window` readings per node by observation time: what each carried (its
 * sequence and values). An InfluxDB point is identified by node, zone and time, so a second reading
 * with the same time would overwrite the first silently:
 *  - the same reading again (an MQTT re-delivery, a node resending) is a `duplicate`: not rewritten;
 *  - a different reading with the same time (a stuck clock, a node rebooted with its clock reset)
 *    is a `conflict`: ingest dead-letters it and keeps the first.
 * Memory: `window` entries per node, and only nodes of the site registry get here.
 * After an ingest restart the memory is empty; a re-delivered reading then rewrites the same point.
 */
export type Seen = 'new' | 'duplicate' | { conflictWithSeq: number };

export class RecentReadings {
  private readonly seen = new Map<string, Map<number, { seq: number; fingerprint: string }>>();
  constructor(private readonly window = 2048) {}

  /** Classifies a reading and remembers it when it is new. */
  check(nodeId: string, tsMs: number, seq: number, fingerprint: string): Seen {
    let byTime = this.seen.get(nodeId);
    if (!byTime) {
      byTime = new Map();
      this.seen.set(nodeId, byTime);
    }
    const earlier = byTime.get(tsMs);
    if (earlier) return earlier.seq === seq && earlier.fingerprint === fingerprint ? 'duplicate' : { conflictWithSeq: earlier.seq };
    byTime.set(tsMs, { seq, fingerprint });
    if (byTime.size > this.window) {
      // Maps iterate in insertion order: forget the oldest.
      const oldest = byTime.keys().next().value;
      if (oldest !== undefined) byTime.delete(oldest);
    }
    return 'new';
  }
}
