// The broker's session store: aedes-persistence-level for subscriptions, retained messages, wills
// and QoS 2 state, with the QoS 1 outgoing queue done more cheaply.
//
// Upstream stores each message for a persistent session five times over (enqueue; on delivery a
// read plus two writes to record the packet id; on PUBACK a read and two deletes), each value a
// msgpack-lite round trip. We measured that as most of the broker's CPU (bench/broker-alone.ts).
// Two modes. The default (inflightInMemory: false) keeps upstream's operations with msgpackr values.
// With packet ids in memory (not the default yet: broker/README.md) a message is written once, when it is queued — before the publisher's PUBACK, so
// "acknowledged ⇒ on disk" holds as before — and deleted once, on the subscriber's PUBACK. The
// packet id given on delivery lives in memory (up to 10,000 per subscriber; past that, and for QoS 2,
// on disk as upstream does): after a broker crash the record is still on disk and is delivered again
// with a fresh packet id (at least once; our consumers are idempotent).
// Values are encoded with msgpackr, standard MessagePack that any decoder (msgpack-lite too) reads.
import AsyncLevelPersistence, { type PersistedPacket, type QueuedSubscription } from 'aedes-persistence-level/asyncPersistence.js';
import type { Level } from 'level';
import { Packr } from 'msgpackr';
import { Readable } from 'node:stream';
import { WriteCombiningLevel } from './write-combining-level.ts';
import { outgoingClientPrefix as clientPrefix, outgoingRange, SessionQueueCounts } from './session-queue-counts.ts';

const OUTGOING_ID_PREFIX = 'outgoing-id:';
// undefined as nil, like msgpack-lite: the records stay readable by the upstream layer.
const packr = new Packr({ useRecords: false, encodeUndefinedAsNil: true });

// The same key layout as aedes-persistence-level, so sessions stored by either are read by both.
const padId = (id: number | undefined) => String(id).padStart(16, '0');
const outgoingKey = (clientId: string, brokerId: string | undefined, brokerCounter: number | undefined) => `${clientPrefix(clientId)}${brokerId}:${padId(brokerCounter)}`;
const outgoingByIdKey = (clientId: string, messageId: number | undefined) => `${OUTGOING_ID_PREFIX}${encodeURIComponent(clientId)}:${padId(messageId)}`;

type OutgoingPacket = PersistedPacket & { cmd?: string; messageId?: number | null; payload?: Buffer; qos?: number; retain?: boolean; dup?: boolean };
/** A delivered, not yet acknowledged message: its queue record and the packet as sent. */
type Inflight = { key: string; packet: OutgoingPacket };
type BatchOp = { type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string };

/** The fields aedes-packet stores; a live packet also carries callbacks and the client. */
function slim(packet: OutgoingPacket): OutgoingPacket {
  const out: Record<string, unknown> = {};
  for (const field of ['clientId', 'nl', 'cmd', 'brokerId', 'brokerCounter', 'topic', 'payload', 'qos', 'retain', 'dup', 'messageId'] as const) {
    if (Object.hasOwn(packet, field)) out[field] = (packet as unknown as Record<string, unknown>)[field];
  }
  return out as unknown as OutgoingPacket;
}

export interface SessionStoreOptions {
  queueLimit: number;
  onDrop: (clientId: string, topic: string, queued: number) => void;
  /** true (this class's default): packet ids in memory; false: on disk as upstream does — the broker's default (broker/README.md). */
  inflightInMemory?: boolean;
  /** Packet ids kept in memory per client, at most; past it they are written to disk (upstream's way). */
  inflightMemoryLimit?: number;
}

export class SessionStore extends AsyncLevelPersistence {
  readonly #db: WriteCombiningLevel;
  readonly #counts: SessionQueueCounts;
  /** Per client: packet id → the delivered message; queue key → its packet id. */
  readonly #inflight = new Map<string, { byId: Map<number, Inflight>; idByKey: Map<string, number> }>();
  readonly #inflightInMemory: boolean;
  readonly #inflightMemoryLimit: number;
  readonly queueLimit: number;
  readonly #onDrop: SessionStoreOptions['onDrop'];

  constructor(db: Level<string, Buffer>, opts: SessionStoreOptions) {
    // With packet ids in memory the only read on the hot path is whether a message just queued exists
    // when it is delivered, a few milliseconds later: 10,000 recent keys cover that. Upstream's layout
    // re-reads each message at delivery and at PUBACK: it keeps the 100,000 it was measured with.
    const inMemory = opts.inflightInMemory ?? true;
    const combined = new WriteCombiningLevel(db, inMemory ? 10_000 : 100_000);
    super(combined as never);
    this.#db = combined;
    this.#counts = new SessionQueueCounts(combined);
    this.queueLimit = opts.queueLimit;
    this.#onDrop = opts.onDrop;
    this.#inflightInMemory = opts.inflightInMemory ?? true;
    // 10,000 × (the packet ≈ 200–400 bytes + two map entries) ≈ 5 MB per subscriber at most.
    this.#inflightMemoryLimit = opts.inflightMemoryLimit ?? 10_000;
  }

  /** Messages currently stored for a client (queued offline or awaiting PUBACK). */
  queuedFor(clientId: string): Promise<number> {
    return this.#counts.queuedFor(clientId);
  }

  /** Forget the cached count (the broker calls this when a client connects, as sessions may be cleaned). */
  recount(clientId: string): void {
    this.#counts.forget(clientId);
  }

  /** Stored messages per known client (for the queue-depth gauge). */
  knownQueueDepths(): Map<string, number> {
    return this.#counts.known();
  }

