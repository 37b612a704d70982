// The broker cluster's session store: aedes-persistence-redis (11.2, the line aedes 1.2 names as its
// peer) on one Redis shared by every broker, so a persistent session opened on one broker resumes
// on another with its subscriptions and queued QoS 1 messages. Three things added here:
// - the per-client cap (BROKER_QUEUE_LIMIT): a message is queued for a session only while the
//   session's Redis list is shorter than the cap, checked and pushed in one Lua script (atomic in
//   Redis, so brokers enqueueing at the same moment cannot overshoot it), which also replaces
//   upstream's 2 + N round trips per message by one;
// - a reconnecting session gets its whole queue (upstream delivers the first 1,000 and leaves the
//   rest until the next connection): maxSessionDelivery = the cap;
// - a SUBSCRIBE with several filters is stored and broadcast once (addSubscriptions below);
// - aedes 1.2 pipes Node streams where this store returns async iterables: wrapped in Readable.from.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type { Redis } from 'ioredis';

type Sub = { clientId: string; topic: string; qos?: number };
type Packet = { topic: string; brokerId?: string; brokerCounter?: number };

interface AsyncRedisPersistenceApi {
  addSubscriptions(client: { id: string }, subs: Sub[]): Promise<unknown>;
  outgoingEnqueueCombi(subs: Sub[], packet: Packet): Promise<void>;
  createRetainedStreamCombi(patterns: unknown): AsyncIterable<unknown>;
  createRetainedStream(pattern: unknown): AsyncIterable<unknown>;
  outgoingStream(client: unknown): AsyncIterable<unknown>;
  streamWill(brokers: unknown): AsyncIterable<unknown>;
  getClientList(topic: unknown): Iterable<unknown>;
  destroy(): Promise<void>;
}
const requireHere = createRequire(import.meta.url);
const upstreamPath = requireHere.resolve('aedes-persistence-redis/asyncPersistence.js');
const AsyncRedisPersistence = requireHere(upstreamPath) as new (opts: { conn: Redis; maxSessionDelivery: number }) => AsyncRedisPersistenceApi;
// The packet record exactly as upstream writes it (its aedes-persistence Packet, msgpack-lite).
const requireUpstream = createRequire(upstreamPath);
const { Packet: UpstreamPacket } = requireUpstream('aedes-persistence') as { Packet: new (p: Packet) => object };
const msgpackLite = requireUpstream('msgpack-lite') as { encode(value: unknown): Buffer };
const encodePacket = (packet: Packet) => msgpackLite.encode(new UpstreamPacket(packet));

/**
 * Upstream's enqueue (the packet record, its subscriber count, the packet key pushed on each
 * subscriber's list) in one atomic script, pushing only onto lists shorter than the cap: the check
 * and the push cannot interleave with another broker's. Returns each list's length before the push.
 * KEYS: packet key, count key, the subscribers' lists; ARGV: encoded packet, cap.
 */
const ENQUEUE_SCRIPT = `
local limit = tonumber(ARGV[2])
local lengths = {}
local accepted = {}
for i = 3, #KEYS do
  local n = redis.call('LLEN', KEYS[i])
  lengths[#lengths + 1] = n
  if n < limit then accepted[#accepted + 1] = KEYS[i] end
end
if #accepted > 0 then
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('SET', KEYS[2], #accepted)
  for _, list in ipairs(accepted) do redis.call('RPUSH', list, KEYS[1]) end
end
return lengths
`;
const ENQUEUE_SHA = createHash('sha1').update(ENQUEUE_SCRIPT).digest('hex');

/** aedes-persistence-redis's key of a client's queue (a list of packet keys). */
export const redisOutgoingKey = (clientId: string) => `outgoing:${encodeURIComponent(clientId)}`;

export interface RedisSessionStoreOptions {
  queueLimit: number;
  onDrop: (clientId: string, topic: string, queued: number) => void;
}

export class RedisSessionStore extends AsyncRedisPersistence {
  readonly #db: Redis;
  readonly #queueLimit: number;
  readonly #onDrop: RedisSessionStoreOptions['onDrop'];
  /** The last queue length seen per client (for the depth gauge); at most one entry per persistent session. */
  readonly #depths = new Map<string, number>();

  constructor(db: Redis, opts: RedisSessionStoreOptions) {
    super({ conn: db, maxSessionDelivery: opts.queueLimit });
    this.#db = db;
    this.#queueLimit = opts.queueLimit;
    this.#onDrop = opts.onDrop;
  }

  override async outgoingEnqueueCombi(subs: Sub[], packet: Packet): Promise<void> {
    if (!subs || subs.length === 0) return;
    const pktKey = `packet:${packet.brokerId}:${packet.brokerCounter}`;
    const lengths = (await this.#db.evalsha(ENQUEUE_SHA, 2 + subs.length, pktKey, `${pktKey}:offlineCount`, ...subs.map((s) => redisOutgoingKey(s.clientId)), encodePacket(packet), this.#queueLimit).catch((err: Error) => {
      if (!/NOSCRIPT/.test(err.message)) throw err;
      return this.#db.eval(ENQUEUE_SCRIPT, 2 + subs.length, pktKey, `${pktKey}:offlineCount`, ...subs.map((s) => redisOutgoingKey(s.clientId)), encodePacket(packet), this.#queueLimit);
    })) as number[];
    subs.forEach((sub, i) => {
      const queued = Number(lengths[i] ?? 0);
      if (queued >= this.#queueLimit) {
        this.#depths.set(sub.clientId, queued);
        this.#onDrop(sub.clientId, packet.topic, queued);
      } else this.#depths.set(sub.clientId, queued + 1);
    });
  }

  /**
   * aedes 1.2 calls addSubscriptions once per filter of a SUBSCRIBE, each time with all the packet's
   * filters; upstream then waits for its own `$SYS/sub/add` broadcast under a key made of the client
   * id and the first filter, and a second wait under the same key replaces the first, whose promise
   * never settles: a SUBSCRIBE of two filters (ingest's) never got its SUBACK. The calls for one
   * packet share one store-and-broadcast here.
   */
  readonly #adding = new WeakMap<Sub[], Map<string, Promise<unknown>>>();
  override async addSubscriptions(client: { id: string }, subs: Sub[]): Promise<unknown> {
    // Keyed by the packet's array and the client (one array may be stored for several clients).
    let byClient = this.#adding.get(subs);
    if (!byClient) this.#adding.set(subs, (byClient = new Map()));
    const running = byClient.get(client.id);
    if (running) return running;
    const adding = super.addSubscriptions(client, subs);
    byClient.set(client.id, adding);
    return adding;
  }

  override createRetainedStreamCombi = (patterns: unknown) => Readable.from(super.createRetainedStreamCombi(patterns)) as never;
  override createRetainedStream = (pattern: unknown) => Readable.from(super.createRetainedStreamCombi([pattern])) as never;
  override outgoingStream = (client: unknown) => Readable.from(super.outgoingStream(client)) as never;
  override streamWill = (brokers: unknown) => Readable.from(super.streamWill(brokers)) as never;
  override getClientList = (topic: unknown) => Readable.from(super.getClientList(topic)) as never;

  /** The queue length is read from Redis at every enqueue: nothing cached to forget. */
  recount(_clientId: string): void {}

  knownQueueDepths(): Map<string, number> {
    return this.#depths;
  }
}
