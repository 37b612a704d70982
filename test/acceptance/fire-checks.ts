// What the San Thàng fire demo must show, whichever way it is run (start --speed 60, simulate into a
// running start, replay of a recording): the suspicion to the San Thàng team leaders and the
// confirmation to the 150 San Thàng recipients within stated bounds after the smoke reaches the
// first / second node, no clock-skew fault, no future-timestamp dead letter, no all-clear before the
// fire ends, one incident.
import type { ExpectStatic } from 'vitest';
import type { Reading, RunClock } from '../../contracts/payloads.ts';
import { loadSiteFile } from '../../platform/site-file.ts';
import { scenarioNodes, simulate } from '../../simulator/engine.ts';
import { loadScenario, resolveEventTime } from '../../simulator/scenario.ts';
import { deadLetters, ruleEvents, smokeArrivals, smsRows, wallOf } from './harness.ts';

/** Bounds stated in the README: wall seconds from the smoke reaching a node to the SMS leaving the outbox. */
export const SUSPECTED_SMS_WITHIN_S = 20;
export const CONFIRMED_SMS_WITHIN_S = 20;

export const SITE = loadSiteFile(new URL('../../config/lai-chau.site.yaml', import.meta.url).pathname);
const teams = SITE.teams.filter((t) => t.zones.includes('san-thang'));
export const SAN_THANG = {
  leaders: teams.map((t) => t.leader).sort(),
  confirmedRecipients: [
    ...new Set([...teams.flatMap((t) => t.members.map((m) => m.id)), ...SITE.boards.communes.filter((b) => b.zone === 'san-thang').flatMap((b) => b.members.map((m) => m.id)), ...SITE.boards.city.members.map((m) => m.id)]),
  ].sort(),
};

/** The fire-san-thang scenario at its own date: its readings, when its smoke reaches each node, when the fire ends. */
export function fireScenarioFacts() {
  const scenario = loadScenario('fire-san-thang');
  const run = simulate(scenario, scenarioNodes(scenario, SITE));
  const readings: Reading[] = [...run.messages].flatMap((m) => (m.kind === 'reading' ? [m.reading] : []));
  const fire = scenario.events.find((e) => e.type === 'fire');
  if (!fire || fire.type !== 'fire') throw new Error('fire-san-thang has no fire');
  return {
    scenario,
    readings,
    firstTsMs: Math.min(...readings.map((r) => Date.parse(r.ts))),
    /** Offsets from the scenario start. */
    smoke: smokeArrivals(readings, scenario.start),
    fireEndOffsetMs: resolveEventTime(scenario, fire.at) + fire.duration - scenario.start,
  };
}

export interface FireNumbers {
  firstNode: string;
  secondNode: string;
  /** Wall seconds from the smoke reaching the first node to the first suspected SMS sent (and to its event). */
  suspectedSmsAfterS: number;
  /** Wall seconds from the smoke reaching the second node to the first confirmed SMS sent (negative: before). */
  confirmedSmsAfterSecondS: number;
  confirmedSmsAfterFirstS: number;
  sms: number;
}

/**
 * Checks the stores of a fire demo. `baseSimMs` is where the scenario's start (offset 0) lies on the
 * run's clock (the run's anchor for a simulation; for a replay, its shift applied to the scenario start).
 */
