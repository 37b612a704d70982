import { describe, expect, it } from 'vitest';
import type { AlertRecord } from './engine.ts';
import { lifecycleMessages } from './lifecycle-messages.ts';

const NOW = '2026-03-20T06:17:00.000Z';
// Only the fields lifecycleMessages reads; the rest of an AlertRecord does not matter here.
const alert = (drill?: AlertRecord['drill']) =>
  ({ alertId: 'fire-san-thang-1', kind: 'fire-confirmed', zoneId: 'san-thang', level: null, eventTs: '2026-03-20T06:10:00.000Z', ...(drill ? { drill } : {}) }) as AlertRecord;

describe('lifecycleMessages', () => {
  it('a real alert: its lifecycle on ews/v1/alerts/<id>, nothing on the drill subtree', () => {
    const out = lifecycleMessages({ alertId: 'fire-san-thang-1', state: 'queued', recipients: 12 }, alert(), NOW);
    expect(out).toStrictEqual([{ topic: 'ews/v1/alerts/fire-san-thang-1', payload: JSON.stringify({ eventId: 'fire-san-thang-1', state: 'queued', ts: NOW, recipients: 12 }) }]);
  });

  it('a drill: only the drill subtree, marked; the rehearsed event once, when queued', () => {
    const drill = { id: 'd1', depth: 'alert', kind: 'fire-confirmed', dryRun: true } as NonNullable<AlertRecord['drill']>;
    const queued = lifecycleMessages({ alertId: 'drill-d1', state: 'queued', recipients: 1 }, alert(drill), NOW);
    expect(queued.map((m) => m.topic)).toStrictEqual(['ews/v1/drill/events/fire-confirmed/san-thang', 'ews/v1/drill/alerts/drill-d1']);
    expect(JSON.parse(queued[1]!.payload)).toMatchObject({ state: 'queued', drill: { id: 'd1', depth: 'alert' } });
    const acked = lifecycleMessages({ alertId: 'drill-d1', state: 'acknowledged' }, alert(drill), NOW);
    expect(acked.map((m) => m.topic)).toStrictEqual(['ews/v1/drill/alerts/drill-d1']);
  });

  it('a sensor drill: its detection was published by rules already, so only the drill alert lifecycle', () => {
    const drill = { id: 'd2', depth: 'sensor', kind: 'fire-suspected', dryRun: true } as NonNullable<AlertRecord['drill']>;
    const queued = lifecycleMessages({ alertId: 'drill-d2', state: 'queued', recipients: 1 }, alert(drill), NOW);
    expect(queued.map((m) => m.topic)).toStrictEqual(['ews/v1/drill/alerts/drill-d2']);
    expect(JSON.parse(queued[0]!.payload)).toMatchObject({ state: 'queued', drill: { id: 'd2', depth: 'sensor' } });
  });

  it('a long detail is cut to the contract’s 500 characters', () => {
    const [m] = lifecycleMessages({ alertId: 'fire-san-thang-1', state: 'escalated', detail: 'x'.repeat(900) }, alert(), NOW);
    expect((JSON.parse(m!.payload) as { detail: string }).detail).toHaveLength(500);
  });
});
