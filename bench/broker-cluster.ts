// Bench: the broker cluster (BROKER_PERSISTENCE=redis, BROKER_EMITTER=redis) on one local
// redis-server (append-only file, fsync every second). Two figures:
// - one broker vs two: two publisher processes (QoS 1, 1,000 in flight each) → the broker(s) → one
//   persistent QoS 1 subscriber (as ingest) on broker 1. With one broker both publishers use it; with
//   two, publisher 2 uses broker 2 and its messages reach the subscriber through Redis. Printed:
//   delivered/s at the subscriber, accepted/s per broker (its publisher's messages ÷ the time until
//   its last PUBACK), CPU µs per message of the brokers and of redis-server (from /proc), loss.
// - failover: the 33 site nodes connect with MQTT_URL listing both brokers (spread over them,
//   platform/broker-urls.ts); broker 1 is SIGKILLed; the time until each of its nodes is connected
//   to broker 2 (p50, p99, max).
// Everything runs on this one machine: two brokers share its cores with Redis and the clients, so the
// ratio says what a second broker costs or gains here, not on two machines. Asserts nothing.
//
//   node --import tsx bench/broker-cluster.ts [--messages 40000] [--runs 1]
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { z } from 'zod';
import { startBroker } from '../broker/server.ts';
import { connectNodeFleet, nearestRank } from '../test/harness/node-fleet.ts';
import { derivePassword } from '../platform/credentials.ts';
import { createLogger } from '../platform/logger.ts';
import { loadSiteFile } from '../platform/site-file.ts';
import { freePort, waitFor } from '../test/harness/ports.ts';
import { hasRedisServer, RedisProcess } from '../test/harness/redis.ts';
import { SITE_FILE, tempDataDir, TEST_SECRET } from '../test/harness/services.ts';
import { cpuUs, waitForPort } from './process-probes.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const nodeIds = loadSiteFile(SITE_FILE).nodes.map((n) => n.id);

if (process.argv[2] === 'serve') {
  // Child mode: one cluster broker (`broker-cluster.ts serve <port> <dir> <redisUrl>`).
  const [port, dir, redisUrl] = z.tuple([z.coerce.number().int(), z.string(), z.string()]).parse(process.argv.slice(3));
  const broker = await startBroker({
    host: '127.0.0.1',
    port,
    wsPort: 0,
    dataDir: dir,
    secret: TEST_SECRET,
    nodeIds: new Set([...nodeIds, 'bench-node']),
    queueLimit: 1_000_000,
    logger: createLogger('broker', 'error'),
    cluster: { emitter: 'redis', redisUrl },
  });
  process.on('SIGTERM', () => void broker.close().then(() => process.exit(0)));
} else if (!hasRedisServer()) {
  console.log('broker cluster bench skipped: redis-server not installed (apt-get install -y redis-server)');
} else {
  await main();
}

async function startBrokers(count: number, dir: string, redisUrl: string): Promise<{ child: ChildProcess; port: number; url: string }[]> {
  const out = [];
  for (let i = 0; i < count; i++) {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/broker-cluster.ts'), 'serve', String(port), dir, redisUrl], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    await waitForPort(port);
    out.push({ child, port, url: `mqtt://127.0.0.1:${port}` });
  }
  return out;
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill(signal);
  });
}

/** One publisher child (bench/broker-alone.ts publish): resolves with its seconds from CONNECT to the last PUBACK. */
function publish(url: string, count: number, seqStart: number): Promise<number> {
  const args = { url, count, seqStart, username: 'svc-simulator', password: derivePassword(TEST_SECRET, 'svc-simulator') };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/broker-alone.ts'), 'publish', JSON.stringify(args)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`publisher exited ${code}`));
      resolve(z.object({ seconds: z.number() }).parse(JSON.parse(out.trim().split('\n').at(-1) ?? '{}')).seconds);
    });
  });
}

interface ThroughputRow {
  brokers: number;
  delivered: number;
  perBroker: number[];
  brokerCpuUs: number;
  redisCpuUs: number;
  lost: number;
}

