// Bench: N publisher processes → broker (our aedes `fire-ews broker`, or Debian's Mosquitto) →
// ingest → real InfluxDB. For each offered rate: stored readings/s, loss (published − points in
// InfluxDB), publish-to-stored latency p50/p99, peak RSS. Prints a table; asserts nothing.
import { spawn } from 'node:child_process';
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
import { freePort, waitFor } from '../test/harness/ports.ts';
import { ServiceProcess, serviceEnv, tempDataDir, TEST_SECRET, SITE_FILE } from '../test/harness/services.ts';

const { values } = parseArgs({
  options: {
    rates: { type: 'string', default: '5000,10000,20000,30000' },
    seconds: { type: 'string', default: '10' },
    publishers: { type: 'string', default: '4' },
    nodes: { type: 'string', default: '2000' },
    brokers: { type: 'string', default: 'aedes,mosquitto' },
  },
});
const opts = z
  .object({
    rates: z.string().transform((s) => s.split(',').map(Number)),
    seconds: z.coerce.number().positive(),
    publishers: z.coerce.number().int().positive(),
    nodes: z.coerce.number().int().positive(),
    brokers: z.string().transform((s) => s.split(',') as ('aedes' | 'mosquitto')[]),
  })
  .parse(values);

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

function peakRssMb(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function startMosquitto(port: number, dir: string) {
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence true', `persistence_location ${dir}/`, 'max_queued_messages 1000000', 'max_inflight_messages 1000', 'log_type error', ''].join('\n'),
  );
  const child = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  await waitFor(async () => {
    const net = await import('node:net');
    return new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
  }, 10_000, 'mosquitto');
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
  brokerRss: number;
  ingestRss: number;
}

const influx = await InfluxdProcess.start('warmup');
const rows: Row[] = [];

// A failed step must not leave brokers or influxd behind.
const running = new Set<() => Promise<unknown>>();
try {
  for (const brokerKind of opts.brokers) {
    for (const rate of opts.rates) {
      const db = `bench_${brokerKind}_${rate}`;
      await influx.query(`CREATE DATABASE "${db}"`, undefined, 'POST');
      const dir = tempDataDir(`bench-${brokerKind}-${rate}`);
      const port = await freePort();
      const url = `mqtt://127.0.0.1:${port}`;
      let brokerPid: number | undefined;
      let stopBroker: () => Promise<unknown>;
      if (brokerKind === 'aedes') {
        const broker = new ServiceProcess('broker', { ...serviceEnv(dir.dir, { MQTT_PORT: String(port), EWS_SITE_FILE: siteFile, EWS_LOG_LEVEL: 'error' }) }).start();
        await broker.waitForLog('MQTT broker listening').catch(() => undefined);
        await waitFor(() => broker.running, 10_000, 'broker');
        await new Promise((r) => setTimeout(r, 300));
        brokerPid = broker.pid;
        stopBroker = () => broker.stop();
        running.add(stopBroker);
      } else {
        const m = await startMosquitto(port, dir.dir);
        brokerPid = m.pid;
        stopBroker = () => new Promise((resolve) => (m.once('exit', resolve), m.kill('SIGTERM')));
        running.add(stopBroker);
      }

      const latencies = new Float64Array(Math.ceil(rate * opts.seconds) + 10);
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
      await waitFor(() => ingest.connected, 10_000, 'ingest connected');
      await new Promise((r) => setTimeout(r, 500)); // SUBACK

      const perPublisher = rate / opts.publishers;
      const nodeSlices = Array.from({ length: opts.publishers }, (_, p) => benchNodes.filter((_, i) => i % opts.publishers === p).map((n) => n.id));
      const started = Date.now();
      const results = await Promise.all(
        nodeSlices.map(
          (nodes, p) =>
            new Promise<{ published: number }>((resolve, reject) => {
              const args = { url, username: 'svc-simulator', password: derivePassword(TEST_SECRET, 'svc-simulator'), nodes: nodes.join(','), rate: perPublisher, seconds: opts.seconds, seqStart: p * 1e9 };
              const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/ingest-publisher.ts'), JSON.stringify(args)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
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
      const sorted = latencies.slice(0, stored).sort();
      rows.push({
        broker: brokerKind,
        offered: rate,
        published,
        stored,
        inInflux,
        ratePerS: Math.round(stored / elapsed),
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        brokerRss: peakRssMb(brokerPid),
        ingestRss: process.resourceUsage().maxRSS / 1024,
      });
      await ingest.close();
      await stopBroker();
      running.delete(stopBroker);
      dir.remove();
      const r = rows[rows.length - 1] as Row;
      console.error(`${r.broker} offered ${r.offered}/s: stored ${r.ratePerS}/s, lost ${r.published - r.inInflux}, p50 ${r.p50} ms, p99 ${r.p99} ms`);
    }
  }
} finally {
  for (const stop of running) await stop().catch(() => undefined);
  await influx.destroy();
  work.remove();
}

console.log(`\ningest throughput: ${opts.publishers} publishers → broker → ingest → InfluxDB ${'1.6'} (v1 /write), ${opts.seconds} s per step, ${opts.nodes} nodes`);
console.log('| broker | offered/s | published | points in InfluxDB | lost | stored/s | p50 ms | p99 ms | broker peak RSS MB | ingest peak RSS MB |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.broker} | ${r.offered} | ${r.published} | ${r.inInflux} | ${r.published - r.inInflux} | ${r.ratePerS} | ${r.p50} | ${r.p99} | ${r.brokerRss.toFixed(0)} | ${r.ingestRss.toFixed(0)} |`);
}
