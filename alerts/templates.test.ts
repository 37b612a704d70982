import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countSegments } from './gsm.ts';
import { assertTemplatesFit, checkTemplates, renderMessage, TemplateCheckError, localTime } from './templates.ts';
import { laiChauContext } from './test-fixtures.ts';

const ctx = laiChauContext();
const site = ctx.roster.site;
const URL_BASE = 'https://ews.laichau.vn';

test('every committed template fits one GSM-7 segment with the longest Lai Châu names', () => {
  assert.deepEqual(checkTemplates(ctx.policy, site, URL_BASE), []);
  assert.doesNotThrow(() => assertTemplatesFit(ctx.policy, site, URL_BASE));
});

test('a San Thàng fire message: exact text, unaccented, one segment, brand first, ack code and link', () => {
  const m = renderMessage(ctx.policy, 'fire-confirmed', {
    brand: ctx.policy.brand, repeat: '', zone: 'San Thàng', place: 'san-thang-03', time: localTime('2026-03-14T07:05:00Z', 'Asia/Ho_Chi_Minh'),
    level: '', levelName: '', previousLevel: '', code: '4821', link: `${URL_BASE}/ack/Ab3dE5gH7k`, count: '1',
  });
  assert.equal(m.body, 'PCCR LAI CHAU: CHAY RUNG tai San Thang (san-thang-03) 14:05. To BVR xuat quan ngay. Da nhan: nhan 4821 hoac https://ews.laichau.vn/ack/Ab3dE5gH7k');
  assert.deepEqual([m.count.encoding, m.count.units, m.count.segments], ['GSM-7', 145, 1]);
});

test('UCS-2 mode sends accented NFC text and counts it as UCS-2', () => {
  const policy = { ...ctx.policy, encoding: 'ucs2' as const, maxSegments: 3 };
  const m = renderMessage(policy, 'level-raised', {
    brand: 'PCCR LAI CHAU', repeat: '', zone: 'Nậm Loỏng'.normalize('NFD'), place: '', time: '13:00', level: 'V', levelName: 'cực kỳ nguy hiểm',
    previousLevel: '', code: '1234', link: `${URL_BASE}/ack/xxxxxxxxxx`, count: '1',
  });
  assert.ok(m.body.includes('Nậm Loỏng'.normalize('NFC')));
  assert.equal(m.body, m.body.normalize('NFC'));
  assert.equal(m.count.encoding, 'UCS-2');
  assert.equal(m.count.segments, countSegments(m.body).segments);
  assert.equal(m.count.segments, 3);
  // the committed templates need 3 UCS-2 segments, so ucs2 with maxSegments 2 must be refused at start-up
  assert.throws(() => assertTemplatesFit({ ...ctx.policy, encoding: 'ucs2', maxSegments: 2 }, site, URL_BASE), TemplateCheckError);
});

test('an oversize template is a start-up error naming the template and the worst case', () => {
  const policy = { ...ctx.policy, templates: { ...ctx.policy.templates, 'fire-suspected': ctx.policy.templates['fire-suspected'] + ' Mang theo dụng cụ chữa cháy.' } };
  const problems = checkTemplates(policy, site, URL_BASE);
  assert.equal(problems.length, 1);
  assert.equal(problems[0]?.kind, 'fire-suspected');
  assert.match(problems[0]?.message ?? '', /takes 2 GSM-7 segments \(\d+ septets, limit 160\)/);
  assert.match(problems[0]?.sample ?? '', /NHAC LAI NGHI CHAY tai Quyet Thang/); // longest zone name, repeat marker on
  assert.throws(() => assertTemplatesFit(policy, site, URL_BASE), (err: unknown) => err instanceof TemplateCheckError && /fire-suspected/.test(err.message));
});

test('a longer public URL alone can make a template oversize', () => {
  assert.deepEqual(checkTemplates(ctx.policy, site, 'https://canh-bao-chay-rung.laichau.gov.vn').map((p) => p.kind).sort(), ['fire-confirmed', 'fire-suspected', 'level-raised']);
});

test('unknown placeholders and non-GSM characters are reported', () => {
  const policy = { ...ctx.policy, templates: { ...ctx.policy.templates, 'node-online': '{brand}: {zonee} ok ✓' } };
  const messages = checkTemplates(policy, site, URL_BASE).map((p) => p.message);
  assert.ok(messages.some((m) => m.includes('unknown placeholder {zonee}')));
  assert.ok(messages.some((m) => m.includes('characters outside GSM-7') && m.includes('✓')));
});
