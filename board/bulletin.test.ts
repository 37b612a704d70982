import { describe, expect, it } from 'vitest';
import { addDays, buildBulletin, levelForP, renderBulletinHtml } from './bulletin.ts';
import { buildMapGeometry } from './geometry.ts';
import { bucketReadings, seriesWindow } from './series.ts';
import { danger, SITE } from '../test/support/board-fixtures.ts';

describe('the daily bulletin', () => {
  const history = [
    danger('san-thang', '2026-03-19', 4, 5400),
    { ...danger('san-thang', '2026-03-20', 4, 6034), inputs: { t13: 28, rh13: 40, d13: 22.6, rain24hMm: 0, nodesUsed: [] } },
    danger('quyet-thang', '2026-03-19', 2, 1500),
    danger('quyet-thang', '2026-03-20', 1, 0),
    danger('tan-phong', '2026-03-20', 2, 1800, false),
  ];

  it('levels, P and quality per commune; direction from yesterday; a 3-day projection of P with today\'s term; actions per level present', () => {
    const b = buildBulletin(SITE, '2026-03-20', history);
    const st = b.zones.find((z) => z.id === 'san-thang');
    expect(st).toMatchObject({ level: 4, p: 6034, quality: 'ok', direction: 'up' });
    // today's term t13·d13 = 28 × 22.6 = 632.8 per day
    expect(st?.projection.map((p) => [p.date, Math.round(p.p), p.level])).toStrictEqual([
      ['2026-03-21', 6667, 4],
      ['2026-03-22', 7300, 4],
      ['2026-03-23', 7932, 4],
    ]);
    expect(b.zones.find((z) => z.id === 'quyet-thang')).toMatchObject({ level: 1, direction: 'down' });
    expect(b.zones.find((z) => z.id === 'tan-phong')?.level, 'a provisional value is not the official level').toBeNull();
    expect(b.highest).toBe(4);
    expect(b.levels.map((l) => [l.level, l.zones])).toStrictEqual([
      [4, ['san-thang']],
      [1, ['quyet-thang']],
    ]);
    expect(b.levels[0]?.actions.map((a) => a.code)).toContain('burning-ban');
    expect(b.missing).toHaveLength(5);
  });

  it('the page: Vietnamese, every commune, the level written, the map, the projection said to be one', () => {
    const html = renderBulletinHtml(buildBulletin(SITE, '2026-03-20', history), buildMapGeometry(SITE), SITE, Date.parse('2026-03-20T07:00:00Z'));
    expect(html).toContain('<h1>BẢN TIN CẤP DỰ BÁO CHÁY RỪNG</h1>');
    expect(html).toContain('Ngày 20/03/2026');
    for (const z of SITE.zones) expect(html).toContain(z.name);
    expect(html).toMatch(/<tr data-zone="san-thang" data-level="4">.*Cấp IV.*Cấp nguy hiểm/s);
    expect(html).toContain('Cấm đốt nương rẫy');
    expect(html).toContain('<svg');
    expect(html).toMatch(/Ước tính nếu thời tiết giữ như hôm nay.*không phải dự báo thời tiết/);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  });

  it('levelForP follows the site table (upper bounds inclusive); addDays crosses months', () => {
    const t = SITE.dangerTable.thresholds;
    expect([0, 1000, 1000.01, 2500, 4999, 10000, 10001].map((p) => levelForP(p, t))).toStrictEqual([1, 1, 2, 2, 3, 4, 5]);
    expect(addDays('2026-02-28', 1)).toBe('2026-03-01');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
  });
});

describe('24-hour buckets', () => {
  it('mean temperature and humidity, highest smoke per bucket; readings outside the window or of other nodes are ignored', () => {
    const now = Date.parse('2026-03-20T07:02:00Z');
    const w = seriesWindow(now);
    expect(w.to).toBe(Date.parse('2026-03-20T07:05:00Z'));
    expect((w.to - w.from) / w.stepMs).toBe(288);
    const at = Date.parse('2026-03-20T07:00:30Z');
    const s = bucketReadings(
      [
        { nodeId: 'a', tsMs: at, temperatureC: 20, humidityPct: 50, smoke: 100 },
        { nodeId: 'a', tsMs: at + 60_000, temperatureC: 22, humidityPct: 60, smoke: 900 },
        { nodeId: 'b', tsMs: at, temperatureC: 30, humidityPct: 40, smoke: 100 },
        { nodeId: 'a', tsMs: w.to, temperatureC: 99, humidityPct: 99, smoke: 99 },
      ],
      w,
      ['a'],
    );
    const last = s.times.length - 1;
    expect(s.nodes).toHaveLength(1);
    expect([s.nodes[0]?.temperature[last], s.nodes[0]?.humidity[last], s.nodes[0]?.smoke[last]]).toStrictEqual([21, 55, 900]);
    expect(s.nodes[0]?.temperature.filter((v) => v !== null)).toHaveLength(1);
  });
});
