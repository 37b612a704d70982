// Site registry schema: zones, sensor nodes, command boards, protection teams, danger table.
// One YAML file per site, validated here; cross-references are checked too.
import { validateDetailed as validateCron } from 'node-cron';
import { z } from 'zod';
import { nodeIdSchema, zoneIdSchema } from './payloads.ts';

/** E.164 phone number. Sample rosters use +8400…, a prefix no Vietnamese operator assigns. */
export const phoneSchema = z.string().regex(/^\+[1-9]\d{7,14}$/, 'expected an E.164 phone number like +84912345678');
export const SAMPLE_PHONE_PREFIX = '+8400';

export const memberSchema = z
  .object({
    id: nodeIdSchema,
    name: z.string().min(1),
    phone: phoneSchema,
    role: z.string().optional(),
  })
  .strict();
export type Member = z.infer<typeof memberSchema>;

const latitude = z.number().min(-90).max(90);
const longitude = z.number().min(-180).max(180);

/** A GeoJSON (RFC 7946) position [longitude, latitude] and linear ring (closed, at least 4 positions). */
const position = z.tuple([longitude, latitude]);
const linearRing = z
  .array(position)
  .min(4, 'a ring needs at least 4 positions (the first repeated at the end)')
  .refine((r) => r[0]?.[0] === r[r.length - 1]?.[0] && r[0]?.[1] === r[r.length - 1]?.[1], 'a ring must end where it starts');
/** A zone's boundary as a GeoJSON Polygon or MultiPolygon geometry (coordinates in [lon, lat]). */
export const boundarySchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('Polygon'), coordinates: z.array(linearRing).min(1) }).strict(),
  z.object({ type: z.literal('MultiPolygon'), coordinates: z.array(z.array(linearRing).min(1)).min(1) }).strict(),
]);
export type Boundary = z.infer<typeof boundarySchema>;

export const zoneSchema = z
  .object({
    id: zoneIdSchema,
    name: z.string().min(1),
    /** phường (ward) or xã (commune). */
    kind: z.enum(['phuong', 'xa']),
    gsoCode: z.string().regex(/^\d{5}$/).optional(),
    hotspot: z.boolean().default(false),
    lat: latitude,
    lon: longitude,
    /** Administrative boundary for maps (optional; without it the situation board draws an area around the zone's nodes). */
    boundary: boundarySchema.optional(),
  })
  .strict();
export type Zone = z.infer<typeof zoneSchema>;

export const SENSOR_KINDS = ['temperature', 'humidity', 'smoke', 'rain', 'wind', 'battery', 'rssi'] as const;

export const nodeSchema = z
  .object({
    id: nodeIdSchema,
    zone: zoneIdSchema,
    lat: latitude,
    lon: longitude,
    elevationM: z.number().min(-500).max(9000),
    reportingIntervalS: z.number().int().min(5).max(86_400).default(60),
    sensors: z.array(z.enum(SENSOR_KINDS)).min(1).default(['temperature', 'humidity', 'smoke', 'battery', 'rssi']),
    /** Where the node's MQTT password comes from; derived from the broker secret unless set. */
    credentialsRef: z.string().optional(),
    description: z.string().optional(),
    /**
     * Where the node is, in words a patrol member knows (bản/village, landmark, or direction and
     * distance from the zone's centre), written with accents; SMS say it after the zone name.
     */
    place: z.string().min(1).max(40).optional(),
  })
  .strict();
export type SensorNode = z.infer<typeof nodeSchema>;

export const boardSchema = z
  .object({
    id: nodeIdSchema,
    name: z.string().min(1),
    /** Absent for the city board; the commune/ward a commune board serves. */
    zone: zoneIdSchema.optional(),
    members: z.array(memberSchema).min(1),
  })
  .strict();
export type CommandBoard = z.infer<typeof boardSchema>;

export const teamSchema = z
  .object({
    id: nodeIdSchema,
    name: z.string().min(1),
    village: z.string().optional(),
    /** Zones this team covers; alerts for these zones reach it. */
    zones: z.array(zoneIdSchema).min(1),
    /** Member id of the team leader. */
    leader: nodeIdSchema,
    members: z.array(memberSchema).min(1),
  })
  .strict();
