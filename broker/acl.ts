// Who may connect, publish and subscribe. Pure: the broker calls these, tests call them directly.
import { TOPIC_ROOT, parseTopic } from '../contracts/topics.ts';
import { SERVICE_ROLES, type ServiceRole } from '../platform/credentials.ts';

export type Principal = { kind: 'node'; nodeId: string } | { kind: 'service'; role: ServiceRole };

/** Resolves a username to a principal: `svc-<role>` for services, a known node id for nodes. */
export function principalFor(username: string, knownNodes: ReadonlySet<string>): Principal | null {
  if (username.startsWith('svc-')) {
    const role = username.slice(4);
    return (SERVICE_ROLES as readonly string[]).includes(role) ? { kind: 'service', role: role as ServiceRole } : null;
  }
  return knownNodes.has(username) ? { kind: 'node', nodeId: username } : null;
}

export type Decision = { ok: true } | { ok: false; reason: string };
const allow: Decision = { ok: true };
const deny = (reason: string): Decision => ({ ok: false, reason });

/** Topic families each service may publish to (`ews/v1/<family>/...`; drills by sub-family, `drill/<sub>`). */
export const PUBLISH_FAMILIES: Record<ServiceRole, readonly string[]> = {
  ingest: ['deadletter'],
  // drill/events: what rules detects on a sensor drill's readings (README "Drills").
  rules: ['danger', 'events', 'deadletter', 'drill/events'],
  // Drills are started through the alerts service's API; it announces alert drills and every drill alert,
  // and hands sensor drills from the board and the schedule to the drill player (drill/requests).
  alerts: ['alerts', 'deadletter', 'drill/events', 'drill/alerts', 'drill/requests'],
  // The simulator and replay publish on behalf of any node (load tests, recorded data); a sensor drill's plume only on drill/readings.
  simulator: ['readings', 'status', 'drill/readings'],
  recorder: [],
  observer: [],
  // The situation board only reads.
  board: [],
};

/** Subscription filters each service may hold (exact filter strings or a prefix ending in `/#`). */
export const SUBSCRIBE_FILTERS: Record<ServiceRole, readonly string[]> = {
  ingest: [`${TOPIC_ROOT}/readings/+`, `${TOPIC_ROOT}/status/+`, `${TOPIC_ROOT}/clock`, `${TOPIC_ROOT}/drill/readings/+`],
  rules: [`${TOPIC_ROOT}/readings/+`, `${TOPIC_ROOT}/status/+`, `${TOPIC_ROOT}/danger/+`, `${TOPIC_ROOT}/clock`, `${TOPIC_ROOT}/drill/readings/+`],
  alerts: [`${TOPIC_ROOT}/events/#`, `${TOPIC_ROOT}/events/+/+`, `${TOPIC_ROOT}/danger/+`, `${TOPIC_ROOT}/alerts/+`, `${TOPIC_ROOT}/clock`, `${TOPIC_ROOT}/drill/events/+/+`],
  // Before an accelerated run: is a run already going, and how does each pipeline process judge time?
  // The drill player (simulator/drill-player.ts) alone receives sensor drill requests.
  simulator: [`${TOPIC_ROOT}/clock`, `${TOPIC_ROOT}/clock/pipeline/+`, `${TOPIC_ROOT}/drill/requests/+`],
  recorder: [`${TOPIC_ROOT}/readings/+`, `${TOPIC_ROOT}/status/+`],
  observer: [`${TOPIC_ROOT}/#`],
  // The situation board: levels, events, node status and the alert lifecycle; no readings, no dead letters.
  board: [`${TOPIC_ROOT}/danger/+`, `${TOPIC_ROOT}/events/+/+`, `${TOPIC_ROOT}/status/+`, `${TOPIC_ROOT}/alerts/+`],
};

