// ingest: MQTT (persistent session, QoS 1) → validate → SQLite spool → InfluxDB (or the local store).
// The PUBACK for a message is sent only after its row is committed to the spool, so a crash at any
// point leaves every message either in the broker's queue for us or in the spool. Group commit: the
// messages that arrive in one event-loop turn share one SQLite transaction (one COMMIT instead of
// one per message); their PUBACKs go out after that COMMIT.
import type { IPublishPacket, MqttClient } from 'mqtt';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { SiteIndex } from '../contracts/site.ts';
import { topics } from '../contracts/topics.ts';
import type { DeadLetter } from '../contracts/payloads.ts';
import type { Logger } from '../platform/logger.ts';
import { rateLimitedWarn } from '../platform/log-limiter.ts';
import { metricsRegistry } from '../platform/metrics.ts';
import { openDatabase } from '../platform/sqlite.ts';
import { writeIsolatingRefused, type LineWriter } from '../platform/influx-writer.ts';
import { IntervalMean, siteNodeLines, startPipelineStats } from '../platform/pipeline-stats.ts';
import { SpoolDrain, type DrainOutcome } from '../platform/spool-drain.ts';
import { connectDurableSession } from '../platform/mqtt-session.ts';
import { systemClock, type Clock } from '../platform/clock.ts';
import { deadLetterLine, nodeStatusLine, readingLine } from './line-protocol.ts';
import { RecentReadings } from './dedupe.ts';
import { IngestStore, type SpoolRow } from './spool.ts';
import { validateMessage, type IngestLimits } from './validate.ts';
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

export interface RunningIngest {
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
const setAsideTotal = new Counter({ name: 'ews_ingest_lines_refused_total', help: 'Lines InfluxDB refused for their content, kept in SQLite', registers: [metricsRegistry] });
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

const EXCERPT_BYTES = 256;

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

  function spoolHasRoom(): boolean {
    // The messages let in this turn are not committed yet: at most one row each.
    const depth = store.spoolDepth + group.length;
    spoolDepthGauge.set(depth);
    const now = Date.now();
    if (depth >= opts.spoolMaxRows * 0.8 && now - lastCapWarning > 60_000) {
      lastCapWarning = now;
      log.warn({ spoolDepth: depth, cap: opts.spoolMaxRows }, depth >= opts.spoolMaxRows ? 'spool FULL: no longer acknowledging; the broker keeps the messages' : 'spool above 80 % of its cap');
    }
    return depth < opts.spoolMaxRows;
  }

