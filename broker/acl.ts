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

/** Topic families each service may publish to (`ews/v1/<family>/...`). */
const PUBLISH_FAMILIES: Record<ServiceRole, readonly string[]> = {
  ingest: ['deadletter'],
  rules: ['danger', 'events', 'deadletter'],
  alerts: ['alerts', 'deadletter'],
  // The simulator and replay publish on behalf of any node (load tests, recorded data).
  simulator: ['readings', 'status'],
  recorder: [],
  observer: [],
};

/** Subscription filters each service may hold (exact filter strings or a prefix ending in `/#`). */
const SUBSCRIBE_FILTERS: Record<ServiceRole, readonly string[]> = {
  ingest: [`${TOPIC_ROOT}/readings/+`, `${TOPIC_ROOT}/status/+`, `${TOPIC_ROOT}/clock`],
  rules: [`${TOPIC_ROOT}/readings/+`, `${TOPIC_ROOT}/status/+`, `${TOPIC_ROOT}/danger/+`, `${TOPIC_ROOT}/clock`],
  alerts: [`${TOPIC_ROOT}/events/#`, `${TOPIC_ROOT}/events/+/+`, `${TOPIC_ROOT}/danger/+`, `${TOPIC_ROOT}/alerts/+`, `${TOPIC_ROOT}/clock`],
  // Before an accelerated run: is a run already going, and how does each pipeline process judge time?
  simulator: [`${TOPIC_ROOT}/clock`, `${TOPIC_ROOT}/clock/pipeline/+`],
  recorder: [`${TOPIC_ROOT}/readings/+`, `${TOPIC_ROOT}/status/+`],
  observer: [`${TOPIC_ROOT}/#`],
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
  const family = topic.split('/')[2] ?? '';
  if (PUBLISH_FAMILIES[principal.role].includes(family)) {
    if (parsed.kind === 'deadletter' && parsed.service !== principal.role) {
      return deny(`service ${principal.role} may publish only its own dead letters`);
    }
    return allow;
  }
  return deny(`service ${principal.role} may not publish to ${family}`);
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