export type ProtectionTeam = z.infer<typeof teamSchema>;

/** Vietnam's national table (QĐ 127/2000): I ≤ 1,000 < II ≤ 2,500 < III ≤ 5,000 < IV ≤ 10,000 < V. */
export const dangerTableSchema = z
  .object({
    /** Upper bounds of levels I–IV; above the last is level V. */
    thresholds: z.tuple([z.number(), z.number(), z.number(), z.number()]).default([1000, 2500, 5000, 10000]),
    /** Daily rain at or above this resets P to 0. */
    rainResetMm: z.number().positive().default(5),
    /** Unit of the saturation deficit d13; mmHg scales P by 0.750. */
    deficitUnit: z.enum(['hPa', 'mmHg']).default('hPa'),
  })
  .strict()
  .refine((t) => t.thresholds.every((v, i, a) => i === 0 || v > (a[i - 1] ?? -Infinity)), {
    message: 'thresholds must increase',
    path: ['thresholds'],
  });
export type DangerTable = z.infer<typeof dangerTableSchema>;

// ---------------------------------------------------------------------------------------------
// The site file's `alerts:` section: who gets which event, grouping, inhibition, repeat and
// escalation, message encoding and the Vietnamese SMS templates (read by the alerts service).

/** Who an audience selector names, always relative to the event's zone. */
export const AUDIENCES = [
  'team-leaders', // leaders of the teams covering the zone
  'team-members', // every member of those teams (leaders included)
  'commune-board', // the board of the zone's commune/ward
  'city-board',
  'rangers',
  'maintenance',
] as const;
export type ZoneAudience = (typeof AUDIENCES)[number];
/** A fixed unit or person on the roster, whatever the zone: `team:<team id>`, `board:<board id>`, `member:<member id>`. */
export type RosterRef = `team:${string}` | `board:${string}` | `member:${string}`;
export type Audience = ZoneAudience | RosterRef;
const ROSTER_REF = /^(team|board|member):[a-z0-9][a-z0-9-]*$/;

/** Message kinds a template exists for: the raising events, the all-clear messages and the lost signal near a fire. */
export const MESSAGE_KINDS = [
  'fire-suspected',
  'fire-confirmed',
  'fire-cleared',
  'fire-signal-lost',
  'level-raised',
  'level-fell',
  'node-offline',
  'node-online',
  'node-fault',
  'node-fault-cleared',
] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

/** Kinds that open an alert (the others clear one, or — fire-signal-lost — say that nobody knows whether it is over). */
export const RAISING_KINDS = ['fire-suspected', 'fire-confirmed', 'level-changed', 'node-offline', 'node-fault'] as const;

export const audienceSchema = z.union([
  z.enum(AUDIENCES),
  z
    .string()
    .regex(ROSTER_REF, `expected one of ${AUDIENCES.join(', ')}, or team:<id>, board:<id>, member:<id>`)
    .transform((v) => v as RosterRef),
]);
const audienceList = z.array(audienceSchema).min(1);
const seconds = z.number().int().min(0).max(7 * 86_400);

export const escalationStepSchema = z
  .object({
    /** Seconds after the alert was first sent; the step runs if nobody has acknowledged by then. */
    afterS: seconds.refine((v) => v > 0, 'an escalation step needs afterS > 0'),
    to: audienceList,
  })
  .strict();

export const repeatSchema = z
  .object({
    everyS: z.number().int().min(60).max(86_400),
    /** Repeats after the first message; 0 disables. */
    max: z.number().int().min(0).max(20),
    /** Who gets the repeat; default: the route's first audience. */
    to: audienceList.optional(),
  })
  .strict();

