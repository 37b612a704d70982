// The InfluxDB measurements of the pipeline, defined once: name, tag keys, field names and types.
// Every writer (ingest, rules, alerts, the pipeline reporter, recordings) builds its lines with
// `lineOf` below and the dashboards' lint checks every query against these names, so a renamed tag
// or field breaks the typecheck or the dashboards test, not a board in the command room.
//
// Line protocol reference: https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/
// All timestamps are Unix milliseconds (the writers use precision=ms). Tags and fields are written
// in the order declared here (tags sorted by key, InfluxData's advice for write performance, except
// `danger` and `event`, which keep the order they have always been written in).

import type { DrillReading, Reading } from './payloads.ts';

export type FieldKind = 'float' | 'int' | 'string' | 'boolean';

interface MeasurementSchema {
  readonly tags: readonly string[];
  readonly fields: Readonly<Record<string, FieldKind>>;
}

export const MEASUREMENTS = {
  /** One sensor reading (ingest). Point identity = node + zone + time: a re-delivered reading overwrites itself. */
  reading: {
    tags: ['node', 'zone'],
    fields: { battery: 'float', humidity: 'float', rain: 'float', rssi: 'float', seq: 'int', smoke: 'float', temperature: 'float', wind: 'float' },
  },
  /**
   * A sensor drill's simulated reading (ingest, from `ews/v1/drill/readings/+`): its own measurement,
   * so no query of `reading` (dashboards, board, baselines) can ever count one. Tag `drill` = drill id.
   */
  drill_reading: {
    tags: ['drill', 'node', 'zone'],
    fields: { battery: 'float', humidity: 'float', rain: 'float', rssi: 'float', seq: 'int', smoke: 'float', temperature: 'float', wind: 'float' },
  },
  /** A node's online/offline notice (ingest, from the node's last will or its own status message). */
  node_status: { tags: ['node', 'zone'], fields: { online: 'boolean', reason: 'string' } },
  /** A message ingest set aside (tag `reason` = the shared reason code; `id` = its row in the dead-letter table). */
  dead_letter: { tags: ['node', 'reason', 'service'], fields: { id: 'int', count: 'int' } },
  /** A zone's fire danger (rules): the official daily value (official=true) or an hourly provisional one. */
  danger: {
    tags: ['zone', 'official'],
    fields: {
      level: 'int',
      nesterov_p: 'float',
      t13: 'float',
      rh13: 'float',
      d13: 'float',
      rain24h: 'float',
      quality: 'string',
      ffmc: 'float',
      dmc: 'float',
      dc: 'float',
      isi: 'float',
      bui: 'float',
      fwi: 'float',
      dsr: 'float',
    },
  },
  /** A fire detection, level change or sensor-health event (rules). */
  event: { tags: ['zone', 'kind', 'node'], fields: { event_id: 'string', level: 'int' } },
  /** An alert's state change or escalation step (alerts). */
  alert: {
    tags: ['alert', 'kind', 'zone'],
    fields: { level: 'int', escalation_step: 'int', acked_at: 'int', alert_id: 'string', state: 'string', acked_by: 'string' },
  },
  /** A drill's state change (alerts); never an `alert` or `event`, so a drill never shows as a fire. */
  drill: { tags: ['drill', 'kind', 'zone'], fields: { escalation_step: 'int', drill_id: 'string', state: 'string' } },
  /** A service's figures for the Pipeline dashboard (cumulative counters count since the process started). */
  pipeline: {
    tags: ['service'],
    fields: {
      readings_stored: 'int',
      spool_depth: 'int',
      dead_letters: 'int',
      write_latency_ms: 'float',
      sms_sent: 'int',
      sms_failed: 'int',
      sms_acked: 'int',
      outbox_queued: 'int',
    },
  },
  /** The node registry from the site file (ingest), for the city geomap: InfluxQL cannot join readings with positions. */
  site_node: { tags: ['node', 'zone'], fields: { lat: 'float', lon: 'float', elevation_m: 'float', zone_name: 'string' } },
} as const satisfies Record<string, MeasurementSchema>;

export type MeasurementName = keyof typeof MEASUREMENTS;
type Schema<M extends MeasurementName> = (typeof MEASUREMENTS)[M];
interface KindValue {
  float: number;
  int: number;
  string: string;
  boolean: boolean;
}
export type TagsOf<M extends MeasurementName> = { readonly [K in Schema<M>['tags'][number]]?: string | undefined };
export type FieldsOf<M extends MeasurementName> = { readonly [K in keyof Schema<M>['fields']]?: Schema<M>['fields'][K] extends FieldKind ? KindValue[Schema<M>['fields'][K]] | undefined : never };

export const isMeasurementName = (name: string): name is MeasurementName => Object.hasOwn(MEASUREMENTS, name);

/** Tag keys and field names of a measurement (the dashboards' lint checks queries against them). */
export function columnsOf(name: MeasurementName): { tags: readonly string[]; fields: readonly string[] } {
  const m: MeasurementSchema = MEASUREMENTS[name];
  return { tags: m.tags, fields: Object.keys(m.fields) };
}

