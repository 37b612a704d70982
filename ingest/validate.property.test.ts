// Properties of ingest validation: whatever arrives on whatever topic, validateMessage answers (never
// throws), a refusal always names a documented reason code and says why, and every in-range reading
// of a node of the real site is accepted with its own time.
import { describe, expect } from 'vitest';
import { fc, it } from '@fast-check/vitest';
import { READING_LIMITS } from '../contracts/payloads.ts';
import { indexSite } from '../contracts/site.ts';
import { EVENT_KINDS, topics } from '../contracts/topics.ts';
import { loadSiteFile } from '../platform/site-file.ts';
import { validateMessage, type RejectCode, type ValidatedMessage } from './validate.ts';

const SEED = 0x1a1c4a;
const site = indexSite(loadSiteFile(new URL('../config/lai-chau.site.yaml', import.meta.url).pathname));
const nodes = [...site.nodes.values()];
// The service defaults (contracts/config.ts): 4 KiB, 300 s ahead, 400 days back.
const limits = { maxPayloadBytes: 4096, maxFutureMs: 300_000, maxAgeMs: 400 * 86_400_000 };
const now = Date.parse('2026-02-14T06:00:00Z');

/** The documented codes (RejectCode in validate.ts): a Record so the typecheck fails if one is missing or unknown. */
const DOCUMENTED: Record<RejectCode, true> = {
  'too-large': true,
  'malformed-json': true,
  schema: true,
  'unknown-topic': true,
  'unknown-node': true,
  'topic-mismatch': true,
  'future-timestamp': true,
  'too-old': true,
  // Given by the service (a second reading at the same time), never by validateMessage.
  'duplicate-timestamp': true,
};
const REJECT_CODES = Object.keys(DOCUMENTED);

/** What must hold of any answer, whatever the input. */
function expectWellFormed(topic: string, r: ValidatedMessage): void {
  if (!r.ok) {
    expect(REJECT_CODES).toContain(r.code);
    expect(r.reason.trim(), r.code).not.toBe('');
    return;
  }
  // Accepted: the topic is the node's own, the node is registered, the time is inside the window.
  const nodeId = r.kind === 'reading' ? r.reading.nodeId : r.status.nodeId;
  expect(topic).toBe(r.kind === 'reading' ? topics.reading(nodeId) : topics.status(nodeId));
  expect(r.zoneId).toBe(site.nodes.get(nodeId)?.zone);
  expect(Number.isFinite(r.tsMs)).toBe(true);
  if (r.kind === 'reading') {
    expect(r.tsMs).toBeLessThanOrEqual(now + limits.maxFutureMs);
    expect(r.tsMs).toBeGreaterThanOrEqual(now - limits.maxAgeMs);
  }
}

// ---------------------------------------------------------------------------------------------
// Generators

const id = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/);
const siteNodeId = fc.constantFrom(...nodes.map((n) => n.id));
const anyTopic = fc.oneof(
  { weight: 4, arbitrary: siteNodeId.map(topics.reading) },
  { weight: 2, arbitrary: siteNodeId.map(topics.status) },
  { weight: 1, arbitrary: id.map(topics.reading) }, // well-formed, but most are not registered
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...EVENT_KINDS), id).map(([k, z]) => topics.event(k, z)) },
  { weight: 1, arbitrary: id.map(topics.danger) },
  { weight: 1, arbitrary: fc.string().map((s) => `ews/v1/readings/${s}`) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary' }) },
);

const bounded = (k: keyof typeof READING_LIMITS) => fc.double({ min: READING_LIMITS[k].min, max: READING_LIMITS[k].max, noNaN: true });

/** ISO 8601 text of `ms` as seen from `offsetMin` minutes east of UTC, with 0, 3, 6 or 9 fraction digits. */
function isoAt(ms: number, offsetMin: number | 'Z', fractionDigits: 0 | 3 | 6 | 9, subMs: string): string {
  const shift = offsetMin === 'Z' ? 0 : offsetMin;
  const local = new Date(ms + shift * 60_000).toISOString(); // YYYY-MM-DDTHH:mm:ss.sssZ
  const fraction = fractionDigits === 0 ? '' : `.${(local.slice(20, 23) + subMs).slice(0, fractionDigits)}`;
  const zone = offsetMin === 'Z' ? 'Z' : `${shift < 0 ? '-' : '+'}${String(Math.trunc(Math.abs(shift) / 60)).padStart(2, '0')}:${String(Math.abs(shift) % 60).padStart(2, '0')}`;
  return `${local.slice(0, 19)}${fraction}${zone}`;
}

