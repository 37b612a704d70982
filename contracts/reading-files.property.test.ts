// Properties of the readings line-protocol writer and reader: what readingToLineProtocol writes,
// parseLineProtocolLine reads back, whatever the zone tag holds; and the reader copes with any tag
// or string field an InfluxDB export may carry beside ours. Escaping as in the InfluxDB line protocol
// reference (https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/): in tag
// keys, tag values and field keys `\` escapes comma, equals and space; in string field values it
// escapes double quote and backslash; `\\` is one backslash; a double quote in a tag is an ordinary
// character; a line break cannot be carried outside a string value (files are read line by line).
import { describe, expect } from 'vitest';
import { fc, it } from '@fast-check/vitest';
import { READING_LIMITS, type Reading } from './payloads.ts';
import { parseLineProtocolLine, readingToLineProtocol } from './reading-files.ts';

const SEED = 0x5ead;

/** Measurement and tags of a line, read by the reference's rules (nothing of reading-files.ts). */
function seriesOf(line: string): { measurement: string; tags: [string, string][] } {
  let i = 0;
  const element = (stops: string, escapable: string) => {
    let out = '';
    while (i < line.length && !stops.includes(line[i]!)) {
      if (line[i] === '\\' && (escapable + '\\').includes(line[i + 1] ?? '')) i += 1;
      out += line[i];
      i += 1;
    }
    return out;
  };
  const measurement = element(', ', ', ');
  const tags: [string, string][] = [];
  while (line[i] === ',') {
    i += 1;
    const key = element('=', ',= ');
    i += 1;
    tags.push([key, element(', ', ',= ')]);
  }
  expect(line[i], 'the tag set ends at an unescaped space').toBe(' ');
  return { measurement, tags };
}

// Escaping by the reference, for the extra tags and fields the test adds to a line.
const escapeTagPart = (s: string) => s.replace(/[\\,= ]/g, (c) => `\\${c}`);
const quoteString = (s: string) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

// ---------------------------------------------------------------------------------------------

const bounded = (k: keyof typeof READING_LIMITS) => fc.double({ min: READING_LIMITS[k].min, max: READING_LIMITS[k].max, noNaN: true });
const reading: fc.Arbitrary<Reading> = fc.record(
  {
    nodeId: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,62}$/),
    seq: fc.maxSafeNat(),
    ts: fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()),
    temperatureC: bounded('temperatureC'),
    humidityPct: bounded('humidityPct'),
    smoke: bounded('smoke'),
    rainMm: bounded('rainMm'),
    windMs: bounded('windMs'),
    batteryV: bounded('batteryV'),
    rssiDbm: bounded('rssiDbm'),
  },
  { requiredKeys: ['nodeId', 'seq', 'ts', 'temperatureC', 'humidityPct', 'smoke'] },
);
/** What the reader gives back: the same values (−0 reads back as 0, as in JSON). */
const readBack = (r: Reading) => JSON.parse(JSON.stringify(r)) as Reading;

const special = fc.constantFrom(' ', ',', '=', '"', '\\', "'", '#', '\t');
const lineBreak = fc.constantFrom('\n', '\r');
const plain = fc.oneof(fc.constantFrom('a', 'Z', '0', '-', '_'), fc.constantFrom('Đ', 'ạ', 'Thàng', '🔥'));
const textOf = (parts: fc.Arbitrary<string>, minLength: number) => fc.array(parts, { minLength, maxLength: 10 }).map((cs) => cs.join(''));
/** Zone names full of characters line protocol treats specially, line breaks included (tag values are never empty). */
const zone = textOf(fc.oneof({ weight: 3, arbitrary: special }, { weight: 1, arbitrary: lineBreak }, { weight: 3, arbitrary: plain }), 1);
/** The same without line breaks: what one line of a file can hold. */
const oneLineText = (minLength: number) => textOf(fc.oneof(special, plain), minLength);

describe('readingToLineProtocol → parseLineProtocolLine', () => {
  it.prop([reading, zone], { seed: SEED, numRuns: 3000 })('any reading, with any zone tag, is read back as written, from one line', (r, z) => {
    const line = readingToLineProtocol(r, z);
    expect(line, 'one point, one line').not.toMatch(/[\n\r]/);
    expect(parseLineProtocolLine(line)).toStrictEqual({ ok: true, reading: readBack(r) });
    // The zone tag itself comes back exactly, unless it held a line break (which cannot be carried).
    const { measurement, tags } = seriesOf(line);
    expect(measurement).toBe('reading');
    expect(tags.map(([k]) => k)).toStrictEqual(['node', 'zone']);
    expect(tags[0]![1]).toBe(r.nodeId);
    if (!/[\n\r]/.test(z)) expect(tags[1]![1]).toBe(z);
  });
});

describe('parseLineProtocolLine on lines from elsewhere', () => {
  const extraTag = fc.tuple(oneLineText(1), oneLineText(1)).filter(([k]) => k !== 'node');
  const extraField = fc.tuple(oneLineText(1), fc.oneof(oneLineText(0).map(quoteString), fc.constantFrom('1i', '2.5', 'true', 'F', '-3e-7'))).filter(([k]) => !['temperature', 'humidity', 'smoke', 'rain', 'wind', 'battery', 'rssi', 'seq'].includes(k));

  it.prop([reading, fc.array(extraTag, { maxLength: 3 }), fc.array(extraField, { maxLength: 3 }), fc.constantFrom('', ' ', '  ')], { seed: SEED + 1, numRuns: 3000 })(
    'extra tags and fields with spaces, commas, equals signs, quotes and backslashes do not disturb the reading',
    (r, tags, fields, pad) => {
      const base = readingToLineProtocol(r, 'zone-1');
      const [series, values, time] = [base.slice(0, base.indexOf(' ')), base.slice(base.indexOf(' ') + 1, base.lastIndexOf(' ')), base.slice(base.lastIndexOf(' ') + 1)];
      const tagText = tags.map(([k, v]) => `,${escapeTagPart(k)}=${escapeTagPart(v)}`).join('');
      const fieldText = fields.map(([k, v]) => `,${escapeTagPart(k)}=${v}`).join('');
      const line = `${pad}${series}${tagText} ${values}${fieldText}${pad} ${time}${pad}`;
      expect(parseLineProtocolLine(line), line).toStrictEqual({ ok: true, reading: readBack(r) });
    },
  );
});
