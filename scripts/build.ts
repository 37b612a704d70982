// `npm run build`: compiles the services' TypeScript to JavaScript in dist/ (one .js file per source
// file, the same folders), so production runs plain `node` instead of transpiling with tsx at every
// start. esbuild (already used for the board's page), about a second. Tests, bench and the test
// harness are not compiled; development keeps running the TypeScript through bin/fire-ews.js.
// Also in dist/: the built-in scenarios (read at run time) and the board's page, bundled once here
// instead of at every board start (board/bundle.ts picks it up).
import { cpSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build, type Plugin } from 'esbuild';
import { bundleClientFromSource, PREBUILT_CLIENT_FILE } from '../board/bundle.ts';
import { SOURCE_DIRS } from './source-dirs.js';

const ROOT = new URL('..', import.meta.url).pathname;
// `--out <dir>`: scripts/start.js builds into a fresh folder of its own (default dist/).
const { values: args } = parseArgs({ options: { out: { type: 'string' } } });
const DIST = args.out ? resolve(args.out) : join(ROOT, 'dist');
const skipped = (file: string) => /\.test\.ts$|\.d\.ts$/.test(file) || file.includes('/client/');

function sources(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(sources(path));
    else if (path.endsWith('.ts') && !skipped(path)) out.push(path);
  }
  return out;
}

// Every file is its own entry; its relative imports stay imports, `.ts` → `.js` (esbuild parses them).
const keepImports: Plugin = {
  name: 'keep-relative-imports',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => (args.kind === 'entry-point' ? undefined : { path: args.path.replace(/\.ts$/, '.js'), external: true }));
  },
};

const started = performance.now();
const entryPoints = SOURCE_DIRS.filter((d) => {
  try {
    return statSync(join(ROOT, d)).isDirectory();
  } catch {
    return false;
  }
}).flatMap((d) => sources(join(ROOT, d)));
rmSync(DIST, { recursive: true, force: true });
await build({
  entryPoints,
  outbase: ROOT,
  outdir: DIST,
  bundle: true,
  packages: 'external',
  plugins: [keepImports],
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
});
cpSync(join(ROOT, 'simulator/scenarios'), join(DIST, 'simulator/scenarios'), { recursive: true });
const client = await bundleClientFromSource();
mkdirSync(join(DIST, 'board'), { recursive: true });
writeFileSync(join(DIST, 'board', PREBUILT_CLIENT_FILE), JSON.stringify({ js: client.js.body.toString('utf8'), css: client.css.body.toString('utf8') }));
console.log(`built ${entryPoints.length} files into ${relative(process.cwd(), DIST) || '.'}/ in ${Math.round(performance.now() - started)} ms`);
