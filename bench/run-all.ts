// `npm run bench`: runs every benchmark script in turn and lets each print its own numbers.
// Benchmarks measure; they never assert. Run them on an otherwise idle machine.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const only = process.argv.slice(2);
const benches: { file: string; args: string[] }[] = [
  { file: 'bench/ingest-throughput.ts', args: [] },
  { file: 'bench/broker-alone.ts', args: [] },
  // Prints a skip line where redis-server is not installed.
  { file: 'bench/broker-cluster.ts', args: [] },
  { file: 'bench/startup.ts', args: [] },
  { file: 'bench/rules-engine.ts', args: [] },
  { file: 'bench/simulator-replay.ts', args: [] },
  { file: 'bench/alerts-latency.ts', args: [] },
  { file: 'bench/dashboard-queries.ts', args: [] },
];

let failed = 0;
for (const b of benches) {
  if (only.length && !only.some((o) => b.file.includes(o))) continue;
  if (!existsSync(join(ROOT, b.file))) continue;
  console.log(`\n=== ${b.file} ${b.args.join(' ')}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', b.file, ...b.args], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) {
    failed += 1;
    console.log(`(${b.file} exited with ${r.status})`);
  }
}
process.exit(failed ? 1 : 0);
