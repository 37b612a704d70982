// What `fire-ews start` prints on a terminal instead of JSON logs: where things are, a status line
// every few seconds, each event and each SMS wave as one readable line, warnings and errors as
// text, and where to look next. The formatting is pure (console.test.ts); StartConsole drives it.
import type { FireEvent } from '../contracts/payloads.ts';
import type { Site } from '../contracts/site.ts';
import type { Notification } from '../alerts/engine.ts';
import type { AlertPolicy } from '../alerts/policy.ts';
import { ackLink, renderMessage, type AckMode } from '../alerts/templates.ts';

export interface ConsoleCounts {
  readingsStored: number;
  deadLetters: number;
  events: number;
  smsQueued: number;
  smsSent: number;
}

const LEVEL_TEXT: Record<number, string> = { 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };

/** HH:MM:SS (or HH:MM) in the site's time zone. */
export function clockText(ms: number, timeZone: string, seconds = true): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', ...(seconds ? { second: '2-digit' } : {}), hourCycle: 'h23' }).format(new Date(ms));
}

const n = (v: number) => v.toLocaleString('en-US');

/** `17:05:12  pipeline time 12:55 (×60)  readings 1,234 stored · dead letters 0 · events 3 · SMS 150 queued, 45 sent` */
export function statusLine(wallMs: number, pipelineMs: number, speed: number | null, c: ConsoleCounts, timeZone: string): string {
  const clock = speed !== null ? `  pipeline time ${clockText(pipelineMs, timeZone, false)} (×${speed})` : '';
  return `${clockText(wallMs, timeZone)}${clock}  readings ${n(c.readingsStored)} stored · dead letters ${n(c.deadLetters)} · events ${n(c.events)} · SMS ${n(c.smsQueued)} queued, ${n(c.smsSent)} sent`;
}

const KIND_TEXT: Record<FireEvent['kind'], string> = {
  'fire-suspected': 'NGHI CHÁY  suspected fire',
  'fire-confirmed': 'CHÁY RỪNG  confirmed fire',
  'fire-cleared': 'HẾT CHÁY   fire cleared',
  'fire-signal-lost': 'MẤT TÍN HIỆU  sensors near a fire went silent (not cleared)',
  'level-changed': 'CẤP CHÁY   danger level changed',
  'node-offline': 'node offline',
  'node-online': 'node back online',
  'node-fault': 'node fault',
  'node-fault-cleared': 'node fault cleared',
};

const ROMAN = ['', 'I', 'II', 'III', 'IV', 'V'];

/** One event: what, where, when (site time), and the incident it belongs to. */
export function eventLine(wallMs: number, e: FireEvent, site: Site, timeZone: string): string {
  const zone = site.zones.find((z) => z.id === e.zoneId)?.name ?? e.zoneId;
  const where = e.nodeId ? `${zone} (${e.nodeId})` : zone;
  let what = KIND_TEXT[e.kind];
  if (e.kind === 'level-changed') what += ` ${ROMAN[e.previousLevel ?? 0] ?? '?'} → ${ROMAN[e.level ?? 0] ?? '?'}`;
  if (e.kind === 'node-fault' && typeof e.detail.fault === 'string') what += `: ${e.detail.fault}`;
  const incident = typeof e.detail.incidentId === 'string' && e.kind.startsWith('fire-') ? `  incident ${e.detail.incidentId}` : '';
  return `${clockText(wallMs, timeZone)}  EVENT  ${what} — ${where} at ${clockText(Date.parse(e.ts), timeZone, false)}${incident}`;
}

/** Who a message wave goes to, by unit on the roster: `150 people: 8 teams (103), Ban Chỉ huy … (24), city board (23)`. */
export function describeRecipients(recipients: Notification['recipients'], site: Site): string {
  const byUnit = new Map<string, { count: number; leaders: number }>();
  for (const r of recipients) {
    const u = byUnit.get(r.unit) ?? { count: 0, leaders: 0 };
    u.count += 1;
    if (r.leader) u.leaders += 1;
    byUnit.set(r.unit, u);
  }
  const teams = [...byUnit].filter(([unit]) => unit.startsWith('team:'));
  const parts: string[] = [];
  if (teams.length) {
    const people = teams.reduce((s, [, u]) => s + u.count, 0);
    const onlyLeaders = teams.every(([, u]) => u.count === u.leaders);
    parts.push(onlyLeaders ? `leaders of ${teams.length} team${teams.length > 1 ? 's' : ''}` : `${teams.length} team${teams.length > 1 ? 's' : ''} (${people})`);
  }
  for (const [unit, u] of byUnit) {
    if (unit.startsWith('team:')) continue;
    if (unit.startsWith('board:')) parts.push(`${site.boards.communes.find((b) => `board:${b.id}` === unit)?.name ?? unit} (${u.count})`);
    else if (unit === 'city-board') parts.push(`city board (${u.count})`);
    else parts.push(`${unit} (${u.count})`);
  }
  return `${recipients.length} ${recipients.length === 1 ? 'person' : 'people'}: ${parts.join(', ')}`;
}

