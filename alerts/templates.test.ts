import { describe, expect, it } from 'vitest';
import { countSegments } from './gsm.ts';
import { assertTemplatesFit, checkTemplates, renderMessage, TemplateCheckError, localTime } from './templates.ts';
import { laiChauContext } from './test-fixtures.ts';

const ctx = laiChauContext();
const site = ctx.roster.site;
const URL_BASE = 'https://ews.laichau.vn';

it('every committed template fits one GSM-7 segment with the longest Lai Châu names', () => {
  expect(checkTemplates(ctx.policy, site, URL_BASE)).toStrictEqual([]);
  expect(() => assertTemplatesFit(ctx.policy, site, URL_BASE)).not.toThrow();
});

it('a San Thàng fire message: exact text, unaccented, one segment, brand first, ack code and link', () => {
  const m = renderMessage(ctx.policy, 'fire-confirmed', {
    brand: ctx.policy.brand, repeat: '', zone: 'San Thàng', place: 'san-thang-03', time: localTime('2026-03-14T07:05:00Z', 'Asia/Ho_Chi_Minh'),
    level: '', levelName: '', previousLevel: '', code: '4821', link: `${URL_BASE}/ack/Ab3dE5gH7k`, count: '1',
  });
  expect(m.body).toBe('PCCR LAI CHAU: CHAY RUNG tai San Thang (san-thang-03) 14:05. To BVR xuat quan ngay. Da nhan: nhan 4821 hoac https://ews.laichau.vn/ack/Ab3dE5gH7k');
  expect(m.count).toMatchObject({ encoding: 'GSM-7', units: 145, segments: 1 });
});

it('UCS-2 mode sends accented NFC text and counts it as UCS-2', () => {
  const policy = { ...ctx.policy, encoding: 'ucs2' as const, maxSegments: 3 };
  const m = renderMessage(policy, 'level-raised', {
    brand: 'PCCR LAI CHAU', repeat: '', zone: 'Nậm Loỏng'.normalize('NFD'), place: '', time: '13:00', level: 'V', levelName: 'cực kỳ nguy hiểm',
    previousLevel: '', code: '1234', link: `${URL_BASE}/ack/xxxxxxxxxx`, count: '1',
  });
  expect(m.body).toContain('Nậm Loỏng'.normalize('NFC'));
  expect(m.body).toBe(m.body.normalize('NFC'));
  expect(m.count.encoding).toBe('UCS-2');
  expect(m.count.segments).toBe(countSegments(m.body).segments);
  expect(m.count.segments).toBe(3);
  // the committed templates need 3 UCS-2 segments, so ucs2 with maxSegments 2 must be refused at start-up
  expect(() => assertTemplatesFit({ ...ctx.policy, encoding: 'ucs2', maxSegments: 2 }, site, URL_BASE)).toThrow(TemplateCheckError);
});

it('an oversize template is a start-up error naming the template and the worst case', () => {
  const policy = { ...ctx.policy, templates: { ...ctx.policy.templates, 'fire-suspected': ctx.policy.templates['fire-suspected'] + ' Mang theo dụng cụ chữa cháy.' } };
  const problems = checkTemplates(policy, site, URL_BASE);
  expect(problems).toMatchObject([
    {
      kind: 'fire-suspected',
      message: expect.stringMatching(/takes 2 GSM-7 segments \(\d+ septets, limit 160\)/),
      sample: expect.stringMatching(/NHAC LAI NGHI CHAY tai Quyet Thang/), // longest zone name, repeat marker on
    },
  ]);
  expect(() => assertTemplatesFit(policy, site, URL_BASE)).toThrow(TemplateCheckError);
  expect(() => assertTemplatesFit(policy, site, URL_BASE)).toThrow(/fire-suspected/);
});

it('a longer public URL alone can make a template oversize', () => {
  expect(checkTemplates(ctx.policy, site, 'https://canh-bao-chay-rung.laichau.gov.vn').map((p) => p.kind).sort()).toStrictEqual(['fire-confirmed', 'fire-suspected', 'level-raised']);
});

it('unknown placeholders and non-GSM characters are reported', () => {
  const policy = { ...ctx.policy, templates: { ...ctx.policy.templates, 'node-online': '{brand}: {zonee} ok ✓' } };
  const messages = checkTemplates(policy, site, URL_BASE).map((p) => p.message);
  expect(messages).toContainEqual(expect.stringContaining('unknown placeholder {zonee}'));
  expect(messages.filter((m) => m.includes('characters outside GSM-7'))).toContainEqual(expect.stringContaining('✓'));
});

describe('drill messages', () => {
  const fields = { brand: 'PCCR LAI CHAU', repeat: '', zone: 'San Thàng', place: 'san-thang-03', time: '14:05', level: '', levelName: '', previousLevel: '', code: '4821', link: 'https://ews.laichau.vn/ack/Ab3dE5gH7k', count: '1' };

  it.each(['fire-confirmed', 'fire-suspected', 'level-raised'] as const)('%s: starts with DIEN TAP, in GSM-7, never longer than the real message', (kind) => {
    const real = renderMessage(ctx.policy, kind, fields);
    const drill = renderMessage(ctx.policy, kind, fields, { drill: true });
    expect(drill.body.startsWith('DIEN TAP: ')).toBe(true);
    expect(drill.body.slice('DIEN TAP: '.length)).toBe(real.body.slice('PCCR LAI CHAU: '.length));
    expect(drill.count).toMatchObject({ encoding: 'GSM-7', segments: 1 });
    expect(drill.count.units).toBeLessThanOrEqual(real.count.units);
  });

  it('a template that does not start with {brand} gets the mark in front, and the start-up check counts it', () => {
    // 155 septets at worst as a real message (fits); with "DIEN TAP - " (11 more) it does not.
    const template = `Chay rung tai {zone} ({place}) {time}. Nhan {code} hoac {link} ${'x'.repeat(52)}`;
    const policy = { ...ctx.policy, templates: { ...ctx.policy.templates, 'fire-suspected': template } };
    expect(renderMessage(policy, 'fire-suspected', fields, { drill: true }).body).toMatch(/^DIEN TAP - Chay rung tai San Thang/);
    const problems = checkTemplates(policy, site, URL_BASE);
    expect(problems.map((p) => [p.kind, p.message.split(' takes')[0]])).toStrictEqual([['fire-suspected', 'as a drill message (marked "DIEN TAP")']]);
    expect(problems[0]?.sample).toMatch(/^DIEN TAP - /);
  });
});
