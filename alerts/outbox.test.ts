// The `alert` lines the outbox spools for the dashboards (platform/pipeline-stats.ts alertLine):
// one per state change and per escalation step, carrying the escalation step and the ack time.
import { afterAll, assert, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FireEvent } from '../contracts/payloads.ts';
import { openDatabase } from '../platform/sqlite.ts';
import { acknowledge, emptyEngineState, handleEvent, tick, type EngineState } from './engine.ts';
import { AlertOutbox } from './outbox.ts';
import { laiChauContext } from '../test/support/alerts-fixtures.ts';

const ctx = laiChauContext();
const dir = mkdtempSync(join(tmpdir(), 'alerts-outbox-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.parse('2026-03-14T07:00:00Z');
const S = 1000;

/** field → raw value of one `alert` line (tags and fields alike). */
function parseAlertLine(line: string): Record<string, string> {
  const m = /^alert,(\S+) (.+) (\d+)$/.exec(line);
  if (!m) throw new Error(`not an alert line: ${line}`);
  const out: Record<string, string> = { ts: m[3] as string };
  for (const part of (m[1] as string).split(',')) {
    const [k, v] = part.split('=');
    out[k as string] = v as string;
  }
  for (const f of (m[2] as string).match(/\w+=("(?:[^"\\]|\\.)*"|[^,]+)/g) ?? []) {
    const i = f.indexOf('=');
    out[f.slice(0, i)] = f.slice(i + 1);
  }
  return out;
}

describe('alert lines for the dashboards', () => {
  // fire-suspected in the Lai Châu policy: team leaders at once, then escalation after 300 s and 600 s.
  const outbox = new AlertOutbox(openDatabase(join(dir, 'alerts.sqlite')), { policy: ctx.policy, publicUrl: 'https://ews.laichau.vn', validityS: 900, influxSpoolMaxLines: 1000 });
  const event: FireEvent = { eventId: 'fire-san-thang-07-t0', kind: 'fire-suspected', zoneId: 'san-thang', nodeId: 'san-thang-07', ts: new Date(T0).toISOString(), detail: {} };
  let state: EngineState = emptyEngineState();
  const step = (r: { state: EngineState; output: Parameters<AlertOutbox['commit']>[1] }, now: number) => {
    state = r.state;
    outbox.commit(state, r.output, now);
  };
  step(handleEvent(ctx, state, event, T0), T0);
  step(tick(ctx, state, T0 + 301 * S), T0 + 301 * S);
  const alertId = Object.keys(state.alerts)[0] as string;
  step(acknowledge(state, alertId, 'Lò Văn Minh (team-sth-1-m01)', 'api', T0 + 400 * S), T0 + 400 * S);
  const lines = outbox.lines.peek(100).map((l) => parseAlertLine(l.line));

  it('writes a point when the alert opens, at each escalation step, and when it is acknowledged', () => {
    expect(lines.map((l) => [l.state, l.ts])).toStrictEqual([
      ['"active"', String(T0)],
      ['"active"', String(T0 + 301 * S)],
      ['"acknowledged"', String(T0 + 400 * S)],
    ]);
  });

  it('carries the escalation steps sent so far', () => {
    expect(lines.map((l) => l.escalation_step)).toStrictEqual(['0i', '1i', '1i']);
  });

  it('carries who acknowledged and when, once acknowledged', () => {
    expect(lines.map((l) => [l.acked_by, l.acked_at])).toStrictEqual([
      ['""', undefined],
      ['""', undefined],
      ['"Lò Văn Minh (team-sth-1-m01)"', `${T0 + 400 * S}i`],
    ]);
  });
});

describe('delivery reports follow Twilio\'s order (queued → sending → sent → delivered | undelivered | failed)', () => {
  const outbox = new AlertOutbox(openDatabase(join(dir, 'delivery.sqlite')), { policy: ctx.policy, publicUrl: 'https://ews.laichau.vn', validityS: 900 });
  const event: FireEvent = { eventId: 'fire-doan-ket-01-t0', kind: 'fire-confirmed', zoneId: 'doan-ket', nodeId: 'doan-ket-01', ts: new Date(T0).toISOString(), detail: {} };
  const r = handleEvent(ctx, emptyEngineState(), event, T0);
  outbox.commit(r.state, r.output, T0);
  const sendAll = (): string[] => {
    const sids: string[] = [];
    for (let row = outbox.claimNext(T0); row; row = outbox.claimNext(T0)) {
      const sid = `SM${String(row.id).padStart(32, '0')}`;
      outbox.markSent(row.id, sid, T0);
      sids.push(sid);
    }
    return sids;
  };
  const sids = sendAll();
  const stateOf = (sid: string) => outbox.rows().find((row) => row.provider_id === sid)?.state;

  it.each([
    ['delivered', 'undelivered', 'delivered'],
    ['delivered', 'failed', 'delivered'],
    ['undelivered', 'delivered', 'undelivered'],
    ['failed', 'delivered', 'failed'],
    ['delivered', 'sent', 'delivered'],
  ] as const)('%s then a late %s leaves the row %s', (first, late, expected) => {
    const sid = sids.shift();
    assert(sid, 'enough recipients for every case');
    outbox.applyDeliveryStatus(sid, first, null, T0 + S);
    expect(outbox.applyDeliveryStatus(sid, late, '30003', T0 + 2 * S)).toBe(0);
    expect(stateOf(sid)).toBe(expected);
  });

  it('a sent row moves to its final state, and an undelivered one counts as failed once', () => {
    const sid = sids.shift();
    assert(sid);
    const failedBefore = outbox.counts.failed;
    expect(outbox.applyDeliveryStatus(sid, 'undelivered', '30003', T0 + S)).toBe(1);
    expect(outbox.applyDeliveryStatus(sid, 'failed', '30003', T0 + 2 * S)).toBe(0);
    expect(stateOf(sid)).toBe('undelivered');
    expect(outbox.counts.failed - failedBefore).toBe(1);
  });
});

describe('an alerts.sqlite written before drills recorded who ended them', () => {
  it('gets the ended_by column; its old drills read back with endedBy null', () => {
    const file = join(dir, 'old-drills.sqlite');
    const old = openDatabase(file);
    old.exec(`CREATE TABLE drills (
      drill_id TEXT PRIMARY KEY, alert_id TEXT NOT NULL UNIQUE, zone_id TEXT NOT NULL, kind TEXT NOT NULL, depth TEXT NOT NULL,
      dry_run INTEGER NOT NULL, started_at INTEGER NOT NULL, started_by TEXT NOT NULL, ended_at INTEGER,
      escalation_steps INTEGER NOT NULL DEFAULT 0)`);
    old.prepare(`INSERT INTO drills VALUES ('san-thang-20260301-0130-abcd', 'drill-san-thang-20260301-0130-abcd', 'san-thang', 'fire-confirmed', 'alert', 0, ?, 'cli', ?, 1)`).run(T0, T0 + 600 * S);
    old.close();
    const outbox = new AlertOutbox(openDatabase(file), { policy: ctx.policy, publicUrl: 'https://ews.laichau.vn', validityS: 900 });
    expect(outbox.drills()).toStrictEqual([expect.objectContaining({ drill_id: 'san-thang-20260301-0130-abcd', ended_at: T0 + 600 * S, ended_by: null })]);
  });
});
