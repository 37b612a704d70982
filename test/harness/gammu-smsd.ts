// Runs Debian's gammu-smsd (1.42) with Gammu's dummy phone driver in a temp dir: no modem needed.
// What makes it work (each found by running it with debuglevel 255):
//  - `connection = none`, `model = dummy`, `device = <dir>`: the dummy driver keeps its "phone" as
//    files under <dir>; an SMS file (Gammu backup format, `[SMSBackup000]`, State = UnRead) put in
//    <dir>/sms/1/ is "received" by gammu-smsd and written to inboxpath; every SMS the daemon sends is
//    appended to <dir>/operations.log and its outbox file moved to sentsmspath.
//  - `commtimeout = 1`: after finding the outbox empty gammu-smsd does not look at it again for
//    CommTimeout seconds (default 30) — with the default a message injected after start-up waits up
//    to 30 s, which looks like a stall. `receivefrequency = 1` (default 15) likewise for replies.
//  - `checksecurity/checkbattery/checksignal/checknetwork = 0`, `statusfrequency = 0`: the dummy phone
//    has no PIN, battery or network to ask about.
//  - gammu-smsd-inject must be given the same config file (it writes into the same outboxpath).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './ports.ts';

export const GAMMU_SMSD_BIN = process.env.GAMMU_SMSD_BIN ?? 'gammu-smsd';

export function gammuSmsdAvailable(): boolean {
  return spawnSync(GAMMU_SMSD_BIN, ['--version'], { stdio: 'ignore' }).status === 0 && spawnSync('gammu-smsd-inject', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Skip locally when gammu-smsd is missing; in CI (CI or EWS_REQUIRE_INTEGRATION set) that is a failure. */
export function gammuSkipReason(): string | false {
  if (gammuSmsdAvailable()) return false;
  if (process.env.CI || process.env.EWS_REQUIRE_INTEGRATION) throw new Error('gammu-smsd not found: the modem test is required here (apt-get install -y gammu-smsd)');
  return 'gammu-smsd not installed (apt-get install -y gammu-smsd)';
}

/** One message as gammu-smsd stored it (Gammu SMS backup format). */
export interface BackupSms {
  file: string;
  number: string;
  text: string;
}

/**
 * Text00, Text01… are the UTF-16BE text in hex; Number the peer; a concatenated message has one
 * [SMSBackupNNN] section per part. gammu-smsd 1.42 rewrites the file it moves to sentsmspath in place
 * after each part (with the message reference) without truncating it, so sections repeat: the first
 * occurrence of each section number is read, in order.
 */
export function parseSmsBackup(fileContent: string, file = ''): BackupSms {
  const sections = new Map<string, string>();
  for (const m of fileContent.matchAll(/^\[(SMSBackup\d{3})\]\s*$([\s\S]*?)(?=^\[SMSBackup\d{3}\]|(?![\s\S]))/gm)) {
    if (!sections.has(m[1] ?? '')) sections.set(m[1] ?? '', m[2] ?? '');
  }
  const parts = [...sections.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, body]) => body);
  const content = parts[0] ?? '';
  const get = (key: string) => new RegExp(`^${key}\\s*=\\s*"?([^"\\r\\n]*)"?\\s*$`, 'm').exec(content)?.[1] ?? '';
  const hex = parts.flatMap((part) => [...part.matchAll(/^Text\d\d\s*=\s*([0-9A-Fa-f]*)\s*$/gm)].map((m) => m[1] ?? '')).join('');
  const be = Buffer.from(hex, 'hex');
  const le = Buffer.alloc(be.length);
  for (let i = 0; i + 1 < be.length; i += 2) {
    le[i] = be[i + 1] ?? 0;
    le[i + 1] = be[i] ?? 0;
  }
  return { file, number: get('Number'), text: le.toString('utf16le') };
}

