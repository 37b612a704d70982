// Bench: the broker alone. One publisher process (QoS 1, 1,000 in flight) → broker → one persistent
// QoS 1 subscriber (clean session off, as ingest is) that keeps up; nothing else. Compared: our aedes
// broker with each session store (broker/server.ts SESSION_STORE_KINDS) and Debian's Mosquitto 2.0
// with persistence (saved every second) and without, and aedes-persistence-redis on a local redis-server
// (append-only file synced every second; its CPU and RSS are counted with the broker's). Per run: one unrecorded warm-up round, then the
// measured round on the same broker: delivered/s (first to last message at the subscriber), the
// broker's CPU time per message (from /proc: less sensitive to a shared machine than a rate), its RSS
// idle and after, and loss (distinct messages received vs published). Prints a table; asserts nothing.
//
//   node --import tsx bench/broker-alone.ts [--brokers session-store,upstream,mosquitto] [--messages 100000] [--runs 1]
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { z } from 'zod';
import { derivePassword } from '../platform/credentials.ts';
import { createLogger } from '../platform/logger.ts';
import { startBroker, SESSION_STORE_KINDS } from '../broker/server.ts';
import { freePort, waitFor } from '../test/harness/ports.ts';
import { tempDataDir, TEST_SECRET } from '../test/harness/services.ts';
import { spawnBenchMosquitto } from './mosquitto.ts';
import { cpuUs, waitForPort } from './process-probes.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const BROKERS = [...SESSION_STORE_KINDS, 'redis', 'mosquitto', 'mosquitto-nopersist'] as const;
type BrokerKind = (typeof BROKERS)[number];
const TOPIC = 'ews/v1/readings/bench-node';

// Child mode: `broker-alone.ts serve <store> <port> <dir>` runs our broker with that store.
if (process.argv[2] === 'serve') {
  const [store, port, dir, redisPort] = z.tuple([z.enum([...SESSION_STORE_KINDS, 'redis']), z.coerce.number().int(), z.string(), z.coerce.number().int().optional()]).parse(process.argv.slice(3));
  // aedes-persistence-redis on a local redis-server: the broker's BROKER_PERSISTENCE=redis (broker/redis-session-store.ts).
  const broker = await startBroker({ host: '127.0.0.1', port, wsPort: 0, dataDir: dir, secret: TEST_SECRET, nodeIds: new Set(['bench-node']), queueLimit: 1_000_000, logger: createLogger('broker', 'error'), ...(store === 'redis' ? { cluster: { emitter: 'local' as const, redisUrl: `redis://127.0.0.1:${redisPort}` } } : { sessionStore: store }) });
  process.on('SIGTERM', () => void broker.close().then(() => process.exit(0)));
} else if (process.argv[2] === 'publish') {
  // Child mode: publish `count` messages as fast as a window of 1,000 unacknowledged allows.
  const args = z.object({ url: z.string(), username: z.string().optional(), password: z.string().optional(), count: z.number().int(), seqStart: z.number().int() }).parse(JSON.parse(process.argv[3] ?? '{}'));
  const client = await mqtt.connectAsync(args.url, { username: args.username, password: args.password, clean: true, reconnectPeriod: 500 });
  const connectedAt = Date.now();
  let sent = 0;
  let acked = 0;
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (sent < args.count && sent - acked < 1000) {
        const seq = args.seqStart + sent;
        sent += 1;
        const reading = { nodeId: 'bench-node', seq, ts: new Date().toISOString(), temperatureC: 24.5, humidityPct: 51, smoke: 118, batteryV: 3.8 };
        client.publish(TOPIC, JSON.stringify(reading), { qos: 1 }, () => {
          acked += 1;
          if (acked === args.count) resolve();
          else pump();
        });
      }
    };
    pump();
  });
  process.stdout.write(`${JSON.stringify({ published: acked, seconds: (Date.now() - connectedAt) / 1000 })}\n`);
  await client.endAsync();
} else {
  await main();
}

function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

