// `npm start` runs compiled JavaScript (scripts/start.js): built once per version of the sources into
// .build/<hash>/, reused while the sources are unchanged, never rebuilt in place under a running
// process, and two starts at once (the acceptance sandboxes share .build) both work and leave one
// build. Real node processes on a copy of the repository's sources (node_modules linked).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SOURCE_DIRS } from '../../scripts/source-dirs.js';

const ROOT = new URL('../..', import.meta.url).pathname;
let copy: string;

beforeAll(() => {
  copy = mkdtempSync(join(tmpdir(), 'ews-start-build-'));
  for (const entry of [...SOURCE_DIRS, 'scripts', 'package.json', 'package-lock.json', 'tsconfig.json']) {
    if (existsSync(join(ROOT, entry))) cpSync(join(ROOT, entry), join(copy, entry), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
});
afterAll(() => rmSync(copy, { recursive: true, force: true }));

function start(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(copy, 'scripts/start.js'), '--help'], { cwd: copy, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
const builds = () => readdirSync(join(copy, '.build')).sort();
const entryOf = (build: string) => join(copy, '.build', build, 'cli/fire-ews.js');

it('builds once, reuses the build while the sources are unchanged, and builds a new one beside it after a change', { timeout: 180_000 }, async () => {
  const first = await start();
  expect(first.stderr).toBe('');
  expect(first.code).toBe(0);
  expect(first.stdout).toContain('Usage: fire-ews');
  const [build] = builds();
  expect(builds()).toHaveLength(1);
  const builtAt = statSync(entryOf(build as string)).mtimeMs;

  const second = await start();
  expect(second.code).toBe(0);
  expect(builds(), 'no new build').toStrictEqual([build]);
  expect(statSync(entryOf(build as string)).mtimeMs, 'not rebuilt in place').toBe(builtAt);

  appendFileSync(join(copy, 'cli/fire-ews.ts'), '\n// changed\n');
  const third = await start();
  expect(third.code).toBe(0);
  expect(builds()).toHaveLength(2);
  expect(builds(), 'the build a running process may use is still there').toContain(build);
  expect(statSync(entryOf(build as string)).mtimeMs).toBe(builtAt);
});

it('two starts at once with no build yet: both run, one build is left, no temporary folder', { timeout: 180_000 }, async () => {
  rmSync(join(copy, '.build'), { recursive: true, force: true });
  const [a, b] = await Promise.all([start(), start()]);
  expect([a.code, b.code]).toStrictEqual([0, 0]);
  expect(a.stdout).toContain('Usage: fire-ews');
  expect(b.stdout).toContain('Usage: fire-ews');
  expect(builds()).toHaveLength(1);
  expect(builds().some((name) => name.includes('.tmp-'))).toBe(false);
});
