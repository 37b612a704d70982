// MQTT topic contract, version 1. Every service builds and parses topics here and nowhere else.

export const TOPIC_ROOT = 'ews/v1';

/** Ids used as a single topic level: lower-case ASCII, digits and dashes (no MQTT wildcards or separators). */
export const TOPIC_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const EVENT_KINDS = [
  'fire-suspected',
  'fire-confirmed',
  'fire-cleared',
  'fire-signal-lost',
  'level-changed',
  'node-offline',
  'node-online',
  'node-fault',
  'node-fault-cleared',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export const DEADLETTER_SERVICES = ['ingest', 'rules', 'alerts', 'replay'] as const;
export type DeadLetterService = (typeof DEADLETTER_SERVICES)[number];

/** Services that announce their clock on `ews/v1/clock/pipeline/<role>`. */
export const PIPELINE_CLOCK_ROLES = ['ingest', 'rules', 'alerts'] as const;
export type PipelineClockRole = (typeof PIPELINE_CLOCK_ROLES)[number];

function assertId(kind: string, id: string): string {
  if (!TOPIC_ID_PATTERN.test(id)) throw new Error(`invalid ${kind} id for a topic: ${JSON.stringify(id)}`);
  return id;
}

export const topics = {
  reading: (nodeId: string) => `${TOPIC_ROOT}/readings/${assertId('node', nodeId)}`,
  status: (nodeId: string) => `${TOPIC_ROOT}/status/${assertId('node', nodeId)}`,
  danger: (zoneId: string) => `${TOPIC_ROOT}/danger/${assertId('zone', zoneId)}`,
  event: (kind: EventKind, zoneId: string) => `${TOPIC_ROOT}/events/${kind}/${assertId('zone', zoneId)}`,
  alert: (eventId: string) => `${TOPIC_ROOT}/alerts/${assertId('event', eventId)}`,
  deadLetter: (service: DeadLetterService) => `${TOPIC_ROOT}/deadletter/${service}`,
  /**
   * Drills (diễn tập) live in their own subtree, never under `events/` or `alerts/`: a consumer of
   * real events or alerts (dashboards, boards, anything written before drills existed) cannot
   * receive a drill by subscribing to the real filters.
   */
  drillEvent: (kind: EventKind, zoneId: string) => `${TOPIC_ROOT}/drill/events/${kind}/${assertId('zone', zoneId)}`,
  drillAlert: (eventId: string) => `${TOPIC_ROOT}/drill/alerts/${assertId('event', eventId)}`,
  /** A sensor drill's simulated reading (svc-simulator only): never under `readings/`, so no consumer of real readings can see one. */
  drillReading: (nodeId: string) => `${TOPIC_ROOT}/drill/readings/${assertId('node', nodeId)}`,
  /**
   * A request to play a sensor drill's plume at a zone (svc-alerts publishes it for the board's form and
   * the schedule; the drill player, svc-simulator, alone receives it): the alerts service never holds the
   * simulator's right to publish readings.
   */
  drillRequest: (zoneId: string) => `${TOPIC_ROOT}/drill/requests/${assertId('zone', zoneId)}`,
  /** The clock of an accelerated run (retained; svc-simulator). */
  clock: `${TOPIC_ROOT}/clock`,
  /** How one pipeline process judges time (retained; the process's own service account). */
  pipelineClock: (role: PipelineClockRole) => `${TOPIC_ROOT}/clock/pipeline/${role}`,
  /** Subscription filters. */
  allReadings: `${TOPIC_ROOT}/readings/+`,
  allStatus: `${TOPIC_ROOT}/status/+`,
  allDanger: `${TOPIC_ROOT}/danger/+`,
  allEvents: `${TOPIC_ROOT}/events/+/+`,
  allAlerts: `${TOPIC_ROOT}/alerts/+`,
  allDeadLetters: `${TOPIC_ROOT}/deadletter/+`,
  allPipelineClocks: `${TOPIC_ROOT}/clock/pipeline/+`,
  allDrillEvents: `${TOPIC_ROOT}/drill/events/+/+`,
  allDrillAlerts: `${TOPIC_ROOT}/drill/alerts/+`,
  allDrillReadings: `${TOPIC_ROOT}/drill/readings/+`,
  allDrillRequests: `${TOPIC_ROOT}/drill/requests/+`,
} as const;

export type ParsedTopic =
  | { kind: 'reading'; nodeId: string }
  | { kind: 'status'; nodeId: string }
  | { kind: 'danger'; zoneId: string }
  | { kind: 'event'; eventKind: EventKind; zoneId: string }
  | { kind: 'alert'; eventId: string }
  | { kind: 'deadletter'; service: DeadLetterService }
  | { kind: 'clock' }
  | { kind: 'pipeline-clock'; role: PipelineClockRole }
  | { kind: 'drill-event'; eventKind: EventKind; zoneId: string }
  | { kind: 'drill-alert'; eventId: string }
  | { kind: 'drill-reading'; nodeId: string }
  | { kind: 'drill-request'; zoneId: string };

/** Parses a concrete topic of the v1 contract; returns null for anything else (never throws). */
export function parseTopic(topic: string): ParsedTopic | null {
  const parts = topic.split('/');
  if (parts[0] !== 'ews' || parts[1] !== 'v1') return null;
  const [, , family, a, b] = parts;
  const valid = (id: string | undefined): id is string => id !== undefined && TOPIC_ID_PATTERN.test(id);
  if (parts.length === 3 && family === 'clock') return { kind: 'clock' };
  if (parts.length === 5 && family === 'clock' && a === 'pipeline' && (PIPELINE_CLOCK_ROLES as readonly string[]).includes(b ?? '')) {
    return { kind: 'pipeline-clock', role: b as PipelineClockRole };
  }
  if (parts.length === 4) {
    if (family === 'readings' && valid(a)) return { kind: 'reading', nodeId: a };
    if (family === 'status' && valid(a)) return { kind: 'status', nodeId: a };
    if (family === 'danger' && valid(a)) return { kind: 'danger', zoneId: a };
    if (family === 'alerts' && valid(a)) return { kind: 'alert', eventId: a };
    if (family === 'deadletter' && (DEADLETTER_SERVICES as readonly string[]).includes(a ?? '')) {
      return { kind: 'deadletter', service: a as DeadLetterService };
    }
  }
  if (family === 'drill') {
    const [, , , sub, c, d] = parts;
    if (parts.length === 5 && sub === 'alerts' && valid(c)) return { kind: 'drill-alert', eventId: c };
    if (parts.length === 5 && sub === 'readings' && valid(c)) return { kind: 'drill-reading', nodeId: c };
    if (parts.length === 5 && sub === 'requests' && valid(c)) return { kind: 'drill-request', zoneId: c };
    if (parts.length === 6 && sub === 'events' && (EVENT_KINDS as readonly string[]).includes(c ?? '') && valid(d)) return { kind: 'drill-event', eventKind: c as EventKind, zoneId: d };
    return null;
  }
  if (parts.length === 5 && family === 'events' && (EVENT_KINDS as readonly string[]).includes(a ?? '') && valid(b)) {
    return { kind: 'event', eventKind: a as EventKind, zoneId: b };
  }
  return null;
}
