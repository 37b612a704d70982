// Bundles the page's TypeScript and CSS (board/client/) in memory with esbuild when the board starts:
// no build step, nothing written to disk. The bundle's hash names it, so browsers cache it safely.
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export interface Asset {
  body: Buffer;
  type: string;
  hash: string;
}

export async function bundleClient(): Promise<{ js: Asset; css: Asset }> {
  const entry = fileURLToPath(new URL('./client/main.ts', import.meta.url));
  const result = await build({ entryPoints: [entry], bundle: true, format: 'esm', target: ['es2020'], minify: true, sourcemap: false, write: false, outdir: '/bundle', logLevel: 'silent', legalComments: 'none' });
  const pick = (ext: string, type: string): Asset => {
    const file = result.outputFiles.find((f) => f.path.endsWith(ext));
    if (!file) throw new Error(`the board bundle has no ${ext} output`);
    const body = Buffer.from(file.contents);
    return { body, type, hash: createHash('sha256').update(body).digest('hex').slice(0, 12) };
  };
  return { js: pick('.js', 'text/javascript; charset=utf-8'), css: pick('.css', 'text/css; charset=utf-8') };
}
