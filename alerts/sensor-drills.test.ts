// Sensor drills in the alerts service (sensor-drills.ts) with the real AlertService, its SQLite outbox
// and the dry-run transport; the wall clock is injected, so every figure of the report is exact.
import { afterAll, assert, beforeAll, describe, expect, it } from 'vitest';
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
import { confirmDrill, emptyEngineState, startDrill, tick } from './engine.ts';
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

    // The confirmation is recorded and widens the one drill alert (see the next test); a redelivery changes nothing.
    wall = T0 + 42_000;
    drills.onDrillEvent(drillEvent('san-thang-20260302-0130-aaaa', 'fire-confirmed', plume.ignitionAt + 2_511_238, 2));
    const confirmedTo = resolveAudiences(ctx.roster, ['team-members', 'commune-board', 'city-board'], 'san-thang');
    expect(outbox.rowsForAlert('drill-san-thang-20260302-0130-aaaa').length).toBe(leaders.length + confirmedTo.length);
    wall = T0 + 43_000;
    drills.onDrillEvent(drillEvent('san-thang-20260302-0130-aaaa', 'fire-confirmed', plume.ignitionAt + 2_600_000, 2));
    expect(outbox.rowsForAlert('drill-san-thang-20260302-0130-aaaa').length).toBe(leaders.length + confirmedTo.length);
    const texted = new Set([...leaders, ...confirmedTo].map((p) => p.id)).size;

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
    expect(r?.drill).toMatchObject({ depth: 'sensor', kind: 'fire-suspected', texted, detectionS: 651, sensorOutcome: 'detected', startedAt: T0 });
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

  it('a confirmation widens the drill alert as a real fire-confirmed widens a real suspicion: the confirmed route, DIEN TAP, a new code, unacknowledged again', async () => {
    const id = 'san-thang-20260302-0135-dddd';
    wall = T0 + 200_000;
    expect(start(id)).toStrictEqual({ ok: true });
    drills.onDrillEvent(drillEvent(id, 'fire-suspected', plume.ignitionAt + 651_398, 1));
    const leaders = resolveAudiences(ctx.roster, ['team-leaders'], 'san-thang');
    const suspicion = service.engineState.alerts[`drill-${id}`];
    const suspicionCode = suspicion?.ackCode;
    expect(suspicion).toMatchObject({ kind: 'fire-suspected', status: 'active', stepsDone: 0, openedAt: T0 + 200_000 });
    expect(outbox.rowsForAlert(`drill-${id}`).map((r) => [r.recipient_id, r.step])).toStrictEqual(leaders.map((p) => [p.id, 'initial']));
    // A leader acknowledges the suspicion by a modem reply (60 s after the SMS).
    const leader = leaders[0]!;
    wall = T0 + 260_000;
    expect(service.acknowledgeByModemReply(leader.phone, `ok ${suspicionCode}`)).toMatchObject({ ok: true, already: false });
    expect(service.engineState.alerts[`drill-${id}`]?.status).toBe('acknowledged');

    // Rules confirms the fire: the same people a real fire-confirmed reaches, each with a DIEN TAP CHAY RUNG message.
    wall = T0 + 300_000;
    drills.onDrillEvent(drillEvent(id, 'fire-confirmed', plume.ignitionAt + 2_511_238, 2));
    const confirmedTo = resolveAudiences(ctx.roster, ['team-members', 'commune-board', 'city-board'], 'san-thang');
    expect(confirmedTo.length).toBeGreaterThan(leaders.length);
    const rows = outbox.rowsForAlert(`drill-${id}`);
    expect(rows.filter((r) => r.step === 'confirmed').map((r) => r.recipient_id).sort()).toStrictEqual(confirmedTo.map((p) => p.id).sort());
    expect(rows.filter((r) => r.step === 'initial').map((r) => r.recipient_id)).toStrictEqual(leaders.map((p) => p.id));
    const confirmed = service.engineState.alerts[`drill-${id}`];
    assert(confirmed?.ackCode);
    expect(confirmed.ackCode).not.toBe(suspicionCode);
    for (const r of rows.filter((x) => x.step === 'confirmed')) expect(r.body).toMatch(new RegExp(`^DIEN TAP: CHAY RUNG tai San Thang, .*Tra loi ${confirmed.ackCode} de xac nhan$`));
    // The confirmed route's lifecycle from now: unacknowledged, repeats every 10 min, escalation counted from now.
    expect(confirmed).toMatchObject({ kind: 'fire-confirmed', status: 'active', ack: null, stepsDone: 0, repeatsDone: 0, openedAt: T0 + 300_000, nextRepeatAt: T0 + 300_000 + 600_000 });
    expect(confirmed.notified.slice().sort()).toStrictEqual([...new Set([...leaders, ...confirmedTo].map((p) => p.id))].sort());
    expect(confirmed.drill).toMatchObject({ depth: 'sensor', kind: 'fire-suspected', yieldedTo: [] });
    // The suspicion's code no longer acknowledges (as a superseded real alert's); the confirmation's does.
    wall = T0 + 330_000;
    expect(service.acknowledgeByModemReply(leader.phone, `ok ${suspicionCode}`)).toMatchObject({ ok: false });
    const member = confirmedTo.find((p) => !p.leader)!;
    expect(service.acknowledgeByModemReply(member.phone, `da nhan ${confirmed.ackCode}`)).toMatchObject({ ok: true, already: false });
    // A second confirmation (another incident) changes nothing.
    expect(service.confirmDrill(id, new Date(wall).toISOString())).toBe(false);

    // The report: both stages in one drill; the leader's first acknowledgement counts from his first SMS.
    await waitFor(() => rowsOf(id).every((d) => d.state === 'sent' || d.state === 'acknowledged'), 5000, 'drill SMS recorded');
    const r = drills.report(id);
    const members = r?.units.flatMap((u) => u.members) ?? [];
    expect(members.find((m) => m.memberId === leader.id)).toMatchObject({ textedAt: T0 + 200_000, ackedAt: T0 + 260_000, ackChannel: 'modem', responseS: 60, steps: ['initial', 'confirmed'] });
    expect(members.find((m) => m.memberId === member.id)).toMatchObject({ textedAt: T0 + 300_000, ackedAt: T0 + 330_000, ackChannel: 'modem', responseS: 30, steps: ['confirmed'] });
    expect(r?.drill).toMatchObject({ texted: new Set([...leaders, ...confirmedTo].map((p) => p.id)).size, acknowledged: 2, medianResponseS: 45, worstResponseS: 60 });
    expect(r?.sensor).toMatchObject({ suspectedAt: T0 + 200_000, confirmedAt: T0 + 300_000, detectionS: 651, confirmationS: 2511 });
  });

  it('an acknowledgement leaves a queued confirmation message to go out (a first message), and cancels queued repeats', () => {
    const db = openDatabase(join(dir, 'confirm-cancel.sqlite'));
    const box = new AlertOutbox(db, { policy: ctx.policy, publicUrl: 'https://ews.example.vn', validityS: 900 });
    const [a, b] = resolveAudiences(ctx.roster, ['team-leaders'], 'san-thang');
    assert(a && b);
    const fields = { brand: 'PCCR LAI CHAU', repeat: '', zone: 'San Thàng', place: '1,8 km hướng Bắc', time: '14:05', level: '', levelName: '', previousLevel: '', code: '1234', count: '', nodes: '', fault: '' };
    const note = (step: string) => ({ alertId: 'drill-x', step, messageKind: 'fire-confirmed' as const, priority: 20, recipients: [a, b], fields, ackable: true, drill: { id: 'x', dryRun: true } });
    box.commit(service.engineState, { notifications: [note('confirmed'), note('rep1')], lifecycle: [], stopped: [], ignored: [] }, T0);
    box.commit(service.engineState, { notifications: [], lifecycle: [], stopped: ['drill-x'], ignored: [] }, T0 + 1);
    expect(box.rowsForAlert('drill-x').map((r) => [r.step, r.state])).toStrictEqual([['confirmed', 'queued'], ['confirmed', 'queued'], ['rep1', 'cancelled'], ['rep1', 'cancelled']]);
    db.close();
  });

  it('the confirmed route\'s repeat reaches the leaders though they had the suspicion\'s repeat (one outbox row per alert, person and step)', () => {
    const db = openDatabase(join(dir, 'confirm-steps.sqlite'));
    const box = new AlertOutbox(db, { policy: ctx.policy, publicUrl: 'https://ews.example.vn', validityS: 900 });
    const S = 1000;
    const opened = startDrill(ctx, emptyEngineState(), { drillId: 'st-steps', kind: 'fire-suspected', zoneId: 'san-thang', audience: null, dryRun: true, startedBy: 'cli', depth: 'sensor' }, T0, new Date(T0).toISOString());
    box.commit(opened.state, opened.output, T0);
    const suspicionRepeat = tick(ctx, opened.state, T0 + 600 * S); // +10 min: the suspicion's rep1 to the leaders
    box.commit(suspicionRepeat.state, suspicionRepeat.output, T0 + 600 * S);
    const confirmed = confirmDrill(ctx, suspicionRepeat.state, 'st-steps', T0 + 660 * S, new Date(T0 + 650 * S).toISOString());
    box.commit(confirmed.state, confirmed.output, T0 + 660 * S);
    const confirmedRepeat = tick(ctx, confirmed.state, T0 + 1260 * S); // +10 min after the confirmation
    box.commit(confirmedRepeat.state, confirmedRepeat.output, T0 + 1260 * S);
    const leaders = resolveAudiences(ctx.roster, ['team-leaders'], 'san-thang');
    for (const p of leaders) {
      const steps = box.rowsForAlert('drill-st-steps').filter((r) => r.recipient_id === p.id).map((r) => r.step);
      expect(steps, p.id).toStrictEqual(['initial', 'rep1', 'confirmed', 'confirmed-rep1']);
    }
    const repeatBody = box.rowsForAlert('drill-st-steps').find((r) => r.step === 'confirmed-rep1')?.body ?? '';
    expect(repeatBody).toMatch(/^DIEN TAP: NHAC LAI CHAY RUNG tai San Thang/);
    db.close();
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
    // The drill's confirmation afterwards reaches nobody the real alert reached (here: everyone on the confirmed route).
    wall = T0 + 460_000;
    drills.onDrillEvent(drillEvent('san-thang-20260302-0137-cccc', 'fire-confirmed', plume.ignitionAt + 2_511_238, 2));
    expect(service.engineState.alerts['drill-san-thang-20260302-0137-cccc']?.kind).toBe('fire-confirmed');
    expect(outbox.rowsForAlert('drill-san-thang-20260302-0137-cccc').filter((r) => r.step === 'confirmed')).toStrictEqual([]);
    expect(service.engineState.alerts['real-confirmed-1']?.status).toBe('active');
  });
});
