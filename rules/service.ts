// The rules service: MQTT (svc-rules, fixed client id, clean=false, QoS 1) → parse (zod) → journal +
// engine + outbox in one SQLite transaction → PUBACK → publish events/danger from the outbox → mark
// published; InfluxDB lines leave through a SQLite spool. A message is acknowledged only once its
// effect is durable, and an event is published only once it is durable, so a crash at any point
// loses nothing: the broker redelivers what was not acknowledged, the journal replays what was not
// checkpointed, the outbox publishes what was not marked published.
import type { IPublishPacket, MqttClient } from 'mqtt';
import { Counter, Gauge, Histogram } from 'prom-client';
import { z } from 'zod';
import { dangerSchema, describeZodError, eventSchema, type DrillEvent, type FireEvent } from '../contracts/payloads.ts';
import type { Site } from '../contracts/site.ts';
import { topics } from '../contracts/topics.ts';
import type { LineWriter } from '../platform/influx-writer.ts';
import type { Logger } from '../platform/logger.ts';
import { createDeadLetters } from '../platform/dead-letters.ts';
import { SpoolDrain, writeSpoolBatch, type DrainOutcome } from '../platform/spool-drain.ts';
import { closeSession, connectServiceSession, type MessageHandler, type RunningService } from '../platform/service-shell.ts';
import { metricsRegistry } from '../platform/metrics.ts';
import { openDatabase } from '../platform/sqlite.ts';
import { PipelineClock } from '../platform/clock.ts';
import type { RulesConfig } from './config.ts';
import { RulesCore, officialCronExpression, parseCoreState, serializeCoreState, type ClockMode, type CoreInput, type CoreOutput } from './core.ts';
import type { EngineReading } from './engine.ts';
import { dangerLine, eventLine } from './influx-lines.ts';
import { decideRules } from './message-handler.ts';
import { makeDrillReadingHandler } from './drill-detection.ts';
import { startOutboxPublisher } from './outbox-publisher.ts';
import { startRulesSchedule } from './schedule.ts';
import { RulesStore, type OutboxItem } from './store.ts';
import { parseInstant } from './time.ts';

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

export interface RunningRules extends RunningService {
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
  const drillReadings = makeDrillReadingHandler(opts.site, opts.config.detection, db, (items) => store.enqueue(items));
  const clock = opts.clock ?? new PipelineClock(false);
  let running = true;

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
  let wakePublisher: (() => void) | undefined;

  const deadLetterPolicy = createDeadLetters({ service: 'rules', table: store.deadLetters, log, counter: deadLetters, client: () => client });

  function handle(packet: IPublishPacket): void {
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const decision = decideRules(packet.topic, payload, (nodeId) => nodeZone.has(nodeId), (nodeId, seq, tsMs) => core.isDuplicate(nodeId, seq, tsMs));
    switch (decision.action) {
      case 'dead-letter':
        if (decision.reading) readingsTotal.inc({ result: 'dead-letter' });
        deadLetterPolicy.refuse(decision.refused, packet.topic, payload, Date.now());
        return;
      case 'note-status': {
        const { status } = decision;
        statusTotal.inc({ status: status.status });
        log.info({ nodeId: status.nodeId, zoneId: nodeZone.get(status.nodeId), status: status.status, reason: status.reason }, 'node status');
        return;
      }
      case 'skip-duplicate':
        readingsTotal.inc({ result: 'duplicate' });
        return;
      case 'apply-reading': {
        const { reading, tsMs } = decision;
        followClock();
        const rxMs = clock.now();
        commit({ kind: 'reading', reading, tsMs, rxMs }, JSON.stringify(reading));
        readingsTotal.inc({ result: 'processed' });
        // Observation → durable, in wall seconds (an accelerated run's clock runs `rate` times faster).
        if (opts.clockMode === 'wall') lagSeconds.observe(Math.max(0, clock.now() - tsMs) / clock.rate() / 1000);
      }
    }
  }

