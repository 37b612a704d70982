// Site registry schema: zones, sensor nodes, command boards, protection teams, danger table.
// One YAML file per site, validated here; cross-references are checked too.
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
  });
export type Site = z.infer<typeof siteSchema>;
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
