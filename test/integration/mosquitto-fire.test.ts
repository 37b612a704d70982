// The fire path against Debian's Mosquitto 2 instead of our aedes broker (README "Other MQTT
// brokers"): `fire-ews simulate` publishes the fire-san-thang scenario as the site's nodes (their
// own accounts, broker/mosquitto-acl.ts), `fire-ews rules` (readings clock) confirms the fire, and
// `fire-ews alerts` (dry-run transport) puts the fire SMS in its outbox, each exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import type { MqttClient } from 'mqtt';
import { outboxRowSchema } from '../../alerts/outbox.ts';
import { eventSchema, type FireEvent } from '../../contracts/payloads.ts';
import { loadSiteFile } from '../../platform/site-file.ts';
import { integrationSkipReason } from '../harness/influxd.ts';
import { MosquittoProcess, mosquittoSkipReason } from '../harness/mosquitto.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { connectAs, ServiceProcess, serviceEnv, SITE_FILE, tempDataDir, TEST_SECRET } from '../harness/services.ts';
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
    await alerts.waitForLog('connected to the broker', 30_000);
    await mosquitto.waitForLog(/ews-alerts 1 ews\/v1\/events\/\+\/\+/);
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

  it('the scenario published as the nodes confirms the fire once, and alerts queues its SMS once per recipient', async () => {
    const sim = await promisify(execFile)(process.execPath, [join(ROOT, 'bin/fire-ews.js'), 'simulate', '--scenario', 'fire-san-thang', '--fast'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      maxBuffer: 1 << 24,
      timeout: 120_000,
    });
    expect(sim.stderr).not.toMatch(/not authori[sz]ed|refused/i);

    await waitFor(() => events.some((e) => e.kind === 'fire-confirmed'), 60_000, 'fire-confirmed from rules', 200);
    const confirmed = events.filter((e) => e.kind === 'fire-confirmed');
    expect(confirmed.map((e) => e.zoneId)).toStrictEqual(['san-thang']);
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
});
