// Bench: N publisher processes → broker (our aedes `fire-ews broker`, or Debian's Mosquitto with and
// without persistence) → ingest → real InfluxDB. For each offered rate: stored readings/s, loss
// (published − points in InfluxDB), publish-to-stored latency p50/p99 (only at rates every broker
// kept up with: beyond saturation latency is the length of the queue, not a property of the broker),
// broker RSS idle and at the end of the step, ingest's peak RSS during the step. One unrecorded
// warm-up step first. Prints a table; asserts nothing.
import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { derivePassword } from '../platform/credentials.ts';
import { createLogger } from '../platform/logger.ts';
import { V1HttpLineWriter } from '../platform/influx-writer.ts';
import { indexSite, siteSchema } from '../contracts/site.ts';
import { startIngest } from '../ingest/service.ts';
import { InfluxdProcess } from '../test/harness/influxd.ts';
import { spawnBenchMosquitto } from './mosquitto.ts';
import { freePort, waitFor } from '../test/harness/ports.ts';
import { ServiceProcess, serviceEnv, tempDataDir, TEST_SECRET, SITE_FILE } from '../test/harness/services.ts';
import { waitForPort } from './process-probes.ts';

const { values } = parseArgs({
  options: {
    rates: { type: 'string', default: '5000,10000,20000,30000' },
    seconds: { type: 'string', default: '10' },
    publishers: { type: 'string', default: '4' },
    nodes: { type: 'string', default: '2000' },
    brokers: { type: 'string', default: 'aedes,mosquitto,mosquitto-nopersist' },
    // auto: pin publishers to the last CPU and the pipeline to the others when there are ≥ 3 CPUs
    // (on 2 the pipeline would get a single core and measure something else).
    pin: { type: 'string', default: 'auto' },
    'warmup-seconds': { type: 'string', default: '3' },
  },
});
const opts = z
  .object({
    rates: z.string().transform((s) => s.split(',').map(Number)),
    seconds: z.coerce.number().positive(),
    publishers: z.coerce.number().int().positive(),
    nodes: z.coerce.number().int().positive(),
    brokers: z.string().transform((s) => z.array(z.enum(['aedes', 'aedes-upstream-store', 'mosquitto', 'mosquitto-nopersist'])).parse(s.split(','))),
    pin: z.enum(['auto', 'on', 'off']),
    'warmup-seconds': z.coerce.number().min(0),
  })
  .parse(values);

const cpus = availableParallelism();
const hasTaskset = spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;
const pin = hasTaskset && cpus >= 2 && (opts.pin === 'on' || (opts.pin === 'auto' && cpus >= 3));
const publisherCpus = `${cpus - 1}`;
const pipelineCpus = `0-${cpus - 2}`;
/** Runs `cmd` pinned to `cpuList` when pinning is on. */
const pinned = (cpuList: string, cmd: string, args: string[]): [string, string[]] => (pin ? ['taskset', ['-c', cpuList, cmd, ...args]] : [cmd, args]);
// This process runs ingest; influxd and the brokers it starts inherit its CPUs. Publishers are moved.
if (pin) spawnSync('taskset', ['-pc', pipelineCpus, String(process.pid)], { stdio: 'ignore' });

const ROOT = new URL('..', import.meta.url).pathname;
const work = tempDataDir('bench-ingest');
const logger = createLogger('bench', 'warn');

// A bench site: the Lai Châu zones with many virtual nodes, so timestamps per node stay unique.
const base = siteSchema.parse(parse(readFileSync(SITE_FILE, 'utf8')));
const zones = base.zones.map((z) => z.id);
const benchNodes = Array.from({ length: opts.nodes }, (_, i) => ({
  id: `bench-${String(i).padStart(5, '0')}`,
  zone: zones[i % zones.length] as string,
  lat: 22.39,
  lon: 103.47,
  elevationM: 950,
}));
const siteFile = join(work.dir, 'bench.site.yaml');
writeFileSync(siteFile, stringify({ ...parse(readFileSync(SITE_FILE, 'utf8')), nodes: benchNodes }));
const site = indexSite(siteSchema.parse(parse(readFileSync(siteFile, 'utf8'))));