export function checkFireDemo(expect: ExpectStatic, dir: string, run: RunClock, baseSimMs: number, facts: ReturnType<typeof fireScenarioFacts>): FireNumbers {
  const events = ruleEvents(dir);
  const fire = events.filter((e) => e.kind.startsWith('fire-'));
  const incidents = new Set(fire.map((e) => e.detail.incidentId));
  expect([...incidents], 'one fire, one incident').toHaveLength(1);
  expect(fire.map((e) => e.kind).slice(0, 2)).toStrictEqual(['fire-suspected', 'fire-confirmed']);
  const fireEndSim = baseSimMs + facts.fireEndOffsetMs;
  expect(fire.filter((e) => e.kind === 'fire-cleared' && Date.parse(e.ts) < fireEndSim), 'no all-clear before the fire ends').toStrictEqual([]);
  expect(fire.filter((e) => e.kind === 'fire-signal-lost'), 'no lost signal: the nodes downwind keep reporting the smoke').toStrictEqual([]);
  const faults = events.filter((e) => e.kind === 'node-fault');
  expect(faults.filter((e) => e.detail.fault === 'clock-skew'), 'no clock-skew fault').toStrictEqual([]);
  expect(faults, 'no node fault at all').toStrictEqual([]);
  // Only the node the fire front burns goes offline.
  expect([...new Set(events.filter((e) => e.kind === 'node-offline').map((e) => e.nodeId))]).toStrictEqual(['san-thang-07']);
  expect(deadLetters(dir), 'no dead letter, in particular no future-timestamp one').toStrictEqual({});

  const sms = smsRows(dir);
  const suspectedAlert = fire.find((e) => e.kind === 'fire-suspected')!.eventId;
  const confirmedAlert = fire.find((e) => e.kind === 'fire-confirmed')!.eventId;
  const first = (alert: string) => sms.filter((r) => r.alert_id === alert && r.step === 'initial');
  expect(first(suspectedAlert).map((r) => r.recipient_id).sort(), 'the suspicion: the San Thàng team leaders').toStrictEqual(SAN_THANG.leaders);
  expect(first(confirmedAlert).map((r) => r.recipient_id).sort(), 'the confirmation: the 150 San Thàng recipients').toStrictEqual(SAN_THANG.confirmedRecipients);
  expect(SAN_THANG.confirmedRecipients).toHaveLength(150);
  // The place in words (san-thang-07: 0,7 km south of the centre), the time (with its date when the
  // observation was on another day), and — dry run, written as the modem would send it — a reply with the code.
  expect(first(suspectedAlert)[0]!.body).toMatch(/^PCCR LAI CHAU: NGHI CHAY tai San Thang, 0,7 km huong Nam, \d\d:\d\d( \d\d\/\d\d)?\. Kiem tra ngay\. Tra loi \d{4} de xac nhan$/);
  expect(first(confirmedAlert)[0]!.body).toMatch(/^PCCR LAI CHAU: CHAY RUNG tai San Thang, \d,\d km huong [A-Za-z ]+, \d\d:\d\d( \d\d\/\d\d)?\. To BVR xuat quan ngay\. Tra loi \d{4} de xac nhan$/);
  // The dry-run transport "sends" at the configured 10 segments/s: what was queued 30 s ago is out.
  const readAt = Date.now();
  expect(sms.filter((r) => r.state !== 'sent' && r.created_at < readAt - 30_000), 'every queued SMS went out (dry run)').toStrictEqual([]);
  const fireEndWall = wallOf(run, fireEndSim);
  expect(sms.filter((r) => (r.step === 'clear' || /HET CHAY/.test(r.body)) && r.created_at < fireEndWall), 'no "fire is out" SMS before the fire ends').toStrictEqual([]);

  const [firstNode, secondNode] = [...facts.smoke.keys()] as [string, string];
  const smokeWall = (node: string) => wallOf(run, baseSimMs + facts.smoke.get(node)!);
  const sentAt = (alert: string) => Math.min(...first(alert).map((r) => r.updated_at));
  const numbers: FireNumbers = {
    firstNode,
    secondNode,
    suspectedSmsAfterS: (sentAt(suspectedAlert) - smokeWall(firstNode)) / 1000,
    confirmedSmsAfterSecondS: (sentAt(confirmedAlert) - smokeWall(secondNode)) / 1000,
    confirmedSmsAfterFirstS: (sentAt(confirmedAlert) - smokeWall(firstNode)) / 1000,
    sms: sms.length,
  };
  expect(numbers.suspectedSmsAfterS, `suspected SMS within ${SUSPECTED_SMS_WITHIN_S} s of the smoke reaching ${firstNode}`).toBeLessThanOrEqual(SUSPECTED_SMS_WITHIN_S);
  expect(numbers.suspectedSmsAfterS, 'not before the smoke').toBeGreaterThan(0);
  expect(numbers.confirmedSmsAfterSecondS, `confirmed SMS within ${CONFIRMED_SMS_WITHIN_S} s of the smoke reaching ${secondNode}`).toBeLessThanOrEqual(CONFIRMED_SMS_WITHIN_S);
  return numbers;
}
