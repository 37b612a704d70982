// A Redis a process needs at start (the broker cluster's store, the standby services' lease) is
// tried once, without retries, before anything relies on it: unreachable is a configuration
// problem naming the variable, not a process that hangs or crashes later. ConfigError hides the
// URL's password.
import { Redis } from 'ioredis';
import { ConfigError } from './config-error.ts';

export async function probeRedisAtStart(url: string, variable: string, consequence: string, fix: string, timeoutMs = 5_000): Promise<void> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs, enableOfflineQueue: false });
  probe.on('error', () => undefined); // reported through the rejected connect below
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    throw new ConfigError([{ where: variable, problem: `cannot reach Redis at ${url} (${(err as Error).message})${consequence ? `; ${consequence}` : ''}`, fix }]);
  } finally {
    probe.disconnect();
  }
}
