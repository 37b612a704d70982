// Rules' outbox → MQTT, in order: a row is marked published only after the broker's PUBACK, so a
// crash re-publishes at most the rows in flight (consumers are idempotent on event id / danger key).
import type { MqttClient } from 'mqtt';
import type { Logger } from '../platform/logger.ts';
import type { RulesStore } from './store.ts';

const BATCH = 200;

export interface OutboxPublisher {
  /** Cuts a pause short (new rows). */
  wake(): void;
  /** Stops after the row in hand. */
  stop(): Promise<void>;
}

export function startOutboxPublisher(opts: { store: RulesStore; client: MqttClient; log: Logger; onDepth: (depth: number) => void }): OutboxPublisher {
  const { store, client, log } = opts;
  let running = true;
  let wake: (() => void) | undefined;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    }).finally(() => (wake = undefined));
  const loop = (async () => {
    while (running) {
      const rows = store.unpublished(0, BATCH);
      opts.onDepth(rows.length < BATCH ? rows.length : store.outboxDepth());
      if (rows.length === 0 || !client.connected) {
        await pause(rows.length === 0 ? 1000 : 200);
        continue;
      }
      try {
        for (const row of rows) {
          if (!running) break;
          await client.publishAsync(row.topic, row.payload, { qos: 1, retain: row.retain });
          store.markPublished(row.seq);
        }
      } catch (err) {
        if (running) log.warn({ err: err instanceof Error ? err.message : String(err) }, 'publishing from the outbox failed; retrying');
        await pause(1000);
      }
    }
  })();
  return {
    wake: () => wake?.(),
    async stop() {
      running = false;
      wake?.();
      await loop;
    },
  };
}
