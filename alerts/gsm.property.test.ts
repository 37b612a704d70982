// Properties of the SMS segment counter against an independent count written here from the
// standard: 3GPP TS 23.038 §6.2.1 (GSM 7-bit default alphabet and its extension table, reached
// through ESC 0x1B, so an extension character costs two septets) and TS 23.040 §9.2.3.24.1
// (concatenation: the UDH leaves 153 septets / 67 UCS-2 units a part; a single message holds 160 / 70).
// A part never ends between ESC and its character, nor between the two halves of a surrogate pair:
// each part is decoded on its own, so a split would show as two wrong characters.
import { describe, expect } from 'vitest';
import { fc, it } from '@fast-check/vitest';
import { countSegments, gsm7Septets, isGsm7 } from './gsm.ts';

const SEED = 0x03_38;

// ---------------------------------------------------------------------------------------------
// The tables, as code points by septet (TS 23.038 §6.2.1, figure "GSM 7 bit default alphabet").

const ESC = 0x1b;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
/** Septet → Unicode code point; 0x1B is the escape, not a character. */
const BASIC: ReadonlyMap<number, number> = new Map([
  ...([
    [0x00, 0x40], [0x01, 0xa3], [0x02, 0x24], [0x03, 0xa5], [0x04, 0xe8], [0x05, 0xe9], [0x06, 0xf9], [0x07, 0xec],
    [0x08, 0xf2], [0x09, 0xc7], [0x0a, 0x0a], [0x0b, 0xd8], [0x0c, 0xf8], [0x0d, 0x0d], [0x0e, 0xc5], [0x0f, 0xe5],
    [0x10, 0x394], [0x11, 0x5f], [0x12, 0x3a6], [0x13, 0x393], [0x14, 0x39b], [0x15, 0x3a9], [0x16, 0x3a0], [0x17, 0x3a8],
    [0x18, 0x3a3], [0x19, 0x398], [0x1a, 0x39e], [0x1c, 0xc6], [0x1d, 0xe6], [0x1e, 0xdf], [0x1f, 0xc9],
    [0x24, 0xa4], [0x40, 0xa1], [0x5b, 0xc4], [0x5c, 0xd6], [0x5d, 0xd1], [0x5e, 0xdc], [0x5f, 0xa7],
    [0x60, 0xbf], [0x7b, 0xe4], [0x7c, 0xf6], [0x7d, 0xf1], [0x7e, 0xfc], [0x7f, 0xe0],
  ] as const),
  // Where the table coincides with ASCII: space…#, %…?, A…Z, a…z.
  ...[...range(0x20, 0x23), ...range(0x25, 0x3f), ...range(0x41, 0x5a), ...range(0x61, 0x7a)].map((s) => [s, s] as const),
]);
/** Extension table: septet after ESC → code point (form feed ^ { } \ [ ~ ] | €). */
const EXTENSION: ReadonlyMap<number, number> = new Map([
  [0x0a, 0x0c], [0x14, 0x5e], [0x28, 0x7b], [0x29, 0x7d], [0x2f, 0x5c], [0x3c, 0x5b], [0x3d, 0x7e], [0x3e, 0x5d], [0x40, 0x7c], [0x65, 0x20ac],
]);
const basicSeptetOf = new Map([...BASIC].map(([septet, cp]) => [cp, septet]));
const extensionSeptetOf = new Map([...EXTENSION].map(([septet, cp]) => [cp, septet]));

/** The septets a GSM-7 encoder emits, or null when a character is not in the alphabet. */
function encodeGsm7(text: string): number[] | null {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const cp = text.codePointAt(i)!;
    if (cp > 0xffff) return null;
    const basic = basicSeptetOf.get(cp);
    const ext = extensionSeptetOf.get(cp);
    if (basic !== undefined) out.push(basic);
    else if (ext !== undefined) out.push(ESC, ext);
    else return null;
  }
  return out;
}

/**
 * Cuts `units` into parts the way a sender does: a single message if it fits, else parts of
 * `part` units, a part one unit shorter whenever it would end on `unsplittable` (ESC, or the high
 * half of a surrogate pair whose low half follows).
 */
