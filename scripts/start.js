#!/usr/bin/env node
// `npm start`: runs the CLI from compiled JavaScript, building it first when the sources changed.
// The build goes to .build/<hash of the sources>/, never to a folder a running process uses: it is
// written under a temporary name and renamed into place (atomic), and a build that already exists is
// reused. So two checkouts sharing .build (the acceptance sandboxes symlink it) or two starts at once
// never rebuild under each other's running processes. Development keeps bin/fire-ews.js (tsx).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SOURCE_DIRS } from './source-dirs.js';

const ROOT = new URL('..', import.meta.url).pathname;
const BUILDS = join(ROOT, '.build');
/** Builds kept besides the current one (a process started from an older build may still import from it). */
const KEEP_OLD_BUILDS = 3;

function filesUnder(dir) {
  let out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out = out.concat(filesUnder(path));
    else out.push(path);
  }
  return out;
}

/** What the build depends on: every source file's path and content, the build script, the lockfile. */
function sourceHash() {
  const hash = createHash('sha256');
  const files = SOURCE_DIRS.filter((d) => existsSync(join(ROOT, d))).flatMap((d) => filesUnder(join(ROOT, d)));
  for (const file of [...files, join(ROOT, 'scripts/build.ts'), join(ROOT, 'scripts/source-dirs.js'), join(ROOT, 'package-lock.json')].sort()) {
    hash.update(file.slice(ROOT.length)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

const target = join(BUILDS, sourceHash());
if (!existsSync(join(target, 'cli/fire-ews.js'))) {
  mkdirSync(BUILDS, { recursive: true });
  const temporary = `${target}.tmp-${process.pid}`;
  const built = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/build.ts'), '--out', temporary], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  if (built.status !== 0) {
    rmSync(temporary, { recursive: true, force: true });
    console.error('fire-ews: the build failed (above); `npm run build` shows the same');
    process.exit(1);
  }
  try {
    renameSync(temporary, target);
  } catch {
    // Another start finished the same build first: use that one.
    rmSync(temporary, { recursive: true, force: true });
  }
  // Best effort: another start may be pruning at the same moment (a build gone between list and stat).
  try {
    const old = readdirSync(BUILDS)
      .map((name) => join(BUILDS, name))
      .filter((path) => path !== target && !path.includes('.tmp-'))
      .map((path) => ({ path, at: statSync(path).mtimeMs }))
      .sort((a, b) => b.at - a.at);
    for (const { path } of old.slice(KEEP_OLD_BUILDS)) rmSync(path, { recursive: true, force: true });
  } catch {
    // the next start prunes
  }
}
await import(pathToFileURL(join(target, 'cli/fire-ews.js')).href);
