// The gammu-smsd side of the modem path (files backend, `gammu-smsd(1)`, `gammu-smsdrc(5)`):
// reading the daemon's configuration for its folders, replies in its inbox offered as
// acknowledgements, and messages it moved to its error folder marked failed in the outbox.
// Sending: GammuTransport below, through gammu-smsd-inject with the same config file.
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Logger } from '../platform/logger.ts';
import type { AlertOutbox } from './outbox.ts';
import type { AlertService } from './core.ts';
import type { OutgoingSms, SendResult, SmsTransport } from './transports.ts';

export interface SmsdFolders {
  inboxPath?: string | undefined;
  outboxPath?: string | undefined;
  sentPath?: string | undefined;
  errorPath?: string | undefined;
}

/** The files-backend folders of a gammu-smsd configuration (section [smsd]; keys are case-insensitive). */
export function readSmsdFolders(configFile: string): SmsdFolders {
  const values = new Map<string, string>();
  let section = '';
  for (const raw of readFileSync(configFile, 'utf8').split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = (header[1] ?? '').trim().toLowerCase();
      continue;
    }
    const eq = line.indexOf('=');
    if (section !== 'smsd' || eq < 0) continue;
    values.set(line.slice(0, eq).trim().toLowerCase(), line.slice(eq + 1).trim());
  }
  return { inboxPath: values.get('inboxpath'), outboxPath: values.get('outboxpath'), sentPath: values.get('sentsmspath'), errorPath: values.get('errorsmspath') };
}

/** IN<yyyymmdd>_<hhmmss>_<serial>_<number>_<part>.txt — the files backend's name for a received message. */
const INBOX_FILE = /^IN\d{8}_\d{6}_\d+_(\+?\d+)_\d+\.txt$/;

/** Reads gammu-smsd's inbox: each reply is offered as an acknowledgement, then moved to processed/. Returns the number handled. */
export function scanGammuInbox(dir: string, service: AlertService, log: Logger): number {
  const done = join(dir, 'processed');
  mkdirSync(done, { recursive: true });
  let n = 0;
  for (const name of readdirSync(dir).sort()) {
    const m = INBOX_FILE.exec(name);
    if (!m) continue;
    const raw = readFileSync(join(dir, name));
    // inboxformat = unicode writes UTF-16LE with a BOM; standard (the default) and utf8 write 8-bit text.
    const text = raw[0] === 0xff && raw[1] === 0xfe ? raw.subarray(2).toString('utf16le') : raw.toString('utf8');
    const result = service.acknowledgeByModemReply(m[1] ?? '', text);
    log.info({ file: name, from: m[1], result: result.ok ? `acknowledged ${result.alert.alertId}` : result.reason }, 'modem reply');
    renameSync(join(dir, name), join(done, name));
    n += 1;
  }
  return n;
}

/** The outbox provider id of a message injected into gammu-smsd: its outbox file name. */
export function gammuProviderId(outboxFileName: string): string {
  return `gammu:${outboxFileName}`;
}

/**
 * Messages gammu-smsd gave up on (moved to errorsmspath with the same file name) are marked failed;
 * the files are moved to processed/. Returns the number of outbox rows changed.
 */
export function scanGammuErrors(dir: string, outbox: AlertOutbox, log: Logger, now: number): number {
  const done = join(dir, 'processed');
  mkdirSync(done, { recursive: true });
  let changed = 0;
  for (const name of readdirSync(dir).sort()) {
    if (!name.startsWith('OUT')) continue;
    const rows = outbox.applyDeliveryStatus(gammuProviderId(name), 'failed', 'gammu-error', now);
    log.error({ file: name, rows }, 'gammu-smsd could not send a message (moved to its error folder)');
    renameSync(join(dir, name), join(done, name));
    changed += rows;
  }
  return changed;
}

export interface GammuOptions {
  /** gammu-smsd configuration file (the daemon must run with the same file). */
  configFile: string;
  injectCommand: string;
  /** ucs2 sends accented text with -unicode. */
  unicode: boolean;
}

/** Queues messages in gammu-smsd through `gammu-smsd-inject`; the daemon sends them through the modem. */
export class GammuTransport implements SmsTransport {
  readonly name = 'gammu' as const;
  constructor(private readonly opts: GammuOptions) {}

  send(sms: OutgoingSms): Promise<SendResult> {
    // TEXT makes exactly one SMS and silently cuts the text at one segment (70 UCS-2 characters were
    // seen to go out truncated); EMS makes a concatenated message split at 153/67 like our counter.
    const unicode = this.opts.unicode ? ['-unicode'] : [];
    const args =
      sms.segments > 1
        ? ['-c', this.opts.configFile, 'EMS', sms.to, ...unicode, '-text', sms.body]
        : ['-c', this.opts.configFile, 'TEXT', sms.to, ...unicode, '-len', String(sms.body.length + 10), '-text', sms.body];
    return new Promise((resolve) => {
      execFile(this.opts.injectCommand, args, { timeout: 15_000 }, (err, stdout, stderr) => {
        const id = /Written message with ID (\S+)/.exec(`${stdout}\n${stderr}`)?.[1];
        if (err || !id) {
          resolve({ ok: false, retry: true, code: 'gammu-inject', detail: `${err?.message ?? ''} ${stderr}`.trim().slice(0, 300) });
          return;
        }
        // The id is the file written into gammu-smsd's outbox; gammu moves it under the same name to sent/ or error/.
        resolve({ ok: true, providerId: gammuProviderId(basename(id)) });
      });
    });
  }
}

/**
 * The modem's folders, every second: replies in the inbox acknowledge, messages in the error folder
 * are failed. Also when Twilio is the main transport: the modem stays the reply path (Twilio has no
 * two-way SMS in Vietnam). `inboxOverride` (GAMMU_INBOX_DIR) replaces the inbox read from the
 * gammu-smsd configuration. Returns the stop function (null: no folder to watch).
 */
export function watchModemFolders(opts: { configFile: string | undefined; inboxOverride: string | undefined; service: AlertService; outbox: AlertOutbox; log: Logger }): (() => void) | null {
  const { service, outbox, log } = opts;
  const folders = opts.configFile ? readSmsdFolders(opts.configFile) : {};
  const inboxDir = opts.inboxOverride ?? folders.inboxPath;
  const errorDir = folders.errorPath;
  if (!inboxDir && !errorDir) return null;
  log.info({ inboxDir, errorDir }, 'watching the modem folders');
  const timer = setInterval(() => {
    try {
      if (inboxDir) scanGammuInbox(inboxDir, service, log);
      if (errorDir) scanGammuErrors(errorDir, outbox, log, Date.now());
    } catch (err) {
      log.warn({ err: String(err) }, 'reading the modem folders failed');
    }
  }, 1000);
  return () => clearInterval(timer);
}
