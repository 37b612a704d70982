// Replay speed: --fast into a file and into the broker (readings/s), and peak RSS of a 1 M-row replay.
// Each replay runs in its own process so its peak RSS is its own.
// Usage: node --import tsx bench/simulator-replay.ts [rows=1000000] [brokerRows=200000]
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { startBroker } from '../broker/server.ts';
import { createLogger } from '../platform/logger.ts';
import { loadSiteFile } from '../platform/site-file.ts';
import { systemClock } from '../platform/clock.ts';
import { scenarioNodes, simulate } from '../simulator/engine.ts';
import { MqttReadingSink } from '../simulator/mqtt-io.ts';
import { readFileRows, replayRows } from '../simulator/replay.ts';
import { NdjsonFileSink } from '../simulator/run.ts';
import { loadScenario } from '../simulator/scenario.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const childResultSchema = z.object({ replayed: z.number(), seconds: z.number(), maxRssMb: z.number() });

async function child(mode: string, input: string, target: string, secret: string | undefined): Promise<void> {
  const sink = mode === 'file' ? new NdjsonFileSink(target) : await MqttReadingSink.open({ url: target, secret: secret ?? '' }, `bench-replay-${process.pid}`);
  const started = performance.now();
  const stats = await replayRows(readFileRows(input, 'ndjson'), sink, { speed: Infinity, clock: systemClock });
  await sink.close();
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ replayed: stats.replayed, seconds, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
}

// Asynchronous: the broker under test lives in this process and must keep serving.
async function runChild(args: string[]) {
  const { stdout: out } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(root, 'bench/simulator-replay.ts'), '--child', ...args], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 20 });
  return childResultSchema.parse(JSON.parse(out.trim().split('\n').at(-1) ?? '{}'));
}

async function main(): Promise<void> {
  const rows = Number(process.argv[2] ?? 1_000_000);
  const brokerRows = Number(process.argv[3] ?? 200_000);
  const dir = mkdtempSync(join(tmpdir(), 'ews-bench-replay-'));
  try {
    // Input: the first `rows` readings of the 30-day dry spell.
    const scenario = loadScenario('dry-spell-30d');
    const run = simulate(scenario, scenarioNodes(scenario, loadSiteFile(join(root, 'config/lai-chau.site.yaml'))));
    const write = async (path: string, n: number) => {
      const sink = new NdjsonFileSink(path);
      let i = 0;
      for (const m of run.messages) {
        if (m.kind !== 'reading') continue;
        const p = sink.write(m.reading);
        if (p) await p;
        if (++i >= n) break;
      }
      await sink.close();
    };
    const big = join(dir, 'big.ndjson');
    const small = join(dir, 'small.ndjson');
    await write(big, rows);
    await write(small, brokerRows);
    console.log(`input: ${rows.toLocaleString('en-US')} rows, ${(statSync(big).size / 1e6).toFixed(0)} MB NDJSON`);

    const toFile = await runChild(['file', big, join(dir, 'out.ndjson')]);
    console.log(`replay --fast → file:   ${Math.round(toFile.replayed / toFile.seconds).toLocaleString('en-US')} readings/s (${toFile.replayed.toLocaleString('en-US')} in ${toFile.seconds.toFixed(1)} s), peak RSS ${toFile.maxRssMb.toFixed(0)} MB`);

    // Flat memory: a file 5× smaller should peak at about the same RSS.
    const smallToFile = await runChild(['file', small, join(dir, 'out-small.ndjson')]);
    console.log(`peak RSS: ${smallToFile.maxRssMb.toFixed(0)} MB for ${brokerRows.toLocaleString('en-US')} rows vs ${toFile.maxRssMb.toFixed(0)} MB for ${rows.toLocaleString('en-US')} rows`);

    const secret = 'bench-secret-0123456789abcdef';
    const broker = await startBroker({ host: '127.0.0.1', port: 0, wsPort: 0, dataDir: join(dir, 'broker'), secret, nodeIds: new Set(), queueLimit: 1_000_000, logger: createLogger('bench', 'error') });
    try {
      const toBroker = await runChild(['broker', small, `mqtt://127.0.0.1:${broker.port}`, secret]);
      console.log(`replay --fast → broker: ${Math.round(toBroker.replayed / toBroker.seconds).toLocaleString('en-US')} readings/s (${toBroker.replayed.toLocaleString('en-US')} QoS 1, PUBACKed, no subscriber), peak RSS ${toBroker.maxRssMb.toFixed(0)} MB`);
    } finally {
      await broker.close();
    }
    const cpu = spawnSync('nproc', { encoding: 'utf8' }).stdout.trim();
    console.log(`machine: ${cpu} cores, node ${process.version}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3] ?? '', process.argv[4] ?? '', process.argv[5] ?? '', process.argv[6]);
else await main();
