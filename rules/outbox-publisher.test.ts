// The outbox publisher with a client double (publishAsync resolves when the "broker" acknowledges)
// and the real RulesStore on an in-memory SQLite file.
import type { MqttClient } from 'mqtt';
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../platform/logger.ts';
import { openDatabase } from '../platform/sqlite.ts';
import { startOutboxPublisher } from './outbox-publisher.ts';
import { RulesStore } from './store.ts';

const item = (n: number) => ({ key: `event:${n}`, topic: `ews/v1/events/node-offline/z${n}`, payload: `{"n":${n}}`, retain: n === 2, lines: [] });

describe('startOutboxPublisher', () => {
  it('publishes in order at QoS 1 and marks a row published only after its PUBACK; a failed publish is retried', async () => {
    const store = new RulesStore(openDatabase(':memory:'), { influx: false });
    store.transaction(() => store.enqueue([item(1), item(2), item(3)]));
    const published: string[] = [];
    let failOnce = true;
    const publishAsync = vi.fn(async (topic: string, _payload: string, opts: { qos: number; retain: boolean }) => {
      expect(opts.qos).toBe(1);
      if (topic.endsWith('z2') && failOnce) {
        failOnce = false;
        expect(store.outboxDepth(), 'row 1 marked after its PUBACK, row 2 not yet').toBe(2);
        throw new Error('connection closed');
      }
      published.push(`${topic}${opts.retain ? ' (retained)' : ''}`);
    });
    const client = { connected: true, publishAsync } as unknown as MqttClient;
    const depths: number[] = [];
    const publisher = startOutboxPublisher({ store, client, log: createLogger('test', 'silent'), onDepth: (d) => depths.push(d) });
    await vi.waitFor(() => expect(store.outboxDepth()).toBe(0), { timeout: 5000 });
    await publisher.stop();
    expect(published).toStrictEqual(['ews/v1/events/node-offline/z1', 'ews/v1/events/node-offline/z2 (retained)', 'ews/v1/events/node-offline/z3']);
    expect(depths[0]).toBe(3);
  });

  it('waits while the broker is away; wake() cuts the pause short once rows are there', async () => {
    const store = new RulesStore(openDatabase(':memory:'), { influx: false });
    const client = { connected: false, publishAsync: vi.fn(async () => undefined) } as unknown as MqttClient & { connected: boolean };
    const publisher = startOutboxPublisher({ store, client, log: createLogger('test', 'silent'), onDepth: () => undefined });
    store.transaction(() => store.enqueue([item(1)]));
    publisher.wake();
    await new Promise((r) => setTimeout(r, 50));
    expect(client.publishAsync).not.toHaveBeenCalled();
    client.connected = true;
    await vi.waitFor(() => expect(store.outboxDepth()).toBe(0), { timeout: 5000 });
    await publisher.stop();
  });
});
