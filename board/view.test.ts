import { describe, expect, it } from 'vitest';
import type { NodeStatus } from '../contracts/payloads.ts';
import { apiAlert, danger, fireEvent, inputs, nodeEvent, SITE } from '../test/support/board-fixtures.ts';
import { buildBoardView, CLEARED_FIRE_KEEP_MS, localDate } from './view.ts';

const NOW = Date.parse('2026-03-20T08:00:00Z'); // 15:00 in Lai Châu
const min = 60_000;

describe('levels per zone', () => {
  it('shows the official level of each zone, says when it is not today, and a provisional value only when it is newer', () => {
    const view = buildBoardView(
      SITE,
      inputs({
        official: new Map([
          ['san-thang', danger('san-thang', '2026-03-20', 4, 6120.5)],
          ['quyet-thang', danger('quyet-thang', '2026-03-19', 2, 1400)],
        ]),
        provisional: new Map([
          ['san-thang', danger('san-thang', '2026-03-21', 5, 10500, false, '2026-03-20T14:00:00+07:00')],
          ['quyet-thang', danger('quyet-thang', '2026-03-19', 2, 1300, false, '2026-03-19T12:00:00+07:00')],
        ]),
      }),
      NOW,
    );
    expect(view.today).toBe('2026-03-20');
    expect(view.zones.map((z) => z.id)).toStrictEqual(SITE.zones.map((z) => z.id));
    const st = view.zones.find((z) => z.id === 'san-thang');
    expect(st?.official).toMatchObject({ level: 4, roman: 'IV', label: 'Cấp IV – nguy hiểm', p: 6120.5, isToday: true });
    expect(st?.provisional).toMatchObject({ level: 5, roman: 'V' });
    const qt = view.zones.find((z) => z.id === 'quyet-thang');
    expect(qt?.official).toMatchObject({ level: 2, isToday: false, date: '2026-03-19' });
    expect(qt?.provisional, 'an older provisional value is not shown').toBeNull();
    expect(view.zones.find((z) => z.id === 'tan-phong')?.official).toBeNull();
  });

  it('localDate is the date in the site time zone', () => {
    expect(localDate(Date.parse('2026-03-20T17:30:00Z'), 'Asia/Ho_Chi_Minh')).toBe('2026-03-21');
    expect(localDate(Date.parse('2026-03-20T16:59:59Z'), 'Asia/Ho_Chi_Minh')).toBe('2026-03-20');
  });
});