/** An instant inside the accepted window, whole milliseconds unless written with fewer digits. */
const acceptedTs = fc
  .record({
    ms: fc.integer({ min: now - limits.maxAgeMs, max: now + limits.maxFutureMs }),
    offset: fc.oneof(fc.constant('Z' as const), fc.integer({ min: -12 * 60, max: 14 * 60 })),
    digits: fc.constantFrom(0 as const, 3 as const, 6 as const, 9 as const),
    subMs: fc.stringMatching(/^[0-9]{6}$/),
  })
  .map(({ ms, offset, digits, subMs }) => {
    const whole = digits === 0 ? Math.floor(ms / 1000) * 1000 : ms; // fewer digits: the instant is the whole second
    const clamped = whole < now - limits.maxAgeMs ? whole + 1000 : whole;
    return { ts: isoAt(clamped, offset, digits, subMs), ms: clamped };
  });

const validReading = fc
  .record(
    {
      node: fc.constantFrom(...nodes),
      seq: fc.maxSafeNat(),
      at: acceptedTs,
      temperatureC: bounded('temperatureC'),
      humidityPct: bounded('humidityPct'),
      smoke: bounded('smoke'),
      rainMm: bounded('rainMm'),
      windMs: bounded('windMs'),
      batteryV: bounded('batteryV'),
      rssiDbm: bounded('rssiDbm'),
    },
    { requiredKeys: ['node', 'seq', 'at', 'temperatureC', 'humidityPct', 'smoke'] },
  )
  .map(({ node, at, ...values }) => ({ node, ms: at.ms, reading: { nodeId: node.id, ts: at.ts, ...values } }));

/** Values a damaged field may take: any JSON, an instant far outside the window, another node's id. */
const fieldValue = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue() },
  { weight: 1, arbitrary: fc.date({ min: new Date('1900-01-01'), max: new Date('2200-01-01'), noInvalidDate: true }).map((d) => d.toISOString()) },
  { weight: 1, arbitrary: id },
);

/**
 * A valid reading with a few fields replaced, removed or added, sometimes padded past the size
 * limit; published on its own node's topic (whatever that id now is) or on any topic.
 */
const damagedMessage = fc
  .tuple(
    validReading,
    fc.array(fc.tuple(fc.constantFrom('nodeId', 'seq', 'ts', 'temperatureC', 'humidityPct', 'smoke', 'rainMm', 'extra'), fc.option(fieldValue, { nil: undefined })), { maxLength: 3 }),
    fc.constantFrom(0, 0, 0, 5000),
    fc.option(anyTopic, { freq: 2, nil: undefined }),
  )
  .map(([{ reading }, edits, pad, topic]): [string, string] => {
    const obj: Record<string, unknown> = { ...reading };
    for (const [key, value] of edits) {
      if (value === undefined) delete obj[key];
      else obj[key] = value;
    }
    const own = typeof obj.nodeId === 'string' ? `ews/v1/readings/${obj.nodeId}` : topics.reading(reading.nodeId);
    return [topic ?? own, JSON.stringify(obj) + ' '.repeat(pad)];
  });

/** Byte-level damage to a valid payload: flipped, inserted and deleted bytes, or a cut. */
const corruptedBytes = fc
  .tuple(validReading, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'insert', 'delete', 'cut')), { minLength: 1, maxLength: 4 }))
  .map(([{ reading }, edits]) => {
    const bytes = [...Buffer.from(JSON.stringify(reading))];
    for (const [at, byte, op] of edits) {
      const i = at % (bytes.length + 1);
      if (op === 'flip') bytes[i % bytes.length] = byte;
      else if (op === 'insert') bytes.splice(i, 0, byte);
      else if (op === 'delete') bytes.splice(i, 1);
      else bytes.length = i;
    }
    return Buffer.from(bytes);
  });

const anyBytes = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((s) => Buffer.from(s)) },
  { weight: 3, arbitrary: corruptedBytes },
  { weight: 1, arbitrary: fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.integer({ min: 4000, max: 4200 })).map(([fill, n]) => Buffer.alloc(n, fill)) },
);

// ---------------------------------------------------------------------------------------------

