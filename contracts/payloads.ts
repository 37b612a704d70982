// Zod schemas of every MQTT payload (contract v1). Types are inferred from the schemas so the
// wire format and the code cannot drift apart.
import { z } from 'zod';
import { EVENT_KINDS, TOPIC_ID_PATTERN, DEADLETTER_SERVICES } from './topics.ts';

export const nodeIdSchema = z.string().regex(TOPIC_ID_PATTERN, 'expected a lower-case id (a-z, 0-9, -)');
export const zoneIdSchema = nodeIdSchema;

/** ISO 8601 instant with an explicit offset, e.g. 2026-02-14T06:00:00Z or 2026-02-14T13:00:00+07:00. */
export const instantSchema = z.iso.datetime({ offset: true });

/**
 * Physical limits of the sensors we accept (SHT3x/BME-class: −40…125 °C, 0…100 %RH). Values outside
 * are faults, not weather. The upper temperature limit is deliberately high: a burning node reads hot.
 */
export const READING_LIMITS = {
  temperatureC: { min: -40, max: 125 },
  humidityPct: { min: 0, max: 100 },
  smoke: { min: 0, max: 1_000_000 },
  rainMm: { min: 0, max: 500 },
  windMs: { min: 0, max: 75 },
  batteryV: { min: 0, max: 20 },
  rssiDbm: { min: -150, max: 0 },
} as const;

const bounded = (k: keyof typeof READING_LIMITS) => z.number().min(READING_LIMITS[k].min).max(READING_LIMITS[k].max);

/** `ews/v1/readings/<nodeId>`, QoS 1. */
export const readingSchema = z
  .object({
    nodeId: nodeIdSchema,
    /** Per-node sequence number, increasing; (nodeId, seq) identifies a reading. */
    seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    /** Observation time at the node. */
    ts: instantSchema,
    temperatureC: bounded('temperatureC'),
    humidityPct: bounded('humidityPct'),
    /** Raw smoke/gas sensor value in the node's own units; rules compare it with the node's baseline. */
    smoke: bounded('smoke'),
    /** Rain since the previous report. */
    rainMm: bounded('rainMm').optional(),
    windMs: bounded('windMs').optional(),
    batteryV: bounded('batteryV').optional(),
    rssiDbm: bounded('rssiDbm').optional(),
  })
  .strict();
export type Reading = z.infer<typeof readingSchema>;

/** `ews/v1/status/<nodeId>`, retained; the `offline` message is the node's MQTT will. */
export const nodeStatusSchema = z
  .object({
    nodeId: nodeIdSchema,
    status: z.enum(['online', 'offline']),
    ts: instantSchema.optional(),
    reason: z.string().max(200).optional(),
    firmware: z.string().max(64).optional(),
  })
  .strict();
export type NodeStatus = z.infer<typeof nodeStatusSchema>;

export const DANGER_LEVELS = [1, 2, 3, 4, 5] as const;
export const dangerLevelSchema = z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4), z.literal(5)]);
export type DangerLevel = z.infer<typeof dangerLevelSchema>;

/**
 * Canadian FWI System codes of a zone that measures wind and rain (advisory companion to the
 * official level; see rules/README.md). `windKmh` is the wind used.
 */
export const fwiCodesSchema = z
  .object({
    ffmc: z.number().min(0).max(101),
    dmc: z.number().nonnegative(),
    dc: z.number().nonnegative(),
    isi: z.number().nonnegative(),
    bui: z.number().nonnegative(),
    fwi: z.number().nonnegative(),
    dsr: z.number().nonnegative(),
    windKmh: z.number().nonnegative(),
  })
  .strict();
export type FwiCodes = z.infer<typeof fwiCodesSchema>;