  /** A sensor drill's reading (rules/drill-detection.ts): judged in the drill's own state, never the real one. */
  function handleDrillReading(packet: IPublishPacket): void {
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const r = drillReadings.handle(packet.topic, payload, Date.now());
    if (!r.ok) {
      deadLetterPolicy.refuse(r, packet.topic, payload, Date.now());
      return;
    }
    drillEventsQueued(r.events);
  }
  function drillEventsQueued(events: readonly DrillEvent[]): void {
    for (const e of events) log.info({ eventId: e.eventId, kind: e.kind, zoneId: e.zoneId, drillId: e.drill.id }, 'drill event');
    if (events.length) wakePublisher?.();
  }

  // Spool → InfluxDB, with backoff; lines InfluxDB refuses for their content are kept in influx_refused.
  const influxDrain = opts.writer ? new SpoolDrain({ step: drainInfluxOnce, idleMs: 1000, log, what: 'lines', describe: () => ({ spoolDepth: store.spoolDepth() }) }) : null;

  // Acknowledged only after the journal transaction committed; retried while storage fails.
  const durably = (handleOne: (packet: IPublishPacket) => void): MessageHandler => (packet, done) => {
    const attempt = () => {
      try {
        handleOne(packet);
        done();
      } catch (err) {
        log.error({ err: err instanceof Error ? err.message : String(err), topic: packet.topic }, 'could not store the effect of a message; retrying (not acknowledged)');
        if (running) setTimeout(attempt, 1000);
      }
    };
    attempt();
  };
  client = connectServiceSession({
    url: opts.mqttUrl,
    clientId: opts.clientId,
    username: opts.username,
    password: opts.password,
    service: 'rules',
    routes: [
      { filter: topics.allReadings, handle: durably(handle) },
      { filter: topics.allStatus, handle: durably(handle) },
      { filter: topics.allDrillReadings, handle: durably(handleDrillReading) },
    ],
    log,
  });

  const publisher = startOutboxPublisher({ store, client, log, onDepth: (depth) => outboxDepth.set(depth) });
  wakePublisher = publisher.wake;

  async function drainInfluxOnce(): Promise<DrainOutcome> {
    if (!opts.writer) return 'empty';
    const { outcome } = await writeSpoolBatch(store.lines, opts.writer, opts.influxBatch, log, 'influx_refused');
    spoolDepth.set(store.spoolDepth());
    return outcome;
  }
  influxDrain?.start();

  const schedule = startRulesSchedule({
    clock,
    clockMode: opts.clockMode,
    tickS: opts.tickS,
    officialCron: officialCronExpression(opts.config),
    provisionalCron: opts.provisionalCron,
    timezone: opts.timezone,
    tick: (why) => {
      try {
        followClock();
        commit({ kind: 'tick', rxMs: clock.now() }, '');
      } catch (err) {
        log.error({ err: err instanceof Error ? err.message : String(err), why }, 'tick could not be stored');
      }
    },
    log,
  });
  const timers: NodeJS.Timeout[] = [];
  // Drill readings wait REORDER_HOLD_MS for older ones (rules/drill-detection.ts); judged here when none comes.
  const flushDrills = () => {
    try {
      drillEventsQueued(drillReadings.flushDue(Date.now()));
    } catch (err) {
      log.error({ err: err instanceof Error ? err.message : String(err) }, 'drill readings could not be judged; retried in half a second');
    }
  };
  timers.push(setInterval(flushDrills, 500));
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
    health() {
      return { ok: client.connected, detail: { connected: client.connected, outboxDepth: store.outboxDepth(), spoolDepth: store.spoolDepth() } };
    },
    async close() {
      await schedule.stop();
      for (const t of timers) clearInterval(t);
      await closeSession(client);
      deadLetterPolicy.close();
      running = false;
      await publisher.stop();
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
