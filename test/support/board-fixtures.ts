// Inputs for the board's unit tests: the shipped site, danger values, events and alerts as the
// services publish them.
import type { ApiAlert } from '../../contracts/alerts-api.ts';
import type { Danger, FireEvent } from '../../contracts/payloads.ts';
import { loadSiteFile } from '../../platform/site-file.ts';
import type { BoardInputs } from '../../board/view.ts';

export const SITE = loadSiteFile(new URL('../../config/lai-chau.site.yaml', import.meta.url).pathname);

export function danger(zoneId: string, date: string, level: Danger['level'], p: number | null, official = true, ts = `${date}T13:00:00+07:00`): Danger {
  return {
    zoneId,
    date,
    ts,
    official,
    quality: level === null ? 'unavailable' : 'ok',
    level,
    levelName: null,
    nesterovP: p,
    inputs: { t13: 28, rh13: 40, d13: 22.6, rain24hMm: 0, nodesUsed: [] },
  };
}

export function fireEvent(kind: 'fire-suspected' | 'fire-confirmed' | 'fire-cleared' | 'fire-signal-lost', incident: string, zoneId: string, nodeId: string, ts: string, detail: FireEvent['detail'] = {}): FireEvent {
  return { eventId: `${incident}-${kind.slice(5)}`, kind, zoneId, nodeId, ts, detail: { incidentId: incident, firstAnomalyAt: ts, ...detail } };
}

export function nodeEvent(kind: FireEvent['kind'], nodeId: string, zoneId: string, incident: string, ts: string, detail: FireEvent['detail'] = {}): FireEvent {
  return { eventId: `${incident}-${kind}`, kind, zoneId, nodeId, ts, detail: { incidentId: incident, ...detail } };
}

export function apiAlert(over: Partial<ApiAlert> & Pick<ApiAlert, 'alertId' | 'kind' | 'zoneId'>): ApiAlert {
  return {
    nodeId: null,
    level: null,
    eventTs: '2026-03-20T06:00:00Z',
    eventIds: [over.alertId],
    routeIndex: 0,
    openedAt: Date.parse('2026-03-20T06:00:00Z'),
    status: 'active',
    notified: [],
    stepsDone: 0,
    ack: null,
    resolvedAt: null,
    deliveries: [],
    ...over,
  };
}

export function inputs(over: Partial<BoardInputs> = {}): BoardInputs {
  return {
    official: new Map(),
    provisional: new Map(),
    events: [],
    status: new Map(),
    lastReading: new Map(),
    alerts: [],
    mqttConnected: true,
    alertsState: 'ok',
    alertsError: null,
    readingsKind: 'local',
    readingsError: null,
    ...over,
  };
}
