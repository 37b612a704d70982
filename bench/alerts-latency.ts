// Alerts latency: a confirmed fire in San Thàng (full roster: 8 teams, commune board, city board)
// through the real service, outbox (SQLite file) and twilio client, against the local Messages API
// double. Prints p50/p99 of event → first SMS request, and event → last recipient's request at the
// configured rate. Usage: node --import tsx bench/alerts-latency.ts [runs=40] [rate=10] [twilioLatencyMs=150]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { openDatabase } from '../platform/sqlite.ts';
import { AlertOutbox } from '../alerts/outbox.ts';
import { AlertService } from '../alerts/core.ts';
import { laiChauContext } from '../test/support/alerts-fixtures.ts';
import { TwilioTransport } from '../alerts/transports.ts';
import { TwilioMessagesDouble } from '../test/support/twilio-double.ts';

const runs = Number(process.argv[2] ?? 40);
const rate = Number(process.argv[3] ?? 10);
const latencyMs = Number(process.argv[4] ?? 150);
const SID = `AC${'5'.repeat(32)}`;
const TOKEN = 'bench-token';
const ctx = laiChauContext();
const dir = mkdtempSync(join(tmpdir(), 'alerts-bench-'));
const double = new TwilioMessagesDouble(SID, TOKEN);
double.latencyMs = latencyMs;
await double.start();

function makeService(i: number): { service: AlertService; close: () => void } {
  const db = openDatabase(join(dir, `run-${i}.sqlite`));
  const outbox = new AlertOutbox(db, { policy: ctx.policy, publicUrl: 'https://ews.laichau.vn', validityS: 900 });
  const transport = new TwilioTransport({ accountSid: SID, authToken: TOKEN, messagingServiceSid: `MG${'6'.repeat(32)}`, statusCallback: 'https://ews.laichau.vn/twilio/status', apiBaseUrl: double.baseUrl, timeoutMs: 10_000 });
  const service = new AlertService({ ctx, outbox, transport, log: pino({ level: 'silent' }), segmentsPerSecond: rate, burst: rate, concurrency: 4, retry: { baseMs: 1000, capMs: 60_000 }, validityS: 900 });
  service.start();
  return { service, close: () => db.close() };
}

const fire = (i: number) => ({ eventId: `bench-fire-${i}`, kind: 'fire-confirmed' as const, zoneId: 'san-thang', nodeId: 'san-thang-03', ts: new Date().toISOString(), detail: {} });
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setImmediate(r));
}

// 1. event → first request at the double (fresh service and outbox per run, warm process)
const firsts: number[] = [];
for (let i = 0; i < runs + 3; i++) {
  const { service, close } = makeService(i);
  const before = double.requests.length;
  const t0 = performance.now();
  service.handleEvent(fire(i));
  await until(() => double.requests.length > before);
  const t1 = performance.now();
  await service.stop();
  close();
  if (i >= 3) firsts.push(t1 - t0); // first runs warm up the JIT and the twilio client
}

// 2. event → last recipient, full San Thàng roster at the configured rate
const { service, close } = makeService(9999);
const before = double.requests.length;
const t0 = performance.now();
const out = service.handleEvent(fire(9999));
const recipients = out.notifications.reduce((n, x) => n + x.recipients.length, 0);
const commitMs = performance.now() - t0;
await until(() => double.requests.length - before >= recipients);
const lastMs = performance.now() - t0;
await service.whenIdle();
await service.stop();
close();
await double.close();
rmSync(dir, { recursive: true, force: true });

console.log(`alerts latency (San Thàng confirmed fire, ${recipients} recipients, rate ${rate} segments/s, burst ${rate}, 4 concurrent requests, double latency ${latencyMs} ms)`);
console.log(`  event → first SMS request: p50 ${pct(firsts, 50).toFixed(1)} ms, p99 ${pct(firsts, 99).toFixed(1)} ms (${firsts.length} runs)`);
console.log(`  event → outbox committed (${recipients} rows, rendered, tokens): ${commitMs.toFixed(1)} ms`);
console.log(`  event → last recipient's request: ${(lastMs / 1000).toFixed(2)} s (ideal at ${rate}/s with burst ${rate}: ${((recipients - rate) / rate).toFixed(1)} s)`);
