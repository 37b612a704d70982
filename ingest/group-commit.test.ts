// Group commit without a broker or a disk: a transaction double that keeps rows only when the work
// returns, and spies for the PUBACK (ack) and mqtt.js's next message (readNext).
import type { IPublishPacket } from 'mqtt';
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../platform/logger.ts';
import { GroupCommit, type GroupCommitOptions } from './group-commit.ts';

const packet = (n: number) => ({ topic: `ews/v1/readings/n-${n}`, payload: Buffer.from(String(n)), qos: 1, messageId: n }) as unknown as IPublishPacket;
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

function bed(over: Partial<GroupCommitOptions> = {}) {
  const rows: string[] = [];
  const transactions: number[] = [];
  let failNext = 0;
  const groups = new GroupCommit({
    transaction: (work) => {
      const before = rows.length;
      work();
      if (failNext > 0) {
        failNext -= 1;
        rows.length = before; // rolled back
        throw new Error('disk I/O error');
      }
      transactions.push(rows.length - before);
    },
    accept: (p, afterCommit) => {
      rows.push(p.topic);
      afterCommit.push(() => undefined);
    },
    hasRoom: () => true,
    log: createLogger('test', 'silent'),
    retryMs: 5,
    ...over,
  });
  const deliver = (n: number) => {
    const ack = vi.fn();
    const readNext = vi.fn();
    groups.handle(packet(n), ack, readNext);
    return { ack, readNext };
  };
  return { groups, rows, transactions, deliver, failNextCommit: () => (failNext += 1) };
}

describe('GroupCommit: acknowledged ⇒ committed', () => {
  it('the messages of one turn share one transaction; each is acknowledged only after it', async () => {
    const { rows, transactions, deliver } = bed();
    const sent = [1, 2, 3].map(deliver);
    for (const s of sent) expect(s.readNext, 'the next message is read before the commit').toHaveBeenCalledOnce();
    for (const s of sent) expect(s.ack, 'no PUBACK before the COMMIT').not.toHaveBeenCalled();
    await turn();
    expect(transactions).toStrictEqual([3]);
    expect(rows).toHaveLength(3);
    for (const s of sent) expect(s.ack).toHaveBeenCalledOnce();
  });

  it('a failed transaction acknowledges nothing, takes no new message, and retries the same group', async () => {
    const { rows, transactions, deliver, failNextCommit } = bed();
    failNextCommit();
    const first = deliver(1);
    await turn();
    expect(first.ack).not.toHaveBeenCalled();
    expect(rows).toStrictEqual([]);
    const during = deliver(2);
    expect(during.readNext, 'nothing more is read while storage fails').not.toHaveBeenCalled();
    await vi.waitFor(() => expect(first.ack).toHaveBeenCalledOnce());
    await vi.waitFor(() => expect(during.ack).toHaveBeenCalledOnce());
    expect(rows).toStrictEqual(['ews/v1/readings/n-1', 'ews/v1/readings/n-2']);
    expect(transactions.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('at the cap a message waits unread until releaseBlocked finds room', async () => {
    let room = false;
    const { groups, deliver } = bed({ hasRoom: () => room });
    const waiting = deliver(1);
    await turn();
    expect(waiting.readNext).not.toHaveBeenCalled();
    expect(waiting.ack).not.toHaveBeenCalled();
    room = true;
    groups.releaseBlocked();
    expect(waiting.readNext).toHaveBeenCalledOnce();
    await turn();
    expect(waiting.ack).toHaveBeenCalledOnce();
  });

  it('close commits what was let in, then acknowledges nothing more', async () => {
    const { groups, deliver, rows } = bed();
    const before = deliver(1);
    groups.close();
    expect(before.ack).toHaveBeenCalledOnce();
    const after = deliver(2);
    await turn();
    expect(after.ack, 'left for the broker to re-deliver').not.toHaveBeenCalled();
    expect(rows).toStrictEqual(['ews/v1/readings/n-1']);
  });
});
