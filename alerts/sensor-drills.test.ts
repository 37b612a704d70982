// Sensor drills in the alerts service (sensor-drills.ts) with the real AlertService, its SQLite outbox
// and the dry-run transport; the wall clock is injected, so every figure of the report is exact.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { DrillEvent } from '../contracts/payloads.ts';
import { PipelineClock } from '../platform/clock.ts';
import { openDatabase } from '../platform/sqlite.ts';
import { waitFor } from '../test/harness/ports.ts';
import { AlertOutbox } from './outbox.ts';
import { resolveAudiences } from './routing.ts';
import { AlertService } from './core.ts';
import { NOT_DETECTED_GRACE_MS, SensorDrills } from './sensor-drills.ts';
import { laiChauContext } from '../test/support/alerts-fixtures.ts';
import { DryRunTransport } from './transports.ts';
import { drillReportText } from './drill-cli.ts';

const ctx = laiChauContext();
const dir = mkdtempSync(join(tmpdir(), 'alerts-sensor-drill-'));
const T0 = Date.parse('2026-03-02T01:30:00Z');
let wall = T0;
let service: AlertService;
let outbox: AlertOutbox;
let drills: SensorDrills;
const log = pino({ level: 'silent' });

beforeAll(() => {
  const db = openDatabase(join(dir, 'alerts.sqlite'));
  outbox = new AlertOutbox(db, { policy: ctx.policy, publicUrl: 'https://ews.example.vn', validityS: 900 });
  const now = () => wall;
  service = new AlertService({ ctx, outbox, transport: new DryRunTransport(log), log, segmentsPerSecond: 5000, burst: 1000, concurrency: 8, retry: { baseMs: 5, capMs: 40 }, validityS: 900, now, clock: new PipelineClock(false, now) });
  service.start();
  drills = new SensorDrills(db, service, log, now);
});

afterAll(async () => {
  await service.stop();
  rmSync(dir, { recursive: true, force: true });
});

// A plume at 60×: clean air sent at T0, ignition stamped 44 min 15 s before T0 (45 min of fire placed to end at T0 + 45 s).
const plume = { ignitionNode: 'san-thang-07', nodes: ['san-thang-07', 'san-thang-04'], speed: 60, injectAt: T0, ignitionAt: T0 + 45_000 - 2_700_000, endsAt: T0 + 45_000 };
const start = (drillId: string, zoneId = 'san-thang') => drills.start({ drillId, zoneId, audience: null, dryRun: true, startedBy: 'cli', plume });
function drillEvent(drillId: string, kind: 'fire-suspected' | 'fire-confirmed', readingAt: number, n: number, depth: 'sensor' | 'alert' = 'sensor'): DrillEvent {
  return { eventId: `${drillId}-${n}`, kind, zoneId: 'san-thang', nodeId: 'san-thang-07', ts: new Date(readingAt).toISOString(), detail: { firstReadingAt: new Date(T0 + 150).toISOString() }, drill: { id: drillId, depth } };
}
const rowsOf = (drillId: string) => service.listAlerts('all', 'with').find((a) => a.alertId === `drill-${drillId}`)?.deliveries ?? [];

