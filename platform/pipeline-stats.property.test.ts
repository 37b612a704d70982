// Properties of the hand-written line-protocol writer (formatLine and the lines built on it),
// checked with a small parser written here from the InfluxDB line protocol reference
// (https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/):
//  - measurement: `\` escapes comma and space; tag keys, tag values, field keys: comma, equals, space;
//    string field values: double quote and backslash; `\\` is one backslash; any other `\` is literal;
//  - floats may use exponents, integers end in `i` and are signed 64-bit;
//  - a line break ends the point (InfluxDB splits at \n, line readers at \r too) and cannot be
//    carried by a measurement, tag or key. Inside a double-quoted string field value InfluxDB's
//    scanner keeps it in the point (and @influxdata/influxdb-client writes it there as is), so it
//    may appear only there.
import { describe, expect } from 'vitest';
import { fc, it } from '@fast-check/vitest';
import { formatLine, type TypedFields } from '../contracts/measurements.ts';
import { alertLine, siteNodeLines } from './pipeline-stats.ts';

const SEED = 0x1f_dbdb;

type FieldValue = { int: bigint } | { float: number } | { string: string } | { bool: boolean };
interface Point {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, FieldValue>;
  timestamp: string;
}

/** Parses exactly one point; throws on anything the reference does not allow. */
function parsePoint(text: string): Point {
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`${what} at ${i} in ${JSON.stringify(text)}`);
  };
  /** An unquoted element up to one of `stops`; `\` escapes the characters in `escapable` and itself. */
  const element = (stops: string, escapable: string): string => {
    let out = '';
    while (i < text.length && !stops.includes(text[i]!)) {
      const c = text[i]!;
      if (c === '\n' || c === '\r') fail('line break outside a string field value');
      if (c === '\\' && i + 1 < text.length && (escapable + '\\').includes(text[i + 1]!)) {
        out += text[i + 1];
        i += 2;
      } else {
        out += c;
        i += 1;
      }
    }
    return out;
  };
  const eat = (c: string) => (text[i] === c ? (i += 1) : fail(`expected ${JSON.stringify(c)}`));

  if (text.startsWith('#')) fail('a comment, not a point');
  const measurement = element(', ', ', ');
  if (measurement === '') fail('empty measurement');
  const tags: Record<string, string> = {};
  while (text[i] === ',') {
    i += 1;
    const key = element('=', ',= ');
    eat('=');
    const value = element(', ', ',= ');
    if (key === '' || value === '') fail('empty tag key or value');
    if (key in tags) fail(`tag ${key} twice`);
    tags[key] = value;
  }
  eat(' ');
  const fields: Record<string, FieldValue> = {};
  for (;;) {
    const key = element('=', ',= ');
    eat('=');
    if (key === '' || key in fields) fail('empty or repeated field key');
    if (text[i] === '"') {
      i += 1;
      let s = '';
      while (text[i] !== '"') {
        if (i >= text.length) fail('unterminated string');
        if (text[i] === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) i += 1;
        s += text[i];
        i += 1;
      }
      i += 1;
      fields[key] = { string: s };
    } else {
      const raw = element(', ', '');
      if (/^-?\d+i$/.test(raw)) {
        const int = BigInt(raw.slice(0, -1));
        if (int < -(2n ** 63n) || int >= 2n ** 63n) fail(`integer ${raw} outside int64`);
        fields[key] = { int };
      } else if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw)) fields[key] = { float: Number(raw) };
      else if (/^(t|T|true|True|TRUE)$/.test(raw)) fields[key] = { bool: true };
      else if (/^(f|F|false|False|FALSE)$/.test(raw)) fields[key] = { bool: false };
      else fail(`field value ${JSON.stringify(raw)} is no float, integer, string or boolean`);
    }
    if (text[i] !== ',') break;
    i += 1;
  }
  eat(' ');
  const timestamp = text.slice(i);
  if (!/^-?\d+$/.test(timestamp)) fail(`timestamp ${JSON.stringify(timestamp)}`);
  return { measurement, tags, fields, timestamp };
}

// ---------------------------------------------------------------------------------------------
// What a line written from given input must read back as.

const hasLineBreak = (s: string) => /[\n\r]/.test(s);
const INT64 = 2n ** 63n;

function expectedFields(fields: TypedFields): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = {};
  for (const [k, v] of Object.entries(fields.ints ?? {})) {
    if (!Number.isFinite(v)) continue;
    const int = BigInt(Math.trunc(v));
    if (int >= -INT64 && int < INT64) out[k] = { int }; // an integer InfluxDB cannot hold is left out, like a non-finite one
  }
  for (const [k, v] of Object.entries(fields.floats ?? {})) if (Number.isFinite(v)) out[k] = { float: v === 0 ? 0 : v }; // −0 is written as 0
  for (const [k, v] of Object.entries(fields.strings ?? {})) out[k] = { string: v };
  return out;
}

