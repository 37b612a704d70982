import { describe, expect, it } from 'vitest';
import { countSegments } from './gsm.ts';
import { ACK_MODES, alertTime, assertTemplatesFit, checkTemplates, nodeList, renderMessage, TemplateCheckError, localTime } from './templates.ts';
import { MESSAGE_KINDS } from './policy.ts';
import { laiChauContext } from '../test/support/alerts-fixtures.ts';

const ctx = laiChauContext();
const site = ctx.roster.site;
const URL_BASE = 'https://ews.laichau.vn';

it('every committed template fits one GSM-7 segment with the longest Lai Châu names', () => {
  expect(checkTemplates(ctx.policy, site, URL_BASE)).toStrictEqual([]);
  expect(() => assertTemplatesFit(ctx.policy, site, URL_BASE)).not.toThrow();
});

const FIELDS = {
  brand: ctx.policy.brand, repeat: '', zone: 'San Thàng', place: '1,2 km hướng Đông Nam', time: localTime('2026-03-14T07:05:00Z', 'Asia/Ho_Chi_Minh'),
  level: '', levelName: '', previousLevel: '', code: '4821', link: `${URL_BASE}/ack/Ab3dE5gH7k`, count: '1', nodes: 'san-thang-03', fault: '',
};

it.each([
  ['reply', 'PCCR LAI CHAU: CHAY RUNG tai San Thang, 1,2 km huong Dong Nam, 14:05. To BVR xuat quan ngay. Tra loi 4821 de xac nhan'],
  ['link', 'PCCR LAI CHAU: CHAY RUNG tai San Thang, 1,2 km huong Dong Nam, 14:05. To BVR xuat quan ngay. Xac nhan: https://ews.laichau.vn/ack/Ab3dE5gH7k'],
] as const)('a San Thàng fire message, %s mode: exact text, unaccented, one segment, brand first, place in words', (mode, text) => {
  const m = renderMessage(ctx.policy, 'fire-confirmed', FIELDS, mode);
  expect(m.body).toBe(text);
  expect(m.count).toMatchObject({ encoding: 'GSM-7', segments: 1 });
});

// Unaccented, "nhận" (received) and "nhắn" (text) are both "nhan": "Da nhan: nhan 1547" read "received: received".
it.each(MESSAGE_KINDS.flatMap((kind) => ACK_MODES.map((mode) => [kind, mode] as const)))('%s (%s): no word that unaccents to "nhan", and a reply is asked for only when it can arrive', (kind, mode) => {
  const body = renderMessage(ctx.policy, kind, FIELDS, mode).body;
  expect(body, "xac nhan (confirm) is one word; a lone nhan is ambiguous").not.toMatch(/(?<!xac )\bnhan\b/i);
  if (mode === 'link') expect(body).not.toMatch(/tra loi|4821/i);
  if (/\{ack\}/.test(ctx.policy.templates[kind])) expect(body).toMatch(mode === 'reply' ? /Tra loi 4821 de xac nhan$/ : /Xac nhan: https:\/\/ews\.laichau\.vn\/ack\/Ab3dE5gH7k$/);
});

it.each([
  ['node-offline', { count: '5', nodes: nodeList(['nam-loong-01', 'nam-loong-02', 'nam-loong-03', 'nam-loong-04', 'nam-loong-05']), fault: 'mất kết nối' }, 'PCCR LAI CHAU: 5 tram o San Thang mat ket noi tu 14:05: nam-loong-01, nam-loong-02, nam-loong-03 va 2 tram khac. Kiem tra nguon va song.'],
  ['node-fault', { count: '1', nodes: 'san-thang-03', fault: 'pin yếu' }, 'PCCR LAI CHAU: 1 tram o San Thang bao loi (pin yeu) luc 14:05: san-thang-03. Can bao tri.'],
  ['node-fault-cleared', { count: '1', nodes: 'san-thang-03', fault: 'cảm biến kẹt số' }, 'PCCR LAI CHAU: Tram cam bien san-thang-03 (San Thang) het loi cam bien ket so luc 14:05.'],
] as const)('%s names the nodes it counts and the fault', (kind, extra, text) => {
  expect(renderMessage(ctx.policy, kind, { ...FIELDS, code: '', link: '', ...extra }, 'link').body).toBe(text);
});