export function authorizePublish(principal: Principal, topic: string): Decision {
  if (topic.startsWith('$')) return deny(`publishing to ${topic.split('/')[0]} topics is reserved to the broker`);
  const parsed = parseTopic(topic);
  if (!parsed) return deny(`topic ${topic} is not part of the ${TOPIC_ROOT} contract`);
  if (principal.kind === 'node') {
    if ((parsed.kind === 'reading' || parsed.kind === 'status') && parsed.nodeId === principal.nodeId) return allow;
    if (parsed.kind === 'reading' || parsed.kind === 'status') {
      return deny(`node ${principal.nodeId} may not publish for node ${parsed.nodeId}`);
    }
    return deny(`node ${principal.nodeId} may publish only its own readings and status`);
  }
  // The run clock moves a following pipeline's time: only the simulator announces it (README "Time model").
  if (parsed.kind === 'clock') return principal.role === 'simulator' ? allow : deny(`only svc-simulator may publish ${topic}`);
  if (parsed.kind === 'pipeline-clock') {
    return parsed.role === principal.role ? allow : deny(`service ${principal.role} may publish only its own clock status, not ${topic}`);
  }
  const [, , family = '', sub = ''] = topic.split('/');
  if (PUBLISH_FAMILIES[principal.role].some((f) => f === family || f === `${family}/${sub}`)) {
    if (parsed.kind === 'deadletter' && parsed.service !== principal.role) {
      return deny(`service ${principal.role} may publish only its own dead letters`);
    }
    return allow;
  }
  return deny(`service ${principal.role} may not publish to ${family === 'drill' ? `${family}/${sub}` : family}`);
}

export function authorizeSubscribe(principal: Principal, filter: string): Decision {
  if (filter.startsWith('$') || filter === '#' || filter.startsWith('+')) {
    return deny(`subscribing to ${filter} is not allowed (broker-internal or wider than the contract)`);
  }
  if (principal.kind === 'node') return deny(`node ${principal.nodeId} may not subscribe`);
  const allowed = SUBSCRIBE_FILTERS[principal.role];
  if (allowed.includes(filter)) return allow;
  // Narrower filters inside an allowed one are fine (e.g. one node's readings).
  for (const a of allowed) {
    if (a.endsWith('/#') && filter.startsWith(a.slice(0, -1))) return allow;
    if (a.endsWith('/+') && filter.startsWith(a.slice(0, -1)) && !filter.slice(a.length - 1).includes('/') && !filter.includes('#')) {
      return allow;
    }
    if (a.endsWith('/+/+')) {
      const prefix = a.slice(0, -3);
      const rest = filter.startsWith(prefix) ? filter.slice(prefix.length).split('/') : [];
      if (rest.length === 2 && !filter.includes('#')) return allow;
    }
  }
  return deny(`service ${principal.role} may not subscribe to ${filter}`);
}

/** The client-id prefix reserved to each service account: `ews-<role>` and `ews-<role>-<anything>`. */
export const SERVICE_CLIENT_ID_PREFIX = 'ews-';

/**
 * Who may use a client id. aedes hands a persistent session (and its queued messages) to whoever
 * connects with its id, and closes the connection that had it, so an id is an identity: a node uses
 * exactly its node id; `ews-<role>…` belongs to `svc-<role>`; nobody else may take a node's id.
 */
export function authorizeClientId(principal: Principal, clientId: string, knownNodes: ReadonlySet<string>): Decision {
  if (principal.kind === 'node') {
    return clientId === principal.nodeId ? allow : deny(`node ${principal.nodeId} must connect with client id ${principal.nodeId}, not ${JSON.stringify(clientId)}`);
  }
  if (knownNodes.has(clientId)) return deny(`client id ${clientId} belongs to node ${clientId}`);
  if (clientId.startsWith(SERVICE_CLIENT_ID_PREFIX)) {
    const own = `${SERVICE_CLIENT_ID_PREFIX}${principal.role}`;
    if (clientId !== own && !clientId.startsWith(`${own}-`)) return deny(`client id ${clientId} is reserved to another service (svc-${principal.role} may use ${own}[-…])`);
  }
  return allow;
}

/** MQTT topic matching of one filter against one concrete topic (`+` one level, `#` the rest). */
export function topicMatchesFilter(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return i === f.length - 1;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * May this principal receive a message on `topic`? Checked on every delivery, live and from a
 * persistent session's queue, so a message reaches only someone whose subscribe ACL covers it.
 */
export function authorizeReceive(principal: Principal, topic: string): Decision {
  if (principal.kind === 'node') return deny(`node ${principal.nodeId} receives nothing`);
  if (topic.startsWith('$')) return deny(`${topic.split('/')[0]} is broker-internal`);
  if (SUBSCRIBE_FILTERS[principal.role].some((f) => topicMatchesFilter(f, topic))) return allow;
  return deny(`service ${principal.role} may not receive ${topic}`);
}
