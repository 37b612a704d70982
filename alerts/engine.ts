// The alert state machine: grouping, inhibition, alerts opened/folded/superseded/resolved, repeats
// and escalation until acknowledgement. Pure: time comes in as `now` (ms), randomness through the
// injected ack-code generator, and the whole state is a JSON-serialisable value the service stores
// in SQLite in the same transaction as the outbox rows it produced.
import type { AckChannel, DrillKind } from '../contracts/alerts-api.ts';
import type { FireEvent } from '../contracts/payloads.ts';
import type { EventKind } from '../contracts/topics.ts';
import { findRoute, type AlertPolicy, type Audience, type MessageKind, type Route, RAISING_KINDS } from './policy.ts';
import { resolveAudiences, type Recipient, type Roster } from './routing.ts';
import { alertTime, nodeList, romanLevel, type TemplateFields } from './templates.ts';
import { ownValue } from '../platform/records.ts';

export type RaisingKind = (typeof RAISING_KINDS)[number];
/** Node faults group apart from nodes gone offline, so one message names one kind of trouble. */
export type Family = 'fire' | 'danger' | 'node' | 'fault';
export { ACK_CHANNELS, type AckChannel } from '../contracts/alerts-api.ts';

export function familyOf(kind: EventKind): Family {
  if (kind.startsWith('fire-')) return 'fire';
  if (kind === 'level-changed') return 'danger';
  if (kind === 'node-fault' || kind === 'node-fault-cleared') return 'fault';
  return 'node';
}

/** Severity inside a family: a more severe event is never held back by grouping and supersedes a milder alert. */
function rankOf(kind: EventKind, level: number | undefined): number {
  if (kind === 'fire-confirmed') return 2;
  if (kind === 'fire-suspected') return 1;
  if (kind === 'level-changed') return level ?? 0;
  return 1;
}

/** Outbox order: lower first. */
export const PRIORITY: Record<MessageKind, number> = {
  'fire-confirmed': 0,
  'fire-suspected': 1,
  'level-raised': 2,
  'fire-cleared': 3,
  // Nobody knows whether the fire is out: as urgent as a suspicion.
  'fire-signal-lost': 1,
  'level-fell': 4,
  'node-offline': 5,
  'node-fault': 5,
  'node-online': 6,
  'node-fault-cleared': 6,
};

export interface PendingGroup {
  zoneId: string;
  family: Family;
  events: FireEvent[];
  flushAt: number;
}

export interface AlertRecord {
  alertId: string;
  kind: RaisingKind;
  family: Family;
  zoneId: string;
  nodeId: string | null;
  level: number | null;
  eventTs: string;
  /** Every event folded into this alert, the lead first. */
  eventIds: string[];
  nodeCount: number;
  /** Node alerts: every node the message names, the lead first (nodeCount of them). */
  nodeIds?: string[];
  /** Node alerts: what is wrong (offline, or the faults rules reported: stuck, low-battery…). */
  faults?: string[];
  routeIndex: number;
  openedAt: number;
  ackCode: string | null;
  status: 'active' | 'acknowledged' | 'resolved';
  /** Recipient ids told about this alert so far (all-clear goes to them). */
  notified: string[];
  stepsDone: number;
  repeatsDone: number;
  nextRepeatAt: number | null;
  ack: { by: string; at: number; channel: AckChannel } | null;
  resolvedAt: number | null;
  resolvedBy: string | null;
  /** The rules incident (fire alerts), from the lead event's detail. */
  incidentId?: string | null;
  /** Times the sensors near this fire were reported silent (fire-signal-lost messages sent). */
  signalLost?: number;
  /** Present on a drill's alert (README "Drills"): it never folds, supersedes, inhibits or clears a real one. */
  drill?: DrillRecord;
}

export interface DrillRecord {
  id: string;
  depth: 'alert' | 'sensor';
  kind: DrillKind;
  dryRun: boolean;
  startedBy: string;
  /** Replaces the route's first recipients; then repeats go to it and there is no escalation. */
  audience: Audience[] | null;
  /** People a real alert reached during the drill: no more drill messages for them. */
  yieldedTo: string[];
  /** A sensor drill's suspicion confirmed at (engine time): later repeat and escalation steps are `confirmed-…`. */
  confirmedAt?: number;
}

export interface EngineState {
  alerts: Record<string, AlertRecord>;
  pending: Record<string, PendingGroup>;
  /** Last message per zone+family: { at, rank } drives the grouping window. */
  lastSent: Record<string, { at: number; rank: number }>;
  /** Recently seen event ids (redelivered MQTT messages are ignored). */
  seen: string[];
  /** The pipeline clock's timeline (run id, null = wall) and the last time the engine was given (README "Time model"). */
  epoch?: string | null;
  lastNow?: number;
}

