
import { expect, it } from 'vitest';
import { join } from 'node:path';
import { Level } from 'level';
import { BoundedLevelPersistence } from './bounded-persistence.ts';
import { tempDataDir } from '../test/harness/services.ts';

it('concurrent enqueues for one client never store more than the cap', async () => {
  const data = tempDataDir('bounded-persistence');
  const db = new Level<string, Buffer>(join(data.dir, 'sessions'), { valueEncoding: 'buffer' });
  const drops: number[] = [];
  const persistence = new BoundedLevelPersistence(db, 5, (_client, _topic, queued) => drops.push(queued));
  try {
    await persistence.setup({ id: 'test-broker' });
    // Nothing cached yet: all 20 wait on the same first count from disk.
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        persistence.outgoingEnqueue({ clientId: 'slow-consumer' }, { topic: 'ews/v1/readings/n1', brokerId: 'test-broker', brokerCounter: i + 1 }),
      ),
    );
    persistence.recount('slow-consumer'); // forget the cache: count what is really on disk
    expect(await persistence.queuedFor('slow-consumer')).toBe(5);
    expect(drops.length).toBe(15);
    expect(drops.every((q) => q === 5)).toBe(true);
  } finally {
    await db.close();
    data.remove();
  }
});
