// The one dead-letter policy of every consuming service (ingest, rules, alerts). A message a service
// refuses becomes a dead letter with a reason code (contracts/message-checks.ts), the reason, and the
// first 256 bytes of the payload. It is
//   1. recorded in the service's SQLite file (table `dead_letters`, the newest DEAD_LETTER_MAX_ROWS
//      kept): the durable record, in the caller's transaction when it has one;
//   2. counted (the service's Prometheus counter, label `reason` = the code) and logged, rate-limited
//      per code (platform/log-limiter.ts);
//   3. published on `ews/v1/deadletter/<service>` at QoS 1 while the broker connection is up; not
//      queued while it is down (the SQLite row is the record, so memory stays bounded).
import type { MqttClient } from 'mqtt';
import type { Counter } from 'prom-client';
import { deadLetterSchema, type DeadLetter } from '../contracts/payloads.ts';
import type { Refusal } from '../contracts/message-checks.ts';
import { topics } from '../contracts/topics.ts';
import type { Logger } from './logger.ts';
import { rateLimitedWarn } from './log-limiter.ts';
import type { SqliteDatabase } from './sqlite.ts';

/** Bytes of the payload kept in a dead letter (every service). */
export const DEAD_LETTER_EXCERPT_BYTES = 256;
/** Characters of the reason kept. */
export const DEAD_LETTER_REASON_CHARS = 500;
/** Rows a `dead_letters` table keeps, the newest (≤ about 1 KB each): a node sending garbage cannot fill the disk. */
export const DEAD_LETTER_MAX_ROWS = 100_000;

export type DeadLetterService = DeadLetter['service'];

/** The dead letter of one refused message (pure). */
export function buildDeadLetter(service: DeadLetterService, refused: Omit<Refusal, 'ok'>, topic: string, payload: Buffer, nowMs: number): DeadLetter {
  return deadLetterSchema.parse({
    service,
    code: refused.code,
    reason: refused.reason.slice(0, DEAD_LETTER_REASON_CHARS),
    topic,
    receivedAt: new Date(nowMs).toISOString(),
    payloadBytes: payload.length,
    payloadExcerpt: payload.subarray(0, DEAD_LETTER_EXCERPT_BYTES).toString('utf8'),
    ...(refused.nodeId ? { nodeId: refused.nodeId } : {}),
  });
}

/** The `dead_letters` table of a service's SQLite file. */
export class DeadLetterTable {
  private readonly insert;
  private readonly countAll;
  private readonly prune;
  /** Pruned every this many rows, so a table holds at most maxRows + pruneEvery − 1. */
  private readonly pruneEvery: number;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly maxRows = DEAD_LETTER_MAX_ROWS,
  ) {
    this.pruneEvery = Math.max(1, Math.min(1000, Math.floor(maxRows / 10)));
    db.exec(`
      CREATE TABLE IF NOT EXISTS dead_letters (
        id INTEGER PRIMARY KEY AUTOINCREMENT, service TEXT NOT NULL, code TEXT NOT NULL, reason TEXT NOT NULL,
        topic TEXT NOT NULL, received_at TEXT NOT NULL, payload_bytes INTEGER NOT NULL, payload_excerpt TEXT NOT NULL, node_id TEXT);
    `);
    // Files written before every dead letter had a code (rules' table had neither column).
    const columns = new Set((db.prepare('PRAGMA table_info(dead_letters)').all() as { name: string }[]).map((c) => c.name));
    if (!columns.has('service')) db.exec("ALTER TABLE dead_letters ADD COLUMN service TEXT NOT NULL DEFAULT ''");
    if (!columns.has('code')) db.exec("ALTER TABLE dead_letters ADD COLUMN code TEXT NOT NULL DEFAULT 'schema'");
    this.insert = db.prepare(
      'INSERT INTO dead_letters (service, code, reason, topic, received_at, payload_bytes, payload_excerpt, node_id) VALUES (@service, @code, @reason, @topic, @receivedAt, @payloadBytes, @payloadExcerpt, @nodeId)',
    );
    this.countAll = db.prepare('SELECT count(*) AS n FROM dead_letters');
    this.prune = db.prepare('DELETE FROM dead_letters WHERE id <= ?');
  }

  /** Returns the row id (in the caller's transaction, if any). */
  record(dl: DeadLetter): number {
    const id = Number(this.insert.run({ ...dl, nodeId: dl.nodeId ?? null }).lastInsertRowid);
    if (id % this.pruneEvery === 0) this.prune.run(id - this.maxRows);
    return id;
  }

  count(): number {
    return (this.countAll.get() as { n: number }).n;
  }

  /** The newest first. */
  recent(limit = 100): (DeadLetter & { id: number })[] {
    const rows = this.db
      .prepare(
        'SELECT id, service, code, reason, topic, received_at AS receivedAt, payload_bytes AS payloadBytes, payload_excerpt AS payloadExcerpt, node_id AS nodeId FROM dead_letters ORDER BY id DESC LIMIT ?',
      )
      .all(limit) as (DeadLetter & { id: number; nodeId: string | null })[];
    return rows.map(({ nodeId, ...rest }) => (nodeId === null ? rest : { ...rest, nodeId }));
  }
}

export interface DeadLettersOptions {
  service: DeadLetterService;
  /** Where they are recorded: the `dead_letters` table of the service's SQLite file. */
  table: DeadLetterTable;
  log: Logger;
  /** The service's counter of refused messages, labelled by reason code. */
  counter: Counter<'reason'>;
  /** The session dead letters are published on (null before it exists). */
  client: () => MqttClient | null;
}

export interface DeadLetters {
  readonly table: DeadLetterTable;
  /** Step 1: the dead letter and its row (call inside the transaction that settles the message). */
  record(refused: Omit<Refusal, 'ok'>, topic: string, payload: Buffer, nowMs: number): { deadLetter: DeadLetter; id: number };
  /** Steps 2 and 3, once the row is committed. */
  announce(dl: DeadLetter): void;
  /** All three at once (no surrounding transaction). */
  refuse(refused: Omit<Refusal, 'ok'>, topic: string, payload: Buffer, nowMs: number): DeadLetter;
  /** Reports the log lines held back. */
  close(): void;
}

export function createDeadLetters(opts: DeadLettersOptions): DeadLetters {
  const { table } = opts;
  // A few lines per reason per 10 s, then a count: bad data in bulk must not bury the log.
  const logLimited = rateLimitedWarn(opts.log, 'message dead-lettered');
  const record: DeadLetters['record'] = (refused, topic, payload, nowMs) => {
    const deadLetter = buildDeadLetter(opts.service, refused, topic, payload, nowMs);
    return { deadLetter, id: table.record(deadLetter) };
  };
  const announce: DeadLetters['announce'] = (dl) => {
    opts.counter.inc({ reason: dl.code });
    logLimited.warn(dl.code, { nodeId: dl.nodeId, topic: dl.topic, reason: dl.reason, bytes: dl.payloadBytes });
    const client = opts.client();
    if (client?.connected) client.publish(topics.deadLetter(opts.service), JSON.stringify(dl), { qos: 1 });
  };
  return {
    table,
    record,
    announce,
    refuse(refused, topic, payload, nowMs) {
      const { deadLetter } = record(refused, topic, payload, nowMs);
      announce(deadLetter);
      return deadLetter;
    },
    close: () => logLimited.close(),
  };
}
