// ingest: MQTT (persistent session, QoS 1) → validate → SQLite spool → InfluxDB (or the local store).
// The PUBACK for a message is sent only after its row is committed to the spool, so a crash at any
// point leaves every message either in the broker's queue for us or in the spool. Group commit: the
// messages that arrive in one event-loop turn share one SQLite transaction (one COMMIT instead of
// one per message); their PUBACKs go out after that COMMIT.
import type { IPublishPacket, MqttClient } from 'mqtt';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { SiteIndex } from '../contracts/site.ts';
import type { Refusal } from '../contracts/message-checks.ts';
import type { Logger } from '../platform/logger.ts';
import { createDeadLetters } from '../platform/dead-letters.ts';
import { metricsRegistry } from '../platform/metrics.ts';
import { openDatabase } from '../platform/sqlite.ts';
import type { LineWriter } from '../platform/influx-writer.ts';
import { IntervalMean } from '../platform/pipeline-stats.ts';
import { SpoolDrain, writeSpoolBatch, type DrainOutcome } from '../platform/spool-drain.ts';
import { closeSession, connectServiceSession, type RunningService } from '../platform/service-shell.ts';
import { systemClock, type Clock } from '../platform/clock.ts';
import { deadLetterLine } from './line-protocol.ts';
import { decideIngest } from './message-handler.ts';
import { GroupCommit } from './group-commit.ts';
import { startIngestFigures } from './figures.ts';
import { RecentReadings } from './dedupe.ts';
import { IngestStore, type SpoolRow } from './spool.ts';
import type { IngestLimits } from './validate.ts';
import { ingestFilters } from './subscriptions.ts';
import { isDrillReadingTopic, validateDrillReading } from './drill-readings.ts';

export interface IngestOptions {
  mqttUrl: string;
  clientId: string;
  /** `$share/<group>/…` subscriptions (several workers on a broker with shared subscriptions); absent: plain. */
  sharedGroup?: string;
  username: string;
  password: string;
  site: SiteIndex;
  databaseFile: string;
  /** null: no InfluxDB, readings go to the local SQLite store. */
  writer: LineWriter | null;
  limits: IngestLimits;
  batchSize: number;
  flushMs: number;
  spoolMaxRows: number;
  localRetentionRows: number;
  logger: Logger;
  /** Seconds between `pipeline,service=ingest` points (through the spool); 0 or absent: none. */
  pipelineStatsS?: number;
  /** The pipeline's clock (README "Time model"): the future/too-old window and dead-letter times. Default: the wall clock. */
  clock?: Clock;
  /** Test and bench hook: called after rows reached their destination. */
  onStored?: (rows: readonly SpoolRow[], storedAtMs: number) => void;
  /** Test hook: called inside each group-commit transaction after its INSERTs, before COMMIT. */
  beforeCommit?: (messagesInTransaction: number) => void;
}

export interface RunningIngest extends RunningService {
  readonly store: IngestStore;
  readonly connected: boolean;
  /** For /healthz: the MQTT link, the spool below its cap, InfluxDB writes not failing for long. */
  health(): { ok: boolean; detail: Record<string, unknown> };
  /** Readings written to their destination and messages dead-lettered since this process started. */
  readonly counts: { readonly readingsStored: number; readonly deadLetters: number };
  close(): Promise<void>;
}

/** InfluxDB failing for longer than this makes ingest unhealthy (readings still spool meanwhile). */
export const INFLUX_FAILING_UNHEALTHY_MS = 60_000;

const received = new Counter({ name: 'ews_ingest_received_total', help: 'Messages received by ingest', labelNames: ['kind'] as const, registers: [metricsRegistry] });
const stored = new Counter({ name: 'ews_ingest_stored_total', help: 'Lines written to their destination (InfluxDB or local store)', labelNames: ['destination'] as const, registers: [metricsRegistry] });
const rejectedTotal = new Counter({ name: 'ews_ingest_rejected_total', help: 'Messages dead-lettered by ingest', labelNames: ['reason'] as const, registers: [metricsRegistry] });
const duplicates = new Counter({ name: 'ews_ingest_duplicates_total', help: 'Readings seen again (same node, time, sequence and values) and not rewritten', registers: [metricsRegistry] });
const spoolDepthGauge = new Gauge({ name: 'ews_ingest_spool_depth', help: 'Rows waiting in the spool', registers: [metricsRegistry] });
const writeFailures = new Counter({ name: 'ews_ingest_write_failures_total', help: 'Failed InfluxDB writes (retried)', registers: [metricsRegistry] });
const refusedLinesTotal = new Counter({ name: 'ews_ingest_lines_refused_total', help: 'Lines InfluxDB refused for their content, kept in SQLite', registers: [metricsRegistry] });
const writeSeconds = new Histogram({
  name: 'ews_ingest_write_seconds',
  help: 'Latency of one batch write to the destination',
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [metricsRegistry],
});
const lagSeconds = new Histogram({
  name: 'ews_ingest_lag_seconds',
  help: 'Observation time to stored time of each reading',
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600, 86400],
  registers: [metricsRegistry],
});

