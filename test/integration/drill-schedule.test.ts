// Scheduled drills in the real `fire-ews alerts run` process, against an in-process broker (the
// site's ACL). The process runs under libfaketime (Debian's faketime package, as the rules cron test)
// so its wall clock reads Monday 4 January 2027, 08:29:30 in Lai Châu, and TZ=UTC, so a schedule that
// ignored the site's timezone would fire seven hours off. The site file schedules three drills on
// node-cron expressions: San Thàng and Quyết Thắng on the first Monday of the dry-season months at
// 08:30, Nậm Loỏng at 08:31 every day. A real suspected fire in Quyết Thắng is open at 08:30.
// Proves: the San Thàng drill starts at 08:30:00 local (dry run, every SMS DIEN TAP), the Quyết
// Thắng one is skipped and recorded with the real alert as the reason; after a SIGKILL the restarted
// service (08:31:20) starts the Nậm Loỏng slot it missed and neither starts San Thàng again nor
// revisits the skipped slot.
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parseDocument } from 'yaml';
import type { RunningBroker } from '../../broker/server.ts';
import { scheduledDrillId } from '../../alerts/drill-schedule.ts';
import { apiAlertsResponseSchema, drillListResponseSchema, drillReportSchema } from '../../contracts/alerts-api.ts';
import { scheduledDrillSchema } from '../../contracts/site.ts';
import { topics } from '../../contracts/topics.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { connectAs, serviceEnv, ServiceProcess, SITE_FILE, startSiteBroker, tempDataDir, type LogLine } from '../harness/services.ts';
import { skipTitle } from '../harness/skip.ts';

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
function skipReason(): string | false {
  if (existsSync(LIBFAKETIME)) return false;
  if (process.env.CI || process.env.EWS_REQUIRE_INTEGRATION) throw new Error(`${LIBFAKETIME} not found: apt-get install -y faketime`);
  return 'libfaketime not installed (apt-get install -y faketime)';
}

const skip = skipReason();
const API_KEY = 'drill-schedule-test-api-key-0123';
const local = (hhmmss: string) => Date.parse(`2027-01-04T${hhmmss}+07:00`);
const FIRST_MONDAY = '30 8 1-7 1-4,11,12 1';
const SCHEDULE = [
  { zone: 'san-thang', kind: 'fire-suspected', cron: FIRST_MONDAY, dryRun: true },
  { zone: 'quyet-thang', kind: 'fire-suspected', cron: FIRST_MONDAY, dryRun: true },
  { zone: 'nam-loong', kind: 'fire-suspected', cron: '31 8 * * *', dryRun: true },
].map((d) => scheduledDrillSchema.parse(d));
const [SAN_THANG, QUYET_THANG, NAM_LOONG] = SCHEDULE.map((d, i) => scheduledDrillId(d, local(i === 2 ? '08:31:00' : '08:30:00')));

let tmp: ReturnType<typeof tempDataDir>;
let broker: RunningBroker;
let url: string;
let port: number;

function alertsAt(fakeStartMs: number): ServiceProcess {
  return new ServiceProcess(
    'alerts run',
    serviceEnv(join(tmp.dir, 'alerts'), {
      MQTT_URL: url,
      EWS_SITE_FILE: join(tmp.dir, 'site.yaml'),
      ALERTS_HTTP_PORT: String(port),
      ALERTS_PUBLIC_URL: `http://127.0.0.1:${port}`,
      ALERTS_API_KEY: API_KEY,
      TZ: 'UTC',
      LD_PRELOAD: LIBFAKETIME,
      // '@' = start at this moment and run forward at normal speed.
      FAKETIME: `@${new Date(fakeStartMs).toISOString().slice(0, 19).replace('T', ' ')}`,
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    }),
  );
}

const api = async (path: string) => (await fetch(`http://127.0.0.1:${port}${path}`, { headers: { 'x-api-key': API_KEY } })).json() as Promise<unknown>;
const logTime = (l: LogLine) => Date.parse(String(l.time));

