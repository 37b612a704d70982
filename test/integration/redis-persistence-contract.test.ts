// aedes-persistence's own contract suite (`aedes-persistence/abstract.js`, the one every aedes storage
// backend runs) against broker/redis-session-store.ts on a real redis-server: the capped enqueue
// script, the shared SUBSCRIBE store and the stream wrapping keep upstream's behaviour. The adapter
// is test/support/persistence-contract.ts (node:test's t.plan checked as node:test would).
import { afterAll, beforeAll, describe } from 'vitest';
import { createRequire } from 'node:module';
import { Redis } from 'ioredis';
import { RedisSessionStore } from '../../broker/redis-session-store.ts';
import { RedisProcess, redisSkipReason } from '../harness/redis.ts';
import { tempDataDir } from '../harness/services.ts';
import { skipTitle } from '../harness/skip.ts';
import { runPersistenceContract } from '../support/persistence-contract.ts';

// The suite of the aedes-persistence release aedes-persistence-redis 11.2 is built on (10.x; 11.x
// adds cleanIncoming, which the 11.2 store does not have and aedes 1.2 does not call).
const suiteOf = createRequire(import.meta.url).resolve('aedes-persistence-redis/asyncPersistence.js');

const skip = redisSkipReason();

describe.skipIf(skip)(skipTitle('RedisSessionStore: the aedes-persistence contract on a real redis-server', skip), () => {
  const data = tempDataDir('redis-contract');
  let redis: RedisProcess | undefined;
  let admin: Redis | undefined;
  beforeAll(async () => {
    redis = await RedisProcess.start(data.dir);
    admin = new Redis(redis.url);
  });
  afterAll(async () => {
    admin?.disconnect();
    await redis?.stop();
    data.remove();
  });

  runPersistenceContract(suiteOf, async () => {
    // Each contract test starts from an empty Redis, as upstream's own redis tests do.
    await admin!.flushdb();
    return new RedisSessionStore(new Redis(redis!.url), { queueLimit: 100_000, onDrop: () => undefined });
  });
});
