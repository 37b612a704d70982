// Child process for test/integration/leader-lease.test.ts: competes for a lease and prints
// "acquired" / "lost <reason>" as it happens, until it is killed.
import { Redis } from 'ioredis';
import { LeaderLease } from '../../platform/leader-lease.ts';

const [url, key, ttl] = process.argv.slice(2);
const redis = new Redis(url ?? '');
redis.on('error', () => undefined);
const lease = new LeaderLease({
  redis,
  key: key ?? 'ews:lease:test',
  ttlMs: Number(ttl),
  owner: `child-${process.pid}`,
  onAcquired: () => process.stdout.write('acquired\n'),
  onLost: (reason) => process.stdout.write(`lost ${reason}\n`),
});
await lease.start();
