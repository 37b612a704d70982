// The sensor drill as README "Drills" shows it, run as written into a running pipeline:
// `npm start -- --no-simulation`, then `npx fire-ews drill --zone san-thang --depth sensor --speed 60
// --dry-run` with the alerts key set, then the report the drill command names (≈ 1.5 min).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readmeCommand, ROOT, ruleEvents, sandbox, Shell, smsRows, type Sandbox } from './harness.ts';

const DRILL = 'npx fire-ews drill --zone san-thang --depth sensor --speed 60 --dry-run';
let box: Sandbox | undefined;
const shells: Shell[] = [];
afterAll(() => {
  for (const s of shells) s.kill();
  box?.remove();
});

describe('a sensor drill into `npm start -- --no-simulation`', () => {
  it(`\`${DRILL}\`: the plume is detected, the San Thàng leaders get DIEN TAP messages, the confirmation widens the drill, the report gives the detection times, no real event`, { timeout: 300_000 }, async () => {
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8'), 'README "Drills" still shows the command').toContain(`\n${DRILL}    #`);
    box = await sandbox('sensor-drill');
    // What README "Drills" asks for: the alerts key (and, with the sandbox's own port, where the alerts API is).
    const env = { ...box.env, ALERTS_API_KEY: 'acceptance-sensor-drill-key-0123', ALERTS_URL: `http://127.0.0.1:${box.env.ALERTS_HTTP_PORT}` };
    const start = new Shell(readmeCommand('npm start -- --no-simulation'), env, { cwd: box.dir });
    shells.push(start);
    await start.waitFor('"msg":"pipeline running; Ctrl-C to stop"', 120_000);

    const drill = new Shell(DRILL, env, { cwd: box.dir });
    shells.push(drill);
    expect(await drill.within(180_000)).toBe(0);
    const said = drill.out + drill.err;
    expect(said).toMatch(/^drill san-thang-\d{8}-\d{4}-[a-z0-9]{4} started \(sensor\): plume at 8 nodes of san-thang, fire 120 m upwind of san-thang-01 .*60× real time.*nobody is texted until rules detects it \(dry run\)$/m);
    const played = /^plume played: 520 drill readings; report: fire-ews drill-report (\S+)$/m.exec(said);
    expect(played, said).not.toBeNull();
    const drillId = played?.[1] ?? '';

    // The drill alert: DIEN TAP to the leaders of the teams covering San Thàng, and nothing real.
    const sms = smsRows(box.dataDir).filter((r) => r.alert_id === `drill-${drillId}`);
    expect(sms.length).toBeGreaterThan(0);
    for (const r of sms) expect(r.body).toMatch(/^DIEN TAP/);
    expect(ruleEvents(box.dataDir), 'a drill is never a real event').toStrictEqual([]);

    const report = new Shell(`npx fire-ews drill-report ${drillId}`, env, { cwd: box.dir });
    shells.push(report);
    expect(await report.within(60_000)).toBe(0);
    expect(report.out).toMatch(/^sensor drill \(detected\): plume injected .* at 8 nodes, ignition near san-thang-01 /m);
    const detected = /fire-suspected \S+ \((\d+) s after ignition\), fire-confirmed \S+ \((\d+) s\)/.exec(report.out);
    expect(detected, report.out).not.toBeNull();
    const [suspectedS, confirmedS] = [Number(detected?.[1]), Number(detected?.[2])];
    // Detection within 5–20 minutes of fire, confirmation after the 30-minute persistence.
    expect(suspectedS).toBeGreaterThan(300);
    expect(suspectedS).toBeLessThan(1200);
    expect(confirmedS).toBeGreaterThanOrEqual(suspectedS + 1800 - 120);
    // The confirmation (in the report, so committed) widened the drill to the fire-confirmed route: more people, DIEN TAP CHAY RUNG.
    const widened = smsRows(box.dataDir).filter((r) => r.alert_id === `drill-${drillId}`);
    const [first, confirmation] = [widened.filter((r) => r.step === 'initial'), widened.filter((r) => r.step === 'confirmed')];
    expect(first.length).toBeGreaterThan(0);
    expect(confirmation.length).toBeGreaterThan(first.length);
    for (const r of confirmation) expect(r.body).toMatch(/^DIEN TAP: CHAY RUNG tai San Thang/);
    console.log(`[sensor drill, README command] suspected ${suspectedS} s, confirmed ${confirmedS} s after ignition; ${first.length} DIEN TAP SMS at the suspicion, ${confirmation.length} at the confirmation`);

    expect(await start.ctrlC()).toBe(130);
  });
});
