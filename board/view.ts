// What the situation board shows, computed from the site file and what the board has heard: the
// official and provisional level per zone, node health and data freshness, fires with their
// timeline, and the alerts service's view of each alert (who was texted, delivery, escalation,
// acknowledgement). Pure: `now` comes in; the page and the bulletin render this and nothing else.
import type { ApiAlert } from '../contracts/alerts-api.ts';
import { DANGER_LEVEL_INFO } from '../contracts/danger-levels.ts';
import type { Danger, FireEvent, NodeStatus } from '../contracts/payloads.ts';
import type { Site } from '../contracts/site.ts';

export type Health = 'ok' | 'stale' | 'offline' | 'fault' | 'unknown';
export type Freshness = 'ok' | 'partial' | 'stale' | 'none';

export interface LevelView {
  level: 1 | 2 | 3 | 4 | 5 | null;
  roman: string | null;
  label: string | null;
  p: number | null;
  quality: Danger['quality'];
  date: string;
  ts: string;
}

export interface ZoneView {
  id: string;
  name: string;
  kind: 'phuong' | 'xa';
  hotspot: boolean;
  official: (LevelView & { isToday: boolean }) | null;
  /** Only when newer than the official value. */
  provisional: LevelView | null;
  nodes: number;
  /** Nodes with a reading within 3 reporting intervals. */
  reporting: number;
  offline: number;
  faulty: number;
  lastReadingAt: string | null;
  freshness: Freshness;
  fire: 'suspected' | 'confirmed' | null;
}

export interface NodeView {
  id: string;
  zone: string;
  lat: number;
  lon: number;
  health: Health;
  lastReadingAt: string | null;
  /** From the node's retained status (its will when the link dropped). */
  link: 'online' | 'offline' | null;
  linkAt: string | null;
  faults: string[];
  inFire: boolean;
}

export interface RecipientView {
  id: string;
  name: string;
  unit: string;
  /** Step of the newest message to this person (initial, esc1, rep1, clear). */
  step: string;
  state: string;
  at: number;
}

export interface AlertView {
  alertId: string;
  kind: ApiAlert['kind'];
  zoneId: string;
  nodeId: string | null;
  level: number | null;
  status: ApiAlert['status'];
  openedAt: number;
  stepsDone: number;
  stepsTotal: number;
  nextEscalationAt: number | null;
  ack: { by: string; at: number; channel: string } | null;
  recipients: RecipientView[];
  /** Messages per state. */
  counts: Record<string, number>;
}

export interface FireView {
  incidentId: string;
  zoneId: string;
  state: 'suspected' | 'confirmed' | 'cleared';
  firstAnomalyAt: string;
  suspectedAt: string | null;
  confirmedAt: string | null;
  clearedAt: string | null;
  confirmedBy: string | null;
  originNode: string | null;
  nodes: string[];
  lat: number | null;
  lon: number | null;
  timeline: { kind: FireEvent['kind']; ts: string; nodeId: string | null }[];
  alerts: AlertView[];
}

export interface BoardView {
  site: { id: string; name: string; timezone: string; sampleData: boolean };
  generatedAt: string;
  today: string;
  zones: ZoneView[];
  nodes: NodeView[];
  fires: FireView[];
  /** Open alerts that are not about a fire (level changes, node faults). */
  otherAlerts: AlertView[];
  sources: {
    mqtt: boolean;
    alerts: 'ok' | 'error' | 'off';
    alertsError: string | null;
    readings: 'influx' | 'local' | 'none';
    readingsError: string | null;
  };
}

/** What the board has heard, as the service keeps it. */
export interface BoardInputs {
  official: ReadonlyMap<string, Danger>;
  provisional: ReadonlyMap<string, Danger>;
  /** Recent events, any order. */
  events: readonly FireEvent[];
  status: ReadonlyMap<string, NodeStatus & { receivedAt: number }>;
  /** Observation time of each node's newest reading (ms). */
  lastReading: ReadonlyMap<string, number>;
  alerts: readonly ApiAlert[] | null;
  mqttConnected: boolean;
  alertsState: 'ok' | 'error' | 'off';
  alertsError: string | null;
  readingsKind: 'influx' | 'local' | 'none';
  readingsError: string | null;
}

/** A fire the sensors no longer see stays on the board this long, marked for checking on the ground. */
export const CLEARED_FIRE_KEEP_MS = 24 * 3_600_000;
/** A node without a reading for this many reporting intervals is stale (the rules' offline rule). */
export const STALE_INTERVALS = 3;

/** YYYY-MM-DD of `ms` in `timeZone`. */
export function localDate(ms: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(ms));
}