/** `ews/v1/danger/<zoneId>`, retained. Filled in by the rules engine. */
export const dangerSchema = z
  .object({
    zoneId: zoneIdSchema,
    /** Local date (Asia/Ho_Chi_Minh) the value belongs to. */
    date: z.iso.date(),
    ts: instantSchema,
    /** true: the 13:00 value of `date`; false: a provisional intra-day estimate of it. */
    official: z.boolean(),
    /** ok: computed from healthy nodes; estimated: partial data; unavailable: no level could be computed. */
    quality: z.enum(['ok', 'estimated', 'unavailable']),
    level: dangerLevelSchema.nullable(),
    levelName: z.string().nullable(),
    nesterovP: z.number().nonnegative().nullable(),
    inputs: z
      .object({
        t13: z.number().nullable(),
        rh13: z.number().nullable(),
        d13: z.number().nullable(),
        rain24hMm: z.number().nullable(),
        nodesUsed: z.array(nodeIdSchema),
      })
      .strict(),
    /** FWI codes when the zone measures wind and rain (official values only); absent otherwise. */
    fwi: fwiCodesSchema.optional(),
  })
  .strict();
export type Danger = z.infer<typeof dangerSchema>;

export const eventKindSchema = z.enum(EVENT_KINDS);

/** `ews/v1/events/<kind>/<zoneId>`. Filled in by the rules engine; eventId is stable across repeats. */
export const eventSchema = z
  .object({
    eventId: nodeIdSchema,
    kind: eventKindSchema,
    zoneId: zoneIdSchema,
    nodeId: nodeIdSchema.optional(),
    ts: instantSchema,
    level: dangerLevelSchema.optional(),
    previousLevel: dangerLevelSchema.optional(),
    detail: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).default({}),
  })
  .strict();
export type FireEvent = z.infer<typeof eventSchema>;

/**
 * The mark every drill payload carries (README "Drills"). Drill payloads are published only on the
 * `ews/v1/drill/…` subtree, and the real `eventSchema`/`alertLifecycleSchema` are strict, so a
 * payload with this field is refused on a real topic: no consumer can take a drill for a fire.
 */
export const drillMarkSchema = z
  .object({
    id: nodeIdSchema,
    /** alert: a drill event straight to alerts; sensor: a simulated plume through the sensors. */
    depth: z.enum(['alert', 'sensor']),
  })
  .strict();
export type DrillMark = z.infer<typeof drillMarkSchema>;

export const alertStateSchema = z.enum([
  'queued',
  'sent',
  'delivered',
  'undelivered',
  'failed',
  'acknowledged',
  'escalated',
  /** The sensors near the fire went silent: people were told, the alert stays open. */
  'signal-lost',
  'resolved',
]);

/** `ews/v1/alerts/<eventId>`: the alert lifecycle, for observability. Filled in by the alerts service. */
export const alertLifecycleSchema = z
  .object({
    eventId: nodeIdSchema,
    state: alertStateSchema,
    ts: instantSchema,
    recipients: z.number().int().nonnegative().optional(),
    detail: z.string().max(500).optional(),
  })
  .strict();
export type AlertLifecycle = z.infer<typeof alertLifecycleSchema>;

/**
 * `ews/v1/drill/events/<kind>/<zoneId>`: a drill's event. Depth `alert`: the event an alert drill
 * starts (published by svc-alerts for observers); depth `sensor`: what rules detected on a sensor
 * drill's readings (published by svc-rules; the alerts service opens the drill alert from it).
 */
export const drillEventSchema = z.object({ ...eventSchema.shape, drill: drillMarkSchema }).strict();
export type DrillEvent = z.infer<typeof drillEventSchema>;

/**
 * `ews/v1/drill/readings/<nodeId>`: a sensor drill's simulated reading (svc-simulator only), QoS 1.
 * The real reading's fields plus the drill mark; the real `readingSchema` stays strict and refuses
 * the mark, so a drill reading published on a real readings topic is dead-lettered, never stored.
 */
export const drillReadingSchema = z.object({ ...readingSchema.shape, drill: drillMarkSchema }).strict();
export type DrillReading = z.infer<typeof drillReadingSchema>;

/** `ews/v1/drill/alerts/<eventId>`: a drill alert's lifecycle (svc-alerts only). */
export const drillAlertLifecycleSchema = z.object({ ...alertLifecycleSchema.shape, drill: drillMarkSchema }).strict();
export type DrillAlertLifecycle = z.infer<typeof drillAlertLifecycleSchema>;

