import type { MqttClient } from 'mqtt';
import { Counter, Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { deadLetterSchema } from '../contracts/payloads.ts';
import { buildDeadLetter, createDeadLetters, DEAD_LETTER_EXCERPT_BYTES, DeadLetterTable } from './dead-letters.ts';
import { createLogger } from './logger.ts';
import { openDatabase } from './sqlite.ts';

const T = Date.parse('2026-02-14T06:00:00Z');
const tooLarge = { code: 'too-large' as const, reason: 'payload of 10000 bytes exceeds 4096', nodeId: 'san-thang-01' };

function policy(connected: boolean) {
  const db = openDatabase(':memory:');
  const publish = vi.fn();
  const client = { connected, publish } as unknown as MqttClient;
  const counter = new Counter({ name: 'test_dead_letters_total', help: 'test', labelNames: ['reason'] as const, registers: [new Registry()] });
  const deadLetters = createDeadLetters({ service: 'rules', table: new DeadLetterTable(db), log: createLogger('test', 'silent'), counter, client: () => client });
  return { db, publish, counter, deadLetters };
}

describe('one dead-letter policy for every service', () => {
  it('the table keeps the newest rows only: a flood of bad messages cannot fill the disk', () => {
    const table = new DeadLetterTable(openDatabase(':memory:'), 50);
    for (let i = 0; i < 203; i++) table.record(buildDeadLetter('ingest', tooLarge, 'ews/v1/readings/san-thang-01', Buffer.from(String(i)), T));
    // Pruned every 5 rows down to 50: rows 151–203 are left.
    expect(table.count()).toBe(53);
    expect(table.recent(1000).map((r) => r.id).at(-1)).toBe(151);
    expect(table.recent(1)[0]?.payloadExcerpt).toBe('202');
  });

  it.each(['ingest', 'rules', 'alerts'] as const)('%s: a reason code, the reason and the first 256 bytes of the payload', (service) => {
    const dl = buildDeadLetter(service, tooLarge, 'ews/v1/readings/san-thang-01', Buffer.alloc(10_000, 0x61), T);
    expect(deadLetterSchema.parse(dl)).toStrictEqual({
      service,
      code: 'too-large',
      reason: tooLarge.reason,
      topic: 'ews/v1/readings/san-thang-01',
      receivedAt: '2026-02-14T06:00:00.000Z',
      payloadBytes: 10_000,
      payloadExcerpt: 'a'.repeat(DEAD_LETTER_EXCERPT_BYTES),
      nodeId: 'san-thang-01',
    });
    expect(DEAD_LETTER_EXCERPT_BYTES).toBe(256);
  });

  it('refuse: recorded in SQLite with its code, counted by code, published at QoS 1', async () => {
    const { publish, counter, deadLetters } = policy(true);
    const dl = deadLetters.refuse({ code: 'schema', reason: 'smoke: Invalid input' }, 'ews/v1/readings/x-1', Buffer.from('{}'), T);
    expect(deadLetters.table.recent(5)).toStrictEqual([{ id: 1, ...dl }]);
    expect((await counter.get()).values).toMatchObject([{ labels: { reason: 'schema' }, value: 1 }]);
    expect(publish).toHaveBeenCalledExactlyOnceWith('ews/v1/deadletter/rules', JSON.stringify(dl), { qos: 1 });
    deadLetters.close();
  });

  it('while the broker is away the row is the record: nothing is queued in memory', () => {
    const { publish, deadLetters } = policy(false);
    deadLetters.refuse(tooLarge, 'ews/v1/readings/san-thang-01', Buffer.from('x'), T);
    expect(publish).not.toHaveBeenCalled();
    expect(deadLetters.table.count()).toBe(1);
    deadLetters.close();
  });

  it('record inside a transaction that rolls back leaves no row, and announces nothing', () => {
    const { db, publish, deadLetters } = policy(true);
    expect(() =>
      db.transaction(() => {
        deadLetters.record(tooLarge, 'ews/v1/readings/san-thang-01', Buffer.from('x'), T);
        throw new Error('disk full');
      })(),
    ).toThrow('disk full');
    expect(deadLetters.table.count()).toBe(0);
    expect(publish).not.toHaveBeenCalled();
    deadLetters.close();
  });

  it("a file from before the codes (rules' old table) gains the columns and keeps its rows", () => {
    const db = openDatabase(':memory:');
    db.exec(`CREATE TABLE dead_letters (id INTEGER PRIMARY KEY AUTOINCREMENT, reason TEXT NOT NULL, topic TEXT NOT NULL, received_at TEXT NOT NULL,
      payload_bytes INTEGER NOT NULL, payload_excerpt TEXT NOT NULL, node_id TEXT)`);
    db.prepare("INSERT INTO dead_letters (reason, topic, received_at, payload_bytes, payload_excerpt) VALUES ('schema: old', 't', '2026-01-01T00:00:00Z', 2, '{}')").run();
    const table = new DeadLetterTable(db);
    table.record(buildDeadLetter('rules', tooLarge, 't', Buffer.from('x'), T));
    expect(table.count()).toBe(2);
    expect(table.recent(2).map((d) => d.code)).toStrictEqual(['too-large', 'schema']);
  });
});
