// The alerts service's boards' API (`POST /api/ack`, `GET /api/alerts`): request and response bodies,
// defined once for the alerts service that serves them and the situation board that calls them.
import { z } from 'zod';
import { drillMarkSchema, nodeIdSchema } from './payloads.ts';
import { audienceSchema, DRILL_KINDS, type DrillKind } from './site.ts';

/** How an acknowledgement reached the alerts service. `board` = a board member on the situation board. */
export const ACK_CHANNELS = ['link', 'modem', 'api', 'board'] as const;
export type AckChannel = (typeof ACK_CHANNELS)[number];

/** `POST /api/ack`. `channel` defaults to `api`; the situation board sends `board`. */
export const apiAckSchema = z
  .object({
    alertId: nodeIdSchema,
    by: z.string().min(1).max(100),
    channel: z.enum(['api', 'board']).default('api'),
    /** The roster member who acknowledged (the board sends its signed-in member): drill reports count it per person. */
    memberId: nodeIdSchema.optional(),
  })
  .strict();
export type ApiAck = z.input<typeof apiAckSchema>;

export const apiAckResponseSchema = z.object({
  ok: z.literal(true),
  alreadyAcknowledged: z.boolean(),
  alert: z.object({ alertId: z.string(), status: z.string(), ack: z.object({ by: z.string(), at: z.number(), channel: z.string() }).nullable() }),
});

