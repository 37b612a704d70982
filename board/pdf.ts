// Prints HTML to PDF with Debian's Chromium through playwright-core (no browser download: the system
// executable). Flags that work for root in containers and CI; playwright gives every launch a fresh
// temporary profile (--user-data-dir) and removes it afterwards.
import { chromium } from 'playwright-core';

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function htmlToPdf(html: string, executablePath: string): Promise<Buffer> {
  let browser;
  try {
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, timeout: 60_000 });
  } catch (err) {
    throw new Error(`cannot start Chromium at ${executablePath} (BOARD_CHROMIUM; Debian: apt-get install chromium fonts-noto-core): ${(err as Error).message.split('\n')[0]}`);
  }
  try {
    const page = await browser.newPage();
    // The bulletin is self-contained: no request should leave the page.
    await page.route('**/*', (route) => (route.request().url().startsWith('data:') ? route.continue() : route.abort()));
    await page.setContent(html, { waitUntil: 'load' });
    return await page.pdf({ format: 'A4', printBackground: true, preferCSSPageSize: true });
  } finally {
    await browser.close();
  }
}