const utf16beHex = (s: string) => {
  const le = Buffer.from(s, 'utf16le');
  const be = Buffer.alloc(le.length);
  for (let i = 0; i + 1 < le.length; i += 2) {
    be[i] = le[i + 1] ?? 0;
    be[i + 1] = le[i] ?? 0;
  }
  return be.toString('hex').toUpperCase();
};

export class GammuSmsd {
  readonly configFile: string;
  readonly device: string;
  readonly inbox: string;
  readonly outbox: string;
  readonly sent: string;
  readonly error: string;
  readonly logFile: string;
  private child: ChildProcess | null = null;
  private location = 0;

  private constructor(readonly dir: string) {
    this.configFile = join(dir, 'smsdrc');
    this.device = join(dir, 'phone');
    this.inbox = join(dir, 'inbox');
    this.outbox = join(dir, 'outbox');
    this.sent = join(dir, 'sent');
    this.error = join(dir, 'error');
    this.logFile = join(dir, 'smsd.log');
  }

  static async start(): Promise<GammuSmsd> {
    const g = new GammuSmsd(mkdtempSync(join(tmpdir(), 'ews-gammu-')));
    for (const d of [g.device, g.inbox, g.outbox, g.sent, g.error]) mkdirSync(d, { recursive: true });
    writeFileSync(
      g.configFile,
      [
        '[gammu]',
        'connection = none',
        'model = dummy',
        `device = ${g.device}`,
        '',
        '[smsd]',
        'service = files',
        `inboxpath = ${g.inbox}/`,
        `outboxpath = ${g.outbox}/`,
        `sentsmspath = ${g.sent}/`,
        `errorsmspath = ${g.error}/`,
        `logfile = ${g.logFile}`,
        'debuglevel = 1',
        'loopsleep = 1',
        'commtimeout = 1',
        'receivefrequency = 1',
        'statusfrequency = 0',
        'checksecurity = 0',
        'checkbattery = 0',
        'checksignal = 0',
        'checknetwork = 0',
        '',
      ].join('\n'),
    );
    g.child = spawn(GAMMU_SMSD_BIN, ['-c', g.configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    g.child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const child = g.child;
    // The dummy driver creates <device>/sms/1… when it connects; then the main loop runs.
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`gammu-smsd exited ${child.exitCode}: ${stderr} ${g.log()}`);
        return existsSync(join(g.device, 'sms', '1'));
      },
      10_000,
      'gammu-smsd connected to the dummy phone',
    );
    return g;
  }

  log(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }

  /** Messages gammu-smsd has transmitted (moved to sentsmspath), oldest name first. */
  sentMessages(): BackupSms[] {
    return readdirSync(this.sent)
      .filter((f) => f.startsWith('OUT'))
      .sort()
      .map((f) => parseSmsBackup(readFileSync(join(this.sent, f), 'utf8'), f));
  }

  /** Messages still waiting in gammu-smsd's outbox. */
  queued(): string[] {
    return readdirSync(this.outbox).filter((f) => f.startsWith('OUT'));
  }

  /** An SMS arriving at the modem from `from`: the dummy driver reads it from its SIM folder 1. */
  receive(from: string, text: string, when = new Date()): void {
    this.location += 1;
    const stamp = when.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    const file = join(this.device, 'sms', '1', String(this.location));
    writeFileSync(
      file,
      [
        '[SMSBackup000]',
        'SMSC = "+84900000000"',
        'State = UnRead',
        `Number = "${from}"`,
        `NumberUnicode = ${utf16beHex(from)}`,
        'Name = ""',
        'NameUnicode = ',
        `Text00 = ${utf16beHex(text)}`,
        'Coding = Default_No_Compression',
        'Folder = 1',
        `Length = ${text.length}`,
        'Class = -1',
        'PDU = Deliver',
        `DateTime = ${stamp}`,
        '',
      ].join('\n'),
    );
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (c && c.exitCode === null && c.signalCode === null) {
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