function levelView(d: Danger): LevelView {
  const info = d.level === null ? null : DANGER_LEVEL_INFO[d.level];
  return { level: d.level, roman: info?.roman ?? null, label: info?.label ?? null, p: d.nesterovP, quality: d.quality, date: d.date, ts: d.ts };
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** Incident id of a fire event: detail.incidentId, else the event id without its -suspected/-confirmed/-cleared suffix. */
export function incidentOf(e: FireEvent): string {
  return str(e.detail.incidentId) ?? e.eventId.replace(/-(suspected|confirmed|cleared)$/, '');
}

/** Open node-offline and node-fault incidents per node, from the event stream. */
function openNodeIncidents(events: readonly FireEvent[]): { offline: Set<string>; faults: Map<string, Set<string>> } {
  const sorted = [...events].filter((e) => e.kind.startsWith('node-') && e.nodeId).sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts));
  const offline = new Map<string, string>(); // node → open incident
  const faults = new Map<string, Map<string, string>>(); // node → incident → fault name
  for (const e of sorted) {
    const node = e.nodeId as string;
    const incident = str(e.detail.incidentId) ?? e.eventId;
    if (e.kind === 'node-offline') offline.set(node, incident);
    else if (e.kind === 'node-online') offline.delete(node);
    else if (e.kind === 'node-fault') {
      const m = faults.get(node) ?? new Map<string, string>();
      m.set(incident, str(e.detail.fault) ?? 'fault');
      faults.set(node, m);
    } else if (e.kind === 'node-fault-cleared') faults.get(node)?.delete(incident);
  }
  return { offline: new Set(offline.keys()), faults: new Map([...faults].map(([n, m]) => [n, new Set(m.values())])) };
}

function alertView(a: ApiAlert, site: Site, names: ReadonlyMap<string, { name: string; unit: string }>): AlertView {
  const route = site.alerts?.routes[a.routeIndex];
  const steps = route?.escalation ?? [];
  const next = a.status === 'active' ? steps[a.stepsDone] : undefined;
  const newest = new Map<string, { step: string; state: string; at: number }>();
  const counts: Record<string, number> = {};
  for (const d of a.deliveries) {
    counts[d.state] = (counts[d.state] ?? 0) + 1;
    const prev = newest.get(d.recipientId);
    // The newest step a person got; a cancelled repeat never replaces what they did receive.
    if (!prev || (d.state !== 'cancelled' && (prev.state === 'cancelled' || d.updatedAt >= prev.at))) newest.set(d.recipientId, { step: d.step, state: d.state, at: d.updatedAt });
  }
  const recipients = [...newest].map(([id, r]) => ({ id, name: names.get(id)?.name ?? id, unit: names.get(id)?.unit ?? '', ...r }));
  const nextAt = next ? a.openedAt + next.afterS * 1000 : null;
  return {
    alertId: a.alertId,
    kind: a.kind,
    zoneId: a.zoneId,
    nodeId: a.nodeId,
    level: a.level,
    status: a.status,
    openedAt: a.openedAt,
    stepsDone: a.stepsDone,
    stepsTotal: steps.length,
    nextEscalationAt: nextAt,
    ack: a.ack,
    recipients,
    counts,
  };
}

/** Member id → name and unit, for the people the alerts service texted. Phones never leave the server. */
export function rosterNames(site: Site): Map<string, { name: string; unit: string }> {
  const out = new Map<string, { name: string; unit: string }>();
  for (const t of site.teams) for (const m of t.members) out.set(m.id, { name: m.name, unit: t.name });
  for (const m of site.boards.city.members) out.set(m.id, { name: m.name, unit: site.boards.city.name });
  for (const b of site.boards.communes) for (const m of b.members) out.set(m.id, { name: m.name, unit: b.name });
  for (const m of site.rangers) out.set(m.id, { name: m.name, unit: 'Kiểm lâm' });
  for (const m of site.maintenance) out.set(m.id, { name: m.name, unit: 'Kỹ thuật' });
  return out;
}