describe('node health and zone freshness', () => {
  const status = (nodeId: string, s: 'online' | 'offline', ts: number): [string, NodeStatus & { receivedAt: number }] => [nodeId, { nodeId, status: s, ts: new Date(ts).toISOString(), receivedAt: ts }];
  const allFresh = () => new Map(SITE.nodes.map((n) => [n.id, NOW - min]));

  it('a node is ok with a recent reading, stale after three reporting intervals, offline by its will until it reads again, faulty while a fault is open', () => {
    const last = allFresh();
    last.set('san-thang-02', NOW - 4 * min); // 60 s interval: 4 min is stale
    last.set('san-thang-03', NOW - 10 * min);
    last.set('nam-loong-01', NOW - 20 * min);
    const view = buildBoardView(
      SITE,
      inputs({
        lastReading: last,
        status: new Map([status('san-thang-03', 'offline', NOW - 9 * min), status('nam-loong-01', 'offline', NOW - 30 * min)]),
        events: [
          nodeEvent('node-fault', 'quyet-thang-01', 'quyet-thang', 'f1', new Date(NOW - 50 * min).toISOString(), { fault: 'stuck' }),
          nodeEvent('node-fault', 'quyet-thang-02', 'quyet-thang', 'f2', new Date(NOW - 50 * min).toISOString(), { fault: 'out-of-range' }),
          nodeEvent('node-fault-cleared', 'quyet-thang-02', 'quyet-thang', 'f2', new Date(NOW - 40 * min).toISOString(), { fault: 'out-of-range' }),
        ],
      }),
      NOW,
    );
    const health = (id: string) => view.nodes.find((n) => n.id === id);
    expect(health('san-thang-01')?.health).toBe('ok');
    expect(health('san-thang-02')?.health).toBe('stale');
    expect(health('san-thang-03')).toMatchObject({ health: 'offline', link: 'offline' });
    expect(health('nam-loong-01'), 'a reading after the will means the link is back').toMatchObject({ health: 'stale', link: 'offline' });
    expect(health('quyet-thang-01')).toMatchObject({ health: 'fault', faults: ['stuck'] });
    expect(health('quyet-thang-02')?.health).toBe('ok');
    const st = view.zones.find((z) => z.id === 'san-thang');
    const stNodes = SITE.nodes.filter((n) => n.zone === 'san-thang').length;
    expect(st).toMatchObject({ nodes: stNodes, reporting: stNodes - 2, offline: 1, freshness: 'partial' });
    expect(view.zones.find((z) => z.id === 'tan-phong')?.freshness).toBe('ok');
  });

  it("the rules' node-offline event marks a node offline until its node-online", () => {
    const ts = (m: number) => new Date(NOW - m * min).toISOString();
    const open = buildBoardView(SITE, inputs({ lastReading: allFresh(), events: [nodeEvent('node-offline', 'doan-ket-01', 'doan-ket', 'o1', ts(5))] }), NOW);
    expect(open.nodes.find((n) => n.id === 'doan-ket-01')?.health).toBe('offline');
    const back = buildBoardView(SITE, inputs({ lastReading: allFresh(), events: [nodeEvent('node-offline', 'doan-ket-01', 'doan-ket', 'o1', ts(5)), nodeEvent('node-online', 'doan-ket-01', 'doan-ket', 'o1', ts(2))] }), NOW);
    expect(back.nodes.find((n) => n.id === 'doan-ket-01')?.health).toBe('ok');
  });

  it('a zone whose nodes never reported has no freshness; none reporting is stale', () => {
    const last = new Map([['tan-phong-01', NOW - 60 * min]]);
    const view = buildBoardView(SITE, inputs({ lastReading: last }), NOW);
    expect(view.zones.find((z) => z.id === 'san-thang')?.freshness).toBe('none');
    expect(view.zones.find((z) => z.id === 'tan-phong')).toMatchObject({ freshness: 'stale', reporting: 0 });
    expect(view.nodes.find((n) => n.id === 'san-thang-01')?.health).toBe('unknown');
  });
});

