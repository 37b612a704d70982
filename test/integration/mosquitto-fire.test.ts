// The fire path against Debian's Mosquitto 2 instead of our aedes broker (README "Other MQTT
// brokers"): the simulator's fire-san-thang scenario published as svc-simulator (its rights from
// broker/mosquitto-acl.ts), `fire-ews rules` (readings clock) confirms the fire, and
// `fire-ews alerts` (dry-run transport) puts the fire SMS in its outbox, each exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import type { MqttClient } from 'mqtt';
import { outboxRowSchema } from '../../alerts/outbox.ts';
import { mosquittoAclFile } from '../../broker/mosquitto-acl.ts';
import { eventSchema, readingSchema, type FireEvent } from '../../contracts/payloads.ts';
import { loadSiteFile } from '../../platform/site-file.ts';
import { integrationSkipReason } from '../harness/influxd.ts';
import { MosquittoProcess, mosquittoSkipReason } from '../harness/mosquitto.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { connectAs, publishReadings, ServiceProcess, serviceEnv, SITE_FILE, tempDataDir, TEST_SECRET } from '../harness/services.ts';
import { skipTitle } from '../harness/skip.ts';

const skip = integrationSkipReason() || mosquittoSkipReason();
const ROOT = new URL('../..', import.meta.url).pathname;
const nodeIds = loadSiteFile(SITE_FILE).nodes.map((n) => n.id);

