// aedes-persistence-level keeps every QoS 1 message for an offline persistent session, without a
// limit. A consumer that never returns would fill the disk, so we cap the queue per client and
// count (and log) what the cap refuses.
import AsyncLevelPersistence, { type PersistedPacket, type QueuedSubscription } from 'aedes-persistence-level/asyncPersistence.js';
import type { Level } from 'level';
import { WriteCombiningLevel } from './write-combining-level.ts';

const OUTGOING_PREFIX = 'outgoing:';

function outgoingRange(clientId: string) {
  const prefix = `${OUTGOING_PREFIX}${encodeURIComponent(clientId)}:`;
  // ':' → ';' is the next byte: the range covers exactly this client's keys (same trick as the library).
  return { gte: prefix, lt: `${prefix.slice(0, -1)};` };
}

export class BoundedLevelPersistence extends AsyncLevelPersistence {
  readonly #db: WriteCombiningLevel;
  readonly #counts = new Map<string, Promise<number> | number>();

  constructor(
    db: Level<string, Buffer>,
    readonly queueLimit: number,
    private readonly onDrop: (clientId: string, topic: string, queued: number) => void,
  ) {
    const combined = new WriteCombiningLevel(db);
    super(combined as never);
    this.#db = combined;
  }

  /** Messages currently stored for a client (queued offline or awaiting PUBACK). */
  async queuedFor(clientId: string): Promise<number> {
    const known = this.#counts.get(clientId);
    if (known !== undefined) return known;
    const counting = (async () => {
      let n = 0;
      for await (const _key of this.#db.keys(outgoingRange(clientId))) n += 1;
      this.#counts.set(clientId, n);
      return n;
    })();
    this.#counts.set(clientId, counting);
    return counting;
  }

  /** Forget the cached count (the broker calls this when a client connects, as sessions may be cleaned). */
  recount(clientId: string): void {
    this.#counts.delete(clientId);
  }

  override async outgoingEnqueue(sub: QueuedSubscription, packet: PersistedPacket): Promise<void> {
    // aedes acknowledges a publish before it is stored, so enqueues for one client run concurrently.
    // The check and the increment must happen in one synchronous step after the count is known;
    // reading the awaited value instead let every enqueue waiting on the first count pass the cap.
    let queued = this.#counts.get(sub.clientId);
    while (typeof queued !== 'number') {
      await this.queuedFor(sub.clientId);
      queued = this.#counts.get(sub.clientId);
    }
    if (queued >= this.queueLimit) {
      this.onDrop(sub.clientId, packet.topic, queued);
      return;
    }
    this.#counts.set(sub.clientId, queued + 1);
    await super.outgoingEnqueue(sub, packet);
  }

  override async outgoingClearMessageId(client: { id: string }, packet: { messageId?: number }): Promise<PersistedPacket | undefined> {
    const cleared = await super.outgoingClearMessageId(client, packet);
    if (cleared) {
      const n = this.#counts.get(client.id);
      if (typeof n === 'number') this.#counts.set(client.id, Math.max(0, n - 1));
    }
    return cleared;
  }

  /** Total stored for all known clients (for the queue-depth gauge). */
  knownQueueDepths(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [k, v] of this.#counts) if (typeof v === 'number') out.set(k, v);
    return out;
  }
}
