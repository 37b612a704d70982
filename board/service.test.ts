// The board core on MQTT messages: stored before acknowledgement, bad ones kept with the reason
// (never a crash), redeliveries ignored, a new view version only when the view changes.
import { describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { openDatabase } from '../platform/sqlite.ts';
import type { ReadingsSource } from './readings.ts';
import { emptySeries } from './series.ts';
import { BoardService } from './service.ts';
import { BoardStore } from './store.ts';
import { danger, fireEvent, SITE } from '../test/support/board-fixtures.ts';

const log = pino({ level: 'silent' });
const readings: ReadingsSource = { kind: 'local', description: 'test', lastSeen: async () => new Map(), series: async (ids, _f, w) => emptySeries(w, ids), close: () => {} };
const buf = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

function make(db = openDatabase(':memory:')) {
  const store = new BoardStore(db);
  return { db, store, service: new BoardService({ site: SITE, store, readings, alerts: null, log }) };
}

describe('MQTT messages', () => {
  it.each([
    ['ews/v1/danger/san-thang', '{not json', /not JSON/],
    ['ews/v1/danger/san-thang', { ...danger('san-thang', '2026-03-20', 4, 6000), level: 9 }, /level/],
    ['ews/v1/danger/tan-phong', danger('san-thang', '2026-03-20', 4, 6000), /disagree on the zone/],
    ['ews/v1/events/fire-confirmed/san-thang', fireEvent('fire-suspected', 'x', 'san-thang', 'san-thang-01', '2026-03-20T07:00:00Z'), /disagree on kind or zone/],
    ['ews/v1/status/san-thang-01', { nodeId: 'san-thang-02', status: 'offline' }, /disagree on the node/],
    ['ews/v1/readings/san-thang-01', {}, /not a topic the board reads/],
    ['ews/v1/alerts/evt-1', { eventId: 'evt-1', state: 'exploded', ts: '2026-03-20T07:00:00Z' }, /state/],
  ])('%s with a bad payload is kept in `refused` with the reason, and nothing else changes', (topic, payload, reason) => {
    const { db, service } = make();
    const before = service.current().json;
    expect(() => service.handleMessage(topic, buf(payload))).not.toThrow();
    const rows = db.prepare('SELECT topic, reason FROM refused').all() as { topic: string; reason: string }[];
    expect(rows).toHaveLength(1);
    expect(rows[0]?.reason).toMatch(reason);
    service.recompute();
    expect(service.current().json.replace(/"generatedAt":"[^"]+"/, '')).toBe(before.replace(/"generatedAt":"[^"]+"/, ''));
  });

  it('a stored event is not taken twice; the view version moves only when the view changes; listeners hear each change', () => {
    const { store, service } = make();
    const listener = vi.fn();
    service.onChange(listener);
    const e = fireEvent('fire-suspected', 'fire-a', 'san-thang', 'san-thang-01', new Date().toISOString());
    const v0 = service.version;
    service.handleMessage('ews/v1/events/fire-suspected/san-thang', buf(e));
    service.handleMessage('ews/v1/events/fire-suspected/san-thang', buf(e));
    expect(store.recentEvents(0)).toHaveLength(1);
    expect(service.recompute()).toBe(true);
    expect(service.version).not.toBe(v0);
    expect(service.recompute(), 'nothing new: same version').toBe(false);
    expect(listener).toHaveBeenCalledOnce();
    expect(service.current().view.fires.map((f) => f.incidentId)).toStrictEqual(['fire-a']);
  });

  it('a restarted board rebuilds its view from board.sqlite: levels, events and node status', () => {
    const { db, service } = make();
    service.handleMessage('ews/v1/danger/san-thang', buf(danger('san-thang', '2026-03-20', 4, 6000)));
    service.handleMessage('ews/v1/danger/san-thang', buf(danger('san-thang', '2026-03-21', 5, 11000, false, '2026-03-20T15:00:00+07:00')));
    service.handleMessage('ews/v1/status/san-thang-01', buf({ nodeId: 'san-thang-01', status: 'offline' }));
    service.handleMessage('ews/v1/events/fire-suspected/san-thang', buf(fireEvent('fire-suspected', 'fire-b', 'san-thang', 'san-thang-02', new Date().toISOString())));
    const again = make(db).service.current().view;
    const st = again.zones.find((z) => z.id === 'san-thang');
    expect(st?.official?.level).toBe(4);
    expect(st?.provisional?.level).toBe(5);
    expect(again.nodes.find((n) => n.id === 'san-thang-01')?.health).toBe('offline');
    expect(again.fires.map((f) => f.incidentId)).toStrictEqual(['fire-b']);
  });

  it('an older value arriving late does not replace a newer one', () => {
    const { service } = make();
    service.handleMessage('ews/v1/danger/san-thang', buf(danger('san-thang', '2026-03-21', 3, 3000)));
    service.handleMessage('ews/v1/danger/san-thang', buf(danger('san-thang', '2026-03-20', 2, 2000)));
    service.recompute();
    expect(service.current().view.zones.find((z) => z.id === 'san-thang')?.official?.date).toBe('2026-03-21');
  });
});