async function throughput(brokerCount: number, messages: number): Promise<ThroughputRow> {
  const dir = tempDataDir('bench-cluster');
  const redis = await RedisProcess.start(dir.dir);
  const brokers = await startBrokers(brokerCount, dir.dir, redis.url);
  try {
    const received = new Set<number>();
    let firstAt = 0;
    let lastAt = 0;
    const sub = await mqtt.connectAsync(brokers[0]!.url, { clientId: 'ews-ingest-bench', clean: false, username: 'svc-ingest', password: derivePassword(TEST_SECRET, 'svc-ingest') });
    sub.on('message', (_topic, payload) => {
      const seq = (JSON.parse(payload.toString()) as { seq: number }).seq;
      if (seq < 1e9) return; // warm-up
      received.add(seq);
      lastAt = Date.now();
      if (!firstAt) firstAt = lastAt;
    });
    await sub.subscribeAsync('ews/v1/readings/+', { qos: 1 });
    // Warm-up through every broker (JIT, Redis connections, the publisher's start-up time).
    await Promise.all(brokers.map((b, i) => publish(b.url, 2_000, i * 10_000)));
    await new Promise((r) => setTimeout(r, 1000));
    const cpu0 = brokers.map((b) => cpuUs(b.child.pid));
    const redis0 = cpuUs(redis.pid);
    const half = Math.floor(messages / 2);
    // Publisher 1 → broker 1; publisher 2 → broker 2 (or broker 1 when there is one).
    const seconds = await Promise.all([publish(brokers[0]!.url, half, 1e9), publish((brokers[1] ?? brokers[0])!.url, half, 1e9 + half)]);
    await waitFor(() => received.size >= 2 * half, 180_000, 'subscriber to receive everything', 50).catch(() => undefined);
    const brokerCpu = brokers.reduce((sum, b, i) => sum + cpuUs(b.child.pid) - (cpu0[i] ?? 0), 0);
    const redisCpu = cpuUs(redis.pid) - redis0;
    await sub.endAsync();
    const perBroker = brokerCount === 2 ? seconds.map((s) => Math.round(half / s)) : [Math.round((2 * half) / Math.max(...seconds))];
    return { brokers: brokerCount, delivered: Math.round((received.size - 1) / ((lastAt - firstAt) / 1000)), perBroker, brokerCpuUs: brokerCpu / (2 * half), redisCpuUs: redisCpu / (2 * half), lost: 2 * half - received.size };
  } finally {
    for (const b of brokers) await stopChild(b.child);
    await redis.stop();
    dir.remove();
  }
}

async function failover(): Promise<{ onFirst: number; reconnectMs: number[] }> {
  const dir = tempDataDir('bench-failover');
  const redis = await RedisProcess.start(dir.dir);
  const brokers = await startBrokers(2, dir.dir, redis.url);
  const list = brokers.map((b) => b.url).join(',');
  const { clients, onPort, connectedAt } = connectNodeFleet(list, nodeIds, TEST_SECRET);
  try {
    await waitFor(() => onPort.size === nodeIds.length, 30_000, 'every node connected');
    const onFirst = [...onPort].filter(([, port]) => port === brokers[0]!.port).map(([id]) => id);
    const killedAt = Date.now();
    await stopChild(brokers[0]!.child, 'SIGKILL');
    await waitFor(() => onFirst.every((id) => onPort.get(id) === brokers[1]!.port && (connectedAt.get(id) ?? 0) > killedAt), 60_000, 'the nodes of broker 1 on broker 2');
    return { onFirst: onFirst.length, reconnectMs: onFirst.map((id) => (connectedAt.get(id) ?? 0) - killedAt).sort((a, b) => a - b) };
  } finally {
    for (const c of clients) await c.endAsync(true);
    for (const b of brokers) await stopChild(b.child);
    await redis.stop();
    dir.remove();
  }
}

async function main() {
  const { values } = parseArgs({ options: { messages: { type: 'string', default: '40000' }, runs: { type: 'string', default: '1' } } });
  const opts = z.object({ messages: z.coerce.number().int().positive(), runs: z.coerce.number().int().positive() }).parse(values);
  const rows: ThroughputRow[] = [];
  const failovers: { onFirst: number; reconnectMs: number[] }[] = [];
  for (let run = 1; run <= opts.runs; run++) {
    for (const n of [1, 2]) {
      const row = await throughput(n, opts.messages);
      console.error(`run ${run}, ${n} broker(s): delivered ${row.delivered}/s, per broker ${row.perBroker.join(' / ')}/s, brokers ${row.brokerCpuUs.toFixed(1)} + redis ${row.redisCpuUs.toFixed(1)} µs CPU/msg, lost ${row.lost}`);
      rows.push(row);
    }
    const f = await failover();
    console.error(`run ${run}, failover: ${f.onFirst} nodes on the killed broker, reconnected after ${f.reconnectMs.join(', ')} ms`);
    failovers.push(f);
  }
  console.log(`\nbroker cluster on one redis-server: 2 publishers (QoS 1, 1,000 in flight each) → broker(s) → 1 persistent QoS 1 subscriber on broker 1; ${opts.messages} messages per run`);
  console.log('| brokers | delivered/s | accepted/s per broker | brokers CPU µs/msg | redis CPU µs/msg | lost |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.brokers} | ${r.delivered} | ${r.perBroker.join(' / ')} | ${r.brokerCpuUs.toFixed(1)} | ${r.redisCpuUs.toFixed(1)} | ${r.lost} |`);
  const ones = rows.filter((r) => r.brokers === 1);
  const twos = rows.filter((r) => r.brokers === 2);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  console.log(`two brokers / one, delivered/s (medians): ${(median(twos.map((r) => r.delivered)) / median(ones.map((r) => r.delivered))).toFixed(2)}`);
  const all = failovers.flatMap((f) => f.reconnectMs).sort((a, b) => a - b);
  console.log(`failover (${failovers.length} run(s), ${all.length} nodes moved): reconnect p50 ${nearestRank(all, 50)} ms, p99 ${nearestRank(all, 99)} ms, max ${all.at(-1)} ms`);
}
