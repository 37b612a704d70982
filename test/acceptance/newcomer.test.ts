// A newcomer's first minutes: a fresh copy of the repository, `npm ci && npm start` on a terminal.
// Beside it (≈ 3 min in all): a fire whose sensors go silent must be told as a lost signal — "mất
// tín hiệu cảm biến …, kiểm tra tại chỗ" — never as "the fire is out".
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
import Database from 'better-sqlite3';
import { announcedRun, deadLetters, readmeCommand, ROOT, ruleEvents, sandbox, Shell, smsRows, storedReadings, wallOf, type Sandbox } from './harness.ts';
import { SAN_THANG, SITE } from './fire-checks.ts';

const FIXTURES = join(ROOT, 'test/acceptance/fixtures');
const cleanups: (() => void)[] = [];
const shells: Shell[] = [];
afterAll(() => {
  for (const s of shells) s.kill();
  for (const c of cleanups) c();
});

/** The repository as a fresh clone has it: the files git tracks (and new ones not ignored), nothing installed, no data. */
function freshCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ews-accept-clone-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const f of files) {
    let mode: number;
    try {
      mode = statSync(join(ROOT, f)).mode;
    } catch {
      continue; // deleted in the working tree
    }
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    copyFileSync(join(ROOT, f), join(dir, f));
    chmodSync(join(dir, f), mode);
  }
  return dir;
}

describe.concurrent('a newcomer', () => {
  it('a fresh copy: `npm ci && npm start` on a terminal shows data flowing and where to look; Ctrl-C stops it cleanly', async ({ expect }) => {
    const dir = freshCopy();
    const box = await sandbox('newcomer-ports');
    cleanups.push(box.remove);
    // npm's cache serves the packages (CI has just run npm ci itself); nothing else is set up.
    const first = new Shell(readmeCommand('npm ci && npm start'), { ...box.env, npm_config_prefer_offline: 'true' }, { cwd: dir, tty: true });
    shells.push(first);
    await first.waitFor('fire-ews — Thành phố Lai Châu: broker, ingest, rules, alerts and the situation board in one process (Ctrl-C to stop)', 10 * 60_000); // npm ci: about a minute alone, several on a busy machine
    await first.waitFor(/simulation normal-day in real time: 24 h from now/, 60_000);
    // A normal day in real time: every node reports once a minute.
    await first.waitFor(/readings (3[3-9]|[4-9]\d|\d{3,}) stored · dead letters 0 · events 0 · SMS 0 queued, 0 sent/, 150_000);
    expect(storedReadings(join(dir, 'data'))).toBeGreaterThanOrEqual(33);
    expect(first.screen).toMatch(/Where to look:\n {4}SMS outbox {2}sqlite3 data\/alerts\.sqlite/);
    expect(first.screen).not.toMatch(/EVENT|SMS \(dry run\)/);
    expect(first.screen).not.toMatch(/^\{"level"/m);
    // The situation board's read-only link, printed in the summary, opens the page.
    const kiosk = /board {6}situation board (http:\/\/\S+\/kiosk\/\S+)/.exec(first.screen)?.[1];
    expect(kiosk, 'the kiosk link in the summary').toBeDefined();
    const open = await fetch(kiosk!, { redirect: 'manual' });
    expect(open.status).toBe(302);
    const cookie = (open.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const page = await fetch(new URL('/', kiosk!), { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script type="module" src="/assets/board.js');
    const code = await first.ctrlC();
    expect(first.screen).toMatch(/stopped cleanly/);
    expect(code).toBe(130);
  });

  it('the nodes near a fire go silent mid-fire: the lost-signal wording to everyone told, the alert stays open, never "HET CHAY"', async ({ expect }) => {
    const box: Sandbox = await sandbox('sensors-silent');
    cleanups.push(box.remove);
    const demo = new Shell(`npm start -- --scenario ${join(FIXTURES, 'fire-sensors-silent.yaml')} --speed 60`, { ...box.env, RULES_CONFIG_FILE: join(FIXTURES, 'rules-stale-20min.yaml') }, { cwd: box.dir });
    shells.push(demo);
    await demo.waitFor('"msg":"background simulation started"', 120_000);
    const run = await announcedRun(box);
    await demo.waitFor('"msg":"background simulation ended; the pipeline keeps running"', 5 * 60_000);
    const events = ruleEvents(box.dataDir);
    const fire = events.filter((e) => e.kind.startsWith('fire-'));
    expect(fire.map((e) => e.kind)).toStrictEqual(['fire-suspected', 'fire-confirmed', 'fire-signal-lost']);
    expect(new Set(fire.map((e) => e.detail.incidentId)).size).toBe(1);
    const lostEvent = fire[2]!;
    expect(lostEvent.detail).toMatchObject({ confirmed: true, originNode: 'san-thang-07', unhealthyNodes: 'san-thang-07' });
    // Rules declared it 20 minutes (staleAfterS) after the last anomaly, at the power cut (95 min into the run).
    expect(Date.parse(lostEvent.ts) - Date.parse(String(lostEvent.detail.lastAnomalyAt))).toBe(1_200_000);
    expect(deadLetters(box.dataDir)).toStrictEqual({});

    const sms = smsRows(box.dataDir);
    const confirmed = fire[1]!.eventId;
    const lost = sms.filter((r) => r.step === 'lost1');
    const toldBefore = new Set(sms.filter((r) => r.alert_id === confirmed && r.step !== 'lost1' && r.created_at <= Math.min(...lost.map((l) => l.created_at))).map((r) => r.recipient_id));
    expect(lost.length, 'the lost signal goes to the 150 San Thàng recipients and the rangers the alert was escalated to').toBe(SAN_THANG.confirmedRecipients.length + SITE.rangers.length);
    expect(new Set(lost.map((r) => r.recipient_id)), 'everyone told about the fire, nobody else').toStrictEqual(toldBefore);
    expect(lost.every((r) => r.alert_id === confirmed)).toBe(true);
    expect(lost[0]!.body).toMatch(/^PCCR LAI CHAU: MAT TIN HIEU cam bien gan dam chay tai San Thang, 0,7 km huong Nam, tu \d\d:\d\d( \d\d\/\d\d)?\. Chua biet lua da tat, kiem tra tai cho\.$/);
    expect(sms.filter((r) => r.step === 'clear' || /HET CHAY/.test(r.body)), 'never "the fire is out"').toStrictEqual([]);
    // The alert stays open: its repeats go on after the lost signal (a real clear would have stopped them).
    const lostAt = Math.min(...lost.map((r) => r.created_at));
    expect(sms.filter((r) => r.alert_id === confirmed && r.step.startsWith('rep') && r.created_at > lostAt).length).toBeGreaterThan(0);
    const db = new Database(join(box.dataDir, 'alerts.sqlite'), { readonly: true });
    const state = JSON.parse((db.prepare('SELECT json FROM engine_state').get() as { json: string }).json) as { alerts: Record<string, { status: string; signalLost?: number }> };
    db.close();
    expect(state.alerts[confirmed]).toMatchObject({ status: 'active', signalLost: 1 });
    console.log(`[sensors silent] lost-signal SMS ×${lost.length} ${((lostAt - wallOf(run, Date.parse(lostEvent.ts))) / 1000).toFixed(1)} s after rules declared it; ${sms.length} SMS in all`);
    expect(await demo.ctrlC()).toBe(130);
  });
});