export const routeSchema = z
  .object({
    kinds: z.array(z.enum(RAISING_KINDS)).min(1),
    /** For level-changed: the new level range this route applies to (inclusive). */
    minLevel: z.number().int().min(1).max(5).optional(),
    maxLevel: z.number().int().min(1).max(5).optional(),
    to: audienceList,
    /** Hold before the first message so related events fold into it (0 = send at once). */
    groupWaitS: seconds.default(0),
    /** Acknowledgement requested: the message carries the ack code and link, repeats/escalation run until acked. */
    ack: z.boolean().default(true),
    repeat: repeatSchema.optional(),
    escalation: z.array(escalationStepSchema).default([]),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.minLevel !== undefined && r.maxLevel !== undefined && r.minLevel > r.maxLevel) {
      ctx.addIssue({ code: 'custom', message: 'minLevel must not exceed maxLevel', path: ['minLevel'] });
    }
    r.escalation.forEach((s, i) => {
      const prev = r.escalation[i - 1];
      if (prev && s.afterS <= prev.afterS) ctx.addIssue({ code: 'custom', message: 'escalation steps must have increasing afterS', path: ['escalation', i, 'afterS'] });
    });
    if (!r.ack && (r.escalation.length > 0 || r.repeat)) {
      ctx.addIssue({ code: 'custom', message: 'repeat and escalation need ack: true (they stop on acknowledgement)', path: ['ack'] });
    }
  });
export type Route = z.infer<typeof routeSchema>;

const templateText = z.string().min(1).max(1000);

/** Vietnamese words for the node faults the rules engine raises (rules/sensor-health.ts) and for a node gone silent. */
export const DEFAULT_FAULT_NAMES: Record<string, string> = {
  offline: 'mất kết nối',
  stuck: 'cảm biến kẹt số',
  'out-of-range': 'số đo bất thường',
  'clock-skew': 'lệch đồng hồ',
  'low-battery': 'pin yếu',
  'brown-out': 'sụt nguồn',
};

export const alertPolicySchema = z
  .object({
    /** Registered brand-name prefix; every Vietnamese A2P message must carry it. */
    brand: z.string().min(1).max(20),
    /** gsm7: unaccented Vietnamese, 160 characters a segment; ucs2: accented, NFC, 70 a segment. */
    encoding: z.enum(['gsm7', 'ucs2']).default('gsm7'),
    /** Largest number of segments a rendered message may take; checked at start-up with the longest names. */
    maxSegments: z.number().int().min(1).max(10).default(1),
    /** Default: the site's timezone. */
    timezone: z.string().optional(),
    grouping: z
      .object({
        /** After a message for a zone, further events of the same family wait this long and go out as one. */
        windowS: seconds.default(60),
      })
      .strict()
      .default({ windowS: 60 }),
    /** A source event in a zone (pending, or an open alert) mutes the target kinds in the same zone. */
    inhibit: z
      .array(z.object({ source: z.enum(RAISING_KINDS), targets: z.array(z.enum(RAISING_KINDS)).min(1) }).strict())
      .default([]),
    /** Lifetime of an acknowledgement link. */
    ackTokenTtlS: z.number().int().min(60).max(30 * 86_400).default(86_400),
    /** Names of danger levels I–V as shown in messages. */
    levelNames: z.object({ 1: z.string(), 2: z.string(), 3: z.string(), 4: z.string(), 5: z.string() }).strict(),
    routes: z.array(routeSchema).min(1),
    /** Text put in {repeat} for a repeat or escalation message (empty on the first). */
    repeatMarker: z.string().max(30).default('NHẮC LẠI '),
    /**
     * What `{ack}` says. `reply` when the transport can receive replies (the GSM modem, a Twilio
     * number that receives SMS); `link` when it cannot (a Twilio alphanumeric sender, e.g. in Vietnam,
     * where Twilio has no two-way SMS): then the message must not ask for a reply. Both may use {code} and {link}.
     */
    ackText: z
      .object({ reply: templateText.default('Trả lời {code} để xác nhận'), link: templateText.default('Xác nhận: {link}') })
      .strict()
      .default({ reply: 'Trả lời {code} để xác nhận', link: 'Xác nhận: {link}' }),
    /** Words for the sensor faults rules report (`detail.fault` of node-fault), put in {fault}. */
    faultNames: z.record(z.string(), z.string().min(1).max(40)).default(DEFAULT_FAULT_NAMES),
    /**
     * Placeholders: {brand} {repeat} {zone} {place} {time} {level} {levelName} {previousLevel} {ack}
     * {code} {link} {count} {nodes} {fault}.
     */
    templates: z.object(Object.fromEntries(MESSAGE_KINDS.map((k) => [k, templateText])) as Record<MessageKind, typeof templateText>).strict(),
  })
  .strict();
