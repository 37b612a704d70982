// The per-client queue cap under concurrent enqueues: aedes acknowledges a publish before storing
// it, so many enqueues for one offline client arrive while the first count is still being read.
import { expect, it, onTestFinished, vi } from 'vitest';
import { join } from 'node:path';
import { Level } from 'level';
import { BoundedLevelPersistence } from './bounded-persistence.ts';
import { tempDataDir } from '../test/harness/services.ts';

it('concurrent enqueues for one client never store more than the cap', async () => {
  const data = tempDataDir('bounded-persistence');
  const db = new Level<string, Buffer>(join(data.dir, 'sessions'), { valueEncoding: 'buffer' });
  onTestFinished(async () => {
    await db.close();
    data.remove();
  });
  const onDrop = vi.fn<(clientId: string, topic: string, queued: number) => void>();
  const persistence = new BoundedLevelPersistence(db, 5, onDrop);
  await persistence.setup({ id: 'test-broker' });
  // Nothing cached yet: all 20 wait on the same first count from disk.
  await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      persistence.outgoingEnqueue({ clientId: 'slow-consumer' }, { topic: 'ews/v1/readings/n1', brokerId: 'test-broker', brokerCounter: i + 1 }),
    ),
  );
  persistence.recount('slow-consumer'); // forget the cache: count what is really on disk
  expect(await persistence.queuedFor('slow-consumer')).toBe(5);
  expect(onDrop).toHaveBeenCalledTimes(15);
  expect(onDrop.mock.calls.map(([, , queued]) => queued)).toStrictEqual(Array.from({ length: 15 }, () => 5));
});
