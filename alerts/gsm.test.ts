
import { expect, it } from 'vitest';
import { countSegments, isGsm7, toSmsBody, unaccentVietnamese } from './gsm.ts';

const FIRE_SMS =
  'PCCR LAI CHAU: CHÁY RỪNG tại San Thàng (san-thang-03) 14:05. Tổ BVR xuất quân ngay. Đã nhận: nhắn 4821 hoặc https://ews.laichau.vn/ack/Ab3dE5gH7k';

it('accented Vietnamese alert is UCS-2: 145 units in NFC → 3 parts of ≤67', () => {
  const c = countSegments(FIRE_SMS.normalize('NFC'));
  expect(c.encoding).toBe('UCS-2');
  expect(c.units).toBe(145);
  expect(c.segments).toBe(3);
  expect(c.remaining).toBe(67 * 3 - 145);
});

it('the same alert unaccented is one GSM-7 segment of 145 septets', () => {
  const body = toSmsBody(FIRE_SMS, 'gsm7');
  expect(body).toBe('PCCR LAI CHAU: CHAY RUNG tai San Thang (san-thang-03) 14:05. To BVR xuat quan ngay. Da nhan: nhan 4821 hoac https://ews.laichau.vn/ack/Ab3dE5gH7k');
  const c = countSegments(body);
  expect([c.encoding, c.units, c.segments]).toStrictEqual(['GSM-7', 145, 1]);
});

it('NFD input (decomposed marks) costs a segment more unless normalised to NFC', () => {
  const text = 'Cảnh báo cháy rừng cấp V tại xã Nậm Loỏng. Tổ trưởng kiểm tra ngay.';
  const nfd = text.normalize('NFD');
  expect([countSegments(nfd).units, countSegments(nfd).segments]).toStrictEqual([86, 2]);
  const sent = toSmsBody(nfd, 'ucs2');
  expect([countSegments(sent).units, countSegments(sent).segments]).toStrictEqual([67, 1]);
});

it('unaccenting removes every tone mark and vowel modifier, đ→d, Đ→D', () => {
  const lower = 'aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵđ';
  expect(unaccentVietnamese(lower)).toBe('a'.repeat(18) + 'e'.repeat(12) + 'i'.repeat(6) + 'o'.repeat(18) + 'u'.repeat(12) + 'y'.repeat(6) + 'd');
  expect(unaccentVietnamese(lower.toUpperCase())).toBe(('a'.repeat(18) + 'e'.repeat(12) + 'i'.repeat(6) + 'o'.repeat(18) + 'u'.repeat(12) + 'y'.repeat(6) + 'd').toUpperCase());
  expect(unaccentVietnamese('Đoàn Kết, Nậm Loỏng, Quyết Thắng, Đông Phong')).toBe('Doan Ket, Nam Loong, Quyet Thang, Dong Phong');
  // NFD input gives the same result
  expect(unaccentVietnamese('Nậm Loỏng'.normalize('NFD'))).toBe('Nam Loong');
  // typographic punctuation to GSM-7
  expect(unaccentVietnamese('“Cháy” – ngay…')).toBe('"Chay" - ngay...');
  expect(isGsm7(unaccentVietnamese(lower + lower.toUpperCase()))).toBeTruthy();
});

it('GSM-7 limits: 160 in one segment, 153 per part when split', () => {
  expect(countSegments('a'.repeat(160)).segments).toBe(1);
  expect(countSegments('a'.repeat(161)).segments).toBe(2);
  expect(countSegments('a'.repeat(306)).segments).toBe(2);
  expect(countSegments('a'.repeat(307)).segments).toBe(3);
});

it('extension characters count double and an escape pair is never split across parts', () => {
  expect([countSegments('a'.repeat(158) + '€').units, countSegments('a'.repeat(158) + '€').segments]).toStrictEqual([160, 1]);
  expect([countSegments('a'.repeat(159) + '€').units, countSegments('a'.repeat(159) + '€').segments]).toStrictEqual([161, 2]);
  for (const ch of ['^', '{', '}', '\\', '[', ']', '~', '|', '€', '\f']) expect(countSegments(ch).units, ch).toBe(2);
  // 152 + [€ does not fit in part 1] → part 2 holds € (2) + 151 a = 153, then 1 a in part 3.
  const tricky = 'a'.repeat(152) + '€' + 'a'.repeat(152);
  expect(countSegments(tricky).units).toBe(306);
  expect(countSegments(tricky).segments).toBe(3);
});

it('GSM-7 basic-table accents stay GSM-7; any other character makes the whole text UCS-2', () => {
  expect(countSegments('àèéìòù ÄÖÑÜ Δ £ ¥ § ¿ ¡').encoding).toBe('GSM-7');
  expect(countSegments('San Thàng').encoding).toBe('GSM-7'); // à is in the basic table
  expect(countSegments('San Thàng cháy').encoding).toBe('UCS-2'); // á is not in GSM 03.38
  expect(countSegments('rừng').encoding).toBe('UCS-2');
  expect(countSegments('a'.repeat(70) + 'ạ').segments).toBe(2); // 71 UCS-2 units
  expect(countSegments('ạ'.repeat(70)).segments).toBe(1);
  expect(countSegments('ạ'.repeat(134)).segments).toBe(2);
  expect(countSegments('ạ'.repeat(135)).segments).toBe(3);
});

it('a character outside the BMP takes two UCS-2 units and is not split', () => {
  const c = countSegments('🔥' + 'ạ'.repeat(66) + '🔥');
  expect(c.units).toBe(70);
  expect(c.segments).toBe(1);
  // 66 units, then the pair does not fit part 1 (68 > 67): part 2 = pair + 65, part 3 = 1.
  const split = countSegments('ạ'.repeat(66) + '🔥' + 'ạ'.repeat(66));
  expect(split.units).toBe(134);
  expect(split.segments).toBe(3);
});