/** The `alerts:` section as the alerts service uses it (timezone filled in from the site). */
export type AlertPolicy = Omit<z.infer<typeof alertPolicySchema>, 'timezone'> & { timezone: string };
export type AlertPolicyInput = z.input<typeof alertPolicySchema>;

// ---------------------------------------------------------------------------------------------
// Scheduled drills (README "Drills"): the alerts service starts them on the wall clock in the
// site's timezone, never while a real alert of the zone is open, once per slot.

/** What a drill rehearses: a confirmed fire, a suspected fire, or a rise of the danger level to IV. */
export const DRILL_KINDS = ['fire-confirmed', 'fire-suspected', 'level'] as const;
export type DrillKind = (typeof DRILL_KINDS)[number];

export const scheduledDrillSchema = z
  .object({
    zone: zoneIdSchema,
    kind: z.enum(DRILL_KINDS).default('fire-confirmed'),
    /**
     * node-cron, five fields (minute hour day-of-month month day-of-week), local time of the site.
     * node-cron combines day-of-month and day-of-week with AND (Vixie cron: OR), so
     * `30 8 1-7 1-4,11,12 1` is the first Monday of the dry-season months at 08:30.
     */
    cron: z.string().trim().min(9).max(100),
    /** alert: the drill alert opens at the slot; sensor: the alerts service asks the drill player to play a plume at the zone's nodes (README "Drills"). */
    depth: z.enum(['alert', 'sensor']).default('alert'),
    /** Sensor drills: the plume's fire minutes this many times faster than real time (default 1 = real time). */
    speed: z.number().min(1).max(10_000).optional(),
    /** Sensor drills: the fire starts 120 m upwind of this node (default the zone's first). */
    node: nodeIdSchema.optional(),
    /** Record every SMS in the outbox, send none. */
    dryRun: z.boolean().default(false),
    /** Who is texted instead of the route's first recipients (then no escalation). */
    audience: z.array(audienceSchema).min(1).max(20).optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (d.depth === 'alert') {
      if (d.speed !== undefined) ctx.addIssue({ code: 'custom', message: 'speed is for depth: sensor only (an alert drill has no plume)', path: ['speed'] });
      if (d.node !== undefined) ctx.addIssue({ code: 'custom', message: 'node is for depth: sensor only (an alert drill has no plume)', path: ['node'] });
    }
    const fields = d.cron.split(/\s+/);
    if (fields.length !== 5) {
      ctx.addIssue({ code: 'custom', message: `cron must have 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}: "${d.cron}"`, path: ['cron'] });
      return;
    }
    const v = validateCron(d.cron);
    if (!v.valid) ctx.addIssue({ code: 'custom', message: `not a node-cron expression: ${v.errors.map((e) => `${e.field} ${e.value ?? ''}: ${e.message}`).join('; ')}`, path: ['cron'] });
  });
export type ScheduledDrill = z.infer<typeof scheduledDrillSchema>;

// ---------------------------------------------------------------------------------------------