  #inflightOf(clientId: string) {
    let entry = this.#inflight.get(clientId);
    if (!entry) {
      entry = { byId: new Map(), idByKey: new Map() };
      this.#inflight.set(clientId, entry);
    }
    return entry;
  }

  override async outgoingEnqueue(sub: QueuedSubscription, packet: PersistedPacket): Promise<void> {
    const place = await this.#counts.take(sub.clientId, this.queueLimit);
    if (!place.taken) {
      this.#onDrop(sub.clientId, packet.topic, place.queued);
      return;
    }
    // What aedes-packet's constructor keeps (upstream stores `new Packet(packet)`).
    const p = packet as OutgoingPacket;
    const record: OutgoingPacket = {
      ...(Object.hasOwn(p, 'clientId') ? { clientId: (p as { clientId?: string }).clientId } : {}),
      ...(Object.hasOwn(p, 'nl') ? { nl: (p as { nl?: boolean }).nl } : {}),
      cmd: p.cmd || 'publish',
      brokerId: p.brokerId,
      brokerCounter: p.brokerCounter,
      topic: p.topic,
      payload: p.payload || Buffer.alloc(0),
      qos: p.qos || 0,
      retain: p.retain || false,
      dup: p.dup || false,
    };
    if ((record.qos ?? 0) > 0 || record.cmd !== 'publish') record.messageId = undefined;
    await this.#db.put(outgoingKey(sub.clientId, packet.brokerId, packet.brokerCounter), packr.pack(record));
  }

  override async outgoingUpdate(client: { id: string }, packet: PersistedPacket): Promise<void> {
    const p = packet as OutgoingPacket;
    const mine = this.#inflightOf(client.id);
    if (!p.brokerId) {
      // A PUBREL (QoS 2) names only its packet id: find the message it continues.
      const known = mine.byId.get(p.messageId ?? -1);
      const found = known?.packet ?? (await this.#decodedAt(outgoingByIdKey(client.id, p.messageId ?? undefined)));
      if (!found) throw new Error('no such packet');
      p.brokerId = found.brokerId;
      p.brokerCounter = found.brokerCounter;
    }
    const key = outgoingKey(client.id, p.brokerId, p.brokerCounter);
    const id = p.messageId ?? 0;
    const previousId = mine.idByKey.get(key);
    if (previousId !== undefined) {
      // Delivered again (a reconnect): a fresh mapping is made below, in memory or on disk.
      if (mine.byId.get(previousId)?.key === key) mine.byId.delete(previousId);
      mine.idByKey.delete(key);
    }
    if (this.#inflightInMemory && p.cmd === 'publish' && mine.byId.size < this.#inflightMemoryLimit) {
      if (previousId === undefined && !(await this.#db.get(key))) throw new Error('no such packet');
      mine.byId.set(id, { key, packet: slim(p) });
      mine.idByKey.set(key, id);
      return;
    }
    // On disk, as upstream: QoS 2's PUBREL must survive a restart, and past the limit the ids of a
    // subscriber that does not acknowledge go to disk rather than fill memory.
    const stored = await this.#decodedAt(key);
    if (!stored) throw new Error('no such packet');
    const encoded = packr.pack(slim(p));
    const ops: BatchOp[] = [];
    if (stored.messageId && stored.messageId !== p.messageId) ops.push({ type: 'del', key: outgoingByIdKey(client.id, stored.messageId) });
    ops.push({ type: 'put', key: outgoingByIdKey(client.id, p.messageId ?? undefined), value: encoded }, { type: 'put', key, value: encoded });
    await this.#db.batch(ops);
  }

  /** Packet ids held in memory for a client (bounded by the in-memory limit). */
  inflightInMemoryFor(clientId: string): number {
    return this.#inflight.get(clientId)?.byId.size ?? 0;
  }

  override async outgoingClearMessageId(client: { id: string }, packet: { messageId?: number }): Promise<PersistedPacket | undefined> {
    const mine = this.#inflight.get(client.id);
    const known = mine?.byId.get(packet.messageId ?? 0);
    let cleared: OutgoingPacket | undefined;
    const ops: { type: 'del'; key: string }[] = [];
    if (known && mine) {
      mine.byId.delete(packet.messageId ?? 0);
      if (mine.idByKey.get(known.key) === packet.messageId) mine.idByKey.delete(known.key);
      if (mine.byId.size === 0 && mine.idByKey.size === 0) this.#inflight.delete(client.id);
      cleared = known.packet;
      ops.push({ type: 'del', key: known.key });
    } else {
      // Not delivered by this process: an id recorded on disk by upstream's layout, or nothing.
      const idKey = outgoingByIdKey(client.id, packet.messageId);
      cleared = await this.#decodedAt(idKey);
      if (!cleared) return undefined;
      ops.push({ type: 'del', key: idKey }, { type: 'del', key: outgoingKey(client.id, cleared.brokerId, cleared.brokerCounter) });
    }
    await this.#db.batch(ops);
    this.#counts.release(client.id);
    return { ...cleared } as PersistedPacket;
  }

  override outgoingStream(client: { id: string }): Readable {
    const db = this.#db;
    const mine = () => this.#inflight.get(client.id);
    return Readable.from(
      (async function* () {
        for await (const [key, value] of db.entries(outgoingRange(client.id))) {
          const packet = packr.unpack(value) as OutgoingPacket;
          // Delivered before by this process: resend it under the same packet id [MQTT-4.4.0-1].
          const id = mine()?.idByKey.get(key);
          if (id !== undefined && packet.cmd === 'publish') packet.messageId = id;
          yield packet;
        }
      })(),
    );
  }

  async #decodedAt(key: string): Promise<OutgoingPacket | undefined> {
    const value = await this.#db.get(key);
    return value ? (packr.unpack(value) as OutgoingPacket) : undefined;
  }
}
