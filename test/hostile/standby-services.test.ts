// Standby rules and alerts (README "Scaling beyond one machine"): two `fire-ews rules` and two
// `fire-ews alerts run` processes on one real redis-server lease (LEADER_LEASE_TTL_MS 3000), one
// real broker, the same data dir (the shared mount of two hosts, on one machine). While both are
// alive only one of each acts; the fire-san-thang scenario is published and the active rules, then
// the active alerts are SIGKILLed mid-fire: the standbys take over within a stated bound, the fire's
// SMS all arrive, and none is requested twice except ones the service logged as in flight. Twilio's
// Messages API cannot run here: test/support/twilio-double.ts follows its contract and records
// every request, independently of the outbox. Redis dying ends the leaders (exit 3): that trade-off
// is asserted last.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import type { MqttClient } from 'mqtt';
import { pino } from 'pino';
import { outboxRowSchema } from '../../alerts/outbox.ts';
import { startBroker, type RunningBroker } from '../../broker/server.ts';
import { readingSchema } from '../../contracts/payloads.ts';
import { resolveAudiences } from '../../alerts/routing.ts';
import { laiChauContext } from '../support/alerts-fixtures.ts';
import { TwilioMessagesDouble } from '../support/twilio-double.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { RedisProcess, redisSkipReason } from '../harness/redis.ts';
import { connectAs, publishReadings, ServiceProcess, serviceEnv, SITE_FILE, tempDataDir, TEST_SECRET, type LogLine } from '../harness/services.ts';
import { skipTitle } from '../harness/skip.ts';

const skip = redisSkipReason();
const ROOT = new URL('../..', import.meta.url).pathname;
const TTL_MS = 3000;
// The stated bound of a takeover: the lease runs out (ttl) + the standby's next attempt (ttl/3) +
// the service's start-up (state, broker session): 4 s of lease and 6 s for a loaded 2-core machine.
const TAKEOVER_BOUND_MS = 10_000;
const SID = `AC${'5'.repeat(32)}`;
const TOKEN = 'standby-test-auth-token';