/** Tags and keys without line breaks come back exactly; with one, the point must still be one point. */
function expectRoundTrip(line: string | null, measurement: string, tags: Record<string, string | undefined>, fields: TypedFields, tsMs: number): void {
  const wantFields = expectedFields(fields);
  if (Object.keys(wantFields).length === 0) {
    expect(line).toBeNull();
    return;
  }
  expect(line).not.toBeNull();
  const point = parsePoint(line!);
  const wantTags = Object.fromEntries(Object.entries(tags).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
  const exact = ![measurement, ...Object.keys(wantTags), ...Object.values(wantTags), ...Object.keys(wantFields)].some(hasLineBreak);
  if (exact) {
    expect(point).toStrictEqual({ measurement, tags: wantTags, fields: wantFields, timestamp: String(Math.trunc(tsMs)) });
  } else {
    expect(Object.keys(point.tags).length).toBe(Object.keys(wantTags).length);
    expect(Object.values(point.fields)).toStrictEqual(Object.values(wantFields));
  }
}

// ---------------------------------------------------------------------------------------------
// Generators: text full of what line protocol treats specially.

const nasty = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(' ', ',', '=', '"', '\\', '\n', '\r', '\t', '#', "'") },
  { weight: 3, arbitrary: fc.constantFrom('a', 'z', 'Q', '0', '9', '_', '-', '.') },
  { weight: 1, arbitrary: fc.constantFrom('Đ', 'ạ', 'ừ', '€', '🔥') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);
const text = (minLength = 0) => fc.array(nasty, { minLength, maxLength: 12 }).map((cs) => cs.join(''));
/** A measurement: not empty, and not starting with `#` (that line would be a comment). */
const measurement = text(1).filter((m) => !m.startsWith('#'));
const key = text(1);
const number = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(2 ** 63, -(2 ** 63), 2 ** 63 - 1024, 1e21, -1e21, 123456789012345680000));

/** Fields with distinct keys across ints, floats and strings. */
const statFields: fc.Arbitrary<TypedFields> = fc
  .uniqueArray(fc.tuple(key, fc.oneof(number.map((v) => ({ int: v })), number.map((v) => ({ float: v })), text().map((v) => ({ string: v })))), { selector: ([k]) => k, maxLength: 5 })
  .map((entries) => {
    const f: Required<TypedFields> = { ints: {}, floats: {}, strings: {} };
    for (const [k, v] of entries) {
      if ('int' in v) f.ints[k] = v.int;
      else if ('float' in v) f.floats[k] = v.float;
      else f.strings[k] = v.string;
    }
    return f;
  });
const tagSet = fc.dictionary(key, fc.option(text(), { nil: undefined }), { maxKeys: 4 });
const tsMs = fc.integer({ min: 0, max: 2 ** 42 });

describe('formatLine', () => {
  it.prop([measurement, tagSet, statFields, tsMs], { seed: SEED, numRuns: 3000 })(
    'escapes measurement, tags, keys and strings so the point reads back as written, on one line',
    (m, tags, fields, ts) => {
      expectRoundTrip(formatLine(m, tags, fields, ts), m, tags, fields, ts);
    },
  );
});

describe('lines built on formatLine', () => {
  const id = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/);

  it.prop([fc.array(fc.record({ id, zone: id, lat: fc.double({ min: -90, max: 90, noNaN: true }), lon: fc.double({ min: -180, max: 180, noNaN: true }), elevationM: fc.double({ min: -500, max: 9000, noNaN: true }), zoneName: text() }), { maxLength: 5 }), tsMs], {
    seed: SEED + 1,
    numRuns: 1000,
  })('site_node points carry any zone name (a free-text site field) intact', (nodes, ts) => {
    const lines = siteNodeLines(nodes, ts);
    expect(lines).toHaveLength(nodes.length);
    lines.forEach((line, i) => {
      const n = nodes[i]!;
      expectRoundTrip(line, 'site_node', { node: n.id, zone: n.zone }, { floats: { lat: n.lat, lon: n.lon, elevation_m: n.elevationM }, strings: { zone_name: n.zoneName } }, ts);
    });
  });

  it.prop([id, id, fc.constantFrom('fire-suspected', 'level-changed', 'node-offline'), fc.constantFrom('active' as const, 'acknowledged' as const, 'resolved' as const), fc.option(text(), { nil: undefined }), fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }), tsMs], {
    seed: SEED + 2,
    numRuns: 1000,
  })('alert points carry whoever acknowledged (free text) intact', (alertId, zoneId, kind, state, ackedBy, level, ts) => {
    const point = parsePoint(alertLine({ alertId, zoneId, kind, state, ackedBy, level }, ts));
    expect(point.fields).toStrictEqual({ ...(level === undefined ? {} : { level: { int: BigInt(level) } }), alert_id: { string: alertId }, state: { string: state }, acked_by: { string: ackedBy ?? '' } });
    expect(point.tags).toStrictEqual({ alert: alertId, kind, zone: zoneId });
  });
});