describe('validateMessage on arbitrary input', () => {
  // At least 10,000 runs on arbitrary bytes is a stated requirement (≈0.7 s here).
  it.prop([anyTopic, anyBytes], { seed: SEED, numRuns: 10_000 })('never throws on any bytes on any topic, and refuses with a documented code and a reason', (topic, payload) => {
    expectWellFormed(topic, validateMessage(topic, payload, now, site, limits));
  });

  it.prop([fc.oneof(fc.tuple(anyTopic, fc.jsonValue().map((v) => JSON.stringify(v))), damagedMessage)], { seed: SEED + 1, numRuns: 3000 })(
    'never throws on any JSON value on any topic, and refuses with a documented code and a reason',
    ([topic, json]) => {
      expectWellFormed(topic, validateMessage(topic, Buffer.from(json), now, site, limits));
    },
  );

  it.prop([fc.constantFrom(...nodes), fc.constantFrom(...nodes), validReading], { seed: SEED + 2, numRuns: 500 })(
    "a valid reading of another node, on a node's topic, is refused as topic-mismatch",
    (topicNode, payloadNode, { reading }) => {
      const r = validateMessage(topics.reading(topicNode.id), Buffer.from(JSON.stringify({ ...reading, nodeId: payloadNode.id })), now, site, limits);
      if (topicNode.id === payloadNode.id) expect(r.ok).toBe(true);
      else expect(r).toMatchObject({ ok: false, code: 'topic-mismatch' });
    },
  );

  it('the generators above reach every refusal code (else those properties prove little)', () => {
    const inputs = [
      ...fc.sample(fc.tuple(anyTopic, anyBytes), { seed: SEED, numRuns: 2000 }),
      ...fc.sample(damagedMessage.map(([topic, json]) => [topic, Buffer.from(json)] as const), { seed: SEED, numRuns: 2000 }),
    ];
    const codes = new Set(inputs.map(([topic, payload]) => validateMessage(topic, payload, now, site, limits)).map((r) => (r.ok ? 'accepted' : r.code)));
    expect([...codes].sort()).toStrictEqual(['accepted', ...REJECT_CODES.filter((c) => c !== 'duplicate-timestamp')].sort());
  });
});

describe('validateMessage on valid readings of the site', () => {
  it.prop([validReading], { seed: SEED + 3, numRuns: 2000 })('every in-range reading of a registered node is accepted with its zone and own time', ({ node, ms, reading }) => {
    const payload = JSON.stringify(reading);
    const r = validateMessage(topics.reading(node.id), Buffer.from(payload), now, site, limits);
    expect(r, payload).toStrictEqual({ ok: true, kind: 'reading', reading: JSON.parse(payload), zoneId: node.zone, tsMs: ms });
  });

  it.prop([validReading, fc.integer({ min: 1, max: 10 * 86_400_000 })], { seed: SEED + 4, numRuns: 500 })(
    'the same reading moved past either end of the window is refused as future-timestamp or too-old',
    ({ node, reading }, beyond) => {
      const future = validateMessage(topics.reading(node.id), Buffer.from(JSON.stringify({ ...reading, ts: new Date(now + limits.maxFutureMs + beyond).toISOString() })), now, site, limits);
      expect(future).toMatchObject({ ok: false, code: 'future-timestamp' });
      const old = validateMessage(topics.reading(node.id), Buffer.from(JSON.stringify({ ...reading, ts: new Date(now - limits.maxAgeMs - beyond).toISOString() })), now, site, limits);
      expect(old).toMatchObject({ ok: false, code: 'too-old' });
    },
  );

  it.prop([fc.constantFrom(...nodes), fc.constantFrom('online' as const, 'offline' as const), fc.option(acceptedTs, { nil: undefined }), fc.option(fc.string({ maxLength: 200 }), { nil: undefined })], {
    seed: SEED + 5,
    numRuns: 500,
  })('every status message of a registered node is accepted, stamped on arrival when it has no time', (node, status, at, reason) => {
    const msg = { nodeId: node.id, status, ...(at ? { ts: at.ts } : {}), ...(reason === undefined ? {} : { reason }) };
    const r = validateMessage(topics.status(node.id), Buffer.from(JSON.stringify(msg)), now, site, limits);
    expect(r).toStrictEqual({ ok: true, kind: 'status', status: msg, zoneId: node.zone, tsMs: at ? at.ms : now });
  });
});