export function emptyEngineState(): EngineState {
  return { alerts: {}, pending: {}, lastSent: {}, seen: [] };
}

/** One message wave: the same text (apart from each person's ack link) to several recipients. */
export interface Notification {
  alertId: string;
  /** initial | esc<n> | rep<n> | clear — the outbox keys on (alertId, recipient, step). */
  step: string;
  messageKind: MessageKind;
  priority: number;
  recipients: Recipient[];
  /** Every field but `link`, which carries each recipient's own token. */
  fields: Omit<TemplateFields, 'link'>;
  /** Whether this message carries an ack code and link. */
  ackable: boolean;
  /** A drill's message: starts with the drill prefix, and with `dryRun` goes to no transport. */
  drill?: { id: string; dryRun: boolean };
}

export interface LifecycleNote {
  alertId: string;
  state: 'queued' | 'acknowledged' | 'escalated' | 'signal-lost' | 'resolved';
  recipients?: number;
  detail?: string;
}

export interface EngineOutput {
  notifications: Notification[];
  lifecycle: LifecycleNote[];
  /** Why an event produced nothing (duplicate, inhibited, folded, no route...). */
  ignored: string[];
  /** Alerts whose pending repeat/escalation rows should be cancelled (acked or resolved). */
  stopped: string[];
  /** Drill alerts whose queued messages (of every step) to these people are cancelled: a real alert reached them. */
  yielded?: { alertId: string; recipientIds: string[] }[];
}

export interface EngineContext {
  policy: AlertPolicy;
  roster: Roster;
  /** A fresh ack code not in `taken` (digits; injected so tests are deterministic). */
  newAckCode: (taken: ReadonlySet<string>) => string;
}

const SEEN_LIMIT = 10_000;
const RESOLVED_KEEP_MS = 7 * 86_400_000;

const groupKey = (zoneId: string, family: Family) => `${zoneId}|${family}`;

function emptyOutput(): EngineOutput {
  return { notifications: [], lifecycle: [], ignored: [], stopped: [] };
}

function clone(state: EngineState): EngineState {
  return structuredClone(state);
}

function raisingMessageKind(kind: RaisingKind): MessageKind {
  return kind === 'level-changed' ? 'level-raised' : kind;
}

/** The fault a node event reports: `offline` for node-offline/online, rules' detail.fault otherwise. */
function faultOf(e: FireEvent): string {
  if (e.kind === 'node-offline' || e.kind === 'node-online') return 'offline';
  return typeof e.detail.fault === 'string' ? e.detail.fault : 'fault';
}

function faultWords(ctx: EngineContext, faults: readonly string[]): string {
  return faults.map((f) => ownValue(ctx.policy.faultNames, f) ?? f).join(', ');
}

/** `now` is when the message is produced: `{time}` carries the date when the observation was on another day. */
function baseFields(ctx: EngineContext, zoneId: string, nodeId: string | null, ts: string, now: number): Omit<TemplateFields, 'link'> {
  const zoneName = ctx.roster.site.zones.find((z) => z.id === zoneId)?.name ?? zoneId;
  const node = nodeId ? ctx.roster.site.nodes.find((n) => n.id === nodeId) : undefined;
  return {
    brand: ctx.policy.brand,
    repeat: '',
    zone: zoneName,
    // A node's place in words (site file); its id only when the site gives none.
    place: node?.place ?? nodeId ?? zoneName,
    time: alertTime(ts, now, ctx.policy.timezone),
    level: '',
    levelName: '',
    previousLevel: '',
    code: '',
    count: '1',
    nodes: nodeId ?? '',
    fault: '',
  };
}

function levelName(ctx: EngineContext, level: number | null): string {
  if (level === null) return '';
  const names = ctx.policy.levelNames as Record<string, string>;
  return names[String(level)] ?? '';
}

/** `repeat`: the recipients had this alert before (a repeat), not people told for the first time (an escalation). */
function alertFields(ctx: EngineContext, a: AlertRecord, repeat: boolean, now: number): Omit<TemplateFields, 'link'> {
  const nodeIds = a.nodeIds ?? (a.nodeId ? [a.nodeId] : []);
  return {
    ...baseFields(ctx, a.zoneId, a.nodeId, a.eventTs, now),
    repeat: repeat ? ctx.policy.repeatMarker : '',
    level: romanLevel(a.level ?? undefined),
    levelName: levelName(ctx, a.level),
    code: a.ackCode ?? '',
    count: String(nodeIds.length || a.nodeCount),
    nodes: nodeList(nodeIds),
    fault: faultWords(ctx, a.faults ?? []),
  };
}

function routeOf(ctx: EngineContext, a: AlertRecord): Route | null {
  return ctx.policy.routes[a.routeIndex] ?? null;
}

