// The session store's promises beyond aedes-persistence's contract (persistence-contract.test.ts):
// a QoS 1 message costs one LevelDB write and one delete; a delivered, unacknowledged message
// survives a crash; a reconnecting client gets its original packet id; the per-client cap holds.
import { expect, it, onTestFinished, vi } from 'vitest';
import { join } from 'node:path';
import { Level } from 'level';
import { BoundedLevelPersistence } from './bounded-persistence.ts';
import { SessionStore } from './session-store.ts';
import { tempDataDir } from '../test/harness/services.ts';

type Store = SessionStore | BoundedLevelPersistence;
type Packet = { cmd: string; topic: string; payload: Buffer; qos: number; brokerId: string; brokerCounter: number; messageId?: number };

async function openDb(dir: string) {
  const db = new Level<string, Buffer>(join(dir, 'sessions'), { valueEncoding: 'buffer' });
  await db.open();
  return db;
}

async function freshDb() {
  const data = tempDataDir('session-store');
  onTestFinished(() => data.remove());
  return { dir: data.dir, db: await openDb(data.dir) };
}

const noDrop = () => undefined;
const packet = (n: number): Packet => ({ cmd: 'publish', topic: 'ews/v1/readings/n1', payload: Buffer.from(`{"seq":${n}}`), qos: 1, brokerId: 'b1', brokerCounter: n });
const client = { id: 'svc-ingest' };
const sub = { clientId: client.id, topic: 'ews/v1/readings/+', qos: 1 };

async function streamed(store: Store): Promise<Packet[]> {
  const out: Packet[] = [];
  for await (const p of store.outgoingStream(client)) out.push(p as Packet);
  return out;
}

/** Counts the operations that reach LevelDB (after write combining). */
function countWrites(db: Level<string, Buffer>) {
  const ops = { put: 0, del: 0 };
  const batch = db.batch.bind(db) as unknown as (ops: { type: 'put' | 'del' }[]) => Promise<void>;
  vi.spyOn(db, 'batch').mockImplementation(((list: { type: 'put' | 'del' }[]) => {
    for (const op of list) ops[op.type] += 1;
    return batch(list);
  }) as never);
  return ops;
}

/** One message the way aedes handles it for a subscriber that keeps up: queued, delivered, acknowledged. */
async function deliverAndAck(store: Store, n: number, messageId: number) {
  await store.outgoingEnqueueCombi([sub], packet(n));
  await store.outgoingUpdate(client, { ...packet(n), messageId });
  await store.outgoingClearMessageId(client, { messageId });
}

it.each([
  ['SessionStore', 1, 1, (db: Level<string, Buffer>) => new SessionStore(db, { queueLimit: 1000, onDrop: noDrop })],
  // The store before issue 14, for comparison: the packet id is written twice and deleted again.
  ['BoundedLevelPersistence', 3, 2, (db: Level<string, Buffer>) => new BoundedLevelPersistence(db, 1000, noDrop)],
] as const)('%s: a message queued, delivered and acknowledged costs %i put(s) and %i delete(s) in LevelDB', async (_name, putsPerMessage, delsPerMessage, make) => {
  const { db } = await freshDb();
  const store = make(db);
  await store.setup({ id: 'b1' });
  onTestFinished(() => store.destroy());
  const ops = countWrites(db);
  // One at a time, so no two operations share a batch (write combining would merge a put and its overwrite).
  for (let n = 1; n <= 50; n++) await deliverAndAck(store, n, n);
  expect(ops).toStrictEqual({ put: 50 * putsPerMessage, del: 50 * delsPerMessage });
  expect(await streamed(store)).toStrictEqual([]);
});