describe('a sensor drill in the alerts service', () => {
  it('texts nobody until rules detects; the first detection opens the DIEN TAP drill alert; the report has exact detection figures', async () => {
    expect(start('san-thang-20260302-0130-aaaa')).toStrictEqual({ ok: true });
    expect(start('san-thang-20260302-0130-aaaa')).toStrictEqual({ ok: false, reason: 'drill san-thang-20260302-0130-aaaa exists already' });
    expect(service.engineState.alerts['drill-san-thang-20260302-0130-aaaa']).toBeUndefined();
    const pending = drills.report('san-thang-20260302-0130-aaaa');
    expect(pending?.drill).toMatchObject({ depth: 'sensor', texted: 0, sensorOutcome: 'running', detectionS: null });
    expect(pending?.sensor).toMatchObject({ outcome: 'running', suspectedAt: null, notDetectedAfter: T0 + 45_000 + NOT_DETECTED_GRACE_MS });

    // An alert drill's own announcement on the same topic family is not a detection.
    expect(drills.onDrillEvent(drillEvent('san-thang-20260302-0130-aaaa', 'fire-suspected', plume.ignitionAt + 600_000, 9, 'alert'))).toBeNull();
    expect(service.engineState.alerts['drill-san-thang-20260302-0130-aaaa']).toBeUndefined();

    wall = T0 + 11_000;
    expect(drills.onDrillEvent(drillEvent('san-thang-20260302-0130-aaaa', 'fire-suspected', plume.ignitionAt + 651_398, 1))).toBeNull();
    const alert = service.engineState.alerts['drill-san-thang-20260302-0130-aaaa'];
    expect(alert?.drill).toMatchObject({ depth: 'sensor', kind: 'fire-suspected', dryRun: true, startedBy: 'cli' });
    const leaders = resolveAudiences(ctx.roster, ['team-leaders'], 'san-thang');
    await waitFor(() => rowsOf('san-thang-20260302-0130-aaaa').filter((d) => d.state === 'sent').length === leaders.length, 5000, 'drill SMS recorded');
    const bodies = outbox.rowsForAlert('drill-san-thang-20260302-0130-aaaa').map((r) => r.body);
    expect(bodies.length).toBe(leaders.length);
    for (const b of bodies) expect(b.startsWith('DIEN TAP')).toBe(true);

    // The confirmation is recorded; the drill alert does not open twice; a redelivery changes nothing.
    wall = T0 + 42_000;
    drills.onDrillEvent(drillEvent('san-thang-20260302-0130-aaaa', 'fire-confirmed', plume.ignitionAt + 2_511_238, 2));
    wall = T0 + 43_000;
    drills.onDrillEvent(drillEvent('san-thang-20260302-0130-aaaa', 'fire-confirmed', plume.ignitionAt + 2_600_000, 2));
    expect(outbox.rowsForAlert('drill-san-thang-20260302-0130-aaaa').length).toBe(leaders.length);

    const r = drills.report('san-thang-20260302-0130-aaaa');
    expect(r?.sensor).toStrictEqual({
      ignitionNode: 'san-thang-07',
      nodes: ['san-thang-07', 'san-thang-04'],
      speed: 60,
      outcome: 'detected',
      plumeInjectedAt: T0,
      ignitionAt: plume.ignitionAt,
      plumeEndsAt: T0 + 45_000,
      notDetectedAfter: T0 + 45_000 + NOT_DETECTED_GRACE_MS,
      firstReadingAt: T0 + 150,
      suspectedAt: T0 + 11_000,
      suspectedReadingAt: plume.ignitionAt + 651_398,
      confirmedAt: T0 + 42_000,
      confirmedReadingAt: plume.ignitionAt + 2_511_238,
      detectionS: 651,
      confirmationS: 2511,
      firstSmsAt: T0 + 11_000,
    });
    expect(r?.drill).toMatchObject({ depth: 'sensor', kind: 'fire-suspected', texted: leaders.length, detectionS: 651, sensorOutcome: 'detected', startedAt: T0 });
    // `fire-ews drill-report` prints the detection line.
    const text = drillReportText(r!);
    expect(text).toContain(`sensor drill (detected): plume injected 2026-03-02T01:30:00.000Z at 2 nodes, ignition near san-thang-07 ${new Date(plume.ignitionAt).toISOString()}, 60×`);
    expect(text).toContain('fire-suspected 2026-03-02T01:30:11.000Z (651 s after ignition), fire-confirmed 2026-03-02T01:30:42.000Z (2511 s), first SMS 2026-03-02T01:30:11.000Z');
  });

  it('nothing detected by the plume\'s end + grace: the drill ends as not detected, texts nobody, and a late detection opens nothing', () => {
    wall = T0 + 100_000;
    expect(start('san-thang-20260302-0131-bbbb')).toStrictEqual({ ok: true });
    wall = Math.max(T0 + 100_000, plume.endsAt) + NOT_DETECTED_GRACE_MS - 1;
    expect(drills.expire()).toStrictEqual([]);
    wall += 1;
    expect(drills.expire()).toStrictEqual(['san-thang-20260302-0131-bbbb']);
    drills.onDrillEvent(drillEvent('san-thang-20260302-0131-bbbb', 'fire-suspected', plume.ignitionAt + 700_000, 1));
    expect(service.engineState.alerts['drill-san-thang-20260302-0131-bbbb']).toBeUndefined();
    const r = drills.report('san-thang-20260302-0131-bbbb');
    expect(r?.sensor).toMatchObject({ outcome: 'not-detected', suspectedAt: null, detectionS: null, firstSmsAt: null });
    expect(r?.drill).toMatchObject({ texted: 0, endedAt: wall, endedBy: 'not detected', sensorOutcome: 'not-detected' });
    // The zone's trend: the detected drill before it, with its detection time.
    expect(r?.previous.map((p) => [p.drillId, p.sensorOutcome, p.detectionS])).toStrictEqual([['san-thang-20260302-0130-aaaa', 'detected', 651]]);
    expect(drills.list('san-thang').map((d) => d.drillId)).toStrictEqual(['san-thang-20260302-0130-aaaa', 'san-thang-20260302-0131-bbbb']);
  });

  it('a drill event nobody started here, or refused input, opens nothing', () => {
    expect(drills.onDrillEvent(drillEvent('san-thang-20260302-0132-zzzz', 'fire-confirmed', T0, 1))).toBeNull();
    expect(service.engineState.alerts['drill-san-thang-20260302-0132-zzzz']).toBeUndefined();
    expect(drills.onDrillEventPayload(Buffer.from('{'))).toMatchObject({ ok: false, code: 'malformed-json' });
    expect(drills.onDrillEvent({ eventId: 'x', kind: 'fire-confirmed', zoneId: 'san-thang', ts: new Date(T0).toISOString(), detail: {} })).toMatch(/^drill: /);
  });

  it('a real fire during a sensor drill goes out and the drill stops for the people it reached', async () => {
    wall = T0 + 400_000;
    expect(start('san-thang-20260302-0137-cccc')).toStrictEqual({ ok: true });
    drills.onDrillEvent(drillEvent('san-thang-20260302-0137-cccc', 'fire-suspected', plume.ignitionAt + 651_398, 1));
    expect(service.engineState.alerts['drill-san-thang-20260302-0137-cccc']?.status).toBe('active');
    service.handleEvent({ eventId: 'real-confirmed-1', kind: 'fire-confirmed', zoneId: 'san-thang', nodeId: 'san-thang-03', ts: new Date(wall).toISOString(), detail: {} });
    const realTo = resolveAudiences(ctx.roster, ['team-members', 'commune-board', 'city-board'], 'san-thang').map((r) => r.id);
    expect(service.engineState.alerts['real-confirmed-1']?.notified.length).toBe(realTo.length);
    expect([...(service.engineState.alerts['drill-san-thang-20260302-0137-cccc']?.drill?.yieldedTo ?? [])].sort()).toStrictEqual([...realTo].sort());
    // Every person the real alert reached has a real SMS in the outbox, at a higher priority than any drill row.
    const realRows = outbox.rowsForAlert('real-confirmed-1');
    expect(new Set(realRows.map((r) => r.recipient_id)).size).toBe(realTo.length);
    const drillPriorities = outbox.rowsForAlert('drill-san-thang-20260302-0137-cccc').map((r) => r.priority);
    expect(Math.max(...realRows.map((r) => r.priority))).toBeLessThan(Math.min(...drillPriorities));
  });
});