export function buildBoardView(site: Site, inputs: BoardInputs, now: number, names = rosterNames(site)): BoardView {
  const tz = site.site.timezone;
  const today = localDate(now, tz);
  const nodeById = new Map(site.nodes.map((n) => [n.id, n]));
  const { offline: offlineByRules, faults } = openNodeIncidents(inputs.events);

  // Fires: fire-* events grouped by incident, oldest event first.
  const fireEvents = inputs.events.filter((e) => e.kind.startsWith('fire-')).sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts));
  const incidents = new Map<string, FireEvent[]>();
  for (const e of fireEvents) incidents.set(incidentOf(e), [...(incidents.get(incidentOf(e)) ?? []), e]);
  const alertViews = (inputs.alerts ?? []).map((a) => alertView(a, site, names));
  const usedAlerts = new Set<string>();
  const fires: FireView[] = [];
  for (const [incidentId, evs] of incidents) {
    const suspected = evs.find((e) => e.kind === 'fire-suspected') ?? null;
    const confirmed = evs.find((e) => e.kind === 'fire-confirmed') ?? null;
    const cleared = evs.find((e) => e.kind === 'fire-cleared') ?? null;
    if (cleared && now - Date.parse(cleared.ts) > CLEARED_FIRE_KEEP_MS) continue;
    const first = evs[0] as FireEvent;
    const memberText = str(cleared?.detail.nodes) ?? str(confirmed?.detail.nodes);
    const nodes = [...new Set([...(memberText ? memberText.split(',') : []), ...evs.map((e) => e.nodeId).filter((n): n is string => !!n)])].filter((n) => nodeById.has(n));
    const origin = str(confirmed?.detail.originNode) ?? str(cleared?.detail.originNode) ?? suspected?.nodeId ?? first.nodeId ?? null;
    const at = nodeById.get(origin ?? '') ?? nodeById.get(nodes[0] ?? '');
    const eventIds = new Set(evs.map((e) => e.eventId));
    const alerts = alertViews.filter((a) => (inputs.alerts ?? []).find((x) => x.alertId === a.alertId)?.eventIds.some((id) => eventIds.has(id)));
    for (const a of alerts) usedAlerts.add(a.alertId);
    fires.push({
      incidentId,
      zoneId: first.zoneId,
      state: cleared ? 'cleared' : confirmed ? 'confirmed' : 'suspected',
      firstAnomalyAt: str(first.detail.firstAnomalyAt) ?? first.ts,
      suspectedAt: suspected?.ts ?? null,
      confirmedAt: confirmed?.ts ?? null,
      clearedAt: cleared?.ts ?? null,
      confirmedBy: str(confirmed?.detail.confirmedBy),
      originNode: origin,
      nodes,
      lat: at?.lat ?? null,
      lon: at?.lon ?? null,
      timeline: evs.map((e) => ({ kind: e.kind, ts: e.ts, nodeId: e.nodeId ?? null })),
      alerts,
    });
  }
  // Active fires first (confirmed before suspected), newest first within each.
  const rank = { confirmed: 0, suspected: 1, cleared: 2 } as const;
  fires.sort((a, b) => rank[a.state] - rank[b.state] || Date.parse(b.firstAnomalyAt) - Date.parse(a.firstAnomalyAt));
  const inActiveFire = new Set(fires.filter((f) => f.state !== 'cleared').flatMap((f) => f.nodes));

  const nodes: NodeView[] = site.nodes.map((n) => {
    const last = inputs.lastReading.get(n.id) ?? null;
    const status = inputs.status.get(n.id) ?? null;
    const statusAt = status ? (status.ts ? Date.parse(status.ts) : status.receivedAt) : null;
    const fresh = last !== null && now - last <= STALE_INTERVALS * n.reportingIntervalS * 1000;
    // The node's will says its link dropped; a reading after that says it is back.
    const linkDown = status?.status === 'offline' && (last === null || (statusAt !== null && statusAt >= last));
    const nodeFaults = [...(faults.get(n.id) ?? [])].sort();
    let health: Health;
    if (linkDown || offlineByRules.has(n.id)) health = 'offline';
    else if (nodeFaults.length > 0) health = 'fault';
    else if (last === null && !status) health = 'unknown';
    else if (!fresh) health = 'stale';
    else health = 'ok';
    return {
      id: n.id,
      zone: n.zone,
      lat: n.lat,
      lon: n.lon,
      health,
      lastReadingAt: last === null ? null : new Date(last).toISOString(),
      link: status?.status ?? null,
      linkAt: statusAt === null ? null : new Date(statusAt).toISOString(),
      faults: nodeFaults,
      inFire: inActiveFire.has(n.id),
    };
  });

  const zones: ZoneView[] = site.zones.map((z) => {
    const mine = nodes.filter((n) => n.zone === z.id);
    const official = inputs.official.get(z.id) ?? null;
    const provisional = inputs.provisional.get(z.id) ?? null;
    const reporting = mine.filter((n) => n.health === 'ok' || n.health === 'fault').length;
    const newest = mine.map((n) => (n.lastReadingAt ? Date.parse(n.lastReadingAt) : 0)).reduce((a, b) => Math.max(a, b), 0);
    const zoneFires = fires.filter((f) => f.zoneId === z.id && f.state !== 'cleared');
    return {
      id: z.id,
      name: z.name,
      kind: z.kind,
      hotspot: z.hotspot,
      official: official ? { ...levelView(official), isToday: official.date === today } : null,
      provisional: provisional && (!official || Date.parse(provisional.ts) > Date.parse(official.ts)) ? levelView(provisional) : null,
      nodes: mine.length,
      reporting,
      offline: mine.filter((n) => n.health === 'offline').length,
      faulty: mine.filter((n) => n.faults.length > 0).length,
      lastReadingAt: newest > 0 ? new Date(newest).toISOString() : null,
      freshness: newest === 0 ? 'none' : reporting === mine.length ? 'ok' : reporting === 0 ? 'stale' : 'partial',
      fire: zoneFires.some((f) => f.state === 'confirmed') ? 'confirmed' : zoneFires.length ? 'suspected' : null,
    };
  });

  return {
    site: { id: site.site.id, name: site.site.name, timezone: tz, sampleData: site.site.sampleData },
    generatedAt: new Date(now).toISOString(),
    today,
    zones,
    nodes,
    fires,
    otherAlerts: alertViews.filter((a) => !usedAlerts.has(a.alertId) && a.status !== 'resolved'),
    sources: {
      mqtt: inputs.mqttConnected,
      alerts: inputs.alertsState,
      alertsError: inputs.alertsError,
      readings: inputs.readingsKind,
      readingsError: inputs.readingsError,
    },
  };
}