it('a delivered, unacknowledged message survives a crash and is delivered again with a fresh packet id', async () => {
  const { dir, db } = await freshDb();
  const before = new SessionStore(db, { queueLimit: 1000, onDrop: noDrop });
  await before.setup({ id: 'b1' });
  await before.outgoingEnqueueCombi([sub], packet(1));
  await before.outgoingEnqueueCombi([sub], packet(2));
  await before.outgoingUpdate(client, { ...packet(1), messageId: 7 });
  await before.outgoingUpdate(client, { ...packet(2), messageId: 8 });
  await before.outgoingClearMessageId(client, { messageId: 7 });
  // The process dies: nothing else is written, the in-memory packet ids are gone.
  await db.close();

  const db2 = await openDb(dir);
  const after = new SessionStore(db2, { queueLimit: 1000, onDrop: noDrop });
  await after.setup({ id: 'b2' });
  onTestFinished(() => after.destroy());
  const queued = await streamed(after);
  expect(queued.map((p) => p.payload.toString())).toStrictEqual(['{"seq":2}']);
  expect(queued[0]?.messageId ?? undefined).toBeUndefined(); // aedes gives it a new packet id
  expect(await after.queuedFor(client.id)).toBe(1);
  // The old packet id means nothing now; the new one clears it.
  expect(await after.outgoingClearMessageId(client, { messageId: 8 })).toBeUndefined();
  await after.outgoingUpdate(client, { ...(queued[0] as Packet), messageId: 1 });
  expect(((await after.outgoingClearMessageId(client, { messageId: 1 })) as Packet | undefined)?.payload.toString()).toBe('{"seq":2}');
  expect(await streamed(after)).toStrictEqual([]);
});

it('a client that reconnects to the same broker gets its unacknowledged messages under their original packet ids', async () => {
  const { db } = await freshDb();
  const store = new SessionStore(db, { queueLimit: 1000, onDrop: noDrop });
  await store.setup({ id: 'b1' });
  onTestFinished(() => store.destroy());
  for (const n of [1, 2, 3]) await store.outgoingEnqueueCombi([sub], packet(n));
  await store.outgoingUpdate(client, { ...packet(1), messageId: 41 });
  await store.outgoingUpdate(client, { ...packet(2), messageId: 42 });
  expect((await streamed(store)).map((p) => p.messageId ?? undefined)).toStrictEqual([41, 42, undefined]);
});

it.each([
  ['SessionStore', (db: Level<string, Buffer>, onDrop: () => void) => new SessionStore(db, { queueLimit: 5, onDrop })],
  ['BoundedLevelPersistence', (db: Level<string, Buffer>, onDrop: () => void) => new BoundedLevelPersistence(db, 5, onDrop)],
] as const)('%s: concurrent enqueues for one client never store more than the cap', async (_name, make) => {
  const { db } = await freshDb();
  const onDrop = vi.fn();
  const store = make(db, onDrop);
  await store.setup({ id: 'b1' });
  onTestFinished(() => store.destroy());
  // Nothing cached yet: all 20 wait on the same first count from disk.
  await Promise.all(Array.from({ length: 20 }, (_, i) => store.outgoingEnqueue({ clientId: 'slow-consumer' }, packet(i + 1))));
  store.recount('slow-consumer'); // forget the cache: count what is really on disk
  expect(await store.queuedFor('slow-consumer')).toBe(5);
  expect(onDrop).toHaveBeenCalledTimes(15);
});

it('a subscriber that does not acknowledge holds at most the in-memory limit of packet ids; the rest go to disk and clear as well', async () => {
  const { db } = await freshDb();
  const store = new SessionStore(db, { queueLimit: 1000, onDrop: noDrop, inflightMemoryLimit: 3 });
  await store.setup({ id: 'b1' });
  onTestFinished(() => store.destroy());
  const ops = countWrites(db);
  for (let n = 1; n <= 6; n++) await store.outgoingEnqueueCombi([sub], packet(n));
  for (let n = 1; n <= 6; n++) await store.outgoingUpdate(client, { ...packet(n), messageId: 100 + n });
  expect(store.inflightInMemoryFor(client.id)).toBe(3);
  expect(ops, '6 queued + 3 × (id record + queue record with its id)').toStrictEqual({ put: 12, del: 0 });
  expect((await streamed(store)).map((p) => p.messageId)).toStrictEqual([101, 102, 103, 104, 105, 106]);
  for (let n = 1; n <= 6; n++) expect(((await store.outgoingClearMessageId(client, { messageId: 100 + n })) as Packet | undefined)?.payload.toString()).toBe(`{"seq":${n}}`);
  expect(await streamed(store)).toStrictEqual([]);
  expect(store.inflightInMemoryFor(client.id)).toBe(0);
  expect(ops.del, '3 in memory: the queue record; 3 on disk: both records').toBe(9);
});
