// A real browser for page tests: Debian's chromium driven by playwright-core (which never downloads
// a browser), and checks that a screenshot or a printed page is not blank or broken.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { PNG } from 'pngjs';
import { CHROMIUM_ARGS } from '../../board/pdf.ts';

export const CHROMIUM_BIN = process.env.BOARD_CHROMIUM ?? '/usr/bin/chromium';
const ROOT = new URL('../..', import.meta.url).pathname;
/** Screenshots and printed pages of the browser tests (gitignored). */
export const TEST_OUTPUT = join(ROOT, 'test-output');

/** Skip locally without chromium or pdftoppm; in CI (CI or EWS_REQUIRE_INTEGRATION) that is a failure. */
export function browserSkipReason(): string | false {
  const missing = [existsSync(CHROMIUM_BIN) ? null : 'chromium', spawnSync('pdftoppm', ['-v'], { stdio: 'ignore' }).status === 0 ? null : 'poppler-utils'].filter(Boolean);
  if (missing.length === 0) return false;
  const how = `apt-get install -y ${missing.join(' ')} fonts-noto-core`;
  if (process.env.CI || process.env.EWS_REQUIRE_INTEGRATION) throw new Error(`${missing.join(', ')} not found: the browser tests are required here (${how})`);
  return `${missing.join(' and ')} not installed (${how})`;
}

/** playwright gives the launch a fresh temporary profile and removes it on close. */
export async function launchChromium(): Promise<{ browser: Browser; close: () => Promise<void> }> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_BIN, args: CHROMIUM_ARGS, timeout: 60_000 });
  return { browser, close: () => browser.close() };
}

export function outputDir(name: string): string {
  const dir = join(TEST_OUTPUT, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * What a PNG holds: its size, how many distinct colours (a blank or single-colour page has one or two),
 * and the standard deviation of the luminance (a broken page of one flat colour has ~0).
 */
export function pngStats(file: string): { width: number; height: number; colours: number; luminanceStd: number; darkShare: number } {
  const png = PNG.sync.read(readFileSync(file));
  const colours = new Set<number>();
  let sum = 0;
  let sq = 0;
  let dark = 0;
  const n = png.width * png.height;
  for (let i = 0; i < n; i++) {
    const r = png.data[i * 4] as number;
    const g = png.data[i * 4 + 1] as number;
    const b = png.data[i * 4 + 2] as number;
    if (colours.size < 100_000) colours.add((r << 16) | (g << 8) | b);
    const y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    sum += y;
    sq += y * y;
    if (y < 100) dark += 1;
  }
  const mean = sum / n;
  return { width: png.width, height: png.height, colours: colours.size, luminanceStd: Math.sqrt(Math.max(0, sq / n - mean * mean)), darkShare: dark / n };
}