describe.skipIf(skip)(skipTitle('standby rules and alerts on a real Redis lease, SIGKILLed mid-fire', skip), () => {
  const ctx = laiChauContext();
  let data: ReturnType<typeof tempDataDir>;
  let redis: RedisProcess;
  let broker: RunningBroker;
  let double: TwilioMessagesDouble;
  let env: Record<string, string>;
  const connects: { id: string; at: number }[] = [];
  const processes: ServiceProcess[] = [];
  const rules: ServiceProcess[] = [];
  const alerts: ServiceProcess[] = [];
  let readingsFile: string;

  const start = async (command: 'rules' | 'alerts run', extra: Record<string, string> = {}) => {
    const httpPort = await freePort();
    // Each its own listeners (two hosts would use the same ports); the public URL is shared.
    const alertsPort: Record<string, string> = command === 'alerts run' ? { ALERTS_HTTP_PORT: String(await freePort()) } : {};
    const p = new ServiceProcess(command, { ...env, EWS_HTTP_PORT: String(httpPort), ...alertsPort, ...extra }).start();
    processes.push(p);
    return Object.assign(p, { httpPort });
  };
  const healthOf = async (port: number) => (await fetch(`http://127.0.0.1:${port}/healthz`)).json() as Promise<{ ok: boolean; detail: { leadership?: string } }>;
  const served = () => double.requests.filter((r) => r.answered === 201);
  const outboxRows = () => {
    const db = new Database(join(env.EWS_DATA_DIR as string, 'alerts.sqlite'), { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT * FROM outbox').all().map((r) => outboxRowSchema.parse(r));
    } finally {
      db.close();
    }
  };
  const journaled = () => {
    const db = new Database(join(env.EWS_DATA_DIR as string, 'rules.sqlite'), { readonly: true, fileMustExist: true });
    try {
      return (db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'journal'").get() as { seq: number } | undefined)?.seq ?? 0;
    } finally {
      db.close();
    }
  };

  beforeAll(async () => {
    data = tempDataDir('standby');
    mkdirSync(join(data.dir, 'redis'));
    redis = await RedisProcess.start(join(data.dir, 'redis'));
    broker = await startBroker({
      host: '127.0.0.1', port: 0, wsPort: 0, dataDir: join(data.dir, 'broker'), secret: TEST_SECRET,
      nodeIds: new Set(ctx.roster.site.nodes.map((n) => n.id)), queueLimit: 100_000, logger: pino({ level: 'silent' }),
    });
    broker.aedes.on('client', (c) => connects.push({ id: c.id, at: Date.now() }));
    double = new TwilioMessagesDouble(SID, TOKEN);
    await double.start();
    // A real transport refuses the sample roster: an operator's copy is marked as real data.
    const siteFile = join(data.dir, 'site.yaml');
    writeFileSync(siteFile, readFileSync(SITE_FILE, 'utf8').replace(/^ {2}sampleData: true$/m, '  sampleData: false'));
    const publicPort = await freePort();
    env = serviceEnv(join(data.dir, 'data'), {
      EWS_SITE_FILE: siteFile,
      MQTT_URL: `mqtt://127.0.0.1:${broker.port}`,
      RULES_CLOCK: 'readings',
      LEADER_LEASE_REDIS_URL: redis.url,
      LEADER_LEASE_TTL_MS: String(TTL_MS),
      ALERTS_TRANSPORT: 'twilio', TWILIO_ACCOUNT_SID: SID, TWILIO_AUTH_TOKEN: TOKEN, TWILIO_MESSAGING_SERVICE_SID: `MG${'6'.repeat(32)}`,
      ALERTS_TWILIO_API_BASE_URL: double.baseUrl, ALERTS_PUBLIC_URL: `http://127.0.0.1:${publicPort}`,
      // ~10 SMS a second: the fire's wave lasts long enough to kill the sender in the middle of it.
      ALERTS_RATE_SEGMENTS_PER_S: '10', ALERTS_RATE_BURST: '2', ALERTS_SEND_CONCURRENCY: '2', ALERTS_RETRY_BASE_MS: '20', ALERTS_RETRY_CAP_MS: '200',
      EWS_LOG_LEVEL: 'info',
    });
    mkdirSync(env.EWS_DATA_DIR as string, { recursive: true });
    readingsFile = join(data.dir, 'fire-san-thang.ndjson');
    await promisify(execFile)(process.execPath, [join(ROOT, 'bin/fire-ews.js'), 'simulate', '--scenario', 'fire-san-thang', '--fast', '--out', readingsFile], { cwd: ROOT, maxBuffer: 1 << 24, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env } });
  }, 120_000);

  afterAll(async () => {
    for (const p of processes) await p.stop('SIGKILL');
    await double?.close();
    await broker?.close();
    await redis?.stop();
    data?.remove();
  });

  it('LEADER_LEASE_REDIS_URL unreachable at start, or absent from a process meant as a standby: one message naming it, exit 2', { timeout: 60_000 }, async () => {
    const dead = await freePort();
    const refusals: { extra: Record<string, string>; message: (service: string) => RegExp }[] = [
      { extra: { LEADER_LEASE_REDIS_URL: `redis://127.0.0.1:${dead}` }, message: (service: string) => new RegExp(`^fire-ews: LEADER_LEASE_REDIS_URL: cannot reach Redis at redis://127\\.0\\.0\\.1:${dead} \\(.*\\); without it no ${service} process may act — start redis-server there`) },
      { extra: { LEADER_LEASE_REDIS_URL: '', LEADER_LEASE_REQUIRED: 'true' }, message: (service: string) => new RegExp(`^fire-ews: LEADER_LEASE_REDIS_URL: not set, but LEADER_LEASE_REQUIRED=true: this ${service} process is meant as a standby`) },
    ];
    for (const { extra, message } of refusals) {
      for (const command of ['rules', 'alerts run'] as const) {
        const p = await start(command, extra);
        await waitFor(() => !p.running, 20_000, `${command} refused`);
        expect(await p.stop()).toBe(2);
        expect(p.stderrText.trim()).toMatch(message(command.split(' ')[0]!));
        expect(p.stderrText.trim().split('\n')).toHaveLength(1);
      }
    }
  });

  it('two of each, both alive: one acts, the other waits as a standby (its /healthz says so) and never connects', { timeout: 90_000 }, async () => {
    rules.push(await start('rules'));
    await rules[0]!.waitForLog('rules subscribed', 30_000);
    rules.push(await start('rules'));
    await rules[1]!.waitForLog(/^standby: /, 30_000);
    alerts.push(await start('alerts run'));
    await alerts[0]!.waitForLog('alerts service running', 30_000);
    alerts.push(await start('alerts run'));
    await alerts[1]!.waitForLog(/^standby: /, 30_000);
    // Several lease periods with both alive: the standbys stay standbys.
    await new Promise((r) => setTimeout(r, TTL_MS * 3));
    for (const standby of [rules[1]!, alerts[1]!]) {
      expect(standby.logs.some((l) => /leader lease acquired|service running|rules subscribed/.test(l.msg))).toBe(false);
      expect(await healthOf((standby as ServiceProcess & { httpPort: number }).httpPort)).toStrictEqual({ ok: true, detail: { leadership: 'standby' } });
    }
    expect((await healthOf((alerts[0] as ServiceProcess & { httpPort: number }).httpPort)).detail.leadership).toBe('leader');
    // One session of each at the broker (a second ews-alerts would take the first one's session over).
    expect(connects.filter((c) => c.id === 'ews-rules').length).toBe(1);
    expect(connects.filter((c) => c.id === 'ews-alerts').length).toBe(1);
  });

  it('the active rules, then the active alerts SIGKILLed mid-fire: standbys take over, every fire SMS requested once apart from logged in-flight ones', { timeout: 240_000 }, async () => {
    const [rulesA, rulesB] = rules as [ServiceProcess, ServiceProcess];
    const [alertsA, alertsB] = alerts as [ServiceProcess, ServiceProcess];
    const readings = readFileSync(readingsFile, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => readingSchema.parse(JSON.parse(l)));
    const publisher: MqttClient = await connectAs(env.MQTT_URL as string, 'svc-simulator');
    // The scenario in time order through one connection (as test/integration/mosquitto-fire.test.ts).
    const published = publishReadings(publisher, readings, 100);
    try {
      // Rules A killed once about a third of the scenario is in its journal (before the fire is confirmed).
      await waitFor(() => journaled() >= readings.length / 3, 90_000, 'a third of the scenario journaled', 50);
      const rulesKilledAt = Date.now();
      await rulesA.stop('SIGKILL');
      // Acting again: the shared journal grows past what the dead one left (readings keep coming).
      const journalAtKill = journaled();
      const rulesLease = await rulesB.waitForLog('leader lease acquired: starting', TAKEOVER_BOUND_MS + 5_000);
      await waitFor(() => journaled() > journalAtKill, TAKEOVER_BOUND_MS + 5_000, 'the standby rules journaling', 20);
      const rulesTakeover = Date.now() - rulesKilledAt;
      expect(await published).toBe(readings.length);

      // The fire's SMS: alerts A killed once 20 have reached the provider, in the middle of the wave.
      await waitFor(() => served().length >= 20, 120_000, 'the fire SMS flowing', 100);
      const alertsKilledAt = Date.now();
      await alertsA.stop('SIGKILL');
      const alertsLease = await alertsB.waitForLog('leader lease acquired: starting', TAKEOVER_BOUND_MS + 5_000);
      // Acting again: the next SMS of the wave reaches the provider.
      await waitFor(() => served().some((r) => r.at > alertsKilledAt), TAKEOVER_BOUND_MS + 5_000, 'the standby sending', 20);
      const alertsTakeover = (served().find((r) => r.at > alertsKilledAt)?.at ?? NaN) - alertsKilledAt;
      const leaseAfter = (line: LogLine, killedAt: number) => new Date(String(line.time)).getTime() - killedAt;

      // Every row the fire produced sent, by the survivors.
      const expected = resolveAudiences(ctx.roster, ['team-members', 'commune-board', 'city-board'], 'san-thang').length;
      await waitFor(
        () => {
          const rows = outboxRows();
          return rows.length >= expected && rows.every((r) => r.state === 'sent');
        },
        120_000,
        'every outbox row sent',
        200,
      );
      const final = outboxRows();
      const inFlight = new Set([...alertsA.logs, ...alertsB.logs].filter((l) => l.msg.includes('possible duplicate')).map((l) => l.outboxId as number));
      const byKey = new Map<string, number>();
      for (const r of served()) {
        const key = `${r.form.To ?? ''}|${r.form.Body ?? ''}`;
        byKey.set(key, (byKey.get(key) ?? 0) + 1);
      }
      const unlogged: string[] = [];
      let duplicates = 0;
      for (const r of final) {
        const n = byKey.get(`${r.phone}|${r.body}`) ?? 0;
        expect(n, `row ${r.id} (${r.alert_id} → ${r.recipient_id}) never reached the provider`).toBeGreaterThanOrEqual(1);
        if (n > 1) {
          duplicates += n - 1;
          if (!inFlight.has(r.id)) unlogged.push(`row ${r.id} sent ${n} times`);
        }
      }
      expect(unlogged, 'a duplicate not logged as in flight').toStrictEqual([]);
      expect(byKey.size, 'nothing sent that is not in the outbox').toBe(final.length);
      expect(new Set(final.map((r) => `${r.alert_id}|${r.recipient_id}`)).size, 'one row per alert and person').toBe(final.length);
      expect(double.violations).toStrictEqual([]);
      console.log(
        `# standby takeover (lease ttl ${TTL_MS} ms): rules SIGKILLed → standby holds the lease after ${leaseAfter(rulesLease, rulesKilledAt)} ms, journals the next reading after ${rulesTakeover} ms; ` +
          `alerts SIGKILLed → lease after ${leaseAfter(alertsLease, alertsKilledAt)} ms, next SMS at the provider after ${alertsTakeover} ms; ` +
          `${final.length} outbox rows, ${served().length} provider requests, ${inFlight.size} logged in flight, ${duplicates} duplicate requests`,
      );
      expect(rulesTakeover).toBeLessThanOrEqual(TAKEOVER_BOUND_MS);
      expect(alertsTakeover).toBeLessThanOrEqual(TAKEOVER_BOUND_MS);
    } finally {
      await publisher.endAsync();
    }
  });

  it('a clean stop (SIGTERM) of the leader: it closes its state, releases the lease, and a new standby takes over at its next attempt', { timeout: 60_000 }, async () => {
    const leader = rules[1]!;
    const standby = await start('rules');
    rules.push(standby);
    await standby.waitForLog(/^standby: /, 30_000);
    const stoppedAt = Date.now();
    expect(await leader.stop('SIGTERM')).toBe(0);
    const acquired = await standby.waitForLog('leader lease acquired: starting', TAKEOVER_BOUND_MS);
    await standby.waitForLog('rules subscribed', TAKEOVER_BOUND_MS);
    const handover = new Date(String(acquired.time)).getTime() - stoppedAt;
    await expect.poll(() => leader.logs.some((l) => l.msg === 'rules stopped'), { timeout: 5_000 }).toBe(true);
    console.log(`# SIGTERM of the leading rules: the standby held the lease ${handover} ms later (closing + at most ttl/3 = ${TTL_MS / 3} ms)`);
    expect(handover).toBeLessThanOrEqual(TAKEOVER_BOUND_MS);
  });

  it('Redis gone: the leaders exit with code 3 within the lease (no process acts until Redis is back: a restarted one refuses to start)', { timeout: 60_000 }, async () => {
    const leaders = [rules.at(-1)!, alerts.at(-1)!];
    const stoppedAt = Date.now();
    await redis.stop('SIGKILL');
    for (const p of leaders) await waitFor(() => !p.running, TTL_MS + 10_000, 'the leader exiting');
    const exitedAfter = Date.now() - stoppedAt;
    for (const p of leaders) {
      expect(await p.stop()).toBe(3);
      // Its last lines may reach the pipe after the exit itself.
      await expect.poll(() => p.logs.some((l) => l.msg === 'lost the leader lease: exiting at once so that no two processes act'), { timeout: 5_000 }).toBe(true);
    }
    console.log(`# Redis SIGKILLed: both leaders exited after ≤ ${exitedAfter} ms (ttl ${TTL_MS} ms)`);
  });
});
