// GSM 03.38 segment counts on real Vietnamese alert texts; expected numbers were counted by hand
// and cross-checked with Python's unicodedata (NFC/NFD lengths), not with this module.
import { describe, expect, it } from 'vitest';
import { countSegments, isGsm7, toSmsBody, unaccentVietnamese } from './gsm.ts';

const FIRE_SMS =
  'PCCR LAI CHAU: CHÁY RỪNG tại San Thàng (san-thang-03) 14:05. Tổ BVR xuất quân ngay. Đã nhận: nhắn 4821 hoặc https://ews.laichau.vn/ack/Ab3dE5gH7k';

describe('the fire alert text', () => {
  it('accented Vietnamese alert is UCS-2: 145 units in NFC → 3 parts of ≤67', () => {
    expect(countSegments(FIRE_SMS.normalize('NFC'))).toMatchObject({ encoding: 'UCS-2', units: 145, segments: 3, remaining: 67 * 3 - 145 });
  });

  it('the same alert unaccented is one GSM-7 segment of 145 septets', () => {
    const body = toSmsBody(FIRE_SMS, 'gsm7');
    expect(body).toBe('PCCR LAI CHAU: CHAY RUNG tai San Thang (san-thang-03) 14:05. To BVR xuat quan ngay. Da nhan: nhan 4821 hoac https://ews.laichau.vn/ack/Ab3dE5gH7k');
    expect(countSegments(body)).toMatchObject({ encoding: 'GSM-7', units: 145, segments: 1 });
  });

  it('NFD input (decomposed marks) costs a segment more unless normalised to NFC', () => {
    const text = 'Cảnh báo cháy rừng cấp V tại xã Nậm Loỏng. Tổ trưởng kiểm tra ngay.';
    const nfd = text.normalize('NFD');
    expect(countSegments(nfd)).toMatchObject({ units: 86, segments: 2 });
    expect(countSegments(toSmsBody(nfd, 'ucs2'))).toMatchObject({ units: 67, segments: 1 });
  });
});

it('unaccenting removes every tone mark and vowel modifier, đ→d, Đ→D', () => {
  const lower = 'aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵđ';
  const plain = 'a'.repeat(18) + 'e'.repeat(12) + 'i'.repeat(6) + 'o'.repeat(18) + 'u'.repeat(12) + 'y'.repeat(6) + 'd';
  expect(unaccentVietnamese(lower)).toBe(plain);
  expect(unaccentVietnamese(lower.toUpperCase())).toBe(plain.toUpperCase());
  expect(unaccentVietnamese('Đoàn Kết, Nậm Loỏng, Quyết Thắng, Đông Phong')).toBe('Doan Ket, Nam Loong, Quyet Thang, Dong Phong');
  // NFD input gives the same result
  expect(unaccentVietnamese('Nậm Loỏng'.normalize('NFD'))).toBe('Nam Loong');
  // typographic punctuation to GSM-7
  expect(unaccentVietnamese('“Cháy” – ngay…')).toBe('"Chay" - ngay...');
  expect(isGsm7(unaccentVietnamese(lower + lower.toUpperCase()))).toBe(true);
});

describe('GSM-7 limits: 160 in one segment, 153 per part when split', () => {
  it.each([
    [160, 1],
    [161, 2],
    [306, 2],
    [307, 3],
  ])('%i septets → %i segment(s)', (length, segments) => {
    expect(countSegments('a'.repeat(length)).segments).toBe(segments);
  });
});

describe('extension characters count double and an escape pair is never split across parts', () => {
  it.each(['^', '{', '}', '\\', '[', ']', '~', '|', '€', '\f'])('%j takes two septets', (ch) => {
    expect(countSegments(ch).units).toBe(2);
  });

  it('158 a + € fills one segment exactly; 159 a + € needs two', () => {
    expect(countSegments('a'.repeat(158) + '€')).toMatchObject({ units: 160, segments: 1 });
    expect(countSegments('a'.repeat(159) + '€')).toMatchObject({ units: 161, segments: 2 });
  });

  it('an escape pair that does not fit a part moves whole to the next', () => {
    // 152 + [€ does not fit in part 1] → part 2 holds € (2) + 151 a = 153, then 1 a in part 3.
    const tricky = 'a'.repeat(152) + '€' + 'a'.repeat(152);
    expect(countSegments(tricky)).toMatchObject({ units: 306, segments: 3 });
  });
});

describe('GSM-7 basic-table accents stay GSM-7; any other character makes the whole text UCS-2', () => {
  it.each([
    { text: 'àèéìòù ÄÖÑÜ Δ £ ¥ § ¿ ¡', encoding: 'GSM-7' },
    { text: 'San Thàng', encoding: 'GSM-7' }, // à is in the basic table
    { text: 'San Thàng cháy', encoding: 'UCS-2' }, // á is not in GSM 03.38
    { text: 'rừng', encoding: 'UCS-2' },
  ])('$text is $encoding', ({ text, encoding }) => {
    expect(countSegments(text).encoding).toBe(encoding);
  });

  it.each([
    { name: '70 a + ạ (71 UCS-2 units)', text: 'a'.repeat(70) + 'ạ', segments: 2 },
    { name: '70 × ạ', text: 'ạ'.repeat(70), segments: 1 },
    { name: '134 × ạ', text: 'ạ'.repeat(134), segments: 2 },
    { name: '135 × ạ', text: 'ạ'.repeat(135), segments: 3 },
  ])('$name → $segments segment(s)', ({ text, segments }) => {
    expect(countSegments(text).segments).toBe(segments);
  });
});

it('a character outside the BMP takes two UCS-2 units and is not split', () => {
  expect(countSegments('🔥' + 'ạ'.repeat(66) + '🔥')).toMatchObject({ units: 70, segments: 1 });
  // 66 units, then the pair does not fit part 1 (68 > 67): part 2 = pair + 65, part 3 = 1.
  expect(countSegments('ạ'.repeat(66) + '🔥' + 'ạ'.repeat(66))).toMatchObject({ units: 134, segments: 3 });
});