describe('fires', () => {
  const t0 = Date.parse('2026-03-20T07:00:00Z');
  const iso = (m: number) => new Date(t0 + m * min).toISOString();
  const suspected = fireEvent('fire-suspected', 'fire-san-thang-03-x', 'san-thang', 'san-thang-03', iso(0), { firstAnomalyAt: iso(-3) });
  const confirmed = fireEvent('fire-confirmed', 'fire-san-thang-03-x', 'san-thang', 'san-thang-04', iso(12), { firstAnomalyAt: iso(-3), confirmedBy: 'neighbour', originNode: 'san-thang-03', nodes: 'san-thang-03,san-thang-04' });
  const cleared = fireEvent('fire-cleared', 'fire-san-thang-03-x', 'san-thang', 'san-thang-03', iso(90), { originNode: 'san-thang-03', nodes: 'san-thang-03,san-thang-04', confirmed: true });

  it('suspected → confirmed: one fire with its timeline, nodes, place, the time of the first sign, and its alerts with who was texted', () => {
    const alert = apiAlert({
      alertId: confirmed.eventId,
      kind: 'fire-confirmed',
      zoneId: 'san-thang',
      nodeId: 'san-thang-04',
      eventIds: [confirmed.eventId],
      routeIndex: 0,
      openedAt: t0 + 12 * min,
      deliveries: [
        { recipientId: 'team-sth-1-m01', step: 'initial', state: 'delivered', updatedAt: t0 + 13 * min, errorCode: null },
        { recipientId: 'team-sth-1-m01', step: 'rep1', state: 'cancelled', updatedAt: t0 + 20 * min, errorCode: null },
        { recipientId: 'team-sth-1-m02', step: 'initial', state: 'failed', updatedAt: t0 + 13 * min, errorCode: '30003' },
      ],
    });
    const other = apiAlert({ alertId: 'level-tan-phong-20260320', kind: 'level-changed', zoneId: 'tan-phong', level: 4, routeIndex: 2 });
    const view = buildBoardView(SITE, inputs({ events: [confirmed, suspected], alerts: [alert, other] }), NOW);
    expect(view.fires).toHaveLength(1);
    const f = view.fires[0];
    expect(f).toMatchObject({ incidentId: 'fire-san-thang-03-x', state: 'confirmed', zoneId: 'san-thang', originNode: 'san-thang-03', confirmedBy: 'neighbour', firstAnomalyAt: iso(-3), suspectedAt: iso(0), confirmedAt: iso(12) });
    expect(f?.nodes).toStrictEqual(['san-thang-03', 'san-thang-04']);
    const node = SITE.nodes.find((n) => n.id === 'san-thang-03');
    expect([f?.lat, f?.lon]).toStrictEqual([node?.lat, node?.lon]);
    expect(f?.timeline.map((s) => s.kind)).toStrictEqual(['fire-suspected', 'fire-confirmed']);
    expect(f?.alerts.map((a) => a.alertId)).toStrictEqual([confirmed.eventId]);
    const recipients = f?.alerts[0]?.recipients ?? [];
    const m01 = SITE.teams.flatMap((t) => t.members).find((m) => m.id === 'team-sth-1-m01');
    expect(recipients.find((r) => r.id === 'team-sth-1-m01'), 'a cancelled repeat does not hide the delivered first message').toMatchObject({ name: m01?.name, state: 'delivered', step: 'initial' });
    expect(recipients.find((r) => r.id === 'team-sth-1-m02')?.state).toBe('failed');
    expect(f?.alerts[0]).toMatchObject({ stepsTotal: 1, stepsDone: 0, nextEscalationAt: t0 + 12 * min + 900_000, counts: { delivered: 1, cancelled: 1, failed: 1 } });
    expect(view.otherAlerts.map((a) => a.alertId)).toStrictEqual(['level-tan-phong-20260320']);
    expect(view.zones.find((z) => z.id === 'san-thang')?.fire).toBe('confirmed');
    expect(view.nodes.filter((n) => n.inFire).map((n) => n.id)).toStrictEqual(['san-thang-03', 'san-thang-04']);
  });

  it('a cleared fire stays a day, marked for checking on the ground, then leaves the board; active fires come first', () => {
    const other = fireEvent('fire-suspected', 'fire-nam-loong-02-y', 'nam-loong', 'nam-loong-02', iso(100));
    const view = buildBoardView(SITE, inputs({ events: [suspected, confirmed, cleared, other] }), t0 + 120 * min);
    expect(view.fires.map((f) => [f.incidentId, f.state])).toStrictEqual([
      ['fire-nam-loong-02-y', 'suspected'],
      ['fire-san-thang-03-x', 'cleared'],
    ]);
    expect(view.zones.find((z) => z.id === 'san-thang')?.fire).toBeNull();
    expect(view.nodes.find((n) => n.id === 'san-thang-03')?.inFire).toBe(false);
    const later = buildBoardView(SITE, inputs({ events: [suspected, confirmed, cleared] }), t0 + 90 * min + CLEARED_FIRE_KEEP_MS + 1);
    expect(later.fires).toStrictEqual([]);
  });

  it('an acknowledged alert carries who, when and the channel; the next escalation step only while active', () => {
    const alert = apiAlert({ alertId: suspected.eventId, kind: 'fire-suspected', zoneId: 'san-thang', eventIds: [suspected.eventId], routeIndex: 1, stepsDone: 1, status: 'acknowledged', ack: { by: 'Lò Văn A (city-board-m01)', at: t0 + 7 * min, channel: 'board' } });
    const view = buildBoardView(SITE, inputs({ events: [suspected], alerts: [alert] }), NOW);
    expect(view.fires[0]?.alerts[0]).toMatchObject({ stepsDone: 1, stepsTotal: 3, nextEscalationAt: null, ack: { by: 'Lò Văn A (city-board-m01)', channel: 'board' } });
  });
});