/** One SMS of an alert as the boards see it: who, which step, where it stands (no phone, no text). */
export const deliverySchema = z.object({
  recipientId: z.string(),
  /** initial | esc<n> | rep<n> | clear */
  step: z.string(),
  state: z.enum(['queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'acknowledged', 'cancelled']),
  updatedAt: z.number(),
  errorCode: z.string().nullable(),
});
export type Delivery = z.infer<typeof deliverySchema>;

/** An alert in `GET /api/alerts` (fields the boards use; the service may send more). */
export const apiAlertSchema = z.object({
  alertId: z.string(),
  kind: z.enum(['fire-suspected', 'fire-confirmed', 'level-changed', 'node-offline', 'node-fault']),
  zoneId: z.string(),
  nodeId: z.string().nullable(),
  level: z.number().nullable(),
  eventTs: z.string(),
  eventIds: z.array(z.string()),
  routeIndex: z.number().int(),
  openedAt: z.number(),
  status: z.enum(['active', 'acknowledged', 'resolved']),
  notified: z.array(z.string()),
  stepsDone: z.number().int(),
  ack: z.object({ by: z.string(), at: z.number(), channel: z.string() }).nullable(),
  resolvedAt: z.number().nullable(),
  deliveries: z.array(deliverySchema),
  /** Present on a drill's alert: the boards show it as a drill, never as a fire. */
  drill: drillMarkSchema.optional(),
});
export type ApiAlert = z.infer<typeof apiAlertSchema>;

export const apiAlertsResponseSchema = z.object({ alerts: z.array(apiAlertSchema) });

// ---------------------------------------------------------------------------------------------
// Drills (diễn tập, README "Drills"): `POST /api/drills` starts one, `GET /api/drills` lists them,
// `GET /api/drills/<id>` gives its report, `POST /api/drills/<id>/end` ends it. Same API key.

// What a drill rehearses (defined beside the site file's drill schedule).
export { DRILL_KINDS, type DrillKind };

/** A drill's alert id `drill-<id>` is a topic level (63 characters at most, TOPIC_ID_PATTERN): so a drill id has at most 57. */
export const MAX_DRILL_ID_LENGTH = 57;
/** A drill id chosen by a requester: an id whose alert id `drill-<id>` is still a topic id. */
export const requestedDrillIdSchema = nodeIdSchema.max(MAX_DRILL_ID_LENGTH, `a drill id has at most ${MAX_DRILL_ID_LENGTH} characters (its alert id drill-<id> is a topic level)`);

/**
 * `<zone>-<yyyymmdd>-<hhmm>-<tag>` (UTC), the id of a drill started by hand (a random tag) or by the
 * schedule (a tag of its entry). A zone id may have 63 characters, so the zone part is cut to what leaves
 * the id within MAX_DRILL_ID_LENGTH (38 characters with a 4-letter tag; the drill keeps its whole zone id
 * in `zoneId`); a shorter zone id is kept whole. Pure.
 */
export function drillIdOf(zoneId: string, atMs: number, tag: string): string {
  const t = new Date(atMs).toISOString();
  const stamp = `${t.slice(0, 10).replace(/-/g, '')}-${t.slice(11, 16).replace(':', '')}`;
  const zonePart = zoneId.slice(0, MAX_DRILL_ID_LENGTH - stamp.length - tag.length - 2).replace(/-+$/, '');
  return `${zonePart}-${stamp}-${tag}`;
}

export const drillStartSchema = z
  .object({
    zoneId: nodeIdSchema,
    kind: z.enum(DRILL_KINDS).default('fire-confirmed'),
    /** Who is texted instead of the route's first recipients (then no escalation; repeats go to them). */
    audience: z.array(audienceSchema).min(1).max(20).optional(),
    /** SMS are rendered and recorded in the outbox but handed to no transport. */
    dryRun: z.boolean().default(false),
    /** Who started it: `cli`, `schedule`, or the board member. */
    startedBy: z.string().min(1).max(100).default('api'),
    /** alert: the drill alert opens at once; sensor: it opens from what rules detects on a simulated plume (`plume` required). */
    depth: drillMarkSchema.shape.depth.default('alert'),
    /** A sensor drill's plume as the simulator plans it (`fire-ews drill --depth sensor` sends it, then plays it). */
    plume: z
      .object({
        ignitionNode: nodeIdSchema,
        nodes: z.array(nodeIdSchema).min(1).max(200),
        speed: z.number().min(1).max(10_000),
        /** Unix ms: wall time the plume starts; ignition on the readings' clock; wall time of the last reading. */
        injectAt: z.number().int().nonnegative(),
        ignitionAt: z.number().int().nonnegative(),
        endsAt: z.number().int().nonnegative(),
      })
      .strict()
      .optional(),
    /**
     * A sensor drill without `plume` is a request: the alerts service publishes it to the drill player
     * (`ews/v1/drill/requests/<zone>`), which plans the plume at this speed and near this node and starts
     * the drill with its plume (the board's form does this).
     */
    speed: z.number().min(1).max(10_000).optional(),
    node: nodeIdSchema.optional(),
    /** The drill id a request chose (the drill player sends it with the plume; an id that exists already → 409). */
    drillId: requestedDrillIdSchema.optional(),
  })
  .strict()
  .refine((d) => d.depth === 'sensor' || (d.plume === undefined && d.speed === undefined && d.node === undefined && d.drillId === undefined), { message: 'plume, speed, node and drillId are for sensor drills only', path: ['depth'] })
  .refine((d) => d.plume === undefined || (d.speed === undefined && d.node === undefined), { message: 'with a plume, speed and node are the plume\'s', path: ['plume'] })
  .refine((d) => d.depth === 'alert' || d.audience === undefined || d.audience.length > 0, { message: 'audience must not be empty', path: ['audience'] });
export type DrillStart = z.input<typeof drillStartSchema>;

/**
 * A request to run a sensor drill (`ews/v1/drill/requests/<zoneId>`, README "Drills"): the alerts
 * service publishes it for the board's form and the site file's schedule; the drill player
 * (simulator/drill-player.ts) plans the plume, starts the drill through the alerts API with
 * `drillId`, and plays it. `drillId` is chosen by the requester (the schedule's slot id, or a new
 * one for the board), so a redelivered request cannot start a second drill.
 */
export const drillRequestSchema = z
  .object({
    drillId: requestedDrillIdSchema,
    zoneId: nodeIdSchema,
    /** Unix ms, wall clock: a request older than the player's bound is refused (a stale drill is not played). */
    requestedAt: z.number().int().nonnegative(),
    /** The plume's fire minutes play this many times faster than real time (1 = real time). */
    speed: z.number().min(1).max(10_000).default(1),
    /** The fire starts 120 m upwind of this node (default the zone's first). */
    node: nodeIdSchema.optional(),
    audience: z.array(audienceSchema).min(1).max(20).optional(),
    dryRun: z.boolean().default(false),
    startedBy: z.string().min(1).max(100),
  })
  .strict();
export type DrillRequestMessage = z.infer<typeof drillRequestSchema>;

/**
 * A sensor drill's detection figures (README "Drills"). Times are Unix ms: `*At` on the wall clock,
 * `ignitionAt`/`*ReadingAt` on the readings' clock; durations in seconds on the readings' clock
 * (minutes of fire, whatever the plume's speed).
 */
export const sensorDrillPartSchema = z.object({
  ignitionNode: z.string(),
  nodes: z.array(z.string()),
  speed: z.number(),
  /** running: plume going, nothing detected yet; detected; not-detected: nothing by `notDetectedAfter`. */
  outcome: z.enum(['running', 'detected', 'not-detected']),
  plumeInjectedAt: z.number(),
  ignitionAt: z.number(),
  plumeEndsAt: z.number(),
  /** The bound: no detection by then (the plume's end + NOT_DETECTED_GRACE_MS) ends the drill as not detected. */
  notDetectedAfter: z.number(),
  /** Rules judged the drill's first reading (wall clock). */
  firstReadingAt: z.number().nullable(),
  suspectedAt: z.number().nullable(),
  suspectedReadingAt: z.number().nullable(),
  confirmedAt: z.number().nullable(),
  confirmedReadingAt: z.number().nullable(),
  /** Ignition → the reading that raised fire-suspected / fire-confirmed (readings' clock). */
  detectionS: z.number().nullable(),
  confirmationS: z.number().nullable(),
  /** The drill's first SMS handed to the transport (wall clock). */
  firstSmsAt: z.number().nullable(),
});
export type SensorDrillPart = z.infer<typeof sensorDrillPartSchema>;

/** `POST /api/drills/<id>/end`: who ends it (the board sends its signed-in member); an empty body = `api`. */
export const drillEndSchema = z.object({ by: z.string().trim().min(1).max(100).default('api') }).strict();
export type DrillEnd = z.input<typeof drillEndSchema>;
export const drillEndResponseSchema = z.object({ ok: z.literal(true) });

/** `requested`: a sensor drill handed to the drill player (it starts under `drillId` once its plume is planned). */
export const drillStartResponseSchema = z.object({ ok: z.literal(true), drillId: z.string(), alertId: z.string(), recipients: z.number().int(), requested: z.boolean().default(false) });

/** One person in a drill report. Times are Unix ms on the wall clock; durations in seconds. */
export const drillMemberSchema = z.object({
  memberId: z.string(),
  name: z.string(),
  leader: z.boolean(),
  /** First SMS of the drill handed to the transport; null = never sent (cancelled, failed, still queued). */
  textedAt: z.number().nullable(),
  /** true/false when a delivery report came, null when none exists (dry run, modem, no callback yet). */
  delivered: z.boolean().nullable(),
  deliveredAt: z.number().nullable(),
  ackedAt: z.number().nullable(),
  ackChannel: z.enum(ACK_CHANNELS).nullable(),
  /** ackedAt − textedAt. */
  responseS: z.number().nullable(),
  /** Steps of the drill this person was texted at (initial, esc1, rep1…). */
  steps: z.array(z.string()),
  /** A real alert reached this person during the drill: the drill stopped for them. */
  yieldedToReal: z.boolean(),
});

export const drillUnitSchema = z.object({
  /** team:<id>, board:<id>, city-board, rangers, maintenance. */
  unit: z.string(),
  name: z.string(),
  texted: z.number().int(),
  acknowledged: z.number().int(),
  neverAcknowledged: z.number().int(),
  /** Over the members who acknowledged: median and worst time to their first acknowledgement. */
  medianResponseS: z.number().nullable(),
  worstResponseS: z.number().nullable(),
  members: z.array(drillMemberSchema),
});

export const drillSummarySchema = z.object({
  drillId: z.string(),
  alertId: z.string(),
  zoneId: z.string(),
  kind: z.enum(DRILL_KINDS),
  depth: drillMarkSchema.shape.depth,
  dryRun: z.boolean(),
  startedAt: z.number(),
  startedBy: z.string(),
  endedAt: z.number().nullable(),
  /** Who ended it: `api` (the CLI), a board member `<name> (<memberId>)`, or `drill time over`. */
  endedBy: z.string().nullable().default(null),
  texted: z.number().int(),
  acknowledged: z.number().int(),
  medianResponseS: z.number().nullable(),
  worstResponseS: z.number().nullable(),
  escalationStepsReached: z.number().int(),
  /** A sensor drill's ignition → fire-suspected (seconds of fire); null for alert drills and undetected ones. */
  detectionS: z.number().nullable().default(null),
  /** A sensor drill's outcome; null for alert drills. */
  sensorOutcome: sensorDrillPartSchema.shape.outcome.nullable().default(null),
});
export type DrillSummary = z.infer<typeof drillSummarySchema>;

export const drillReportSchema = z.object({
  drill: drillSummarySchema,
  units: z.array(drillUnitSchema),
  /** Earlier drills of the same zone, oldest first (the trend). */
  previous: z.array(drillSummarySchema),
  /** A sensor drill's detection figures; null for an alert drill. */
  sensor: sensorDrillPartSchema.nullable().default(null),
});
export type DrillReport = z.infer<typeof drillReportSchema>;
export type DrillUnit = z.infer<typeof drillUnitSchema>;
export type DrillMember = z.infer<typeof drillMemberSchema>;

/** A scheduled drill slot that did not start (a real alert of its zone was open, or the start was refused). */
export const skippedDrillSlotSchema = z.object({ drillId: z.string(), zoneId: z.string(), slotAt: z.number().int(), reason: z.string() });
export type SkippedDrillSlot = z.infer<typeof skippedDrillSlotSchema>;

/** `GET /api/drills`: the drills, newest last, and the scheduled slots skipped (newest first; absent from older services). */
export const drillListResponseSchema = z.object({ drills: z.array(drillSummarySchema), skipped: z.array(skippedDrillSlotSchema).default([]) });
export type DrillListResponse = z.infer<typeof drillListResponseSchema>;