function isOpen(a: AlertRecord): boolean {
  return a.status !== 'resolved';
}

function isFall(e: FireEvent): boolean {
  return e.kind === 'level-changed' && e.level !== undefined && e.previousLevel !== undefined && e.level < e.previousLevel;
}

function resolveAlert(ctx: EngineContext, a: AlertRecord, now: number, by: string, clear: { kind: MessageKind; event: FireEvent } | null, out: EngineOutput): void {
  a.status = 'resolved';
  a.resolvedAt = now;
  a.resolvedBy = by;
  a.nextRepeatAt = null;
  out.stopped.push(a.alertId);
  const recipients = clear ? a.notified.map((id) => ctx.roster.byId.get(id)).filter((r): r is Recipient => r !== undefined) : [];
  out.lifecycle.push({ alertId: a.alertId, state: 'resolved', recipients: recipients.length, detail: by });
  if (clear && recipients.length) {
    const fields = { ...baseFields(ctx, a.zoneId, a.nodeId, clear.event.ts, now) };
    if (a.family === 'node' || a.family === 'fault') fields.fault = faultWords(ctx, [faultOf(clear.event)]);
    if (clear.kind === 'level-fell') {
      fields.level = romanLevel(clear.event.level);
      fields.levelName = levelName(ctx, clear.event.level ?? null);
      fields.previousLevel = romanLevel(a.level ?? undefined);
    }
    out.notifications.push({ alertId: a.alertId, step: 'clear', messageKind: clear.kind, priority: PRIORITY[clear.kind], recipients, fields, ackable: false });
  }
}

/**
 * The sensors near a fire went silent (rules' fire-signal-lost): nobody knows whether it is out.
 * Everyone told about the zone's open fire alert gets that message; the alert stays open, so its
 * repeats and escalation go on until somebody acknowledges it (a clear would have stopped them).
 */
function signalLost(ctx: EngineContext, state: EngineState, event: FireEvent, now: number, out: EngineOutput): void {
  const open = Object.values(state.alerts).filter((a) => isOpen(a) && !a.drill && a.zoneId === event.zoneId && a.family === 'fire');
  if (open.length === 0) {
    out.ignored.push(`${event.eventId}: no open fire alert in ${event.zoneId} to tell about`);
    return;
  }
  // Since when nothing has been heard from the fire.
  const since = typeof event.detail.lastAnomalyAt === 'string' ? event.detail.lastAnomalyAt : event.ts;
  for (const a of open) {
    a.signalLost = (a.signalLost ?? 0) + 1;
    const recipients = a.notified.map((id) => ctx.roster.byId.get(id)).filter((r): r is Recipient => r !== undefined);
    out.lifecycle.push({ alertId: a.alertId, state: 'signal-lost', recipients: recipients.length, detail: `${event.eventId}: sensors silent, alert stays open` });
    if (recipients.length) {
      out.notifications.push({
        alertId: a.alertId,
        step: `lost${a.signalLost}`,
        messageKind: 'fire-signal-lost',
        priority: PRIORITY['fire-signal-lost'],
        recipients,
        fields: baseFields(ctx, a.zoneId, event.nodeId ?? a.nodeId, since, now),
        ackable: false,
      });
    }
  }
}

/**
 * The pipeline's clock entered another timeline (README "Time model"): when it moved back, every
 * time the state holds moves back by the same amount, so grouping windows, repeats and escalation
 * keep the time they had left. Pure.
 */
export function rebaseState(state: EngineState, nowMs: number, epoch: string | null): EngineState {
  const next = clone(state);
  next.epoch = epoch;
  const delta = (state.lastNow ?? nowMs) - nowMs;
  if (delta > 0) {
    for (const a of Object.values(next.alerts)) {
      a.openedAt -= delta;
      if (a.nextRepeatAt !== null) a.nextRepeatAt -= delta;
      if (a.resolvedAt !== null) a.resolvedAt -= delta;
      if (a.ack) a.ack.at -= delta;
    }
    for (const g of Object.values(next.pending)) g.flushAt -= delta;
    for (const l of Object.values(next.lastSent)) l.at -= delta;
  }
  next.lastNow = nowMs;
  return next;
}

/** Events of the target kinds are muted in a zone while a source event is pending or its alert is open. */
function inhibitor(ctx: EngineContext, state: EngineState, event: FireEvent): string | null {
  for (const rule of ctx.policy.inhibit) {
    if (!rule.targets.includes(event.kind as RaisingKind) || rule.source === event.kind) continue;
    for (const a of Object.values(state.alerts)) {
      if (isOpen(a) && !a.drill && a.zoneId === event.zoneId && a.kind === rule.source) return a.alertId;
    }
    for (const g of Object.values(state.pending)) {
      const src = g.zoneId === event.zoneId ? g.events.find((e) => e.kind === rule.source) : undefined;
      if (src) return src.eventId;
    }
  }
  return null;
}