it('the time carries the date when the observation was on another local day', () => {
  const ts = '2026-03-12T07:05:00Z';
  expect(alertTime(ts, Date.parse('2026-03-12T16:59:00Z'), 'Asia/Ho_Chi_Minh')).toBe('14:05');
  expect(alertTime(ts, Date.parse('2026-03-12T17:00:00Z'), 'Asia/Ho_Chi_Minh')).toBe('14:05 12/03'); // local midnight passed
});

it('UCS-2 mode sends accented NFC text and counts it as UCS-2', () => {
  const policy = { ...ctx.policy, encoding: 'ucs2' as const, maxSegments: 3 };
  const m = renderMessage(policy, 'level-raised', {
    brand: 'PCCR LAI CHAU', repeat: '', zone: 'Nậm Loỏng'.normalize('NFD'), place: '', time: '13:00', level: 'V', levelName: 'cực kỳ nguy hiểm',
    previousLevel: '', code: '1234', link: `${URL_BASE}/ack/xxxxxxxxxx`, count: '1', nodes: '', fault: '',
  }, 'link');
  expect(m.body).toContain('Nậm Loỏng'.normalize('NFC'));
  expect(m.body).toBe(m.body.normalize('NFC'));
  expect(m.count.encoding).toBe('UCS-2');
  expect(m.count.segments).toBe(countSegments(m.body).segments);
  expect(m.count.segments).toBe(2);
  // with the longest names and the repeat marker the committed templates need 3 UCS-2 segments, so ucs2 with maxSegments 2 must be refused at start-up
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

it('a longer public URL alone can make a template oversize where the link is the only way to acknowledge', () => {
  const longUrl = 'https://canh-bao-chay-rung.laichau.gov.vn';
  expect(checkTemplates(ctx.policy, site, longUrl, ['link']).map((p) => p.kind).sort()).toStrictEqual(['fire-confirmed', 'fire-suspected', 'level-raised']);
  expect(checkTemplates(ctx.policy, site, longUrl, ['reply']), 'a reply with the code needs no link').toStrictEqual([]);
});

it('unknown placeholders and non-GSM characters are reported', () => {
  const policy = { ...ctx.policy, templates: { ...ctx.policy.templates, 'node-online': '{brand}: {zonee} ok ✓' } };
  const messages = checkTemplates(policy, site, URL_BASE).map((p) => p.message);
  expect(messages).toContainEqual(expect.stringContaining('unknown placeholder {zonee}'));
  expect(messages.filter((m) => m.includes('characters outside GSM-7'))).toContainEqual(expect.stringContaining('✓'));
});

describe('drill messages', () => {
  const fields = { brand: 'PCCR LAI CHAU', repeat: '', zone: 'San Thàng', place: 'san-thang-03', time: '14:05', level: '', levelName: '', previousLevel: '', code: '4821', link: 'https://ews.laichau.vn/ack/Ab3dE5gH7k', count: '1', nodes: '', fault: '' };

  it.each(['fire-confirmed', 'fire-suspected', 'level-raised'] as const)('%s: starts with DIEN TAP, in GSM-7, never longer than the real message', (kind) => {
    const real = renderMessage(ctx.policy, kind, fields, 'reply');
    const drill = renderMessage(ctx.policy, kind, fields, 'reply', { drill: true });
    expect(drill.body.startsWith('DIEN TAP: ')).toBe(true);
    expect(drill.body.slice('DIEN TAP: '.length)).toBe(real.body.slice('PCCR LAI CHAU: '.length));
    expect(drill.count).toMatchObject({ encoding: 'GSM-7', segments: 1 });
    expect(drill.count.units).toBeLessThanOrEqual(real.count.units);
  });

  it('a template that does not start with {brand} gets the mark in front, and the start-up check counts it', () => {
    // 156 septets at worst as a real message (the longest place, a time with its date: fits); with "DIEN TAP - " (11 more) it does not.
    const template = `Chay rung tai {zone} ({place}) {time}. Nhan {code} hoac {link} ${'x'.repeat(40)}`;
    const policy = { ...ctx.policy, templates: { ...ctx.policy.templates, 'fire-suspected': template } };
    expect(renderMessage(policy, 'fire-suspected', fields, 'reply', { drill: true }).body).toMatch(/^DIEN TAP - Chay rung tai San Thang/);
    const problems = checkTemplates(policy, site, URL_BASE);
    expect(problems.map((p) => [p.kind, p.message.split(' takes')[0]])).toStrictEqual([['fire-suspected', 'as a drill message (marked "DIEN TAP")']]);
    expect(problems[0]?.sample).toMatch(/^DIEN TAP - /);
  });
});