export const siteSchema = z
  .object({
    site: z
      .object({
        id: nodeIdSchema,
        name: z.string().min(1),
        timezone: z.string().default('Asia/Ho_Chi_Minh'),
        /** True while the roster is illustrative; phones must then use the unusable sample prefix. */
        sampleData: z.boolean().default(false),
        forestAreaHa: z.number().positive().optional(),
      })
      .strict(),
    dangerTable: dangerTableSchema.default({ thresholds: [1000, 2500, 5000, 10000], rainResetMm: 5, deficitUnit: 'hPa' }),
    zones: z.array(zoneSchema).min(1),
    nodes: z.array(nodeSchema),
    boards: z
      .object({
        city: boardSchema,
        communes: z.array(boardSchema),
      })
      .strict(),
    teams: z.array(teamSchema),
    /** Hạt Kiểm lâm contacts. */
    rangers: z.array(memberSchema).default([]),
    /** Who fixes nodes (node faults go here). */
    maintenance: z.array(memberSchema).default([]),
    /** Alert routing, policy and SMS templates; required by the alerts service, optional for the others. */
    alerts: alertPolicySchema.optional(),
    /** Drills the alerts service starts by itself (README "Drills"). */
    drills: z.array(scheduledDrillSchema).default([]),
  })
  .strict()
  .superRefine((site, ctx) => {
    const zoneIds = new Set<string>();
    site.zones.forEach((zone, i) => {
      if (zoneIds.has(zone.id)) ctx.addIssue({ code: 'custom', message: `duplicate zone id ${zone.id}`, path: ['zones', i, 'id'] });
      zoneIds.add(zone.id);
    });
    const nodeIds = new Set<string>();
    site.nodes.forEach((node, i) => {
      if (nodeIds.has(node.id)) ctx.addIssue({ code: 'custom', message: `duplicate node id ${node.id}`, path: ['nodes', i, 'id'] });
      nodeIds.add(node.id);
      if (!zoneIds.has(node.zone)) ctx.addIssue({ code: 'custom', message: `unknown zone ${node.zone}`, path: ['nodes', i, 'zone'] });
    });
    site.boards.communes.forEach((board, i) => {
      if (!board.zone) ctx.addIssue({ code: 'custom', message: 'a commune board needs its zone', path: ['boards', 'communes', i, 'zone'] });
      else if (!zoneIds.has(board.zone)) ctx.addIssue({ code: 'custom', message: `unknown zone ${board.zone}`, path: ['boards', 'communes', i, 'zone'] });
    });
    const teamIds = new Set<string>();
    site.teams.forEach((team, i) => {
      if (teamIds.has(team.id)) ctx.addIssue({ code: 'custom', message: `duplicate team id ${team.id}`, path: ['teams', i, 'id'] });
      teamIds.add(team.id);
      team.zones.forEach((z, j) => {
        if (!zoneIds.has(z)) ctx.addIssue({ code: 'custom', message: `unknown zone ${z}`, path: ['teams', i, 'zones', j] });
      });
      if (!team.members.some((m) => m.id === team.leader)) {
        ctx.addIssue({ code: 'custom', message: `leader ${team.leader} is not a member of the team`, path: ['teams', i, 'leader'] });
      }
    });
    // Member ids are unique across the whole roster: acknowledgements and the outbox key on them.
    const memberIds = new Map<string, string>();
    const checkMembers = (members: readonly { id: string; phone: string }[], path: (string | number)[]) => {
      members.forEach((m, j) => {
        const where = [...path, j];
        if (memberIds.has(m.id)) ctx.addIssue({ code: 'custom', message: `duplicate member id ${m.id} (also at ${memberIds.get(m.id)})`, path: [...where, 'id'] });
        memberIds.set(m.id, where.join('.'));
        if (site.site.sampleData && !m.phone.startsWith(SAMPLE_PHONE_PREFIX)) {
          ctx.addIssue({
            code: 'custom',
            message: `sample roster phones must start with ${SAMPLE_PHONE_PREFIX} so no real person can be texted`,
            path: [...where, 'phone'],
          });
        }
      });
    };
    checkMembers(site.boards.city.members, ['boards', 'city', 'members']);
    site.boards.communes.forEach((b, i) => checkMembers(b.members, ['boards', 'communes', i, 'members']));
    site.teams.forEach((t, i) => checkMembers(t.members, ['teams', i, 'members']));
    checkMembers(site.rangers, ['rangers']);
    checkMembers(site.maintenance, ['maintenance']);
    site.drills.forEach((d, i) => {
      if (!zoneIds.has(d.zone)) ctx.addIssue({ code: 'custom', message: `unknown zone ${d.zone}`, path: ['drills', i, 'zone'] });
      else if (d.depth === 'sensor') {
        const nodes = site.nodes.filter((n) => n.zone === d.zone);
        if (nodes.length === 0) ctx.addIssue({ code: 'custom', message: `zone ${d.zone} has no sensor nodes: a sensor drill needs some (depth: alert rehearses the SMS path only)`, path: ['drills', i, 'depth'] });
        else if (d.node !== undefined && !nodes.some((n) => n.id === d.node)) ctx.addIssue({ code: 'custom', message: `node ${d.node} is not in zone ${d.zone}`, path: ['drills', i, 'node'] });
      }
    });
    if (site.alerts) checkAlertReferences(site, memberIds, ctx);
  });