/** Drops pending events a newly arrived source event inhibits. */
function applyInhibitionToPending(ctx: EngineContext, state: EngineState, source: FireEvent, out: EngineOutput): void {
  for (const rule of ctx.policy.inhibit) {
    if (rule.source !== source.kind) continue;
    for (const [key, g] of Object.entries(state.pending)) {
      if (g.zoneId !== source.zoneId) continue;
      const kept = g.events.filter((e) => !(rule.targets as readonly string[]).includes(e.kind));
      for (const e of g.events) if (!kept.includes(e)) out.ignored.push(`${e.eventId}: inhibited by ${source.eventId}`);
      if (kept.length === 0) delete state.pending[key];
      else g.events = kept;
    }
  }
}

/** How every alert starts (a real one or a drill): active, its first recipients told, its code, repeats and escalation ahead. */
function newLifecycle(ctx: EngineContext, state: EngineState, route: Route, recipients: readonly Recipient[], now: number) {
  return {
    ackCode: route.ack ? ctx.newAckCode(takenCodes(state)) : null,
    status: 'active' as const,
    notified: recipients.map((r) => r.id),
    stepsDone: 0,
    repeatsDone: 0,
    nextRepeatAt: route.ack && route.repeat && route.repeat.max > 0 ? now + route.repeat.everyS * 1000 : null,
    ack: null,
    resolvedAt: null,
    resolvedBy: null,
  };
}

function takenCodes(state: EngineState): Set<string> {
  return new Set(
    Object.values(state.alerts)
      .filter(isOpen)
      .map((a) => a.ackCode)
      .filter((c): c is string => c !== null),
  );
}

function flushGroup(ctx: EngineContext, state: EngineState, key: string, g: PendingGroup, now: number, out: EngineOutput): void {
  delete state.pending[key];
  // Lead: the most severe; among equals the latest (a level change states the current level).
  const lead = g.events.reduce((best, e) => {
    const rb = rankOf(best.kind, best.level);
    const re = rankOf(e.kind, e.level);
    return re > rb || (re === rb && g.family === 'danger') ? e : best;
  });
  const kind = lead.kind as RaisingKind;
  const route = findRoute(ctx.policy, kind, lead.level);
  if (!route) {
    out.ignored.push(`${lead.eventId}: no route for ${kind}${lead.level !== undefined ? ` level ${lead.level}` : ''}`);
    return;
  }
  const rank = rankOf(lead.kind, lead.level);
  // An open alert of the same family and zone: fold if it is at least as severe, else supersede it.
  for (const a of Object.values(state.alerts)) {
    if (!isOpen(a) || a.drill || a.zoneId !== g.zoneId || a.family !== g.family) continue;
    if ((g.family === 'node' || g.family === 'fault') && a.nodeId !== lead.nodeId) continue;
    if (rankOf(a.kind, a.level ?? undefined) >= rank) {
      a.eventIds.push(...g.events.map((e) => e.eventId));
      out.ignored.push(`${lead.eventId}: folded into open alert ${a.alertId}`);
      return;
    }
    a.status = 'resolved';
    a.resolvedAt = now;
    a.resolvedBy = `superseded by ${lead.eventId}`;
    a.nextRepeatAt = null;
    out.stopped.push(a.alertId);
    out.lifecycle.push({ alertId: a.alertId, state: 'resolved', detail: `superseded by ${lead.eventId}` });
  }
  const routeIndex = ctx.policy.routes.indexOf(route);
  const recipients = resolveAudiences(ctx.roster, route.to, g.zoneId);
  const ordered = [lead, ...g.events.filter((e) => e !== lead)];
  const nodeIds = [...new Set(ordered.map((e) => e.nodeId).filter((id): id is string => typeof id === 'string'))];
  const isNodeFamily = g.family === 'node' || g.family === 'fault';
  const alert: AlertRecord = {
    alertId: lead.eventId,
    kind,
    family: g.family,
    zoneId: g.zoneId,
    nodeId: lead.nodeId ?? null,
    level: lead.level ?? null,
    eventTs: lead.ts,
    eventIds: [lead.eventId, ...g.events.filter((e) => e !== lead).map((e) => e.eventId)],
    nodeCount: new Set(g.events.map((e) => e.nodeId ?? e.eventId)).size,
    ...(isNodeFamily ? { nodeIds, faults: [...new Set(ordered.map(faultOf))] } : {}),
    routeIndex,
    openedAt: now,
    incidentId: g.family === 'fire' && typeof lead.detail.incidentId === 'string' ? lead.detail.incidentId : null,
    ...newLifecycle(ctx, state, route, recipients, now),
  };
  state.alerts[alert.alertId] = alert;
  state.lastSent[key] = { at: now, rank };
  const messageKind = raisingMessageKind(kind);
  out.notifications.push({
    alertId: alert.alertId,
    step: 'initial',
    messageKind,
    priority: PRIORITY[messageKind],
    recipients,
    fields: alertFields(ctx, alert, false, now),
    ackable: route.ack,
  });
  out.lifecycle.push({ alertId: alert.alertId, state: 'queued', recipients: recipients.length, detail: `${kind} in ${g.zoneId}` });
  yieldDrills(state, recipients, alert.alertId, out);
}

