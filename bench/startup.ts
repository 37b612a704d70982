// Bench: `fire-ews start` from the TypeScript through tsx (bin/fire-ews.js, development), from the
// compiled JavaScript (dist/cli/fire-ews.js, `npm run build` first) and as `npm start` runs it
// (scripts/start.js: compiled, from .build/).
// For each: time from spawn to "pipeline running", RSS at steady state (median over the last
// half of the watch) and the start-up peak (VmHWM). Prints a table; asserts nothing.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { freePort } from '../test/harness/ports.ts';
import { serviceEnv, tempDataDir } from '../test/harness/services.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, watch: { type: 'string', default: '20' } } });
const opts = z.object({ runs: z.coerce.number().int().positive(), watch: z.coerce.number().positive() }).parse(values);
const ROOT = new URL('..', import.meta.url).pathname;
const variants = [
  { name: 'tsx (bin/fire-ews.js)', entry: join(ROOT, 'bin/fire-ews.js') },
  { name: 'compiled (dist/cli/fire-ews.js)', entry: join(ROOT, 'dist/cli/fire-ews.js') },
  // What `npm start` runs: the hash check of the sources, then the compiled CLI from .build/.
  { name: 'npm start (scripts/start.js, build current)', entry: join(ROOT, 'scripts/start.js') },
];
// Its build is made before the timed runs (the first `npm start` after a change pays it once).
spawnSync(process.execPath, [join(ROOT, 'scripts/start.js'), '--help'], { cwd: ROOT, stdio: 'ignore' });
if (!existsSync(variants[1]!.entry)) {
  console.error('bench/startup.ts: no dist/ — run `npm run build` first');
  process.exit(1);
}

function status(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

async function once(entry: string): Promise<{ readyMs: number; steadyMb: number; peakMb: number }> {
  const data = tempDataDir('bench-startup');
  const env = serviceEnv(data.dir, {
    MQTT_PORT: String(await freePort()),
    ALERTS_HTTP_PORT: String(await freePort()),
    BOARD_HTTP_PORT: String(await freePort()),
    EWS_LOG_FORMAT: 'json',
  });
  const started = performance.now();
  const child = spawn(process.execPath, [entry, 'start'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const readyMs = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('pipeline running')) resolve(performance.now() - started);
      });
      child.once('exit', (code) => reject(new Error(`fire-ews start exited ${code}: ${out.slice(-2000)}`)));
    });
    const samples: number[] = [];
    const until = Date.now() + opts.watch * 1000;
    while (Date.now() < until) {
      samples.push(status(child.pid as number, 'VmRSS'));
      await new Promise((r) => setTimeout(r, 250));
    }
    return { readyMs, steadyMb: median(samples.slice(Math.floor(samples.length / 2))), peakMb: status(child.pid as number, 'VmHWM') };
  } finally {
    await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : (child.once('exit', resolve), child.kill('SIGTERM'))));
    data.remove();
  }
}

const results: { name: string; readyMs: number[]; steadyMb: number[]; peakMb: number[] }[] = variants.map((v) => ({ name: v.name, readyMs: [], steadyMb: [], peakMb: [] }));
// Interleaved, so a busy moment of the machine hits both alike.
for (let run = 0; run < opts.runs; run++) {
  for (const [i, v] of variants.entries()) {
    const r = await once(v.entry);
    const into = results[i]!;
    into.readyMs.push(r.readyMs);
    into.steadyMb.push(r.steadyMb);
    into.peakMb.push(r.peakMb);
    console.error(`${v.name}: ready ${Math.round(r.readyMs)} ms, steady ${r.steadyMb.toFixed(0)} MB, peak ${r.peakMb.toFixed(0)} MB`);
  }
}
console.log(`\nfire-ews start, no InfluxDB, idle; ${opts.runs} runs each (median [min–max]), RSS watched for ${opts.watch} s`);
console.log('| runs as | start-up to "pipeline running" ms | steady RSS MB | start-up peak RSS MB |');
console.log('|---|---|---|---|');
const fmt = (xs: number[]) => `${Math.round(median(xs))} [${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}]`;
for (const r of results) console.log(`| ${r.name} | ${fmt(r.readyMs)} | ${fmt(r.steadyMb)} | ${fmt(r.peakMb)} |`);