function cut(units: readonly number[], single: number, part: number, unsplittable: (i: number) => boolean) {
  if (units.length <= single) return { segments: 1, remaining: single - units.length };
  let start = 0;
  let segments = 0;
  let last = 0;
  while (start < units.length) {
    let end = Math.min(start + part, units.length);
    if (end < units.length && unsplittable(end - 1)) end -= 1;
    segments += 1;
    last = end - start;
    start = end;
  }
  return { segments, remaining: part - last };
}

function expectedCount(text: string) {
  const characters = [...text].length;
  const septets = encodeGsm7(text);
  if (septets) return { encoding: 'GSM-7', units: septets.length, characters, ...cut(septets, 160, 153, (i) => septets[i] === ESC) };
  const utf16 = Array.from({ length: text.length }, (_, i) => text.charCodeAt(i));
  const highBeforeLow = (i: number) => utf16[i]! >= 0xd800 && utf16[i]! <= 0xdbff && utf16[i + 1]! >= 0xdc00 && utf16[i + 1]! <= 0xdfff;
  return { encoding: 'UCS-2', units: utf16.length, characters, ...cut(utf16, 70, 67, highBeforeLow) };
}

// ---------------------------------------------------------------------------------------------
// Generators: GSM-7 text (extension characters often), Vietnamese, emoji, anything.

const basicChar = fc.constantFrom(...[...BASIC.values()].map((cp) => String.fromCodePoint(cp)));
const extensionChar = fc.constantFrom(...[...EXTENSION.values()].map((cp) => String.fromCodePoint(cp)));
const VIETNAMESE = 'aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵđ';
const vietnameseLetter = fc.constantFrom(...[...VIETNAMESE, ...VIETNAMESE.toUpperCase()]);
/** A Vietnamese letter as one code point (NFC) or as a base letter and combining marks (NFD). */
const vietnameseChar = vietnameseLetter.chain((c) => fc.constantFrom(c.normalize('NFC'), c.normalize('NFD')));
const emoji = fc.oneof(fc.integer({ min: 0x1f300, max: 0x1faff }), fc.integer({ min: 0x10000, max: 0x10ffff })).map((cp) => String.fromCodePoint(cp));
const anyChar = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 });

/** Lengths around the limits matter most: up to a few parts. */
const textOf = (char: fc.Arbitrary<string>) => fc.array(char, { maxLength: 480, size: 'max' }).map((cs) => cs.join(''));
const gsmText = textOf(fc.oneof({ weight: 4, arbitrary: basicChar }, { weight: 1, arbitrary: extensionChar }));
const mixedText = textOf(
  fc.oneof({ weight: 6, arbitrary: basicChar }, { weight: 2, arbitrary: extensionChar }, { weight: 3, arbitrary: vietnameseChar }, { weight: 1, arbitrary: emoji }, { weight: 1, arbitrary: anyChar }),
);
const emojiText = textOf(fc.oneof(vietnameseChar, emoji));

describe('GSM 03.38 alphabet', () => {
  it.prop([fc.oneof(basicChar, extensionChar, vietnameseLetter, emoji, anyChar)], { seed: SEED, numRuns: 3000 })('gsm7Septets is 1 for the basic table, 2 for the extension table, null otherwise', (ch) => {
    const cp = ch.codePointAt(0)!;
    const expected = basicSeptetOf.has(cp) ? 1 : extensionSeptetOf.has(cp) ? 2 : null;
    expect(gsm7Septets(ch), `U+${cp.toString(16)}`).toBe(expected);
  });

  it.prop([mixedText], { seed: SEED + 1, numRuns: 1000 })('isGsm7 holds exactly when every character is in one of the tables', (text) => {
    expect(isGsm7(text)).toBe(encodeGsm7(text) !== null);
  });
});

describe('countSegments against an independent count', () => {
  it.prop([gsmText], { seed: SEED + 2, numRuns: 2000 })('GSM-7 text: septets, 160 / 153 a part, no ESC pair split', (text) => {
    expect(countSegments(text)).toStrictEqual(expectedCount(text));
  });

  it.prop([mixedText], { seed: SEED + 3, numRuns: 2000 })('mixed text: GSM-7 only if every character fits, else UCS-2 units, 70 / 67 a part', (text) => {
    expect(countSegments(text)).toStrictEqual(expectedCount(text));
  });

  it.prop([emojiText], { seed: SEED + 4, numRuns: 2000 })('Vietnamese and emoji: a surrogate pair counts 2 units and is never split', (text) => {
    expect(countSegments(text)).toStrictEqual(expectedCount(text));
  });
});