/** Current resident set of a process (VmRSS), MB. */
function rssMb(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function startMosquitto(port: number, dir: string, persistence: boolean) {
  const child = spawnBenchMosquitto(port, dir, persistence);
  await waitForPort(port, 60_000, 'mosquitto');
  return child;
}

interface Row {
  broker: string;
  offered: number;
  published: number;
  stored: number;
  inInflux: number;
  ratePerS: number;
  p50: number;
  p99: number;
  brokerIdleRss: number;
  brokerEndRss: number;
  ingestPeakRss: number;
}

const influx = await InfluxdProcess.start('warmup');
const rows: Row[] = [];

// A failed step must not leave brokers or influxd behind.
const running = new Set<() => Promise<unknown>>();
async function runStep(brokerKind: (typeof opts.brokers)[number], rate: number, seconds: number, label: string): Promise<Row> {
      const db = `bench_${brokerKind}_${rate}_${label}`;
      await influx.query(`CREATE DATABASE "${db}"`, undefined, 'POST');
      const dir = tempDataDir(`bench-${brokerKind}-${rate}`);
      const port = await freePort();
      const url = `mqtt://127.0.0.1:${port}`;
      let brokerPid: number | undefined;
      let stopBroker: () => Promise<unknown>;
      if (brokerKind === 'aedes') {
        const broker = new ServiceProcess('broker', { ...serviceEnv(dir.dir, { MQTT_PORT: String(port), EWS_SITE_FILE: siteFile, EWS_LOG_LEVEL: 'error' }) }).start();
        stopBroker = () => broker.stop();
        running.add(stopBroker); // stopped even if it never comes up
        // Its log level is `error`, so the port is the sign it listens. Generous: on a loaded 2-core
        // machine a tsx start takes tens of seconds.
        await waitForPort(port, 120_000, 'broker');
        await new Promise((r) => setTimeout(r, 300));
        brokerPid = broker.pid;
      } else if (brokerKind === 'aedes-upstream-store') {
        // Our broker with the session store it had before issue 14 (aedes-persistence-level as is).
        const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/broker-alone.ts'), 'serve', 'upstream', String(port), dir.dir], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
        stopBroker = () => new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : (child.once('exit', resolve), child.kill('SIGTERM'))));
        running.add(stopBroker);
        await waitForPort(port, 120_000, 'broker');
        brokerPid = child.pid;
      } else {
        const m = await startMosquitto(port, dir.dir, brokerKind === 'mosquitto');
        brokerPid = m.pid;
        stopBroker = () => new Promise((resolve) => (m.once('exit', resolve), m.kill('SIGTERM')));
        running.add(stopBroker);
      }

      const latencies = new Float64Array(Math.ceil(rate * seconds) + 10);
      let stored = 0;
      let firstStoredAt = 0;
      let lastStoredAt = 0;
      const ingest = await startIngest({
        mqttUrl: url,
        clientId: 'bench-ingest',
        username: 'svc-ingest',
        password: derivePassword(TEST_SECRET, 'svc-ingest'),
        site,
        databaseFile: join(dir.dir, 'ingest.sqlite'),
        writer: new V1HttpLineWriter(influx.url, db, { timeoutMs: 10_000 }),
        limits: { maxPayloadBytes: 4096, maxFutureMs: 300_000, maxAgeMs: 86_400_000 },
        batchSize: 5000,
        flushMs: 100,
        spoolMaxRows: 5_000_000,
        localRetentionRows: 1,
        logger,
        onStored: (batch, at) => {
          for (const r of batch) if (stored < latencies.length) latencies[stored++] = at - r.tsMs;
          if (!firstStoredAt) firstStoredAt = at;
          lastStoredAt = at;
        },
      });
      await waitFor(() => ingest.connected, 60_000, 'ingest connected');
      await new Promise((r) => setTimeout(r, 500)); // SUBACK
      const brokerIdleRss = rssMb(brokerPid);
      // ingest runs in this process: its RSS is sampled during this step only.
      let ingestPeakRss = process.memoryUsage().rss / 1048576;
      const sampler = setInterval(() => (ingestPeakRss = Math.max(ingestPeakRss, process.memoryUsage().rss / 1048576)), 100);

      const perPublisher = rate / opts.publishers;
      const nodeSlices = Array.from({ length: opts.publishers }, (_, p) => benchNodes.filter((_, i) => i % opts.publishers === p).map((n) => n.id));
      const started = Date.now();
      const results = await Promise.all(
        nodeSlices.map(
          (nodes, p) =>
            new Promise<{ published: number }>((resolve, reject) => {
              const args = { url, username: 'svc-simulator', password: derivePassword(TEST_SECRET, 'svc-simulator'), nodes: nodes.join(','), rate: perPublisher, seconds, seqStart: p * 1e9 };
              const [cmd, argv] = pinned(publisherCpus, process.execPath, ['--import', 'tsx', join(ROOT, 'bench/ingest-publisher.ts'), JSON.stringify(args)]);
              const child = spawn(cmd, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
              let out = '';
              child.stdout.on('data', (d: Buffer) => (out += d.toString()));
              // 'close', not 'exit': exit can come before the child's stdout has been read.
              child.on('close', (code) => (code === 0 && out ? resolve(JSON.parse(out) as { published: number }) : reject(new Error(`publisher exited ${code} with output ${JSON.stringify(out)}`))));
            }),
        ),
      );
      const published = results.reduce((n, r) => n + r.published, 0);
      await waitFor(() => stored >= published, 120_000, `ingest to store ${published}`, 100).catch(() => undefined);
      // Rate over the stored span (publisher processes take ~1 s to start, which is not the pipeline's time).
      const elapsed = (lastStoredAt - firstStoredAt) / 1000;
      void started;
      const inInflux = (await influx.count('reading', 'temperature', db)) as number;
      clearInterval(sampler);
      const sorted = latencies.slice(0, stored).sort();
      const row: Row = {
        broker: brokerKind,
        offered: rate,
        published,
        stored,
        inInflux,
        ratePerS: Math.round(stored / elapsed),
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        brokerIdleRss,
        brokerEndRss: rssMb(brokerPid),
        ingestPeakRss,
      };
      await ingest.close();
      await stopBroker();
      running.delete(stopBroker);
      dir.remove();
      console.error(`${label} ${row.broker} offered ${row.offered}/s: stored ${row.ratePerS}/s, lost ${row.published - row.inInflux}, p50 ${row.p50} ms, p99 ${row.p99} ms`);
      return row;
}

