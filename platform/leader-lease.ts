// A leader lease in Redis, for services that must run once but should have a standby (rules, alerts):
// the single-instance lock of the Redis documentation
// (https://redis.io/docs/latest/develop/use/distributed-locks/): `SET <key> <owner> NX PX <ttl>` takes
// the lease; the holder renews it (a script that extends it only while the value is still its own)
// every ttl/3; a standby tries to take it at the same pace. A holder that dies stops renewing and the
// lease expires: the standby holds it at most ttl + ttl/3 later. A holder that fails to renew before
// its lease would run out steps down at once (onLost), so two holders never act at the same time as
// long as the clocks' rates agree (Redis counts the ttl on its own clock). Services take it through
// awaitLeadership (platform/service-shell.ts; README "Scaling beyond one machine").
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

const RENEW_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export interface LeaderLeaseOptions {
  redis: Redis;
  /** e.g. `ews:lease:alerts` */
  key: string;
  /** Lease length; a dead holder is replaced within ttlMs + ttlMs / 3. */
  ttlMs: number;
  /** Who holds it (logged, stored as the value); default a random id. */
  owner?: string;
  onAcquired: () => void;
  /** The lease is gone (not renewed in time, or taken): stop acting as leader now. */
  onLost: (reason: string) => void;
  now?: () => number;
}

export class LeaderLease {
  readonly owner: string;
  #leader = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Until when our lease is certainly valid (measured from before the command that set it). */
  #validUntil = 0;
  #lossTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: LeaderLeaseOptions) {
    this.owner = opts.owner ?? randomUUID();
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  /** Starts competing for the lease; resolves after the first attempt. */
  async start(): Promise<void> {
    await this.#tick();
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    const now = this.opts.now ?? Date.now;
    const sentAt = now();
    try {
      if (this.#leader) {
        const renewed = Number(await this.opts.redis.eval(RENEW_SCRIPT, 1, this.opts.key, this.owner, this.opts.ttlMs));
        if (renewed === 1) this.#extend(sentAt);
        else this.#lose('the lease is held by another owner');
      } else {
        const taken = await this.opts.redis.set(this.opts.key, this.owner, 'PX', this.opts.ttlMs, 'NX');
        if (taken === 'OK' && !this.#stopped) {
          this.#leader = true;
          this.#extend(sentAt);
          this.opts.onAcquired();
        }
      }
    } catch {
      // Redis unreachable: a leader keeps acting only until its lease would have run out (#lossTimer).
    }
    if (!this.#stopped) this.#timer = setTimeout(() => void this.#tick(), Math.max(1, Math.floor(this.opts.ttlMs / 3)));
  }

  #extend(sentAt: number): void {
    this.#validUntil = sentAt + this.opts.ttlMs;
    clearTimeout(this.#lossTimer);
    const now = this.opts.now ?? Date.now;
    this.#lossTimer = setTimeout(() => this.#lose('the lease was not renewed in time'), Math.max(0, this.#validUntil - now()));
  }

  #lose(reason: string): void {
    clearTimeout(this.#lossTimer);
    if (!this.#leader) return;
    this.#leader = false;
    this.opts.onLost(reason);
  }

  /** Stops competing; a leader releases the lease so a standby takes over at its next attempt. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#lossTimer);
    if (this.#leader) {
      this.#leader = false;
      await this.opts.redis.eval(RELEASE_SCRIPT, 1, this.opts.key, this.owner).catch(() => undefined);
    }
  }
}