/**
 * A real alert reached these people: every open drill stops for them — its queued messages to them
 * are cancelled and its repeats and escalation skip them — so the real message is the one they read.
 */
function yieldDrills(state: EngineState, recipients: readonly Recipient[], realAlertId: string, out: EngineOutput): void {
  if (recipients.length === 0) return;
  for (const d of Object.values(state.alerts)) {
    if (!d.drill || d.status === 'resolved') continue;
    const already = new Set(d.drill.yieldedTo);
    const fresh = recipients.map((r) => r.id).filter((id) => !already.has(id));
    if (fresh.length === 0) continue;
    d.drill.yieldedTo.push(...fresh);
    (out.yielded ??= []).push({ alertId: d.alertId, recipientIds: fresh });
    out.ignored.push(`drill ${d.drill.id}: stopped for ${fresh.length} people reached by real alert ${realAlertId}`);
  }
}

/** How long a drill stays open at most (then it ends by itself): as long as its links are valid. */
function drillOpenMs(ctx: EngineContext): number {
  return ctx.policy.ackTokenTtlS * 1000;
}

/** Drill priority: behind every real message in the outbox, so a real alert never waits for a drill. */
export const DRILL_PRIORITY_OFFSET = 10;

export interface DrillRequest {
  drillId: string;
  kind: DrillKind;
  zoneId: string;
  audience: Audience[] | null;
  dryRun: boolean;
  startedBy: string;
  /** sensor: opened from what rules detected on a sensor drill's plume (alerts/sensor-drills.ts); default alert. */
  depth?: 'alert' | 'sensor';
}

export type DrillStartResult = { ok: true; alert: AlertRecord } | { ok: false; reason: string };

/** The event a drill of this kind rehearses (a level drill: a rise from III to IV). */
export function drillEventKind(kind: DrillKind): { kind: RaisingKind; level?: number; previousLevel?: number } {
  return kind === 'level' ? { kind: 'level-changed', level: 4, previousLevel: 3 } : { kind };
}

/**
 * Starts an alert drill: a drill alert opens at once (no grouping, no folding, nothing inhibits it),
 * with the route of the event it rehearses — same recipients, ack code, repeats and escalation —
 * unless an audience replaces the first recipients.
 */
export function startDrill(ctx: EngineContext, state: EngineState, req: DrillRequest, now: number, eventTs: string): { state: EngineState; result: DrillStartResult; output: EngineOutput } {
  const out = emptyOutput();
  if (!ctx.roster.site.zones.some((z) => z.id === req.zoneId)) return { state, result: { ok: false, reason: `unknown zone ${req.zoneId}` }, output: out };
  const alertId = `drill-${req.drillId}`;
  if (ownValue(state.alerts, alertId)) return { state, result: { ok: false, reason: `drill ${req.drillId} exists already` }, output: out };
  const ev = drillEventKind(req.kind);
  const route = findRoute(ctx.policy, ev.kind, ev.level);
  if (!route) return { state, result: { ok: false, reason: `no route for ${ev.kind}: nobody would be texted` }, output: out };
  const recipients = resolveAudiences(ctx.roster, req.audience ?? route.to, req.zoneId);
  if (recipients.length === 0) return { state, result: { ok: false, reason: `nobody on the roster for ${(req.audience ?? route.to).join(', ')} in ${req.zoneId}` }, output: out };
  const next = clone(state);
  const alert: AlertRecord = {
    alertId,
    kind: ev.kind,
    family: familyOf(ev.kind),
    zoneId: req.zoneId,
    nodeId: null,
    level: ev.level ?? null,
    eventTs,
    eventIds: [alertId],
    nodeCount: 1,
    routeIndex: ctx.policy.routes.indexOf(route),
    openedAt: now,
    ...newLifecycle(ctx, next, route, recipients, now),
    drill: { id: req.drillId, depth: req.depth ?? 'alert', kind: req.kind, dryRun: req.dryRun, startedBy: req.startedBy, audience: req.audience, yieldedTo: [] },
  };
  next.alerts[alertId] = alert;
  const messageKind = raisingMessageKind(ev.kind);
  out.notifications.push({
    alertId,
    step: 'initial',
    messageKind,
    priority: PRIORITY[messageKind] + DRILL_PRIORITY_OFFSET,
    recipients,
    fields: alertFields(ctx, alert, false, now),
    ackable: route.ack,
    drill: { id: req.drillId, dryRun: req.dryRun },
  });
  out.lifecycle.push({ alertId, state: 'queued', recipients: recipients.length, detail: `drill ${req.drillId}: ${ev.kind} in ${req.zoneId}` });
  return { state: next, result: { ok: true, alert }, output: out };
}

