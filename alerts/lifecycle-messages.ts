// What alerts publishes when an alert changes state (pure): the lifecycle on ews/v1/alerts/<id>; for
// a drill only the drill subtree, marked (README "Drills": never ews/v1/events or ews/v1/alerts), with
// the rehearsed event once when the drill alert is queued.
import { alertLifecycleSchema, drillAlertLifecycleSchema, drillEventSchema } from '../contracts/payloads.ts';
import { topics } from '../contracts/topics.ts';
import type { AlertRecord, LifecycleNote } from './engine.ts';

export function lifecycleMessages(note: LifecycleNote, alert: AlertRecord | undefined, nowIso: string): { topic: string; payload: string }[] {
  const base = { eventId: note.alertId, state: note.state, ts: nowIso, recipients: note.recipients, detail: note.detail?.slice(0, 500) };
  if (!alert?.drill) return [{ topic: topics.alert(note.alertId), payload: JSON.stringify(alertLifecycleSchema.parse(base)) }];
  const drill = { id: alert.drill.id, depth: alert.drill.depth };
  const messages: { topic: string; payload: string }[] = [];
  // A sensor drill's event is rules' detection, published already: only an alert drill's is announced here.
  if (note.state === 'queued' && alert.drill.depth === 'alert') {
    const event = drillEventSchema.parse({ eventId: alert.alertId, kind: alert.kind, zoneId: alert.zoneId, ts: alert.eventTs, ...(alert.level !== null ? { level: alert.level } : {}), detail: { drillKind: alert.drill.kind, dryRun: alert.drill.dryRun }, drill });
    messages.push({ topic: topics.drillEvent(alert.kind, alert.zoneId), payload: JSON.stringify(event) });
  }
  messages.push({ topic: topics.drillAlert(note.alertId), payload: JSON.stringify(drillAlertLifecycleSchema.parse({ ...base, drill })) });
  return messages;
}
