import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { LiveHub } from './live.ts';
import { apiAlert, danger, fireEvent, inputs, SITE } from '../test/support/board-fixtures.ts';
import { levelBadge, renderFires, renderOtherAlerts, renderSensors, renderZones, sourceProblems } from './ui.ts';
import { buildBoardView } from './view.ts';

const NOW = Date.parse('2026-03-20T08:00:00Z');
const fire = fireEvent('fire-suspected', 'fire-x', 'san-thang', 'san-thang-03', '2026-03-20T07:30:00Z', { firstAnomalyAt: '2026-03-20T07:25:00Z' });
const alert = apiAlert({
  alertId: fire.eventId,
  kind: 'fire-suspected',
  zoneId: 'san-thang',
  nodeId: 'san-thang-03',
  eventIds: [fire.eventId],
  routeIndex: 1,
  openedAt: Date.parse('2026-03-20T07:30:00Z'),
  deliveries: [{ recipientId: 'team-sth-1-m01', step: 'initial', state: 'delivered', updatedAt: Date.parse('2026-03-20T07:30:05Z'), errorCode: null }],
});
const level = apiAlert({ alertId: 'level-tan-phong-20260320', kind: 'level-changed', zoneId: 'tan-phong', level: 4, routeIndex: 2, status: 'acknowledged', ack: { by: 'Lò <b>A</b>', at: NOW - 60_000, channel: 'link' } });
const view = buildBoardView(
  SITE,
  inputs({
    official: new Map([['san-thang', danger('san-thang', '2026-03-20', 4, 6000)]]),
    events: [fire],
    alerts: [alert, level],
    lastReading: new Map(SITE.nodes.filter((n) => n.id !== 'doan-ket-02').map((n) => [n.id, NOW - 30_000])),
    alertsState: 'error',
    alertsError: 'GET http://alerts:8090/api/alerts: ECONNREFUSED',
  }),
  NOW,
);

