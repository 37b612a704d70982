// The official 13:00 level under the wall clock, in the real `fire-ews rules` process: node-cron
// (Asia/Ho_Chi_Minh) must fire at 13:17 local and publish the day's official level, retained.
// The process runs under libfaketime (Debian's faketime package) so its wall clock reads a chosen
// day; the broker and this test run on the real clock. The engine's own 10-s tick is set to an
// hour, so only the cron schedule (or a reading arriving) can advance time: no reading arrives
// after 13:16:50, so an official value at 13:17 comes from the cron.
// The process also runs TZ=UTC, so a schedule that ignored its timezone would fire at 20:17 local.
import { afterAll, assert, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { RunningBroker } from '../../broker/server.ts';
import { dangerSchema, type Danger, type Reading } from '../../contracts/payloads.ts';
import { loadSiteFile } from '../../platform/site-file.ts';
import { connectAs, makeReading, publishReadings, serviceEnv, ServiceProcess, SITE_FILE, startSiteBroker, tempDataDir } from '../harness/services.ts';
import { waitFor } from '../harness/ports.ts';
import { skipTitle } from '../harness/skip.ts';

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
function skipReason(): string | false {
  if (existsSync(LIBFAKETIME)) return false;
  if (process.env.CI || process.env.EWS_REQUIRE_INTEGRATION) throw new Error(`${LIBFAKETIME} not found: apt-get install -y faketime`);
  return 'libfaketime not installed (apt-get install -y faketime)';
}

const site = loadSiteFile(SITE_FILE);
const skip = skipReason();
let tmp: ReturnType<typeof tempDataDir>;
let broker: RunningBroker;
let url: string;

function journalLength(): number {
  const file = join(tmp.dir, 'rules', 'rules.sqlite');
  if (!existsSync(file)) return 0;
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'journal'").get() as { seq: number } | undefined)?.seq ?? 0;
  } catch {
    return 0;
  } finally {
    db.close();
  }
}

const local = (hhmmss: string) => Date.parse(`2026-03-11T${hhmmss}+07:00`);

function rulesAt(fakeStartMs: number): ServiceProcess {
  return new ServiceProcess(
    'rules',
    serviceEnv(join(tmp.dir, 'rules'), {
      MQTT_URL: url,
      RULES_CLOCK: 'wall',
      RULES_TICK_S: '3600',
      TZ: 'UTC',
      LD_PRELOAD: LIBFAKETIME,
      // '@' = start at this moment and run forward at normal speed.
      FAKETIME: `@${new Date(fakeStartMs).toISOString().slice(0, 19).replace('T', ' ')}`,
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    }),
  );
}

describe.skipIf(skip)(skipTitle('the rules process under libfaketime, against an in-process broker', skip), () => {
  beforeAll(async () => {
    tmp = tempDataDir('rules-cron');
    ({ broker, url } = await startSiteBroker(join(tmp.dir, 'broker')));
  });

  afterAll(async () => {
    await broker?.close();
    tmp?.remove();
  });

  it('the official level is published by the cron at 13:17 Asia/Ho_Chi_Minh, not before', { timeout: 120_000 }, async () => {
    const observer = await connectAs(url, 'svc-observer');
    const dangers: { d: Danger; atMs: number }[] = [];
    observer.on('message', (_t, payload) => dangers.push({ d: dangerSchema.parse(JSON.parse(payload.toString())), atMs: Date.now() }));
    await observer.subscribeAsync('ews/v1/danger/+', { qos: 1 });
    const publisher = await connectAs(url, 'svc-simulator');

    // 12:44:30: the engine starts before the 12:45–13:15 window opens (it only computes days whose
    // whole window it has seen), then stops cleanly.
    let proc = rulesAt(local('12:44:30')).start();
    // An assertion failing before the clean stops below must not leave the process running.
    onTestFinished(async () => {
      await proc.stop('SIGKILL');
    });
    await proc.waitForLog('rules subscribed');
    await publishReadings(publisher, site.nodes.map((n) => makeReading(n.id, 1, local('12:44:30'))));
    await waitFor(() => journalLength() >= site.nodes.length, 10_000, 'the first readings journaled');
    expect(await proc.stop('SIGTERM')).toBe(0);

    // 13:16:35: the window's readings arrive late, in one store-and-forward burst.
    const fakeStart = local('13:16:35');
    proc = rulesAt(fakeStart).start();
    const realStart = Date.now();
    const fakeNow = (realMs: number) => fakeStart + (realMs - realStart);
    await proc.waitForLog('rules subscribed');
    const burst: Reading[] = [];
    for (const n of site.nodes) for (let i = 0; i <= 6; i++) burst.push(makeReading(n.id, 2 + i, local('12:45:00') + i * 5 * 60_000));
    await publishReadings(publisher, burst);
    expect(fakeNow(Date.now()), 'the burst arrived before 13:16:50 (slow machine: rerun)').toBeLessThan(local('13:16:50'));

    await waitFor(() => dangers.some(({ d }) => d.official && d.date === '2026-03-11'), 60_000, 'the official level of 2026-03-11');
    await new Promise((r) => setTimeout(r, 1000));
    const official = dangers.filter(({ d }) => d.official && d.date === '2026-03-11');
    expect(new Set(official.map(({ d }) => d.zoneId)).size, 'one official value per zone').toBe(site.zones.length);
    // When each value was published, on the process's own (faked) clock: its log line's time. The
    // test's estimate of the faked clock (fakeNow) can be off by the spawn's few ms under load.
    const publishedAt = new Map(proc.logs.filter((l) => l.msg === 'official danger level').map((l) => [String(l.zoneId), Date.parse(String(l.time))]));
    for (const { d, atMs } of official) {
      const at = publishedAt.get(d.zoneId);
      assert(at !== undefined, `${d.zoneId}: the process logged its official level`);
      const when = `${d.zoneId} published at ${new Date(at).toISOString()} (expected 13:17:00–13:17:05 local)`;
      expect(at, when).toBeGreaterThanOrEqual(local('13:17:00'));
      expect(at, when).toBeLessThan(local('13:17:05'));
      expect(fakeNow(atMs), `${d.zoneId} received soon after`).toBeLessThan(local('13:17:05'));
    }
    // The zones with readings in the window have a computed level from them.
    const computed = official.filter(({ d }) => d.level !== null);
    expect(computed.length, `levels: ${official.map(({ d }) => `${d.zoneId}=${d.level}/${d.quality}`).join(' ')}`).toBeGreaterThan(0);
    for (const { d } of computed) {
      expect(d.inputs.nodesUsed.length, `${d.zoneId}: nodes used`).toBeGreaterThan(0);
      expect(d.inputs.t13, `${d.zoneId}: t13`).not.toBeNull();
    }

    expect(await proc.stop('SIGTERM')).toBe(0);
    await publisher.endAsync();
    await observer.endAsync();
  });
});
