// SMS text encoding and segment counting, exactly as GSM 03.38 / 3GPP TS 23.038 define it, plus
// the two ways we turn Vietnamese text into an SMS body: unaccented GSM-7 or NFC-normalised UCS-2.
// Pure: no I/O.

/** GSM 03.38 default alphabet (basic table), in code-point order 0x00–0x7F; 0x1B (escape) excluded. */
const GSM7_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ' + // 0x00–0x1A
  'ÆæßÉ' + // 0x1C–0x1F (0x1B is the escape to the extension table)
  ' !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§' +
  '¿abcdefghijklmnopqrstuvwxyzäöñüà';

/** Extension table characters: each is sent as ESC + char, so it costs two septets. */
const GSM7_EXTENSION = '\f^{}\\[~]|€';

const basicSet = new Set(Array.from(GSM7_BASIC));
const extensionSet = new Set(Array.from(GSM7_EXTENSION));

export type SmsEncoding = 'GSM-7' | 'UCS-2';

export interface SegmentCount {
  encoding: SmsEncoding;
  /** Septets for GSM-7, UTF-16 code units for UCS-2. */
  units: number;
  segments: number;
  /** Characters (code points) in the text. */
  characters: number;
  /** Units left in the last segment. */
  remaining: number;
}

/** Septets a character takes in GSM-7, or null if it is not in the GSM 03.38 alphabet. */
export function gsm7Septets(char: string): 1 | 2 | null {
  if (basicSet.has(char)) return 1;
  if (extensionSet.has(char)) return 2;
  return null;
}

export function isGsm7(text: string): boolean {
  for (const ch of text) if (gsm7Septets(ch) === null) return false;
  return true;
}

/** GSM-7: 160 septets in one message, 153 per part (7 septets of UDH) when concatenated. */
export const GSM7_SINGLE = 160;
export const GSM7_PART = 153;
/** UCS-2: 70 code units in one message, 67 per part. */
export const UCS2_SINGLE = 70;
export const UCS2_PART = 67;

/**
 * Splits the unit costs of characters into parts of at most `partSize`, never cutting a character
 * (an escape sequence or a surrogate pair) across two parts — what handsets and Twilio do.
 */
function countParts(costs: readonly number[], partSize: number): { parts: number; lastFill: number } {
  let parts = 1;
  let fill = 0;
  for (const c of costs) {
    if (fill + c > partSize) {
      parts += 1;
      fill = 0;
    }
    fill += c;
  }
  return { parts, lastFill: fill };
}

/** Encoding and segment count of an SMS body (GSM-7 if every character is in GSM 03.38, else UCS-2). */
export function countSegments(text: string): SegmentCount {
  const chars = Array.from(text);
  const gsm = chars.map(gsm7Septets);
  if (gsm.every((c): c is 1 | 2 => c !== null)) {
    const units = gsm.reduce<number>((a, b) => a + b, 0);
    if (units <= GSM7_SINGLE) return { encoding: 'GSM-7', units, segments: 1, characters: chars.length, remaining: GSM7_SINGLE - units };
    const { parts, lastFill } = countParts(gsm, GSM7_PART);
    return { encoding: 'GSM-7', units, segments: parts, characters: chars.length, remaining: GSM7_PART - lastFill };
  }
  const costs = chars.map((c) => c.length); // 2 for a character outside the BMP (surrogate pair)
  const units = costs.reduce((a, b) => a + b, 0);
  if (units <= UCS2_SINGLE) return { encoding: 'UCS-2', units, segments: 1, characters: chars.length, remaining: UCS2_SINGLE - units };
  const { parts, lastFill } = countParts(costs, UCS2_PART);
  return { encoding: 'UCS-2', units, segments: parts, characters: chars.length, remaining: UCS2_PART - lastFill };
}

/** Look-alikes outside GSM-7 that turn up in pasted text, replaced when unaccenting. */
const PUNCTUATION_FALLBACKS: Record<string, string> = {
  '\u2018': "'",
  '\u2019': "'",
  '\u201C': '"',
  '\u201D': '"',
  '\u2013': '-',
  '\u2014': '-',
  '\u2026': '...',
  '\u00A0': ' ',
  '\u2022': '-',
  '\u00B0': 'do ',
};

/**
 * Vietnamese to GSM-7 without diacritics: every tone mark and vowel modifier removed (ă â ê ô ơ ư and
 * the five tones), đ→d, Đ→D, typographic punctuation to ASCII. Characters that still do not fit GSM-7
 * are left as they are, so `isGsm7` on the result tells the caller the text cannot be sent as GSM-7.
 */
export function unaccentVietnamese(text: string): string {
  const stripped = text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/đ/g, 'd')
    .replace(/Đ/g, 'D');
  let out = '';
  for (const ch of stripped) out += PUNCTUATION_FALLBACKS[ch] ?? ch;
  return out.normalize('NFC');
}

/** The body actually sent in the chosen mode: unaccented GSM-7, or accented text in NFC (UCS-2). */
export function toSmsBody(text: string, mode: 'gsm7' | 'ucs2'): string {
  return mode === 'gsm7' ? unaccentVietnamese(text) : text.normalize('NFC');
}