/**
 * `ews/v1/clock`, retained, published only by svc-simulator: the clock of an accelerated run
 * (README "Time model"). While it runs, a pipeline that follows run clocks reads
 * now = anchorSimMs + (wall − anchorWallMs) · speed; the run is placed so that this never passes
 * the wall clock and meets it at the end (endSimMs), after which the pipeline is on the wall again.
 */
export const runClockSchema = z
  .object({
    runId: nodeIdSchema,
    /** What is being played, for people reading logs (e.g. `simulate fire-san-thang`). */
    source: z.string().max(200),
    /** Run time passes this many times faster than the wall clock. */
    speed: z.number().min(1).max(100_000),
    anchorWallMs: z.number().int().nonnegative(),
    anchorSimMs: z.number().int().nonnegative(),
    endSimMs: z.number().int().nonnegative(),
    state: z.enum(['running', 'ended']),
    /** Why it ended (completed, interrupted, connection lost). */
    reason: z.string().max(200).optional(),
  })
  .strict()
  .refine((c) => c.anchorSimMs <= c.anchorWallMs && c.endSimMs >= c.anchorSimMs, { message: 'a run clock starts at or before its wall anchor and ends after it starts' })
  .refine((c) => c.endSimMs <= c.anchorWallMs + (c.endSimMs - c.anchorSimMs) / c.speed + 1000, {
    message: 'a run clock must never run ahead of the wall clock (it ends at or before the wall time of its end)',
  });
export type RunClock = z.infer<typeof runClockSchema>;

/** How a service judges time: the wall clock, the wall clock or an announced run's, or the readings' own timestamps (rules only). */
export const CLOCK_MODES = ['wall', 'follow', 'readings'] as const;
export type ClockMode = (typeof CLOCK_MODES)[number];

/**
 * `ews/v1/clock/pipeline/<role>`, retained, one per pipeline process (the embedded `start` is one):
 * how its services judge time and which run it follows. Removed (empty retained message, also its
 * will) when the process stops, so simulate/replay only see pipelines that are running.
 */
export const pipelineClockSchema = z
  .object({
    role: z.enum(['ingest', 'rules', 'alerts']),
    services: z
      .object({
        ingest: z.enum(['wall', 'follow']).optional(),
        rules: z.enum(CLOCK_MODES).optional(),
        alerts: z.enum(['wall', 'follow']).optional(),
      })
      .strict(),
    /** The run this process follows now; null on the wall clock. */
    runId: nodeIdSchema.nullable(),
    /** The process plays its own background simulation (fire-ews start): what it plays. */
    simulating: z.string().max(200).optional(),
    ts: instantSchema,
  })
  .strict();
export type PipelineClockStatus = z.infer<typeof pipelineClockSchema>;

/**
 * Why a service refused a message: short, stable codes that label metrics and dashboards (the
 * reason text says the detail). Every service uses the same codes (contracts/message-checks.ts).
 */
export const REJECT_CODES = [
  'too-large',
  'malformed-json',
  'schema',
  'unknown-topic',
  'unknown-node',
  'topic-mismatch',
  'future-timestamp',
  'too-old',
  'duplicate-timestamp',
] as const;
export type RejectCode = (typeof REJECT_CODES)[number];

/** `ews/v1/deadletter/<service>`: input a service refused, with the reason code and the reason. */
export const deadLetterSchema = z
  .object({
    service: z.enum(DEADLETTER_SERVICES),
    code: z.enum(REJECT_CODES),
    reason: z.string(),
    topic: z.string(),
    receivedAt: instantSchema,
    payloadBytes: z.number().int().nonnegative(),
    /** First bytes of the payload as UTF-8 (invalid bytes replaced); truncated. */
    payloadExcerpt: z.string(),
    nodeId: z.string().optional(),
  })
  .strict();
export type DeadLetter = z.infer<typeof deadLetterSchema>;

/** Human-readable one-line summary of a zod error, naming each field path. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.length ? issue.path.map(String).join('.') : '(root)';
      return `${path}: ${issue.message}`;
    })
    .join('; ');
}