/** The outbox step of a drill's confirmation messages: first messages of the confirmed fire, never cancelled by an acknowledgement. */
export const CONFIRMED_STEP = 'confirmed';

/**
 * A sensor drill's fire confirmed by rules while its drill alert is a suspicion: the drill follows what a
 * real fire-confirmed does to a real suspected alert (flushGroup: the suspicion is superseded, the confirmed
 * route's people are texted, with a new code, the confirmed route's repeats and escalation counted from
 * now, unacknowledged). The drill keeps its one alert (`drill-<id>`, so its report holds both stages): the
 * suspicion's queued repeats and escalation are cancelled, everyone on the confirmed route (or the drill's
 * own audience) not reached by a real alert gets the confirmation (step `confirmed`, DIEN TAP). Nothing
 * when the drill ended or is already a confirmed fire.
 */
export function confirmDrill(ctx: EngineContext, state: EngineState, drillId: string, now: number, eventTs: string): { state: EngineState; output: EngineOutput; widened: boolean } {
  const out = emptyOutput();
  const alertId = `drill-${drillId}`;
  const a = ownValue(state.alerts, alertId);
  if (!a?.drill || a.status === 'resolved' || rankOf(a.kind, undefined) >= rankOf('fire-confirmed', undefined)) return { state, output: out, widened: false };
  const route = findRoute(ctx.policy, 'fire-confirmed');
  if (!route) {
    out.ignored.push(`drill ${drillId}: no route for fire-confirmed`);
    return { state, output: out, widened: false };
  }
  const next = clone(state);
  const d = next.alerts[alertId] as AlertRecord;
  const drill = d.drill as DrillRecord;
  const recipients = resolveAudiences(ctx.roster, drill.audience ?? route.to, d.zoneId).filter((r) => !drill.yieldedTo.includes(r.id));
  // The suspicion's repeats and escalation not sent yet are dropped (a real superseded alert's are).
  out.stopped.push(alertId);
  const told = d.notified;
  Object.assign(d, newLifecycle(ctx, next, route, recipients, now), { kind: 'fire-confirmed', routeIndex: ctx.policy.routes.indexOf(route), eventTs, openedAt: now });
  d.notified = [...new Set([...told, ...d.notified])];
  d.eventIds.push(`${alertId}-confirmed`);
  drill.confirmedAt = now;
  const messageKind = raisingMessageKind('fire-confirmed');
  if (recipients.length) {
    out.notifications.push({ alertId, step: CONFIRMED_STEP, messageKind, priority: PRIORITY[messageKind] + DRILL_PRIORITY_OFFSET, recipients, fields: alertFields(ctx, d, false, now), ackable: route.ack, drill: { id: drill.id, dryRun: drill.dryRun } });
  }
  out.lifecycle.push({ alertId, state: 'queued', recipients: recipients.length, detail: `drill ${drillId}: fire-confirmed in ${d.zoneId} (the suspicion confirmed)` });
  return { state: next, output: out, widened: true };
}

/** Ends a drill: no more repeats or escalation, its code is free again. No all-clear is sent. */
export function endDrill(state: EngineState, alertId: string, now: number, by: string): { state: EngineState; output: EngineOutput; ok: boolean } {
  const out = emptyOutput();
  const a = ownValue(state.alerts, alertId);
  if (!a?.drill) return { state, output: out, ok: false };
  if (a.status === 'resolved') return { state, output: out, ok: true };
  const next = clone(state);
  const d = next.alerts[alertId] as AlertRecord;
  d.status = 'resolved';
  d.resolvedAt = now;
  d.resolvedBy = by;
  d.nextRepeatAt = null;
  out.stopped.push(alertId);
  out.lifecycle.push({ alertId, state: 'resolved', detail: `drill ended: ${by}` });
  return { state: next, output: out, ok: true };
}