describe.skipIf(skip)(skipTitle('scheduled drills in the alerts process under libfaketime', skip), () => {
  beforeAll(async () => {
    tmp = tempDataDir('drill-schedule');
    const doc = parseDocument(readFileSync(SITE_FILE, 'utf8'));
    doc.set('drills', doc.createNode(SCHEDULE));
    writeFileSync(join(tmp.dir, 'site.yaml'), doc.toString({ lineWidth: 0 }));
    ({ broker, url } = await startSiteBroker(join(tmp.dir, 'broker')));
    port = await freePort();
  });

  afterAll(async () => {
    await broker?.close();
    tmp?.remove();
  });

  it('starts a slot at its minute in the site timezone, skips it while a real alert of the zone is open, and never twice across a SIGKILL', { timeout: 150_000 }, async () => {
    const rules = await connectAs(url, 'svc-rules');
    let proc = alertsAt(local('08:29:30')).start();
    onTestFinished(async () => {
      await proc.stop('SIGKILL');
      await rules.endAsync();
    });
    const realStart = Date.now();
    await proc.waitForLog('drill schedule', 60_000);
    await waitFor(() => proc.logs.some((l) => l.msg === 'alerts subscribed'), 20_000, 'alerts connected');
    // A real suspected fire in Quyết Thắng, as rules publishes it, before 08:30.
    const event = { eventId: 'real-quyet-thang-1', kind: 'fire-suspected', zoneId: 'quyet-thang', nodeId: 'quyet-thang-02', ts: new Date(local('08:29:30') + (Date.now() - realStart)).toISOString(), detail: {} };
    await rules.publishAsync(topics.event('fire-suspected', 'quyet-thang'), JSON.stringify(event), { qos: 1 });
    await waitFor(async () => apiAlertsResponseSchema.parse(await api('/api/alerts')).alerts.some((a) => a.zoneId === 'quyet-thang'), 10_000, 'the real alert is open');
    const fakeNow = local('08:29:30') + (Date.now() - realStart);
    expect(fakeNow, 'the real alert opened before 08:30 on the process clock (slow machine: rerun)').toBeLessThan(local('08:29:58'));

    const started = await proc.waitForLog('scheduled drill started', 60_000);
    const skipped = await proc.waitForLog('scheduled drill skipped', 10_000);
    // On the process's own (faked) clock: its log line's time.
    expect(started).toMatchObject({ drillId: SAN_THANG, zoneId: 'san-thang', dryRun: true });
    expect(logTime(started)).toBeGreaterThanOrEqual(local('08:30:00'));
    expect(logTime(started)).toBeLessThan(local('08:30:05'));
    expect(skipped).toMatchObject({ drillId: QUYET_THANG, zoneId: 'quyet-thang' });
    expect(String(skipped.reason)).toMatch(/^a real alert of quyet-thang is open: /);

    const report = drillReportSchema.parse(await api(`/api/drills/${SAN_THANG}`));
    expect(report.drill).toMatchObject({ zoneId: 'san-thang', kind: 'fire-suspected', dryRun: true, startedBy: 'schedule' });
    expect(report.drill.texted).toBeGreaterThan(0);
    expect(report.drill.startedAt).toBeGreaterThanOrEqual(local('08:30:00'));

    // SIGKILL at about 08:30:10, back at 08:31:20: the 08:31 slot of Nậm Loỏng was missed while down.
    await waitFor(() => local('08:29:30') + (Date.now() - realStart) >= local('08:30:10'), 20_000, '08:30:10 on the process clock');
    expect(await proc.stop('SIGKILL')).toBeNull();
    const firstLogs = proc.logs.length;
    proc = alertsAt(local('08:31:20')).start();
    await proc.waitForLog('drill schedule', 60_000);
    // Missed slots are decided 10 s after start-up (the broker's queued events first).
    const caughtUp = await proc.waitForLog('scheduled drill started', 30_000);
    expect(caughtUp).toMatchObject({ drillId: NAM_LOONG, zoneId: 'nam-loong' });
    await new Promise((r) => setTimeout(r, 2000));
    expect(proc.logs.filter((l) => l.msg === 'scheduled drill started').map((l) => l.drillId), 'San Thàng is not started again').toStrictEqual([NAM_LOONG]);
    expect(proc.logs.filter((l) => l.msg === 'scheduled drill skipped')).toStrictEqual([]);
    expect(firstLogs).toBeGreaterThan(0);

    const { drills, skipped: skippedSlots } = drillListResponseSchema.parse(await api('/api/drills'));
    expect(drills.map((d) => d.drillId).sort()).toStrictEqual([NAM_LOONG, SAN_THANG].sort());
    // The skipped slot survives the restart and is listed for the board, with its reason.
    expect(skippedSlots).toStrictEqual([{ drillId: QUYET_THANG, zoneId: 'quyet-thang', slotAt: local('08:30:00'), reason: String(skipped.reason) }]);
    expect(drillListResponseSchema.parse(await api('/api/drills?zone=san-thang')).skipped).toStrictEqual([]);
    expect(await proc.stop('SIGTERM')).toBe(0);
    const db = new Database(join(tmp.dir, 'alerts', 'alerts.sqlite'), { readonly: true });
    try {
      const slots = db.prepare('SELECT drill_id, zone_id, outcome, reason FROM scheduled_drill_slots ORDER BY slot_at, zone_id').all() as { drill_id: string; zone_id: string; outcome: string; reason: string | null }[];
      expect(slots.map((s) => [s.zone_id, s.outcome])).toStrictEqual([
        ['quyet-thang', 'skipped'],
        ['san-thang', 'started'],
        ['nam-loong', 'started'],
      ]);
      expect(slots[0]?.reason).toBe(String(skipped.reason));
    } finally {
      db.close();
    }
  });
});