  // A few lines per reason per 10 s, then a count: bad data in bulk must not bury the log.
  const deadLetterLog = rateLimitedWarn(log, 'message dead-lettered');
  function deadLetter(topic: string, payload: Buffer, code: string, reason: string, nodeId: string | undefined, nowMs: number, afterCommit: (() => void)[]): void {
    const dl: DeadLetter = {
      service: 'ingest',
      reason,
      topic,
      receivedAt: new Date(nowMs).toISOString(),
      payloadBytes: payload.length,
      payloadExcerpt: payload.subarray(0, EXCERPT_BYTES).toString('utf8'),
      ...(nodeId ? { nodeId } : {}),
    };
    const id = store.recordDeadLetter({ ...dl, code });
    const pointTs = Math.max(nowMs, lastDeadLetterTs + 1);
    lastDeadLetterTs = pointTs;
    store.append(deadLetterLine(code as Parameters<typeof deadLetterLine>[0], nodeId, id, pointTs), pointTs);
    afterCommit.push(() => {
      rejectedTotal.inc({ reason: code });
      statsCounts.deadLetters += 1;
      deadLetterLog.warn(code, { nodeId, topic, reason, bytes: payload.length });
      if (client.connected) client.publish(topics.deadLetter('ingest'), JSON.stringify(dl), { qos: 0 });
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
      else deadLetter(packet.topic, payload, drill.code, drill.reason, drill.nodeId, nowMs, afterCommit);
      return;
    }
    const result = validateMessage(packet.topic, payload, nowMs, opts.site, opts.limits);
    if (!result.ok) {
      afterCommit.push(() => received.inc({ kind: 'invalid' }));
      deadLetter(packet.topic, payload, result.code, result.reason, result.nodeId, nowMs, afterCommit);
      return;
    }
    if (result.kind === 'status') {
      store.append(nodeStatusLine(result.status, result.zoneId, result.tsMs), result.tsMs);
      afterCommit.push(() => {
        received.inc({ kind: 'status' });
        log.info({ nodeId: result.status.nodeId, zoneId: result.zoneId, status: result.status.status }, 'node status');
      });
      return;
    }
    afterCommit.push(() => received.inc({ kind: 'reading' }));
    const { reading } = result;
    const line = readingLine(reading, result.zoneId, result.tsMs);
    const seen = recent.check(reading.nodeId, result.tsMs, reading.seq, line);
    if (seen === 'duplicate') {
      afterCommit.push(() => duplicates.inc());
      return;
    }
    if (seen !== 'new') {
      deadLetter(packet.topic, payload, 'duplicate-timestamp', `reading seq ${reading.seq} has the time ${reading.ts} of seq ${seen.conflictWithSeq} with different values; the first is kept`, reading.nodeId, nowMs, afterCommit);
      return;
    }
    onRollback.push(() => recent.forget(reading.nodeId, result.tsMs));
    store.append(line, result.tsMs);
  }

  // Group commit. Messages received in this event-loop turn wait in `group` (their PUBACKs held);
  // one setImmediate later they are spooled in one transaction and acknowledged. Bounded: mqtt.js
  // hands over only what it parsed from the socket in this turn, and nothing more is read while the
  // spool is full or a commit is failing (`blocked`).
  let group: { packet: IPublishPacket; ack: () => void }[] = [];
  let commitScheduled = false;
  let storageFailing = false;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;
  /** Messages not yet let in, while the spool is at its cap or storage fails (backpressure into the broker's queue). */
  const blocked: (() => void)[] = [];

  function enqueue(packet: IPublishPacket, ack: () => void): void {
    group.push({ packet, ack });
    if (!commitScheduled) {
      commitScheduled = true;
      setImmediate(commitGroup);
    }
  }

  function commitGroup(): void {
    commitScheduled = false;
    if (closed) return; // not acknowledged: the broker re-delivers them to the next session
    const messages = group;
    group = [];
    if (messages.length === 0) return;
    const afterCommit: (() => void)[] = [];
    const onRollback: (() => void)[] = [];
    try {
      store.commit(() => {
        for (const m of messages) accept(m.packet, afterCommit, onRollback);
        opts.beforeCommit?.(messages.length);
      });
    } catch (err) {
      // Storage trouble (disk full…): nothing of the group is kept; keep it unacknowledged, take no
      // new message, and try again shortly.
      for (const undo of onRollback) undo();
      storageFailing = true;
      log.error({ err: err instanceof Error ? err.message : String(err), messages: messages.length }, 'could not spool messages; retrying');
      retryTimer = setTimeout(() => {
        group = [...messages, ...group];
        storageFailing = false;
        commitGroup();
        releaseBlocked();
      }, 1000);
      return;
    }
    for (const m of messages) m.ack();
    for (const effect of afterCommit) effect();
    if (!drain.failing && store.spoolDepth >= opts.batchSize) drain.wake();
  }

  function releaseBlocked(): void {
    while (blocked.length > 0 && !storageFailing && spoolHasRoom()) blocked.shift()?.();
  }

  const client: MqttClient = connectDurableSession({
    url: opts.mqttUrl,
    clientId: opts.clientId,
    username: opts.username,
    password: opts.password,
    service: 'ingest',
    filters: ingestFilters(opts.sharedGroup),
    log,
    // Dead letters are in SQLite already; do not pile copies up in memory while offline.
    queueQoSZero: false,
    handle: (packet, ack, readNext) => {
      const letIn = () => {
        enqueue(packet, ack);
        readNext();
      };
      // Without readNext() mqtt.js hands over nothing more: the broker keeps the rest queued.
      if (!storageFailing && spoolHasRoom()) letIn();
      else blocked.push(letIn);
    },
  });

  async function drainOnce(): Promise<DrainOutcome> {
    const rows = store.peek(opts.batchSize);
    if (rows.length === 0) return 'empty';
    const started = performance.now();
    try {
      if (opts.writer) {
        // A line InfluxDB refuses (bad content) is found and kept in rejected_lines; the rest is written.
        const refused = await writeIsolatingRefused(opts.writer, rows.map((r) => r.line));
        store.settle(rows, refused);
        if (refused.length > 0) {
          setAsideTotal.inc(refused.length);
          log.error({ refused: refused.length, of: rows.length, err: refused[0]?.error, line: rows[refused[0]?.index ?? 0]?.line.slice(0, 200) }, 'InfluxDB refused lines for their content; kept in rejected_lines, the rest of the batch written');
        }
      } else store.moveToLocal(rows, opts.localRetentionRows);
    } catch (err) {
      writeFailures.inc();
      throw err;
    }
    const now = Date.now();
    writeSeconds.observe((performance.now() - started) / 1000);
    statsLatency.observe(performance.now() - started);
    for (const r of rows) if (r.line.startsWith('reading,')) statsCounts.readingsStored += 1;
    for (const r of rows) lagSeconds.observe(Math.max(0, now - r.tsMs) / 1000);
    stored.inc({ destination }, rows.length);
    spoolDepthGauge.set(store.spoolDepth);
    opts.onStored?.(rows, now);
    releaseBlocked();
    return 'wrote';
  }

  // A stats point goes through the spool like every other line; skipped (lost) when the spool is full.
  const stats = startPipelineStats({
    service: 'ingest',
    intervalS: opts.pipelineStatsS ?? 0,
    logger: log,
    collect: () => {
      // No write since the last point: write_latency_ms is undefined and left out.
      return { readings_stored: statsCounts.readingsStored, spool_depth: store.spoolDepth, dead_letters: statsCounts.deadLetters, write_latency_ms: statsLatency.take() };
    },
    sink: (line, tsMs) => {
      if (store.spoolDepth < opts.spoolMaxRows) store.append(line, tsMs);
    },
  });
  // The node registry (positions) for the city geomap, at start and every 5 minutes, with the stats.
  const writeSiteNodes = () => {
    try {
      if (store.spoolDepth >= opts.spoolMaxRows) return;
      const now = Date.now();
      const nodes = [...opts.site.nodes.values()].map((n) => ({ ...n, zoneName: opts.site.zones.get(n.zone)?.name ?? n.zone }));
      for (const line of siteNodeLines(nodes, now)) store.append(line, now);
    } catch (err) {
      log.warn({ err: err instanceof Error ? err.message : String(err) }, 'site_node points skipped');
    }
  };
  const siteNodesTimer = (opts.pipelineStatsS ?? 0) > 0 ? setInterval(writeSiteNodes, 300_000).unref() : undefined;
  if (siteNodesTimer) writeSiteNodes();

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
      commitGroup();
      closed = true;
      clearTimeout(retryTimer);
      await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
      deadLetterLog.close();
      stats.stop(true);
      clearInterval(siteNodesTimer);
      await drain.stop();
      if (!(await drain.flush())) log.warn({ spoolDepth: store.spoolDepth }, 'final flush failed; rows stay in the spool for the next start');
      await opts.writer?.close();
      db.close();
      log.info({ spoolDepth: store.spoolDepth }, 'ingest stopped');
    },
  };
}