function runTimers(ctx: EngineContext, state: EngineState, now: number, out: EngineOutput): void {
  for (const [key, g] of Object.entries(state.pending)) if (g.flushAt <= now) flushGroup(ctx, state, key, g, now, out);
  for (const a of Object.values(state.alerts)) {
    if (a.drill && a.status !== 'resolved' && now - a.openedAt >= drillOpenMs(ctx)) {
      a.status = 'resolved';
      a.resolvedAt = now;
      a.resolvedBy = 'drill time over';
      a.nextRepeatAt = null;
      out.stopped.push(a.alertId);
      out.lifecycle.push({ alertId: a.alertId, state: 'resolved', detail: 'drill ended: time over' });
      continue;
    }
    if (a.status !== 'active') continue;
    const route = routeOf(ctx, a);
    if (!route || !route.ack) continue;
    const messageKind = raisingMessageKind(a.kind);
    const drill = a.drill;
    const stillInDrill = (r: Recipient) => !drill || !drill.yieldedTo.includes(r.id);
    const priority = PRIORITY[messageKind] + (drill ? DRILL_PRIORITY_OFFSET : 0);
    const drillMark = drill ? { drill: { id: drill.id, dryRun: drill.dryRun } } : {};
    // A confirmed sensor drill runs the confirmed route's steps on the same alert: named apart from the suspicion's (one row per alert, person and step).
    const stepPrefix = drill?.confirmedAt !== undefined ? `${CONFIRMED_STEP}-` : '';
    // A drill with its own audience does not escalate beyond it.
    while (!drill?.audience && a.stepsDone < route.escalation.length) {
      const step = route.escalation[a.stepsDone];
      if (!step || a.openedAt + step.afterS * 1000 > now) break;
      a.stepsDone += 1;
      const already = new Set(a.notified);
      const recipients = resolveAudiences(ctx.roster, step.to, a.zoneId).filter((r) => !already.has(r.id) && stillInDrill(r));
      a.notified.push(...recipients.map((r) => r.id));
      out.lifecycle.push({ alertId: a.alertId, state: 'escalated', recipients: recipients.length, detail: `step ${a.stepsDone}: ${step.to.join(', ')}` });
      if (recipients.length) {
        // Escalation reaches people told for the first time: not a reminder, so no repeat marker.
        out.notifications.push({ alertId: a.alertId, step: `${stepPrefix}esc${a.stepsDone}`, messageKind, priority, recipients, fields: alertFields(ctx, a, false, now), ackable: true, ...drillMark });
        if (!drill) yieldDrills(state, recipients, a.alertId, out);
      }
    }
    if (a.nextRepeatAt !== null && a.nextRepeatAt <= now && route.repeat) {
      a.repeatsDone += 1;
      // After downtime, one repeat now rather than every missed one.
      a.nextRepeatAt = a.repeatsDone < route.repeat.max ? now + route.repeat.everyS * 1000 : null;
      const recipients = resolveAudiences(ctx.roster, drill?.audience ?? route.repeat.to ?? route.to, a.zoneId).filter(stillInDrill);
      if (recipients.length) {
        out.notifications.push({ alertId: a.alertId, step: `${stepPrefix}rep${a.repeatsDone}`, messageKind, priority, recipients, fields: alertFields(ctx, a, true, now), ackable: true, ...drillMark });
      }
    }
  }
  for (const [id, a] of Object.entries(state.alerts)) {
    if (a.status === 'resolved' && a.resolvedAt !== null && now - a.resolvedAt > RESOLVED_KEEP_MS) delete state.alerts[id];
  }
}

/** Runs due group flushes, escalation steps and repeats. */
export function tick(ctx: EngineContext, state: EngineState, now: number): { state: EngineState; output: EngineOutput } {
  const next = clone(state);
  const out = emptyOutput();
  runTimers(ctx, next, now, out);
  return { state: next, output: out };
}

