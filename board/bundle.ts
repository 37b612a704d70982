// Bundles the page's TypeScript and CSS (board/client/) in memory with esbuild when the board starts
// from source (development). The compiled build (`npm run build`, scripts/build.ts) bundles it once
// into dist/board/client-bundle.json, which is used instead. The bundle's hash names it, so browsers
// cache it safely.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { z } from 'zod';

export interface Asset {
  body: Buffer;
  type: string;
  hash: string;
}

/** Beside the compiled bundle.js in dist/board/. */
export const PREBUILT_CLIENT_FILE = 'client-bundle.json';
const prebuiltSchema = z.object({ js: z.string(), css: z.string() });

const asset = (body: Buffer, type: string): Asset => ({ body, type, hash: createHash('sha256').update(body).digest('hex').slice(0, 12) });

export async function bundleClient(): Promise<{ js: Asset; css: Asset }> {
  const prebuilt = fileURLToPath(new URL(`./${PREBUILT_CLIENT_FILE}`, import.meta.url));
  if (!existsSync(prebuilt)) return bundleClientFromSource();
  const { js, css } = prebuiltSchema.parse(JSON.parse(readFileSync(prebuilt, 'utf8')));
  return { js: asset(Buffer.from(js), 'text/javascript; charset=utf-8'), css: asset(Buffer.from(css), 'text/css; charset=utf-8') };
}

export async function bundleClientFromSource(): Promise<{ js: Asset; css: Asset }> {
  const entry = fileURLToPath(new URL('./client/main.ts', import.meta.url));
  const result = await build({ entryPoints: [entry], bundle: true, format: 'esm', target: ['es2020'], minify: true, sourcemap: false, write: false, outdir: '/bundle', logLevel: 'silent', legalComments: 'none' });
  const pick = (ext: string, type: string): Asset => {
    const file = result.outputFiles.find((f) => f.path.endsWith(ext));
    if (!file) throw new Error(`the board bundle has no ${ext} output`);
    return asset(Buffer.from(file.contents), type);
  };
  return { js: pick('.js', 'text/javascript; charset=utf-8'), css: pick('.css', 'text/css; charset=utf-8') };
}
