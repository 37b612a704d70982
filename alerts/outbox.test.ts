// The `alert` lines the outbox spools for the dashboards (platform/pipeline-stats.ts alertLine):
// one per state change and per escalation step, carrying the escalation step and the ack time.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FireEvent } from '../contracts/payloads.ts';
import { openDatabase } from '../platform/sqlite.ts';
import { acknowledge, emptyEngineState, handleEvent, tick, type EngineState } from './engine.ts';
import { AlertOutbox } from './outbox.ts';
import { laiChauContext } from './test-fixtures.ts';

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
