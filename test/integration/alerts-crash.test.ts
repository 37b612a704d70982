// Crash test: the real alerts process (alerts/main.ts) with a real broker (broker/server.ts) and the
// Twilio Messages API double. Three confirmed fires give a burst of ~360 SMS; the process is
// SIGKILLed at random points of the burst (and once while events wait at the broker), restarted,
// and at the end every outbox row must have been requested exactly once — except rows the service
// logged as in flight at the kill, which may have been requested twice.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import Database from 'better-sqlite3';
import type { Client, Subscription } from 'aedes';
import { startBroker, type RunningBroker } from '../../broker/server.ts';
import { topics } from '../../contracts/topics.ts';
import { derivePassword } from '../../platform/credentials.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { resolveAudiences } from '../../alerts/routing.ts';
import { laiChauContext, SITE_FILE } from '../support/alerts-fixtures.ts';
import { TwilioMessagesDouble } from '../../test/support/twilio-double.ts';
import { outboxRowSchema } from '../../alerts/outbox.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SID = `AC${'3'.repeat(32)}`;
const TOKEN = 'crash-test-auth-token';
const SECRET = 'crash-test-broker-secret-0123';

describe('the alerts process (alerts/main.ts) with a real broker and the Twilio double', () => {
  const ctx = laiChauContext();
  let dir: string;
  let broker: RunningBroker;
  let double: TwilioMessagesDouble;
  let publisher: MqttClient;
  let httpPort: number;
  let metricsPort: number;
  let env: NodeJS.ProcessEnv;
  const onSubscribe = vi.fn<(subscriptions: Subscription[], client: Client | null) => void>();
  const logLines: string[] = [];
  let child: ChildProcess | null = null;

  const startService = () => {
    const c = spawn(process.execPath, ['--import', 'tsx', 'alerts/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    c.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      logLines.push(...lines);
    });
    c.stderr?.on('data', (d: Buffer) => logLines.push(`stderr: ${d.toString()}`));
    child = c;
    return c;
  };
  const kill = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };
  const healthy = async () => {
    try {
      return (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status === 200;
    } catch {
      return false;
    }
  };
  const alertsSubscribed = () => onSubscribe.mock.calls.some(([, client]) => client?.id === 'ews-alerts');
  const publish = (eventId: string, zoneId: string) =>
    publisher.publishAsync(topics.event('fire-confirmed', zoneId), JSON.stringify({ eventId, kind: 'fire-confirmed', zoneId, ts: new Date().toISOString(), detail: {} }), { qos: 1 });
  const served = () => double.requests.filter((r) => r.answered === 201).length;
  const rand = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'alerts-crash-'));
    broker = await startBroker({
      host: '127.0.0.1', port: 0, wsPort: 0, dataDir: join(dir, 'broker'), secret: SECRET,
      nodeIds: new Set(ctx.roster.site.nodes.map((n) => n.id)), queueLimit: 10_000, logger: pino({ level: 'silent' }),
    });
    double = new TwilioMessagesDouble(SID, TOKEN);
    await double.start();
    broker.aedes.on('subscribe', onSubscribe);
    httpPort = await freePort();
    metricsPort = await freePort();
    // A real transport refuses the sample roster: an operator's copy is marked as real data.
    const siteFile = join(dir, 'site.yaml');
    writeFileSync(siteFile, readFileSync(SITE_FILE, 'utf8').replace(/^ {2}sampleData: true$/m, '  sampleData: false'));
    env = {
      PATH: process.env.PATH, HOME: process.env.HOME,
      EWS_DATA_DIR: join(dir, 'data'), EWS_SITE_FILE: siteFile, EWS_BROKER_SECRET: SECRET,
      EWS_LOG_LEVEL: 'info', MQTT_URL: `mqtt://127.0.0.1:${broker.port}`, ALERTS_TRANSPORT: 'twilio',
      TWILIO_ACCOUNT_SID: SID, TWILIO_AUTH_TOKEN: TOKEN, TWILIO_MESSAGING_SERVICE_SID: `MG${'4'.repeat(32)}`,
      ALERTS_TWILIO_API_BASE_URL: double.baseUrl, ALERTS_PUBLIC_URL: `http://127.0.0.1:${httpPort}`, ALERTS_HTTP_PORT: String(httpPort), EWS_HTTP_PORT: String(metricsPort),
      ALERTS_RATE_SEGMENTS_PER_S: '120', ALERTS_RATE_BURST: '5', ALERTS_SEND_CONCURRENCY: '4', ALERTS_RETRY_BASE_MS: '20', ALERTS_RETRY_CAP_MS: '200',
    };
    publisher = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId: 'crash-test-rules', username: 'svc-rules', password: derivePassword(SECRET, 'svc-rules') });
  });

  afterAll(async () => {
    await kill();
    await publisher?.endAsync();
    await double?.close();
    await broker?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves /metrics and the detailed /healthz on EWS_HTTP_PORT (the service shell\'s listener)', async () => {
    startService();
    await waitFor(async () => alertsSubscribed() && (await healthy()), 30_000, 'alerts service subscribed', 20);
    const health = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, detail: { mqtt: true, transport: 'twilio', fallbackTransport: null } });
    expect(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()).toMatch(/^ews_alerts_dead_letters_total|# HELP ews_alerts_dead_letters_total/m);
    await kill();
  });

  it('SIGKILL during a 300+ message burst: after restarts every message was sent exactly once, apart from logged in-flight ones', async () => {
    const killPoints: number[] = [];
    startService();
    await waitFor(async () => alertsSubscribed() && (await healthy()), 30_000, 'alerts service subscribed', 20);
    await publish('crash-fire-san-thang', 'san-thang');
    killPoints.push(rand(10, 120));
    await waitFor(() => served() >= (killPoints[0] ?? 0), 30_000, 'first kill point', 2);
    await kill();
    // While the service is down, two more fires wait in its persistent session at the broker.
    await publish('crash-fire-nam-loong', 'nam-loong');
    await publish('crash-fire-dong-phong', 'dong-phong');
    startService();
    killPoints.push(served() + rand(30, 150));
    await waitFor(() => served() >= (killPoints[1] ?? 0), 30_000, 'second kill point', 2);
    await kill();
    startService();
    killPoints.push(served() + rand(1, 20));
    await waitFor(() => served() >= (killPoints[2] ?? 0), 30_000, 'third kill point', 2);
    await kill();
    startService();

    const zones = ['san-thang', 'nam-loong', 'dong-phong'];
    const expectedRows = zones.reduce((n, z) => n + resolveAudiences(ctx.roster, ['team-members', 'commune-board', 'city-board'], z).length, 0);
    expect(expectedRows, `burst of ${expectedRows} messages`).toBeGreaterThanOrEqual(300);
    const dbFile = join(dir, 'data', 'alerts.sqlite');
    const rows = () => {
      const db = new Database(dbFile, { readonly: true });
      try {
        return db.prepare('SELECT * FROM outbox').all().map((r) => outboxRowSchema.parse(r));
      } finally {
        db.close();
      }
    };
    await waitFor(() => { const r = rows(); return r.length === expectedRows && r.every((x) => x.state === 'sent'); }, 60_000, 'every outbox row sent', 100);
    const c = child as ChildProcess | null;
    if (c && c.exitCode === null && c.signalCode === null) {
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await exited;
    }

    const final = rows();
    const inFlight = new Set(
      logLines
        .filter((l) => l.includes('possible duplicate'))
        .map((l) => (JSON.parse(l) as { outboxId: number }).outboxId),
    );
    const byBody = new Map<string, number>();
    for (const r of double.requests) if (r.answered === 201) byBody.set(r.form.Body ?? '', (byBody.get(r.form.Body ?? '') ?? 0) + 1);
    const unlogged: string[] = [];
    let duplicates = 0;
    for (const r of final) {
      const n = byBody.get(r.body) ?? 0;
      expect(n, `row ${r.id} (${r.alert_id} → ${r.recipient_id}) never reached Twilio`).toBeGreaterThanOrEqual(1);
      if (n > 1) {
        duplicates += n - 1;
        if (!inFlight.has(r.id)) unlogged.push(`row ${r.id} sent ${n} times`);
      }
    }
    expect(unlogged, 'a duplicate that was not logged as in flight').toStrictEqual([]);
    expect(byBody.size, 'nothing sent that is not in the outbox').toBe(final.length);
    expect(new Set(final.map((r) => `${r.alert_id}|${r.recipient_id}`)).size, 'one row per alert and person').toBe(expectedRows);
    expect(double.violations).toStrictEqual([]);
    console.log(`# crash test: ${expectedRows} messages, kills after ${killPoints.join(', ')} accepted requests, ${inFlight.size} logged in flight, ${duplicates} duplicate requests`);
  });
});