async function main() {
  const { values } = parseArgs({
    options: {
      // The Redis row needs Debian's redis-server; without it the default leaves that row out.
      brokers: { type: 'string', default: BROKERS.filter((b) => b !== 'redis' || hasRedisServer()).join(',') },
      messages: { type: 'string', default: '100000' },
      warmup: { type: 'string', default: '20000' },
      runs: { type: 'string', default: '1' },
    },
  });
  const opts = z
    .object({
      brokers: z.string().transform((s) => z.array(z.enum(BROKERS)).parse(s.split(','))),
      messages: z.coerce.number().int().positive(),
      warmup: z.coerce.number().int().nonnegative(),
      runs: z.coerce.number().int().positive(),
    })
    .parse(values);

  const rows: Row[] = [];
  // Interleaved: run 1 of every broker, then run 2 of every broker…, so machine load hits all alike.
  for (let run = 1; run <= opts.runs; run++) {
    for (const kind of opts.brokers) {
      const row = await runOnce(kind, opts.messages, opts.warmup);
      console.error(`run ${run} ${kind}: ${row.rate}/s, ${row.cpuUsPerMsg.toFixed(1)} µs CPU/msg, lost ${row.lost}, RSS ${row.idleRss.toFixed(0)} → ${row.endRss.toFixed(0)} MB`);
      rows.push(row);
    }
  }
  console.log(`\nbroker alone: 1 publisher (QoS 1, 1,000 in flight) → broker → 1 persistent QoS 1 subscriber; ${opts.warmup} warm-up + ${opts.messages} measured messages per run`);
  console.log('| broker | delivered/s | broker CPU µs/msg | lost | broker RSS idle → end MB |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.kind} | ${r.rate} | ${r.cpuUsPerMsg.toFixed(1)} | ${r.lost} | ${r.idleRss.toFixed(0)} → ${r.endRss.toFixed(0)} |`);
}

interface Row {
  kind: BrokerKind;
  rate: number;
  cpuUsPerMsg: number;
  lost: number;
  idleRss: number;
  endRss: number;
}

function rssMb(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}


function publish(url: string, mosquitto: boolean, count: number, seqStart: number): Promise<void> {
  const args = { url, count, seqStart, ...(mosquitto ? {} : { username: 'svc-simulator', password: derivePassword(TEST_SECRET, 'svc-simulator') }) };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/broker-alone.ts'), 'publish', JSON.stringify(args)], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`publisher exited ${code}`))));
  });
}

async function runOnce(kind: BrokerKind, messages: number, warmup: number): Promise<Row> {
  const dir = tempDataDir(`bench-broker-${kind}`);
  const port = await freePort();
  const url = `mqtt://127.0.0.1:${port}`;
  const mosquitto = kind === 'mosquitto' || kind === 'mosquitto-nopersist';
  // Redis with an append-only file synced every second: the durability Mosquitto's autosave gives.
  const redisPort = kind === 'redis' ? await freePort() : 0;
  const redis = kind === 'redis' ? spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', dir.dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', ''], { stdio: 'ignore' }) : undefined;
  if (redis) await waitForPort(redisPort);
  const broker = mosquitto ? spawnBenchMosquitto(port, dir.dir, kind === 'mosquitto') : spawn(process.execPath, [...(process.env.BENCH_BROKER_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_BROKER_CPU_PROF}`] : []), '--import', 'tsx', join(ROOT, 'bench/broker-alone.ts'), 'serve', kind, String(port), dir.dir, String(redisPort)], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  const cpuOfBroker = () => cpuUs(broker.pid) + (redis ? cpuUs(redis.pid) : 0);
  try {
    await waitForPort(port);
    // The subscriber: a persistent session (clean: false), QoS 1, as ingest subscribes.
    const received = new Set<number>();
    let firstAt = 0;
    let lastAt = 0;
    const sub = await mqtt.connectAsync(url, { clientId: 'bench-subscriber', clean: false, ...(mosquitto ? {} : { username: 'svc-ingest', password: derivePassword(TEST_SECRET, 'svc-ingest') }) });
    sub.on('message', (_topic, payload) => {
      const seq = (JSON.parse(payload.toString()) as { seq: number }).seq;
      if (seq < 1e9) return; // warm-up round
      received.add(seq);
      lastAt = Date.now();
      if (!firstAt) firstAt = lastAt;
    });
    await sub.subscribeAsync('ews/v1/readings/+', { qos: 1 });
    if (warmup > 0) await publish(url, mosquitto, warmup, 0);
    await new Promise((r) => setTimeout(r, 1000));
    const idleRss = rssMb(broker.pid) + (redis ? rssMb(redis.pid) : 0);
    const cpuBefore = cpuOfBroker();
    await publish(url, mosquitto, messages, 1e9);
    await waitFor(() => received.size >= messages, 120_000, 'subscriber to receive everything', 50).catch(() => undefined);
    const cpuAfter = cpuOfBroker();
    const endRss = rssMb(broker.pid) + (redis ? rssMb(redis.pid) : 0);
    await sub.endAsync();
    const rate = Math.round((received.size - 1) / ((lastAt - firstAt) / 1000));
    return { kind, rate, cpuUsPerMsg: (cpuAfter - cpuBefore) / messages, lost: messages - received.size, idleRss, endRss };
  } finally {
    await new Promise((resolve) => {
      if (broker.exitCode !== null) return resolve(undefined);
      broker.once('exit', resolve);
      broker.kill('SIGTERM');
    });
    if (redis) await new Promise((resolve) => (redis.exitCode !== null ? resolve(undefined) : (redis.once('exit', resolve), redis.kill('SIGTERM'))));
    dir.remove();
  }
}