export type Site = z.infer<typeof siteSchema>;

/**
 * Cross-checks the alerts section against the roster: every team, board and member it names exists,
 * and every zone-relative audience names somebody for every zone that has sensor nodes (an event
 * from such a zone must never reach an empty list).
 */
function checkAlertReferences(site: Site, memberIds: ReadonlyMap<string, string>, ctx: z.RefinementCtx): void {
  const policy = site.alerts;
  if (!policy) return;
  const teamIds = new Set(site.teams.map((t) => t.id));
  const boardIds = new Set([site.boards.city.id, ...site.boards.communes.map((b) => b.id)]);
  const zonesWithNodes = site.zones.filter((zone) => site.nodes.some((n) => n.zone === zone.id)).map((zone) => zone.id);
  const reported = new Set<string>();
  const check = (audience: string, path: (string | number)[]) => {
    const [prefix, id] = audience.includes(':') ? (audience.split(':', 2) as [string, string]) : [audience, ''];
    let problem: string | null = null;
    if (prefix === 'team' && !teamIds.has(id)) problem = `unknown team ${id}`;
    else if (prefix === 'board' && !boardIds.has(id)) problem = `unknown board ${id} (the city board or a commune board id)`;
    else if (prefix === 'member' && !memberIds.has(id)) problem = `unknown member ${id}`;
    else if (audience === 'rangers' && site.rangers.length === 0) problem = 'rangers is named but the site lists no rangers';
    else if (audience === 'maintenance' && site.maintenance.length === 0) problem = 'maintenance is named but the site lists no maintenance contact';
    else if (audience === 'team-leaders' || audience === 'team-members') {
      const bare = zonesWithNodes.filter((zone) => !site.teams.some((t) => t.zones.includes(zone)));
      if (bare.length) problem = `${audience}: no team covers ${bare.join(', ')}`;
    } else if (audience === 'commune-board') {
      const bare = zonesWithNodes.filter((zone) => !site.boards.communes.some((b) => b.zone === zone));
      if (bare.length) problem = `commune-board: no commune board for ${bare.join(', ')}`;
    }
    if (problem) {
      const key = `${path.join('.')}|${problem}`;
      if (!reported.has(key)) ctx.addIssue({ code: 'custom', message: problem, path });
      reported.add(key);
    }
  };
  policy.routes.forEach((r, i) => {
    r.to.forEach((a, j) => check(a, ['alerts', 'routes', i, 'to', j]));
    r.repeat?.to?.forEach((a, j) => check(a, ['alerts', 'routes', i, 'repeat', 'to', j]));
    r.escalation.forEach((s, k) => s.to.forEach((a, j) => check(a, ['alerts', 'routes', i, 'escalation', k, 'to', j])));
  });
  site.drills.forEach((d, i) => d.audience?.forEach((a, j) => check(a, ['drills', i, 'audience', j])));
}

/** The site's alerts section with defaults filled in from the site (timezone); throws when the site has none. */
export function sitePolicy(site: Site): AlertPolicy {
  if (!site.alerts) throw new Error(`the site file of ${site.site.id} has no alerts section (routing, policy and SMS templates)`);
  return { ...site.alerts, timezone: site.alerts.timezone ?? site.site.timezone };
}
export type SiteInput = z.input<typeof siteSchema>;

/** Lookups the services need on every message; built once per site. */
export interface SiteIndex {
  site: Site;
  nodes: Map<string, SensorNode>;
  zones: Map<string, Zone>;
}

export function indexSite(site: Site): SiteIndex {
  return {
    site,
    nodes: new Map(site.nodes.map((n) => [n.id, n])),
    zones: new Map(site.zones.map((z) => [z.id, z])),
  };
}