// Line protocol has no way to carry a line break outside a string value (it would end the point and
// start another): it is written as the two characters \n or \r, as @influxdata/influxdb-client does.
const LINE_BREAKS: Record<string, string> = { '\n': '\\n', '\r': '\\r' };
const escapeKey = (s: string) => s.replace(/[\\,= \n\r]/g, (c) => LINE_BREAKS[c] ?? `\\${c}`);
const escapeMeasurement = (s: string) => s.replace(/[\\, \n\r]/g, (c) => LINE_BREAKS[c] ?? `\\${c}`);
const quote = (s: string) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
// From 1e21 on, String() writes an exponent ("1e+21"), which is a float already; "1e+21.0" is no number.
const float = (v: number) => (Number.isInteger(v) && Math.abs(v) < 1e21 ? `${v}.0` : String(v));
/** Integer fields are signed 64-bit, written digit for digit (from 2^53 on String() rounds: −2^63 would leave the range). */
const int64 = (v: number) => (v >= -(2 ** 63) && v < 2 ** 63 ? `${BigInt(v)}i` : null);

/** One field value as line protocol, or null when it cannot be written (non-finite number, integer outside 64 bits). */
function encodeField(kind: FieldKind, v: unknown): string | null {
  switch (kind) {
    case 'int':
      return typeof v === 'number' ? int64(Math.trunc(v)) : null; // null for NaN and ±Infinity too
    case 'float':
      return typeof v === 'number' && Number.isFinite(v) ? float(v) : null;
    case 'string':
      return typeof v === 'string' ? quote(v) : null;
    case 'boolean':
      return typeof v === 'boolean' ? String(v) : null;
  }
}

/** The one line writer: tags in the given order (empty and missing ones left out), fields in the given order. */
function encodeLine(measurement: string, tags: readonly (readonly [string, string | undefined])[], fields: readonly (readonly [string, FieldKind, unknown])[], tsMs: number): string | null {
  const tagPart = tags
    .filter((e): e is readonly [string, string] => e[1] !== undefined && e[1] !== '')
    .map(([k, v]) => `,${escapeKey(k)}=${escapeKey(v)}`)
    .join('');
  const parts: string[] = [];
  for (const [key, kind, value] of fields) {
    if (value === undefined || value === null) continue;
    const encoded = encodeField(kind, value);
    if (encoded !== null) parts.push(`${escapeKey(key)}=${encoded}`);
  }
  if (parts.length === 0) return null; // a point without any field is not valid line protocol
  return `${escapeMeasurement(measurement)}${tagPart} ${parts.join(',')} ${Math.trunc(tsMs)}`;
}

/**
 * One point of one of the measurements above as a line (millisecond timestamp). Missing fields and values
 * that cannot be written (non-finite numbers, integers outside 64 bits) are left out; a point left
 * without any field is not valid line protocol, so then the result is null.
 */
export function lineOf<M extends MeasurementName>(measurement: M, tags: TagsOf<M>, fields: FieldsOf<M>, tsMs: number): string | null {
  const schema: MeasurementSchema = MEASUREMENTS[measurement];
  const tagValues = tags as Readonly<Record<string, string | undefined>>;
  const fieldValues = fields as Readonly<Record<string, unknown>>;
  const orderedTags = schema.tags.map((key) => [key, tagValues[key]] as const);
  const orderedFields = Object.entries(schema.fields).map(([key, kind]) => [key, kind, fieldValues[key]] as const);
  return encodeLine(measurement, orderedTags, orderedFields, tsMs);
}

/** Fields of an ad-hoc point by type (integers written with the `i` suffix, floats as floats, strings quoted). */
export interface TypedFields {
  ints?: Record<string, number>;
  floats?: Record<string, number>;
  strings?: Record<string, string>;
}

/** An ad-hoc point outside the schema (the line-protocol property tests): tags sorted by key; ints, then floats, then strings. */
export function formatLine(measurement: string, tags: Readonly<Record<string, string | undefined>>, fields: TypedFields, tsMs: number): string | null {
  const ordered: (readonly [string, FieldKind, unknown])[] = [
    ...Object.entries(fields.ints ?? {}).map(([k, v]) => [k, 'int', v] as const),
    ...Object.entries(fields.floats ?? {}).map(([k, v]) => [k, 'float', v] as const),
    ...Object.entries(fields.strings ?? {}).map(([k, v]) => [k, 'string', v] as const),
  ];
  const sortedTags = Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return encodeLine(measurement, sortedTags, ordered, tsMs);
}

/** A reading as ingest stores it, and as recordings and exports write it (`reading,node=…,zone=… …`). */
export function readingLine(r: Reading, zoneId: string, tsMs: number): string {
  // The payload schema keeps temperature, humidity and smoke finite: the point always has fields.
  return lineOf(
    'reading',
    { node: r.nodeId, zone: zoneId },
    { temperature: r.temperatureC, humidity: r.humidityPct, smoke: r.smoke, seq: r.seq, rain: r.rainMm, wind: r.windMs, battery: r.batteryV, rssi: r.rssiDbm },
    tsMs,
  ) as string;
}

/** A sensor drill's reading as ingest stores it (`drill_reading,drill=…,node=…,zone=… …`), never a `reading` point. */
export function drillReadingLine(r: DrillReading, zoneId: string, tsMs: number): string {
  return lineOf(
    'drill_reading',
    { drill: r.drill.id, node: r.nodeId, zone: zoneId },
    { temperature: r.temperatureC, humidity: r.humidityPct, smoke: r.smoke, seq: r.seq, rain: r.rainMm, wind: r.windMs, battery: r.batteryV, rssi: r.rssiDbm },
    tsMs,
  ) as string;
}
