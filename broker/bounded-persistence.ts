// aedes-persistence-level keeps every QoS 1 message for an offline persistent session, without a
// limit. A consumer that never returns would fill the disk, so we cap the queue per client and
// count (and log) what the cap refuses.
import AsyncLevelPersistence, { type PersistedPacket, type QueuedSubscription } from 'aedes-persistence-level/asyncPersistence.js';
import type { Level } from 'level';
import { WriteCombiningLevel } from './write-combining-level.ts';
import { SessionQueueCounts } from './session-queue-counts.ts';

export class BoundedLevelPersistence extends AsyncLevelPersistence {
  readonly #counts: SessionQueueCounts;

  constructor(
    db: Level<string, Buffer>,
    readonly queueLimit: number,
    private readonly onDrop: (clientId: string, topic: string, queued: number) => void,
  ) {
    const combined = new WriteCombiningLevel(db);
    super(combined as never);
    this.#counts = new SessionQueueCounts(combined);
  }

  /** Messages currently stored for a client (queued offline or awaiting PUBACK). */
  queuedFor(clientId: string): Promise<number> {
    return this.#counts.queuedFor(clientId);
  }

  /** Forget the cached count (the broker calls this when a client connects, as sessions may be cleaned). */
  recount(clientId: string): void {
    this.#counts.forget(clientId);
  }

  override async outgoingEnqueue(sub: QueuedSubscription, packet: PersistedPacket): Promise<void> {
    const place = await this.#counts.take(sub.clientId, this.queueLimit);
    if (!place.taken) {
      this.onDrop(sub.clientId, packet.topic, place.queued);
      return;
    }
    await super.outgoingEnqueue(sub, packet);
  }

  override async outgoingClearMessageId(client: { id: string }, packet: { messageId?: number }): Promise<PersistedPacket | undefined> {
    const cleared = await super.outgoingClearMessageId(client, packet);
    if (cleared) this.#counts.release(client.id);
    return cleared;
  }

  /** Total stored for all known clients (for the queue-depth gauge). */
  knownQueueDepths(): Map<string, number> {
    return this.#counts.known();
  }
}