describe.skipIf(skip)(skipTitle('Mosquitto 2: simulator → rules → alerts, a fire SMS in the dry-run outbox', skip), () => {
  let mosquitto: MosquittoProcess;
  let data: ReturnType<typeof tempDataDir>;
  let rules: ServiceProcess;
  let alerts: ServiceProcess;
  let observer: MqttClient;
  const events: FireEvent[] = [];
  let env: Record<string, string>;

  beforeAll(async () => {
    data = tempDataDir('mosquitto-fire');
    const mosquittoDir = join(data.dir, 'mosquitto');
    mkdirSync(mosquittoDir);
    mosquitto = await MosquittoProcess.start(mosquittoDir, TEST_SECRET, nodeIds);
    const httpPort = await freePort();
    env = serviceEnv(join(data.dir, 'data'), {
      MQTT_URL: mosquitto.url,
      RULES_CLOCK: 'readings',
      ALERTS_TRANSPORT: 'dryrun',
      ALERTS_HTTP_PORT: String(httpPort),
      ALERTS_PUBLIC_URL: `http://127.0.0.1:${httpPort}`,
      EWS_LOG_LEVEL: process.env.EWS_TEST_LOG_LEVEL ?? 'info',
    });
    observer = await connectAs(mosquitto.url, 'svc-observer');
    observer.on('message', (_t, payload) => events.push(eventSchema.parse(JSON.parse(payload.toString())) as FireEvent));
    await observer.subscribeAsync('ews/v1/events/+/+', { qos: 1 });
    alerts = new ServiceProcess('alerts run', env).start();
    // Judged from Mosquitto's log (the SUBSCRIBE it granted), not from the service's wording.
    await waitFor(
      () => {
        if (!alerts.running) throw new Error(`alerts exited: ${alerts.stderrText}`);
        return /ews-alerts 1 ews\/v1\/events\/\+\/\+/.test(mosquitto.log);
      },
      30_000,
      'alerts subscribed at Mosquitto',
    );
    rules = new ServiceProcess('rules', env).start();
    await rules.waitForLog('rules subscribed', 30_000);
  });

  afterAll(async () => {
    await observer?.endAsync().catch(() => undefined);
    await rules?.stop();
    await alerts?.stop();
    await mosquitto?.stop();
    data?.remove();
  });

  it('the scenario confirms the fire in San Thàng only, once, and alerts queues its SMS once per recipient', async () => {
    // The scenario in time order through one connection (svc-simulator), as rules-restart.test.ts
    // does: under the readings clock the order across nodes decides the outputs, and `simulate --fast`
    // publishes through 33 node connections whose interleaving the broker does not keep.
    const file = join(data.dir, 'fire-san-thang.ndjson');
    await promisify(execFile)(process.execPath, [join(ROOT, 'bin/fire-ews.js'), 'simulate', '--scenario', 'fire-san-thang', '--fast', '--out', file], { cwd: ROOT, maxBuffer: 1 << 24, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env } });
    const readings = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => readingSchema.parse(JSON.parse(l)));
    const publisher = await connectAs(mosquitto.url, 'svc-simulator');
    try {
      expect(await publishReadings(publisher, readings, 100)).toBe(readings.length);
    } finally {
      await publisher.endAsync();
    }

    // Every reading through the rules journal, then the events it published.
    const journal = () => {
      const db = new Database(join(env.EWS_DATA_DIR as string, 'rules.sqlite'), { readonly: true, fileMustExist: true });
      try {
        const journaled = (db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'journal'").get() as { seq: number } | undefined)?.seq ?? 0;
        const unpublished = (db.prepare('SELECT count(*) AS n FROM outbox WHERE published = 0').get() as { n: number }).n;
        return unpublished === 0 ? journaled : -1;
      } finally {
        db.close();
      }
    };
    await waitFor(() => journal() === readings.length, 90_000, 'every reading in the rules journal and every output published', 200);
    await waitFor(() => events.some((e) => e.kind === 'fire-confirmed'), 30_000, 'fire-confirmed from rules', 200);
    const confirmed = events.filter((e) => e.kind === 'fire-confirmed');
    expect(confirmed.map((e) => e.zoneId), JSON.stringify(events.filter((e) => e.kind.startsWith('fire')))).toStrictEqual(['san-thang']);
    const fireId = confirmed[0]?.eventId as string;

    const dbFile = join(env.EWS_DATA_DIR as string, 'alerts.sqlite');
    const rows = () => {
      const db = new Database(dbFile, { readonly: true, fileMustExist: true });
      try {
        return db.prepare('SELECT * FROM outbox').all().map((r) => outboxRowSchema.parse(r));
      } finally {
        db.close();
      }
    };
    await waitFor(() => rows().some((r) => r.alert_id.includes(fireId)), 30_000, 'the fire SMS in the outbox', 200);
    const fireRows = rows().filter((r) => r.alert_id.includes(fireId));
    expect(fireRows.length).toBeGreaterThan(0);
    // One SMS per recipient and escalation step: nothing queued twice.
    expect(new Set(fireRows.map((r) => `${r.recipient_id}|${r.step}`)).size).toBe(fireRows.length);
    expect(fireRows.every((r) => r.body.length > 0)).toBe(true);
  });

  it('scripts/mosquitto-config.ts as the README runs it: the files for the site, and one message without the secret', async () => {
    const run = (extra: Record<string, string>, args: string[]) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/mosquitto-config.ts', ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', EWS_SITE_FILE: SITE_FILE, ...extra } });
    const out = join(data.dir, 'operator');
    const ok = await run({ EWS_BROKER_SECRET: TEST_SECRET }, [out]);
    expect(ok.stdout).toContain(`(${nodeIds.length} nodes and the service accounts)`);
    expect(statSync(join(out, 'passwd')).mode & 0o777).toBe(0o600);
    const users = readFileSync(join(out, 'passwd'), 'utf8').split('\n').filter(Boolean).map((l) => l.split(':')[0]);
    expect(users).toEqual(expect.arrayContaining([...nodeIds, 'svc-ingest', 'svc-rules', 'svc-alerts', 'svc-simulator']));
    expect(readFileSync(join(out, 'passwd'), 'utf8')).toMatch(/^svc-ingest:\$7\$/m);
    expect(readFileSync(join(out, 'acl'), 'utf8')).toBe(mosquittoAclFile());

    const refused = await run({}, [join(data.dir, 'operator2')]).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe('EWS_BROKER_SECRET: not set: the passwords are derived from it — set EWS_BROKER_SECRET to the secret the services and nodes use');
  });
});