export async function startIngest(opts: IngestOptions): Promise<RunningIngest> {
  const log = opts.logger;
  const db = openDatabase(opts.databaseFile);
  const store = new IngestStore(db);
  const recent = new RecentReadings();
  // Dead-letter points get strictly increasing times: two in one millisecond would otherwise be one
  // InfluxDB point (same reason and node tags) and the dashboards would count one. O(1) memory.
  let lastDeadLetterTs = 0;
  const destination = opts.writer ? 'influxdb' : 'local';
  // Spool → InfluxDB (or the local store); waits for a full batch or INGEST_FLUSH_MS.
  const drain = new SpoolDrain({
    step: drainOnce,
    idleMs: opts.flushMs,
    continueAfterWrite: () => store.spoolDepth >= opts.batchSize,
    log,
    what: 'readings',
    describe: () => ({ spoolDepth: store.spoolDepth }),
  });
  let lastCapWarning = 0;
  // Figures for the `pipeline` measurement (cumulative since this process started).
  const statsCounts = { readingsStored: 0, deadLetters: 0 };
  const statsLatency = new IntervalMean();

  if (!opts.writer) log.warn('no INFLUX_URL configured: readings are kept in the local SQLite store only');
  else log.info({ writer: opts.writer.description }, 'ingest writes to InfluxDB');
  if (store.spoolDepth > 0) log.info({ spoolDepth: store.spoolDepth }, 'spool has rows from before the restart; draining them first');
  spoolDepthGauge.set(store.spoolDepth);

  function spoolHasRoom(pending: number): boolean {
    // The messages let in this turn are not committed yet: at most one row each.
    const depth = store.spoolDepth + pending;
    spoolDepthGauge.set(depth);
    const now = Date.now();
    if (depth >= opts.spoolMaxRows * 0.8 && now - lastCapWarning > 60_000) {
      lastCapWarning = now;
      log.warn({ spoolDepth: depth, cap: opts.spoolMaxRows }, depth >= opts.spoolMaxRows ? 'spool FULL: no longer acknowledging; the broker keeps the messages' : 'spool above 80 % of its cap');
    }
    return depth < opts.spoolMaxRows;
  }

  const deadLetters = createDeadLetters({ service: 'ingest', table: store.deadLetterTable, log, counter: rejectedTotal, client: () => client });
  /** Records the dead letter and its InfluxDB point in the group's transaction; announced after COMMIT. */
  function deadLetter(topic: string, payload: Buffer, refused: Omit<Refusal, 'ok'>, nowMs: number, afterCommit: (() => void)[]): void {
    const { deadLetter: dl, id } = deadLetters.record(refused, topic, payload, nowMs);
    const pointTs = Math.max(nowMs, lastDeadLetterTs + 1);
    lastDeadLetterTs = pointTs;
    store.append(deadLetterLine(refused.code, refused.nodeId, id, pointTs), pointTs);
    afterCommit.push(() => {
      statsCounts.deadLetters += 1;
      deadLetters.announce(dl);
    });
  }

  /**
   * Validates and spools (or dead-letters) one message, inside the group's transaction. What must not
   * happen twice if the transaction rolls back (metrics, logs, MQTT publishes) goes to `afterCommit`;
   * what must be undone then (the duplicate filter's memory) goes to `onRollback`.
   */
  function accept(packet: IPublishPacket, afterCommit: (() => void)[], onRollback: (() => void)[]): void {
    const nowMs = (opts.clock ?? systemClock).now();
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    if (isDrillReadingTopic(packet.topic)) {
      // A sensor drill's reading (ingest/drill-readings.ts): its own measurement, never a real reading.
      const drill = validateDrillReading(packet.topic, payload, nowMs, opts.site, opts.limits);
      afterCommit.push(() => received.inc({ kind: drill.ok ? 'drill-reading' : 'invalid' }));
      if (drill.ok) store.append(drill.line, drill.tsMs);
      else deadLetter(packet.topic, payload, drill, nowMs, afterCommit);
      return;
    }
    const decision = decideIngest(packet.topic, payload, nowMs, opts.site, opts.limits, recent);
    switch (decision.action) {
      case 'dead-letter':
        afterCommit.push(() => received.inc({ kind: decision.received }));
        return deadLetter(packet.topic, payload, decision.refused, nowMs, afterCommit);
      case 'store-status':
        store.append(decision.line, decision.tsMs);
        afterCommit.push(() => {
          received.inc({ kind: 'status' });
          log.info({ nodeId: decision.status.nodeId, zoneId: decision.zoneId, status: decision.status.status }, 'node status');
        });
        return;
      case 'skip-duplicate':
        afterCommit.push(() => {
          received.inc({ kind: 'reading' });
          duplicates.inc();
        });
        return;
      case 'store-reading':
        afterCommit.push(() => received.inc({ kind: 'reading' }));
        onRollback.push(() => recent.forget(decision.nodeId, decision.tsMs));
        store.append(decision.line, decision.tsMs);
    }
  }

  const groups = new GroupCommit({
    transaction: (work) => store.commit(work),
    accept,
    hasRoom: spoolHasRoom,
    committed: () => {
      if (!drain.failing && store.spoolDepth >= opts.batchSize) drain.wake();
    },
    ...(opts.beforeCommit ? { beforeCommit: opts.beforeCommit } : {}),
    log,
  });
  // Readings and status take the same path (group commit into the spool).
  const client: MqttClient = connectServiceSession({
    url: opts.mqttUrl,
    clientId: opts.clientId,
    username: opts.username,
    password: opts.password,
    service: 'ingest',
    routes: ingestFilters(opts.sharedGroup).map((filter) => ({ filter, handle: groups.handle })),
    log,
  });

  async function drainOnce(): Promise<DrainOutcome> {
    const started = performance.now();
    let rows: SpoolRow[];
    try {
      if (opts.writer) {
        const batch = await writeSpoolBatch(store, opts.writer, opts.batchSize, log, 'rejected_lines');
        refusedLinesTotal.inc(batch.refused);
        rows = batch.rows;
      } else {
        rows = store.peek(opts.batchSize);
        if (rows.length > 0) store.moveToLocal(rows, opts.localRetentionRows);
      }
    } catch (err) {
      writeFailures.inc();
      throw err;
    }
    if (rows.length === 0) return 'empty';
    const now = Date.now();
    writeSeconds.observe((performance.now() - started) / 1000);
    statsLatency.observe(performance.now() - started);
    for (const r of rows) if (r.line.startsWith('reading,')) statsCounts.readingsStored += 1;
    for (const r of rows) lagSeconds.observe(Math.max(0, now - r.tsMs) / 1000);
    stored.inc({ destination }, rows.length);
    spoolDepthGauge.set(store.spoolDepth);
    opts.onStored?.(rows, now);
    groups.releaseBlocked();
    return 'wrote';
  }

  const figures = startIngestFigures({
    intervalS: opts.pipelineStatsS ?? 0,
    store,
    spoolMaxRows: opts.spoolMaxRows,
    site: opts.site,
    log,
    // No write since the last point: write_latency_ms is undefined and left out.
    collect: () => ({ readings_stored: statsCounts.readingsStored, spool_depth: store.spoolDepth, dead_letters: statsCounts.deadLetters, write_latency_ms: statsLatency.take() }),
  });

  drain.start();

  return {
    store,
    get connected() {
      return client.connected;
    },
    health() {
      const failingForMs = drain.failingSince === null ? 0 : Date.now() - drain.failingSince;
      const spoolFull = store.spoolDepth >= opts.spoolMaxRows;
      const influx = !opts.writer ? 'none (local store)' : drain.failingSince === null ? 'ok' : `failing for ${Math.round(failingForMs / 1000)} s`;
      return {
        ok: client.connected && !spoolFull && failingForMs < INFLUX_FAILING_UNHEALTHY_MS,
        detail: { mqtt: client.connected, spoolDepth: store.spoolDepth, spoolCap: opts.spoolMaxRows, spoolFull, influx },
      };
    },
    counts: statsCounts,
    async close() {
      // Acknowledge what this turn took in, stop taking messages (unacked ones stay queued at the
      // broker), then flush what we hold.
      groups.close();
      await closeSession(client);
      deadLetters.close();
      figures.stop();
      await drain.stop();
      if (!(await drain.flush())) log.warn({ spoolDepth: store.spoolDepth }, 'final flush failed; rows stay in the spool for the next start');
      await opts.writer?.close();
      db.close();
      log.info({ spoolDepth: store.spoolDepth }, 'ingest stopped');
    },
  };
}
