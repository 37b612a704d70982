// platform/leader-lease.ts against a real redis-server: one leader at a time, a released lease is
// taken at the standby's next attempt, a SIGKILLed holder is replaced within ttl + ttl/3, and a holder
// cut off from Redis steps down before its lease could be given to anyone else.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { LeaderLease } from '../../platform/leader-lease.ts';
import { RedisProcess, redisSkipReason } from '../harness/redis.ts';
import { tempDataDir } from '../harness/services.ts';
import { skipTitle } from '../harness/skip.ts';

const skip = redisSkipReason();
const ROOT = new URL('../..', import.meta.url).pathname;
const TTL_MS = 1500;

describe.skipIf(skip)(skipTitle('a leader lease in a real redis-server', skip), () => {
  let data: ReturnType<typeof tempDataDir>;
  let redis: RedisProcess;
  const connections: Redis[] = [];
  const connect = () => {
    const r = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    r.on('error', () => undefined);
    connections.push(r);
    return r;
  };

  beforeAll(async () => {
    data = tempDataDir('lease');
    redis = await RedisProcess.start(data.dir);
  });
  afterAll(async () => {
    for (const c of connections) c.disconnect();
    await redis?.stop();
    data?.remove();
  });

  it('two contenders: exactly one leader; when it stops, the other leads, never both at once', { timeout: 30_000 }, async () => {
    const events: string[] = [];
    const make = (name: string) => new LeaderLease({ redis: connect(), key: 'ews:lease:pair', ttlMs: TTL_MS, owner: name, onAcquired: () => events.push(`${name} acquired`), onLost: (r) => events.push(`${name} lost: ${r}`) });
    const a = make('a');
    const b = make('b');
    await a.start();
    await b.start();
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);
    let both = 0;
    const watch = setInterval(() => (a.isLeader && b.isLeader ? (both += 1) : undefined), 5);
    await sleep(TTL_MS * 2); // a renews: b never gets it
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);
    const stoppedAt = Date.now();
    await a.stop();
    await expect.poll(() => b.isLeader, { timeout: TTL_MS * 2, interval: 10 }).toBe(true);
    const handover = Date.now() - stoppedAt;
    clearInterval(watch);
    await b.stop();
    expect(both).toBe(0);
    // A released lease is taken at the standby's next attempt (every ttl/3).
    expect(handover).toBeLessThanOrEqual(TTL_MS / 3 + 500);
    expect(events).toEqual(['a acquired', 'b acquired']);
  });

  it(`a holder SIGKILLed: the standby leads within ttl + ttl/3 (${TTL_MS + TTL_MS / 3} ms, + 1 s for a busy machine)`, { timeout: 30_000 }, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/lease-holder.ts', redis.url, 'ews:lease:kill', String(TTL_MS)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await expect.poll(() => out, { timeout: 20_000, interval: 50 }).toContain('acquired');
      const standby = new LeaderLease({ redis: connect(), key: 'ews:lease:kill', ttlMs: TTL_MS, owner: 'standby', onAcquired: () => undefined, onLost: () => undefined });
      await standby.start();
      expect(standby.isLeader).toBe(false);
      const killedAt = Date.now();
      child.kill('SIGKILL');
      await expect.poll(() => standby.isLeader, { timeout: TTL_MS * 3, interval: 10 }).toBe(true);
      const takeover = Date.now() - killedAt;
      console.log(`lease takeover after SIGKILL of the holder: ${takeover} ms (ttl ${TTL_MS} ms)`);
      expect(takeover).toBeLessThanOrEqual(TTL_MS + TTL_MS / 3 + 1000);
      await standby.stop();
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a holder cut off from Redis steps down before Redis lets the standby take the lease', { timeout: 30_000 }, async () => {
    let lostAt = 0;
    let lostReason = '';
    let standbyAt = 0;
    const lonely = connect();
    const holder = new LeaderLease({ redis: lonely, key: 'ews:lease:cut', ttlMs: TTL_MS, owner: 'holder', onAcquired: () => undefined, onLost: (r) => ((lostAt = Date.now()), (lostReason = r)) });
    await holder.start();
    expect(holder.isLeader).toBe(true);
    const standby = new LeaderLease({ redis: connect(), key: 'ews:lease:cut', ttlMs: TTL_MS, owner: 'standby', onAcquired: () => (standbyAt = Date.now()), onLost: () => undefined });
    await standby.start();
    expect(standby.isLeader).toBe(false);
    // The holder's connection is cut (as a network partition would): its renewals fail.
    lonely.disconnect();
    await expect.poll(() => standbyAt, { timeout: TTL_MS * 3, interval: 10 }).toBeGreaterThan(0);
    expect(lostReason).toMatch(/not renewed in time/);
    // Never two leaders: the holder had stopped acting before the standby started.
    expect(lostAt).toBeGreaterThan(0);
    expect(lostAt).toBeLessThanOrEqual(standbyAt);
    await holder.stop();
    await standby.stop();
  });
});
