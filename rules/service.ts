// The rules service: MQTT (svc-rules, fixed client id, clean=false, QoS 1) → parse (zod) → journal +
// engine + outbox in one SQLite transaction → PUBACK → publish events/danger from the outbox → mark
// published; InfluxDB lines leave through a SQLite spool. A message is acknowledged only once its
// effect is durable, and an event is published only once it is durable, so a crash at any point
// loses nothing: the broker redelivers what was not acknowledged, the journal replays what was not
// checkpointed, the outbox publishes what was not marked published.
import type { IPublishPacket, MqttClient } from 'mqtt';
import cron, { type ScheduledTask } from 'node-cron';
import { Counter, Gauge, Histogram } from 'prom-client';
import { z } from 'zod';
import { dangerSchema, deadLetterSchema, describeZodError, eventSchema, nodeStatusSchema, type DeadLetter, type FireEvent } from '../contracts/payloads.ts';
import type { Site } from '../contracts/site.ts';
import { parseTopic, topics } from '../contracts/topics.ts';
import { writeIsolatingRefused, type LineWriter } from '../platform/influx-writer.ts';
import type { Logger } from '../platform/logger.ts';
import { rateLimitedWarn } from '../platform/log-limiter.ts';
import { SpoolDrain, type DrainOutcome } from '../platform/spool-drain.ts';
import { connectDurableSession } from '../platform/mqtt-session.ts';
import { metricsRegistry } from '../platform/metrics.ts';
import { openDatabase } from '../platform/sqlite.ts';
import { PipelineClock } from '../platform/clock.ts';
import type { RulesConfig } from './config.ts';
import { RulesCore, officialCronExpression, rulesReadingSchema, parseCoreState, serializeCoreState, type ClockMode, type CoreInput, type CoreOutput } from './core.ts';
import type { EngineReading } from './engine.ts';
import { dangerLine, eventLine } from './influx-lines.ts';
import { RulesStore, type OutboxItem } from './store.ts';
import { parseInstant } from './time.ts';
import { makeDrillReadingHandler } from './drill-detection.ts';

export interface RulesServiceOptions {
  mqttUrl: string;
  clientId: string;
  username: string;
  password: string;
  site: Site;
  config: RulesConfig;
  clockMode: ClockMode;
  databaseFile: string;
  /** null: no InfluxDB (events and danger go to MQTT only). */
  writer: LineWriter | null;
  timezone: string;
  provisionalCron: string;
  tickS: number;
  checkpointEvery: number;
  checkpointS: number;
  influxBatch: number;
  logger: Logger;
  /** The pipeline's clock (README "Time model"); default: the wall clock. Used in clockMode `wall`. */
  clock?: PipelineClock;
  /** Every event once it is durable (the console of `fire-ews start` shows them). */
  onEvent?: (event: FireEvent) => void;
}

export interface RunningRules {
  readonly store: RulesStore;
  readonly core: RulesCore;
  readonly connected: boolean;
  /** Takes a checkpoint now (tests, shutdown). */
  checkpoint(): void;
  close(): Promise<void>;
}

const readingsTotal = new Counter({ name: 'ews_rules_readings_total', help: 'Readings received by rules', labelNames: ['result'] as const, registers: [metricsRegistry] });
const statusTotal = new Counter({ name: 'ews_rules_status_total', help: 'Node status messages received by rules', labelNames: ['status'] as const, registers: [metricsRegistry] });
const eventsTotal = new Counter({ name: 'ews_rules_events_emitted_total', help: 'Events emitted by rules', labelNames: ['kind'] as const, registers: [metricsRegistry] });
const dangerTotal = new Counter({ name: 'ews_rules_danger_emitted_total', help: 'Danger values emitted by rules', labelNames: ['official'] as const, registers: [metricsRegistry] });
const deadLetters = new Counter({ name: 'ews_rules_dead_letters_total', help: 'Messages rules refused', labelNames: ['reason'] as const, registers: [metricsRegistry] });
const outboxDepth = new Gauge({ name: 'ews_rules_outbox_depth', help: 'Events and danger values waiting to be published', registers: [metricsRegistry] });
const spoolDepth = new Gauge({ name: 'ews_rules_influx_spool_depth', help: 'Lines waiting for InfluxDB', registers: [metricsRegistry] });
const lagSeconds = new Histogram({
  name: 'ews_rules_lag_seconds',
  help: 'Observation time of a reading to the moment its effect is durable in rules (wall clock mode)',
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600],
  registers: [metricsRegistry],
});