try {
  // Warm-up (not recorded): the first step of a run otherwise pays for cold caches and JIT.
  const first = opts.brokers[0];
  if (opts['warmup-seconds'] > 0 && first && opts.rates[0]) await runStep(first, opts.rates[0], opts['warmup-seconds'], 'warmup');
  for (const brokerKind of opts.brokers) {
    for (const rate of opts.rates) rows.push(await runStep(brokerKind, rate, opts.seconds, 'step'));
  }
} finally {
  for (const stop of running) await stop().catch(() => undefined);
  await influx.destroy();
  work.remove();
}

/** Kept up: stored at ≥ 95 % of the offered rate. Latency is shown only at rates where every broker kept up. */
const keptUp = (r: Row) => r.ratePerS >= 0.95 * r.offered;
const latencyShown = (rate: number) => rows.filter((r) => r.offered === rate).every(keptUp);
const ms = (r: Row, v: number) => (latencyShown(r.offered) ? String(v) : '—');

console.log(
  `\ningest throughput: ${opts.publishers} publishers → broker → ingest → InfluxDB 1.6 (v1 /write), ${opts.seconds} s per step after a ${opts['warmup-seconds']} s warm-up, ${opts.nodes} nodes, ${cpus} CPUs, ${pin ? `publishers pinned to CPU ${publisherCpus}, pipeline to ${pipelineCpus}` : 'not pinned'}`,
);
console.log('| broker | offered/s | published | points in InfluxDB | lost | stored/s | p50 ms | p99 ms | broker RSS idle → end MB | ingest peak RSS MB |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.broker} | ${r.offered} | ${r.published} | ${r.inInflux} | ${r.published - r.inInflux} | ${r.ratePerS} | ${ms(r, r.p50)} | ${ms(r, r.p99)} | ${r.brokerIdleRss.toFixed(0)} → ${r.brokerEndRss.toFixed(0)} | ${r.ingestPeakRss.toFixed(0)} |`);
}
console.log('(— : at this rate some broker did not keep up (stored < 95 % of offered); latency there is queueing, not comparable)');