/** Takes one event from the rules engine. */
export function handleEvent(ctx: EngineContext, state: EngineState, event: FireEvent, now: number): { state: EngineState; output: EngineOutput } {
  const out = emptyOutput();
  if (state.seen.includes(event.eventId)) {
    out.ignored.push(`${event.eventId}: duplicate event`);
    return { state, output: out };
  }
  const next = clone(state);
  next.seen.push(event.eventId);
  if (next.seen.length > SEEN_LIMIT) next.seen.splice(0, next.seen.length - SEEN_LIMIT);
  const family = familyOf(event.kind);
  const key = groupKey(event.zoneId, family);

  const clearing =
    event.kind === 'fire-cleared'
      ? { kinds: ['fire-suspected', 'fire-confirmed'], message: 'fire-cleared' as const, node: false }
      : event.kind === 'node-online'
        ? { kinds: ['node-offline'], message: 'node-online' as const, node: true }
        : event.kind === 'node-fault-cleared'
          ? { kinds: ['node-fault'], message: 'node-fault-cleared' as const, node: true }
          : isFall(event)
            ? { kinds: ['level-changed'], message: 'level-fell' as const, node: false }
            : null;

  if (event.kind === 'fire-signal-lost') {
    signalLost(ctx, next, event, now, out);
    runTimers(ctx, next, now, out);
    return { state: next, output: out };
  }

  if (clearing) {
    const matches = (kind: string, nodeId: string | null | undefined, level: number | null | undefined) =>
      clearing.kinds.includes(kind) &&
      (!clearing.node || nodeId === event.nodeId) &&
      (clearing.message !== 'level-fell' || (level ?? 0) > (event.level ?? 0));
    // Resolved before it was sent: nothing is sent at all.
    const g = ownValue(next.pending, key);
    if (g) {
      const kept = g.events.filter((e) => !matches(e.kind, e.nodeId, e.level));
      for (const e of g.events) if (!kept.includes(e)) out.ignored.push(`${e.eventId}: cleared by ${event.eventId} before it was sent`);
      if (kept.length) g.events = kept;
      else delete next.pending[key];
    }
    for (const a of Object.values(next.alerts)) {
      if (isOpen(a) && !a.drill && a.zoneId === event.zoneId && matches(a.kind, a.nodeId, a.level)) {
        resolveAlert(ctx, a, now, event.eventId, { kind: clearing.message, event }, out);
      }
    }
    if (out.lifecycle.length === 0 && !g) out.ignored.push(`${event.eventId}: nothing open to clear`);
    runTimers(ctx, next, now, out);
    return { state: next, output: out };
  }

  const kind = event.kind as RaisingKind;
  const route = findRoute(ctx.policy, kind, event.level);
  if (!route) {
    out.ignored.push(`${event.eventId}: no route for ${kind}${event.level !== undefined ? ` level ${event.level}` : ''}`);
    runTimers(ctx, next, now, out);
    return { state: next, output: out };
  }
  const mutedBy = inhibitor(ctx, next, event);
  if (mutedBy) {
    out.ignored.push(`${event.eventId}: inhibited by ${mutedBy}`);
    runTimers(ctx, next, now, out);
    return { state: next, output: out };
  }
  applyInhibitionToPending(ctx, next, event, out);

  const rank = rankOf(event.kind, event.level);
  const wait = now + route.groupWaitS * 1000;
  const existing = ownValue(next.pending, key);
  if (existing) {
    existing.events.push(event);
    existing.flushAt = Math.min(existing.flushAt, wait);
  } else {
    const last = ownValue(next.lastSent, key);
    const windowEnd = last ? last.at + ctx.policy.grouping.windowS * 1000 : 0;
    // Inside the window after a message, hold the event unless it is more severe than what went out.
    const flushAt = last && windowEnd > now && rank <= last.rank ? Math.max(wait, windowEnd) : wait;
    next.pending[key] = { zoneId: event.zoneId, family, events: [event], flushAt };
  }
  runTimers(ctx, next, now, out);
  return { state: next, output: out };
}

export type AckResult = { ok: true; alert: AlertRecord; already: boolean } | { ok: false; reason: string };

/** Acknowledges an alert: stops its repeats and escalation and records who, when and how. */
export function acknowledge(
  state: EngineState,
  alertId: string,
  by: string,
  channel: AckChannel,
  now: number,
): { state: EngineState; result: AckResult; output: EngineOutput } {
  const out = emptyOutput();
  const existing = ownValue(state.alerts, alertId);
  if (!existing) return { state, result: { ok: false, reason: `no alert ${alertId}` }, output: out };
  if (existing.status !== 'active') return { state, result: { ok: true, alert: existing, already: true }, output: out };
  const next = clone(state);
  const a = next.alerts[alertId] as AlertRecord;
  a.status = 'acknowledged';
  a.ack = { by, at: now, channel };
  a.nextRepeatAt = null;
  out.stopped.push(alertId);
  out.lifecycle.push({ alertId, state: 'acknowledged', detail: `by ${by} via ${channel}` });
  return { state: next, result: { ok: true, alert: a, already: false }, output: out };
}

/** The open alert an ack code names (codes are unique among open alerts). */
export function alertByAckCode(state: EngineState, code: string): AlertRecord | null {
  return Object.values(state.alerts).find((a) => isOpen(a) && a.ackCode === code) ?? null;
}

/** When `tick` next has something to do; null if nothing is scheduled. */
export function nextWakeAt(ctx: EngineContext, state: EngineState): number | null {
  let next: number | null = null;
  const consider = (t: number | null) => {
    if (t !== null && (next === null || t < next)) next = t;
  };
  for (const g of Object.values(state.pending)) consider(g.flushAt);
  for (const a of Object.values(state.alerts)) {
    if (a.drill && a.status !== 'resolved') consider(a.openedAt + drillOpenMs(ctx));
    if (a.status !== 'active') continue;
    consider(a.nextRepeatAt);
    const step = a.drill?.audience ? undefined : routeOf(ctx, a)?.escalation[a.stepsDone];
    if (step) consider(a.openedAt + step.afterS * 1000);
  }
  return next;
}