describe('panels', () => {
  it('a fire card: state, zone, time since the first sign, nodes, timeline, the alert with escalation, recipients and the acknowledge button for members only', () => {
    const member = renderFires(view, { lang: 'vi', now: NOW, canAck: true });
    expect(member).toContain('data-incident="fire-x" data-state="suspected"');
    expect(member).toContain('NGHI CHÁY');
    expect(member).toContain('Xã San Thàng');
    expect(member).toMatch(/<strong data-since="\d+">35 phút<\/strong> từ dấu hiệu đầu tiên \(14:25\)/);
    expect(member).toContain('Bước chuyển cấp 0/3 — bước tiếp theo lúc 14:35');
    expect(member).toContain('Chưa ai xác nhận');
    expect(member).toContain(`data-ack="${fire.eventId}"`);
    expect(member).toMatch(/class="delivery delivered">đã nhận/);
    expect(renderFires(view, { lang: 'vi', now: NOW, canAck: false })).not.toContain('data-ack=');
    expect(renderFires(view, { lang: 'en', now: NOW, canAck: true })).toContain('SUSPECTED FIRE');
    expect(renderFires({ ...view, fires: [] }, { lang: 'vi', now: NOW, canAck: true })).toContain('Không có đám cháy nào được phát hiện');
  });

  it('an acknowledgement in progress disables the button; a failed one says why', () => {
    const html = renderFires(view, { lang: 'vi', now: NOW, canAck: true, pendingAcks: new Set([fire.eventId]), ackErrors: new Map([[fire.eventId, 'HTTP 502']]) });
    expect(html).toMatch(/data-ack="[^"]+" disabled>Đang gửi…/);
    expect(html).toContain('Không xác nhận được: HTTP 502');
  });

  it('other alerts show who acknowledged, escaped; zones and sensors; sources that are down', () => {
    const other = renderOtherAlerts(view, { lang: 'vi', now: NOW, canAck: true });
    expect(other).toContain('Lò &#60;b&#62;A&#60;/b&#62;');
    expect(other).toContain('liên kết SMS');
    const zones = renderZones(view, { lang: 'vi', now: NOW, canAck: true });
    expect(zones.match(/class="zone-row"/g)).toHaveLength(7);
    expect(zones).toMatch(/data-zone="san-thang" data-level="4".*NGHI CHÁY.*Cấp IV/s);
    expect(zones).toMatch(/data-zone="doan-ket"[^>]*data-freshness="partial"/);
    const sensors = renderSensors(view, { lang: 'vi', now: NOW, canAck: true });
    expect(sensors).toContain('data-node="doan-ket-02" data-health="unknown"');
    expect(sensors).toContain('32 Hoạt động');
    expect(sourceProblems(view, 'vi')).toStrictEqual(['Không đọc được dịch vụ cảnh báo (GET http://alerts:8090/api/alerts: ECONNREFUSED)']);
    expect(levelBadge(null, 'en')).toContain('Level –');
  });

  it('a fire whose nodes went silent says "signal lost", never that it is out; a new sign of fire removes the banner', () => {
    const confirmed = fireEvent('fire-confirmed', 'fire-x', 'san-thang', 'san-thang-03', '2026-03-20T07:40:00Z', { originNode: 'san-thang-03' });
    const lost = fireEvent('fire-signal-lost', 'fire-x', 'san-thang', 'san-thang-03', '2026-03-20T07:55:00Z');
    const silent = buildBoardView(SITE, inputs({ events: [fire, confirmed, lost] }), NOW);
    const html = renderFires(silent, { lang: 'vi', now: NOW, canAck: false });
    expect(html).toContain('data-state="confirmed"');
    expect(html).toMatch(/<li class="tl fire-signal-lost">.*Mất tín hiệu/);
    expect(html).toContain('<p class="signal-lost">MẤT TÍN HIỆU: các trạm gần đám cháy không còn gửi số liệu. Chưa biết lửa đã tắt, kiểm tra tại chỗ.</p>');
    expect(html).not.toContain('Hết dấu hiệu');
    expect(renderFires(silent, { lang: 'en', now: NOW, canAck: false })).toContain('SIGNAL LOST: the nodes near the fire went silent.');
    const again = { ...fireEvent('fire-confirmed', 'fire-x', 'san-thang', 'san-thang-04', '2026-03-20T07:58:00Z', { originNode: 'san-thang-03' }), eventId: 'fire-x-confirmed-2' };
    const back = renderFires(buildBoardView(SITE, inputs({ events: [fire, confirmed, lost, again] }), NOW), { lang: 'vi', now: NOW, canAck: false });
    expect(back).not.toContain('class="signal-lost"');
  });
});

/** What LiveHub uses of a response. */
class FakeResponse extends EventEmitter {
  chunks: string[] = [];
  status = 0;
  writableLength = 0;
  destroyed = false;
  writeHead(status: number) {
    this.status = status;
    return this;
  }
  write(chunk: string) {
    this.chunks.push(chunk);
    return true;
  }
  end() {
    this.emit('close');
  }
  destroy() {
    this.destroyed = true;
    this.emit('close');
  }
}

describe('server-sent events', () => {
  it('a new stream gets the view unless Last-Event-ID is current; broadcasts reach every stream; the cap is kept; a stream that cannot keep up is dropped', () => {
    let current = { version: 'v1', json: '{"a":1}' };
    const hub = new LiveHub(2, () => current);
    const a = new FakeResponse();
    const b = new FakeResponse();
    expect(hub.add(a as unknown as ServerResponse, undefined)).toBe(true);
    expect(hub.add(b as unknown as ServerResponse, 'v1')).toBe(true);
    expect(hub.add(new FakeResponse() as unknown as ServerResponse, undefined), 'over the cap').toBe(false);
    expect(a.chunks.join('')).toBe('retry: 2000\n\nid: v1\nevent: view\ndata: {"a":1}\n\n');
    expect(b.chunks.join(''), 'already current: no resend').toBe('retry: 2000\n\n');
    current = { version: 'v2', json: '{"a":2}' };
    b.writableLength = 5 * 1024 * 1024;
    hub.broadcast(current.version, current.json);
    expect(a.chunks.at(-1)).toBe('id: v2\nevent: view\ndata: {"a":2}\n\n');
    expect(b.destroyed).toBe(true);
    expect(hub.size).toBe(1);
    hub.close();
    expect(hub.size).toBe(0);
  });
});
