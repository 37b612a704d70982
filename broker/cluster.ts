// A broker cluster: several `fire-ews broker` processes on one Redis (README "Scaling beyond one
// machine"). Sessions, subscriptions, retained messages and queues live in Redis
// (aedes-persistence-redis, redis-session-store.ts); a message published on one broker reaches the
// subscribers connected to the others through Redis pub/sub (mqemitter-redis).
import type { Aedes } from 'aedes';
import { Redis } from 'ioredis';
import { probeRedisAtStart } from '../platform/redis-probe.ts';

/** Sessions and queues in the Redis at redisUrl; messages between brokers through it too with emitter `redis`. */
export interface ClusterOptions {
  emitter: 'local' | 'redis';
  redisUrl: string;
}

/**
 * Redis for the session store. Tried once first, without retries: a broker that cannot reach its
 * Redis at start refuses to start with a ConfigError naming BROKER_REDIS_URL. Once running, ioredis
 * reconnects by itself; a command that still fails after its retries fails the publish (no PUBACK).
 */
export async function connectRedis(url: string, timeoutMs = 5_000): Promise<Redis> {
  await probeRedisAtStart(url, 'BROKER_REDIS_URL', '', "start redis-server there or set BROKER_REDIS_URL to the cluster's Redis; or run one broker with BROKER_PERSISTENCE=level BROKER_EMITTER=local", timeoutMs);
  const redis = new Redis(url);
  redis.on('error', () => undefined); // ioredis reconnects; failed commands reach their callers
  return redis;
}

/**
 * A client that connects here may have left a will on another broker that died under it. aedes
 * deletes only the will kept for this broker; the survivors publish the others once the dead
 * broker's heartbeats stop — an "offline" status for a node that is online here. Delete the will
 * this client left on every other broker this one has heard of (dead ones stay known for three
 * heartbeats, longer than a node takes to reconnect).
 */
export async function clearStaleWills(redis: Redis, aedes: Aedes, clientId: string): Promise<void> {
  const brokers = Object.keys((aedes as unknown as { brokers: Record<string, number> }).brokers ?? {}).filter((id) => id !== aedes.id);
  if (brokers.length === 0) return;
  const pipeline = redis.pipeline();
  for (const brokerId of brokers) {
    const key = `will:${brokerId}:${encodeURIComponent(clientId)}`;
    pipeline.lrem('will', 0, key);
    pipeline.del(key);
  }
  await pipeline.exec();
}