const EXCERPT_BYTES = 256;

/** What rules publishes and writes for one core output (validated against the contract). */
export function outboxItems(out: CoreOutput, log: Logger): OutboxItem[] {
  const items: OutboxItem[] = [];
  for (const e of out.events) {
    const parsed = eventSchema.safeParse(e);
    if (!parsed.success) {
      log.error({ eventId: e.eventId, zoneId: e.zoneId, err: describeZodError(parsed.error) }, 'engine produced an event outside the contract; not published');
      continue;
    }
    items.push({ key: `event:${e.eventId}`, topic: topics.event(e.kind, e.zoneId), payload: JSON.stringify(parsed.data), retain: false, lines: [eventLine(parsed.data)] });
  }
  for (const d of out.dangers) {
    const parsed = dangerSchema.safeParse(d);
    if (!parsed.success) {
      log.error({ zoneId: d.zoneId, err: describeZodError(parsed.error) }, 'engine produced a danger value outside the contract; not published');
      continue;
    }
    // The retained message is always the last official value; provisional ones are live only.
    items.push({
      key: `danger:${d.zoneId}:${d.date}:${d.official ? 'official' : 'provisional'}:${d.ts}`,
      topic: topics.danger(d.zoneId),
      payload: JSON.stringify(parsed.data),
      retain: d.official,
      lines: [dangerLine(parsed.data)],
    });
  }
  return items;
}

function readingInput(payload: string, rxMs: number): CoreInput {
  const reading = JSON.parse(payload) as EngineReading;
  return { kind: 'reading', reading, tsMs: parseInstant(reading.ts), rxMs };
}

const rebasePayloadSchema = z.object({ epoch: z.string().nullable() }).strict();

function journalInput(entry: { kind: string; payload: string; rxMs: number }): CoreInput {
  if (entry.kind === 'reading') return readingInput(entry.payload, entry.rxMs);
  if (entry.kind === 'rebase') return { kind: 'rebase', rxMs: entry.rxMs, epoch: rebasePayloadSchema.parse(JSON.parse(entry.payload)).epoch };
  return { kind: 'tick', rxMs: entry.rxMs };
}

/** Restores the core from the checkpoint and re-applies the journal after it. */
export function recoverCore(store: RulesStore, site: Site, config: RulesConfig, clockMode: ClockMode, log: Logger): { core: RulesCore; journalId: number; replayed: number } {
  const cp = store.loadCheckpoint();
  const core = new RulesCore(site, config, clockMode, cp ? parseCoreState(cp.state) : undefined);
  let journalId = cp?.journalId ?? 0;
  const entries = store.journalAfter(journalId);
  for (const entry of entries) {
    const out = core.apply(journalInput(entry));
    // Already in the outbox (same transaction as the entry); keyed, so nothing is added twice.
    store.transaction(() => store.enqueue(outboxItems(out, log)));
    journalId = entry.id;
  }
  return { core, journalId, replayed: entries.length };
}