/** One SMS wave: how many, which kind, to whom, and the text (as sent, with the first person's link elided). */
export function smsLine(wallMs: number, wave: Notification, policy: AlertPolicy, site: Site, publicUrl: string, dryRun: boolean, ackMode: AckMode = 'reply'): string {
  const body = renderMessage(policy, wave.messageKind, { ...wave.fields, link: wave.ackable ? ackLink(publicUrl, '…') : '' }, ackMode, { drill: wave.drill !== undefined }).body;
  const step = wave.step === 'initial' ? '' : ` (${wave.step})`;
  // A drill's wave says so first: the terminal must not show it as a fire.
  const drill = wave.drill ? `DRILL ${wave.drill.id}${wave.drill.dryRun ? ' (not sent)' : ''}  ` : '';
  return `${clockText(wallMs, policy.timezone)}  SMS${dryRun ? ' (dry run)' : ''}  ${drill}×${wave.recipients.length} ${wave.messageKind}${step} → ${describeRecipients(wave.recipients, site)}: "${body}"`;
}

/** A JSON log line at warn or above as one line of text; null for anything else. */
export function logLineText(line: string, timeZone: string): string | null {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.trim() === '' ? null : line.trimEnd();
  }
  const level = typeof entry.level === 'number' ? entry.level : 30;
  if (level < 40) return null;
  const { level: _l, time, msg, name: _n, service, ...rest } = entry;
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const at = typeof time === 'string' ? clockText(Date.parse(time), timeZone) : '';
  return `${at}  ${LEVEL_TEXT[level] ?? 'WARN '} ${typeof service === 'string' ? `[${service}] ` : ''}${String(msg ?? '')}${fields ? `  ${fields}` : ''}`;
}

export interface StartConsoleOptions {
  write: (text: string) => void;
  site: Site;
  timeZone: string;
  policy: AlertPolicy | null;
  publicUrl: string;
  counts: () => ConsoleCounts;
  pipelineClock: () => { now: number; speed: number | null };
  intervalMs?: number;
}

/** The running console: a status line every few seconds (only when something changed), events, SMS and warnings as they come. */
export class StartConsole {
  private timer: NodeJS.Timeout | undefined;
  private lastStatus = '';
  events = 0;
  /** Whether SMS only go to the dry-run outbox (said on every SMS line). */
  dryRun = true;
  /** Whether the SMS ask for a reply with the code or carry only the link (the transport's ackMode). */
  ackMode: AckMode = 'reply';

  constructor(private readonly opts: StartConsoleOptions) {}

  start(): void {
    this.timer = setInterval(() => this.status(), this.opts.intervalMs ?? 5000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  line(text: string): void {
    this.opts.write(`${text}\n`);
  }

  status(force = false): void {
    const c = this.opts.counts();
    const clock = this.opts.pipelineClock();
    const key = JSON.stringify(c);
    if (!force && key === this.lastStatus && clock.speed === null) return;
    this.lastStatus = key;
    this.line(statusLine(Date.now(), clock.now, clock.speed, c, this.opts.timeZone));
  }

  event(e: FireEvent): void {
    this.events += 1;
    this.line(eventLine(Date.now(), e, this.opts.site, this.opts.timeZone));
  }

  sms(wave: Notification): void {
    if (!this.opts.policy) return;
    this.line(smsLine(Date.now(), wave, this.opts.policy, this.opts.site, this.opts.publicUrl, this.dryRun, this.ackMode));
  }

  /** A pino destination: warnings and errors as text, the rest dropped (EWS_LOG_FORMAT=json keeps everything). */
  readonly logDestination = {
    write: (chunk: string) => {
      for (const line of chunk.split('\n')) {
        const text = logLineText(line, this.opts.timeZone);
        if (text !== null) this.line(text);
      }
    },
  };
}
