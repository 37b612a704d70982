// Alert policy and SMS templates (config/lai-chau.alerts.yaml): who gets which event, grouping,
// inhibition, repeat and escalation, message encoding and the Vietnamese templates.
// Meant to become a section of the site file once contracts/site.ts takes it over.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { z } from 'zod';
import { EVENT_KINDS } from '../contracts/topics.ts';
import { parseYamlWithSchema } from '../contracts/yaml-file.ts';
import { FileValidationError } from '../platform/site-file.ts';

/** Who an audience selector names, always relative to the event's zone. */
export const AUDIENCES = [
  'team-leaders', // leaders of the teams covering the zone
  'team-members', // every member of those teams (leaders included)
  'commune-board', // the board of the zone's commune/ward
  'city-board',
  'rangers',
  'maintenance',
] as const;
export type Audience = (typeof AUDIENCES)[number];

/** Message kinds a template exists for: the raising events plus the all-clear messages. */
export const MESSAGE_KINDS = [
  'fire-suspected',
  'fire-confirmed',
  'fire-cleared',
  'level-raised',
  'level-fell',
  'node-offline',
  'node-online',
  'node-fault',
  'node-fault-cleared',
] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

/** Kinds that open an alert (the others clear one). */
export const RAISING_KINDS = ['fire-suspected', 'fire-confirmed', 'level-changed', 'node-offline', 'node-fault'] as const;

const audienceList = z.array(z.enum(AUDIENCES)).min(1);
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

export const alertPolicySchema = z
  .object({
    /** Registered brand-name prefix; every Vietnamese A2P message must carry it. */
    brand: z.string().min(1).max(20),
    /** gsm7: unaccented Vietnamese, 160 characters a segment; ucs2: accented, NFC, 70 a segment. */
    encoding: z.enum(['gsm7', 'ucs2']).default('gsm7'),
    /** Largest number of segments a rendered message may take; checked at start-up with the longest names. */
    maxSegments: z.number().int().min(1).max(10).default(1),
    timezone: z.string().default('Asia/Ho_Chi_Minh'),
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
    /** Placeholders: {brand} {repeat} {zone} {place} {time} {level} {levelName} {previousLevel} {code} {link} {count}. */
    templates: z.object(Object.fromEntries(MESSAGE_KINDS.map((k) => [k, templateText])) as Record<MessageKind, typeof templateText>).strict(),
    /** Text put in {repeat} for a repeat or escalation message (empty on the first). */
    repeatMarker: z.string().max(30).default('NHẮC LẠI '),
  })
  .strict();
export type AlertPolicy = z.infer<typeof alertPolicySchema>;

export function parseAlertPolicy(text: string, fileName: string) {
  return parseYamlWithSchema(text, fileName, alertPolicySchema);
}

export function loadAlertPolicyFile(path: string): AlertPolicy {
  const result = parseAlertPolicy(readFileSync(path, 'utf8'), basename(path));
  if (!result.ok) throw new FileValidationError(result.problems);
  return result.value;
}

/** First route matching an event kind (and for level changes its new level); null = nobody is told. */
export function findRoute(policy: AlertPolicy, kind: (typeof RAISING_KINDS)[number], level?: number): Route | null {
  for (const r of policy.routes) {
    if (!r.kinds.includes(kind)) continue;
    if (level !== undefined && r.minLevel !== undefined && level < r.minLevel) continue;
    if (level !== undefined && r.maxLevel !== undefined && level > r.maxLevel) continue;
    if (level === undefined && (r.minLevel !== undefined || r.maxLevel !== undefined) && kind === 'level-changed') continue;
    return r;
  }
  return null;
}