export async function startRules(opts: RulesServiceOptions): Promise<RunningRules> {
  const log = opts.logger;
  const db = openDatabase(opts.databaseFile);
  const store = new RulesStore(db, { influx: opts.writer !== null });
  const nodeZone = new Map(opts.site.nodes.map((n) => [n.id, n.zone]));
  const clock = opts.clock ?? new PipelineClock(false);
  let running = true;
  const drillReadings = makeDrillReadingHandler(opts.site, opts.config.detection, db, (items) => store.enqueue(items));

  let { core, journalId, replayed } = recoverCore(store, opts.site, opts.config, opts.clockMode, log);
  let checkpointedId = journalId;
  let lastCheckpointAt = Date.now();
  log.info({ journalId, replayed, outboxDepth: store.outboxDepth(), clock: opts.clockMode, engineNow: Number.isNaN(core.now) ? null : new Date(core.now).toISOString() }, 'rules state recovered');
  if (!opts.writer) log.warn('no INFLUX_URL configured: rules publishes on MQTT only');
  else log.info({ writer: opts.writer.description }, 'rules writes danger and events to InfluxDB');

  function checkpoint(): void {
    if (journalId === checkpointedId) return;
    store.checkpoint(journalId, serializeCoreState(core.snapshot()));
    checkpointedId = journalId;
    lastCheckpointAt = Date.now();
  }

  function maybeCheckpoint(): void {
    if (journalId - checkpointedId >= opts.checkpointEvery || Date.now() - lastCheckpointAt >= opts.checkpointS * 1000) checkpoint();
  }

  /**
   * Before the next input: when the pipeline's clock has entered another timeline (a new
   * accelerated run moved it back), the core re-bases first, journaled like any input.
   */
  function followClock(): void {
    if (opts.clockMode !== 'wall' || core.epoch === clock.epoch) return;
    const epoch = clock.epoch;
    const rxMs = clock.now();
    log.info({ epoch, pipelineTime: new Date(rxMs).toISOString(), engineTime: Number.isNaN(core.now) ? null : new Date(core.now).toISOString() }, 'rules re-based on the pipeline clock');
    commit({ kind: 'rebase', rxMs, epoch }, JSON.stringify({ epoch }));
  }

  /** Journal + engine + outbox in one transaction; on failure the core is rebuilt from disk. */
  function commit(input: CoreInput, payload: string): void {
    if (input.kind !== 'rebase') followClock();
    let out: CoreOutput = { events: [], dangers: [] };
    try {
      store.transaction(() => {
        const id = store.journal(input.kind, payload, input.rxMs);
        out = core.apply(input);
        store.enqueue(outboxItems(out, log));
        journalId = id;
      });
    } catch (err) {
      // The engine may have moved ahead of what is on disk: rebuild it from the disk.
      ({ core, journalId } = recoverCore(store, opts.site, opts.config, opts.clockMode, log));
      throw err;
    }
    for (const e of out.events) {
      eventsTotal.inc({ kind: e.kind });
      log.info({ eventId: e.eventId, kind: e.kind, zoneId: e.zoneId, nodeId: e.nodeId, ts: e.ts, level: e.level }, 'event');
      opts.onEvent?.(e);
    }
    for (const d of out.dangers) {
      dangerTotal.inc({ official: String(d.official) });
      log.info({ zoneId: d.zoneId, date: d.date, official: d.official, level: d.level, quality: d.quality, nesterovP: d.nesterovP }, d.official ? 'official danger level' : 'provisional danger level');
    }
    if (out.events.length || out.dangers.length) wakePublisher?.();
    if ((out.dangers.length || out.events.length) && !influxDrain?.failing) influxDrain?.wake();
    maybeCheckpoint();
  }

  let client: MqttClient;

  // A few lines per reason per 10 s, then a count: bad data in bulk must not bury the log.
  const deadLetterLog = rateLimitedWarn(log, 'message dead-lettered');
  function deadLetter(topic: string, payload: Buffer, code: string, reason: string, nodeId?: string): void {
    const dl: DeadLetter = deadLetterSchema.parse({
      service: 'rules',
      reason: `${code}: ${reason}`.slice(0, 500),
      topic,
      receivedAt: new Date().toISOString(),
      payloadBytes: payload.length,
      payloadExcerpt: payload.subarray(0, EXCERPT_BYTES).toString('utf8'),
      ...(nodeId ? { nodeId } : {}),
    });
    store.recordDeadLetter(dl);
    deadLetters.inc({ reason: code });
    deadLetterLog.warn(code, { topic, nodeId, reason });
    client.publish(topics.deadLetter('rules'), JSON.stringify(dl), { qos: 1 });
  }

  function handle(packet: IPublishPacket): void {
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const parsedTopic = parseTopic(packet.topic);
    if (parsedTopic?.kind === 'drill-reading') {
      // A sensor drill's reading (rules/drill-detection.ts): judged in the drill's own state, never the real one.
      const r = drillReadings.handle(packet.topic, payload, Date.now());
      if (!r.ok) return deadLetter(packet.topic, payload, r.code, r.reason, parsedTopic.nodeId);
      for (const e of r.events) log.info({ eventId: e.eventId, kind: e.kind, zoneId: e.zoneId, drillId: e.drill.id }, 'drill event');
      if (r.events.length) wakePublisher?.();
      return;
    }
    if (!parsedTopic || (parsedTopic.kind !== 'reading' && parsedTopic.kind !== 'status')) {
      readingsTotal.inc({ result: 'dead-letter' });
      return deadLetter(packet.topic, payload, 'unknown-topic', 'not a readings or status topic');
    }
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch (err) {
      readingsTotal.inc({ result: 'dead-letter' });
      return deadLetter(packet.topic, payload, 'malformed-json', (err as Error).message.split('\n')[0] ?? 'not JSON', parsedTopic.nodeId);
    }
    if (parsedTopic.kind === 'status') {
      const st = nodeStatusSchema.safeParse(json);
      if (!st.success) return deadLetter(packet.topic, payload, 'schema', describeZodError(st.error), parsedTopic.nodeId);
      if (st.data.nodeId !== parsedTopic.nodeId) return deadLetter(packet.topic, payload, 'topic-mismatch', `payload nodeId ${st.data.nodeId} on the topic of ${parsedTopic.nodeId}`, parsedTopic.nodeId);
      statusTotal.inc({ status: st.data.status });
      // Informational: the engine judges offline/online from the readings' cadence itself.
      log.info({ nodeId: st.data.nodeId, zoneId: nodeZone.get(st.data.nodeId), status: st.data.status, reason: st.data.reason }, 'node status');
      return;
    }
    const r = rulesReadingSchema.safeParse(json);
    if (!r.success) {
      readingsTotal.inc({ result: 'dead-letter' });
      return deadLetter(packet.topic, payload, 'schema', describeZodError(r.error), parsedTopic.nodeId);
    }
    const reading = r.data;
    if (reading.nodeId !== parsedTopic.nodeId) {
      readingsTotal.inc({ result: 'dead-letter' });
      return deadLetter(packet.topic, payload, 'topic-mismatch', `payload nodeId ${reading.nodeId} on the topic of ${parsedTopic.nodeId}`, parsedTopic.nodeId);
    }
    if (!nodeZone.has(reading.nodeId)) {
      readingsTotal.inc({ result: 'dead-letter' });
      return deadLetter(packet.topic, payload, 'unknown-node', 'node not in the site file', reading.nodeId);
    }
    const tsMs = parseInstant(reading.ts);
    if (core.isDuplicate(reading.nodeId, reading.seq, tsMs)) {
      readingsTotal.inc({ result: 'duplicate' });
      return;
    }
    followClock();
    const rxMs = clock.now();
    commit({ kind: 'reading', reading: reading as EngineReading, tsMs, rxMs }, JSON.stringify(reading));
    readingsTotal.inc({ result: 'processed' });
    // Observation → durable, in wall seconds (an accelerated run's clock runs `rate` times faster).
    if (opts.clockMode === 'wall') lagSeconds.observe(Math.max(0, clock.now() - tsMs) / clock.rate() / 1000);
  }

  let wakePublisher: (() => void) | undefined;
  // Spool → InfluxDB, with backoff; lines InfluxDB refuses for their content are set aside.
  const influxDrain = opts.writer ? new SpoolDrain({ step: drainInfluxOnce, idleMs: 1000, log, what: 'lines', describe: () => ({ spoolDepth: store.spoolDepth() }) }) : null;
  const pause = (ms: number, set: (w: (() => void) | undefined) => void) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      set(() => {
        clearTimeout(timer);
        resolve();
      });
    }).finally(() => set(undefined));

  client = connectDurableSession({
    url: opts.mqttUrl,
    clientId: opts.clientId,
    username: opts.username,
    password: opts.password,
    service: 'rules',
    filters: [topics.allReadings, topics.allStatus, topics.allDrillReadings],
    log,
    // Acknowledged only after the journal transaction committed.
    handle: (packet, done) => {
      const attempt = () => {
        try {
          handle(packet);
          done();
        } catch (err) {
          log.error({ err: err instanceof Error ? err.message : String(err), topic: packet.topic }, 'could not store the effect of a message; retrying (not acknowledged)');
          if (running) setTimeout(attempt, 1000);
        }
      };
      attempt();
    },
  });

  // Outbox → MQTT, in order; a row is marked published after its PUBACK.
  const publisher = (async () => {
    while (running) {
      const rows = store.unpublished(0, 200);
      outboxDepth.set(rows.length < 200 ? rows.length : store.outboxDepth());
      if (rows.length === 0 || !client.connected) {
        await pause(rows.length === 0 ? 1000 : 200, (w) => (wakePublisher = w));
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
        await pause(1000, (w) => (wakePublisher = w));
      }
    }
  })();

  async function drainInfluxOnce(): Promise<DrainOutcome> {
    const lines = store.lines.peek(opts.influxBatch);
    if (lines.length === 0 || !opts.writer) return 'empty';
    const refused = await writeIsolatingRefused(opts.writer, lines.map((l) => l.line));
    store.lines.settle(lines, refused);
    if (refused.length > 0) log.error({ lines: refused.length, of: lines.length, err: refused[0]?.error }, 'InfluxDB refused rules lines for their content; kept in influx_refused, the rest written');
    spoolDepth.set(store.spoolDepth());
    return 'wrote';
  }
  influxDrain?.start();

  // Wall clock: the engine's tick, the official level's moment (13:17 local: the 13:00 window has
  // closed) and the hourly provisional value. In readings mode time moves only with the readings
  // and the same schedule runs inside the core under that clock.
  const tick = (why: string) => {
    try {
      followClock();
      commit({ kind: 'tick', rxMs: clock.now() }, '');
    } catch (err) {
      log.error({ err: err instanceof Error ? err.message : String(err), why }, 'tick could not be stored');
    }
  };
  const timers: NodeJS.Timeout[] = [];
  const tasks: ScheduledTask[] = [];
  // The engine tick every RULES_TICK_S of pipeline time: faster in wall time while an accelerated
  // run is followed (at least every 100 ms of wall time).
  let tickTimer: NodeJS.Timeout | undefined;
  const scheduleTick = () => {
    if (!running) return;
    tickTimer = setTimeout(() => {
      tick('interval');
      scheduleTick();
    }, Math.max(100, (opts.tickS * 1000) / clock.rate()));
  };
  const stopFollowingChanges = clock.onChange(() => {
    if (opts.clockMode !== 'wall' || !running) return;
    // Re-base now rather than at the next reading, and tick at the new rate.
    clearTimeout(tickTimer);
    tick('clock changed');
    scheduleTick();
  });
  if (opts.clockMode === 'wall') {
    scheduleTick();
    tasks.push(cron.schedule(officialCronExpression(opts.config), () => tick('official'), { timezone: opts.timezone, name: 'rules-official' }));
    tasks.push(cron.schedule(opts.provisionalCron, () => tick('provisional'), { timezone: opts.timezone, name: 'rules-provisional' }));
    log.info({ official: officialCronExpression(opts.config), provisional: opts.provisionalCron, timezone: opts.timezone }, 'rules schedules');
  }
  timers.push(
    setInterval(() => {
      try {
        maybeCheckpoint();
      } catch (err) {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'checkpoint failed');
      }
    }, opts.checkpointS * 1000),
  );

  return {
    store,
    get core() {
      return core;
    },
    get connected() {
      return client.connected;
    },
    checkpoint,
    async close() {
      clearTimeout(tickTimer);
      stopFollowingChanges();
      for (const t of timers) clearInterval(t);
      for (const t of tasks) await t.destroy();
      await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
      deadLetterLog.close();
      running = false;
      wakePublisher?.();
      await publisher;
      if (influxDrain) {
        await influxDrain.stop();
        if (!(await influxDrain.flush())) log.warn({ spoolDepth: store.spoolDepth() }, 'final InfluxDB flush failed; lines stay in the spool');
      }
      checkpoint();
      await opts.writer?.close();
      const left = store.outboxDepth();
      db.close();
      log.info({ outboxDepth: left, journalId }, 'rules stopped');
    },
  };
}
