// `fire-ews board` (the situation board), `fire-ews board-user <memberId>` (a sign-in entry for
// BOARD_USERS) and `fire-ews bulletin` (the daily bulletin as PDF). Configuration problems print one
// message naming the variable or file and exit non-zero, without a stack trace.
import { createInterface } from 'node:readline';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Command } from 'commander';
import { boardEnvSchema, type BoardEnv } from '../contracts/config.ts';
import type { Site } from '../contracts/site.ts';
import { derivePassword, resolveBrokerSecret, serviceUsername } from '../platform/credentials.ts';
import { createLogger } from '../platform/logger.ts';
import { startMetricsServer } from '../platform/metrics.ts';
import { loadSiteFile } from '../platform/site-file.ts';
import { parseEnv } from '../platform/config-error.ts';
import { assertPortsFree } from '../platform/ports.ts';
import { ConfigError, hashPassword, MIN_PASSWORD_LENGTH, signInRoster } from './auth.ts';
import { addDays, buildBulletin, renderBulletinHtml } from './bulletin.ts';
import { buildMapGeometry } from './geometry.ts';
import { runBoard } from './main.ts';
import { htmlToPdf } from './pdf.ts';
import { BoardStore } from './store.ts';
import { localDate } from './view.ts';

/** Exits with one line per problem, no stack trace. */
function fail(message: string, code = 2): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

/** A bad variable is a ConfigError naming it (fire-ews prints it, exit 2). */
export function loadBoardEnv(source: NodeJS.ProcessEnv = process.env): BoardEnv {
  return parseEnv(boardEnvSchema, source);
}

const loadSite = (file: string): Site => loadSiteFile(file);

async function readPassword(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    // Piped: the first line of standard input.
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8').split(/\r?\n/, 1)[0] ?? '';
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  // Echo nothing while the password is typed.
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
    if (s.includes(prompt)) process.stderr.write(prompt);
  };
  const answer = await new Promise<string>((resolve) => rl.question(prompt, resolve));
  rl.close();
  process.stderr.write('\n');
  return answer;
}

export function registerBoardCommands(program: Command): void {
  program
    .command('board')
    .description('run the situation board (the command boards\' live page and the daily bulletin) on BOARD_HTTP_HOST:BOARD_HTTP_PORT')
    .action(async () => {
      const env = loadBoardEnv();
      const site = loadSite(env.EWS_SITE_FILE);
      await assertPortsFree([
        { variable: 'BOARD_HTTP_PORT', host: env.BOARD_HTTP_HOST, port: env.BOARD_HTTP_PORT },
        { variable: 'EWS_HTTP_PORT', host: env.EWS_HTTP_HOST, port: env.EWS_HTTP_PORT },
      ]);
      const log = createLogger('board', env.EWS_LOG_LEVEL);
      const username = env.MQTT_USERNAME ?? serviceUsername('board');
      const password = env.MQTT_PASSWORD ?? derivePassword(resolveBrokerSecret(env.EWS_BROKER_SECRET, env.EWS_DATA_DIR).secret, username);
      let board: Awaited<ReturnType<typeof runBoard>>;
      try {
        board = await runBoard(env, site, { username, password }, log);
      } catch (err) {
        if (err instanceof ConfigError) fail(err.message);
        log.fatal({ err: err instanceof Error ? err.message : String(err) }, 'start-up failed');
        process.exit(1);
      }
      const metrics = env.EWS_HTTP_PORT === 0 ? null : await startMetricsServer(env.EWS_HTTP_HOST, env.EWS_HTTP_PORT, () => board.health());
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) process.exit(1);
        stopping = true;
        log.info({ signal }, 'shutting down');
        await board.close().catch((err: unknown) => log.error({ err: String(err) }, 'error while stopping'));
        await new Promise<void>((resolve) => (metrics ? metrics.close(() => resolve()) : resolve()));
        log.info('stopped cleanly');
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
    });

  program
    .command('board-user <memberId>')
    .description('hash a board member\'s password (read from standard input) into a BOARD_USERS entry')
    .action(async (memberId: string) => {
      const env = loadBoardEnv();
      const site = loadSite(env.EWS_SITE_FILE);
      const roster = signInRoster(site);
      if (!roster.has(memberId)) fail(`${memberId} is not a member of a command board or the rangers in ${env.EWS_SITE_FILE}`);
      const password = await readPassword(`password for ${memberId} (${roster.get(memberId)?.name}): `);
      if (password.length < MIN_PASSWORD_LENGTH) fail(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
      process.stdout.write(`${memberId}:${await hashPassword(password)}\n`);
      process.stderr.write('add this entry to BOARD_USERS (comma-separated) and restart the board\n');
    });

  program
    .command('bulletin')
    .description('print the daily fire-danger bulletin (bản tin cấp dự báo cháy rừng) of a date to PDF with Chromium')
    .option('--date <YYYY-MM-DD>', 'the day (default: today in the site time zone)')
    .requiredOption('--out <file.pdf>', 'where to write the PDF')
    .option('--html <file.html>', 'also write the page as HTML')
    .action(async (options: { date?: string; out: string; html?: string }) => {
      const env = loadBoardEnv();
      const site = loadSite(env.EWS_SITE_FILE);
      const date = options.date ?? localDate(Date.now(), site.site.timezone);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(date))) fail(`--date ${date}: expected YYYY-MM-DD`);
      const file = env.BOARD_DB_FILE ?? join(env.EWS_DATA_DIR, 'board.sqlite');
      if (!existsSync(file)) fail(`${file} does not exist: the situation board (fire-ews board, or npm start) records the official levels the rules service publishes; run it first (EWS_DATA_DIR or BOARD_DB_FILE)`);
      const db = new Database(file, { readonly: true, fileMustExist: true });
      let history;
      try {
        history = new BoardStore(db, true).officialBetween(addDays(date, -6), date);
      } finally {
        db.close();
      }
      const bulletin = buildBulletin(site, date, history);
      if (bulletin.missing.length === site.zones.length) fail(`no official level for ${date} in ${file} (levels are computed at 13:17 local time)`, 1);
      const html = renderBulletinHtml(bulletin, buildMapGeometry(site), site, Date.now());
      if (options.html) writeFileSync(options.html, html);
      let pdf: Buffer;
      try {
        pdf = await htmlToPdf(html, env.BOARD_CHROMIUM);
      } catch (err) {
        fail((err as Error).message, 1);
      }
      writeFileSync(options.out, pdf);
      const highest = bulletin.highest ? `highest level ${['', 'I', 'II', 'III', 'IV', 'V'][bulletin.highest]}` : 'no level';
      process.stdout.write(`wrote ${options.out}: bulletin of ${date}, ${site.zones.length - bulletin.missing.length}/${site.zones.length} zones, ${highest}\n`);
    });
}
