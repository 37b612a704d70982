// GSM 03.38 segment counts on real Vietnamese alert texts; expected numbers were counted by hand
// and cross-checked with Python's unicodedata (NFC/NFD lengths), not with this module.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countSegments, isGsm7, toSmsBody, unaccentVietnamese } from './gsm.ts';

const FIRE_SMS =
  'PCCR LAI CHAU: CHÁY RỪNG tại San Thàng (san-thang-03) 14:05. Tổ BVR xuất quân ngay. Đã nhận: nhắn 4821 hoặc https://ews.laichau.vn/ack/Ab3dE5gH7k';

test('accented Vietnamese alert is UCS-2: 145 units in NFC → 3 parts of ≤67', () => {
  const c = countSegments(FIRE_SMS.normalize('NFC'));
  assert.equal(c.encoding, 'UCS-2');
  assert.equal(c.units, 145);
  assert.equal(c.segments, 3);
  assert.equal(c.remaining, 67 * 3 - 145);
});

test('the same alert unaccented is one GSM-7 segment of 145 septets', () => {
  const body = toSmsBody(FIRE_SMS, 'gsm7');
  assert.equal(body, 'PCCR LAI CHAU: CHAY RUNG tai San Thang (san-thang-03) 14:05. To BVR xuat quan ngay. Da nhan: nhan 4821 hoac https://ews.laichau.vn/ack/Ab3dE5gH7k');
  const c = countSegments(body);
  assert.deepEqual([c.encoding, c.units, c.segments], ['GSM-7', 145, 1]);
});

test('NFD input (decomposed marks) costs a segment more unless normalised to NFC', () => {
  const text = 'Cảnh báo cháy rừng cấp V tại xã Nậm Loỏng. Tổ trưởng kiểm tra ngay.';
  const nfd = text.normalize('NFD');
  assert.deepEqual([countSegments(nfd).units, countSegments(nfd).segments], [86, 2]);
  const sent = toSmsBody(nfd, 'ucs2');
  assert.deepEqual([countSegments(sent).units, countSegments(sent).segments], [67, 1]);
});

test('unaccenting removes every tone mark and vowel modifier, đ→d, Đ→D', () => {
  const lower = 'aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵđ';
  assert.equal(unaccentVietnamese(lower), 'a'.repeat(18) + 'e'.repeat(12) + 'i'.repeat(6) + 'o'.repeat(18) + 'u'.repeat(12) + 'y'.repeat(6) + 'd');
  assert.equal(unaccentVietnamese(lower.toUpperCase()), ('a'.repeat(18) + 'e'.repeat(12) + 'i'.repeat(6) + 'o'.repeat(18) + 'u'.repeat(12) + 'y'.repeat(6) + 'd').toUpperCase());
  assert.equal(unaccentVietnamese('Đoàn Kết, Nậm Loỏng, Quyết Thắng, Đông Phong'), 'Doan Ket, Nam Loong, Quyet Thang, Dong Phong');
  // NFD input gives the same result
  assert.equal(unaccentVietnamese('Nậm Loỏng'.normalize('NFD')), 'Nam Loong');
  // typographic punctuation to GSM-7
  assert.equal(unaccentVietnamese('“Cháy” – ngay…'), '"Chay" - ngay...');
  assert.ok(isGsm7(unaccentVietnamese(lower + lower.toUpperCase())));
});

test('GSM-7 limits: 160 in one segment, 153 per part when split', () => {
  assert.equal(countSegments('a'.repeat(160)).segments, 1);
  assert.equal(countSegments('a'.repeat(161)).segments, 2);
  assert.equal(countSegments('a'.repeat(306)).segments, 2);
  assert.equal(countSegments('a'.repeat(307)).segments, 3);
});

test('extension characters count double and an escape pair is never split across parts', () => {
  assert.deepEqual([countSegments('a'.repeat(158) + '€').units, countSegments('a'.repeat(158) + '€').segments], [160, 1]);
  assert.deepEqual([countSegments('a'.repeat(159) + '€').units, countSegments('a'.repeat(159) + '€').segments], [161, 2]);
  for (const ch of ['^', '{', '}', '\\', '[', ']', '~', '|', '€', '\f']) assert.equal(countSegments(ch).units, 2, ch);
  // 152 + [€ does not fit in part 1] → part 2 holds € (2) + 151 a = 153, then 1 a in part 3.
  const tricky = 'a'.repeat(152) + '€' + 'a'.repeat(152);
  assert.equal(countSegments(tricky).units, 306);
  assert.equal(countSegments(tricky).segments, 3);
});

test('GSM-7 basic-table accents stay GSM-7; any other character makes the whole text UCS-2', () => {
  assert.equal(countSegments('àèéìòù ÄÖÑÜ Δ £ ¥ § ¿ ¡').encoding, 'GSM-7');
  assert.equal(countSegments('San Thàng').encoding, 'GSM-7'); // à is in the basic table
  assert.equal(countSegments('San Thàng cháy').encoding, 'UCS-2'); // á is not in GSM 03.38
  assert.equal(countSegments('rừng').encoding, 'UCS-2');
  assert.equal(countSegments('a'.repeat(70) + 'ạ').segments, 2); // 71 UCS-2 units
  assert.equal(countSegments('ạ'.repeat(70)).segments, 1);
  assert.equal(countSegments('ạ'.repeat(134)).segments, 2);
  assert.equal(countSegments('ạ'.repeat(135)).segments, 3);
});

test('a character outside the BMP takes two UCS-2 units and is not split', () => {
  const c = countSegments('🔥' + 'ạ'.repeat(66) + '🔥');
  assert.equal(c.units, 70);
  assert.equal(c.segments, 1);
  // 66 units, then the pair does not fit part 1 (68 > 67): part 2 = pair + 65, part 3 = 1.
  const split = countSegments('ạ'.repeat(66) + '🔥' + 'ạ'.repeat(66));
  assert.equal(split.units, 134);
  assert.equal(split.segments, 3);
});
