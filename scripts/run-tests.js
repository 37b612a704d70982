#!/usr/bin/env node
// Runs every *.test.ts in the repo with node's test runner (through tsx).
// `--unit` leaves out the integration tests (test/integration/), which start real InfluxDB and broker processes.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const unitOnly = process.argv.includes('--unit');
const filters = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const skip = new Set(['node_modules', '.git', 'data', '.tmp']);

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (skip.has(name)) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) walk(full, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, full));
  }
  return out;
}

let files = walk(root, []).sort();
if (unitOnly) files = files.filter((f) => !f.startsWith('test/integration/'));
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-force-exit', '--test-timeout=300000', ...files], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
