// Renders the Vietnamese SMS templates and checks, at start-up, that every template fits the
// configured number of segments with the longest names the site has. Pure.
import { ConfigError } from '../platform/config-error.ts';
import type { Site } from '../contracts/site.ts';
import { countSegments, isGsm7, toSmsBody, type SegmentCount } from './gsm.ts';
import { MESSAGE_KINDS, type AlertPolicy, type MessageKind } from './policy.ts';

/** Values the engine (and, for `link`, the outbox) fills in. */
export const TEMPLATE_FIELDS = ['brand', 'repeat', 'zone', 'place', 'time', 'level', 'levelName', 'previousLevel', 'code', 'link', 'count', 'nodes', 'fault'] as const;
export type TemplateField = (typeof TEMPLATE_FIELDS)[number];
export type TemplateFields = Record<TemplateField, string>;
/** Every placeholder a template may use: the fields plus {ack}, the policy's ackText for the transport. */
export const PLACEHOLDERS = [...TEMPLATE_FIELDS, 'ack'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

/** How the person can acknowledge: by replying with the code (the transport receives SMS) or only by the link. */
export type AckMode = 'reply' | 'link';
export const ACK_MODES: readonly AckMode[] = ['reply', 'link'];

/** Node ids a node message names; more are counted ("và N trạm khác"), so the count always matches the text. */
export const MAX_NAMED_NODES = 3;
export function nodeList(ids: readonly string[]): string {
  const named = ids.slice(0, MAX_NAMED_NODES).join(', ');
  const more = ids.length - MAX_NAMED_NODES;
  return more > 0 ? `${named} và ${more} trạm khác` : named;
}

/** Ack codes are this many digits; links end in a token of this many characters. */
export const ACK_CODE_DIGITS = 4;
export const ACK_TOKEN_LENGTH = 10;

const ROMAN = ['', 'I', 'II', 'III', 'IV', 'V'] as const;
export function romanLevel(level: number | undefined): string {
  return level !== undefined ? (ROMAN[level] ?? String(level)) : '';
}

/** HH:mm in the site's time zone (24 h). */
export function localTime(iso: string | number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(iso));
  const hour = parts.find((p) => p.type === 'hour')?.value ?? '00';
  const minute = parts.find((p) => p.type === 'minute')?.value ?? '00';
  return `${hour}:${minute}`;
}

const dayFormat = new Map<string, Intl.DateTimeFormat>();
/** dd/MM in the site's time zone. */
export function localDate(iso: string | number, timeZone: string): string {
  let f = dayFormat.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, day: '2-digit', month: '2-digit' });
    dayFormat.set(timeZone, f);
  }
  const parts = f.formatToParts(new Date(iso));
  return `${parts.find((p) => p.type === 'day')?.value ?? '01'}/${parts.find((p) => p.type === 'month')?.value ?? '01'}`;
}

/**
 * When an observation happened, as an SMS says it: `14:05`, or `14:05 12/03` when it was on another
 * local day than the message (a repeat after midnight, an event replayed or delayed), so nobody
 * reads yesterday's fire as today's.
 */
export function alertTime(iso: string | number, nowMs: number, timeZone: string): string {
  const time = localTime(iso, timeZone);
  const day = localDate(iso, timeZone);
  return day === localDate(nowMs, timeZone) ? time : `${time} ${day}`;
}
/** The widest `{time}` (used by the start-up check). */
export const WIDEST_TIME = '23:59 31/12';

/** What an alert is about, in Vietnamese, for the ack page (kind, zone, place, time) — never ids alone. */
export const ALERT_KIND_WORDS: Record<string, string> = {
  'fire-confirmed': 'Cháy rừng',
  'fire-suspected': 'Nghi cháy rừng',
  'level-changed': 'Cấp cháy rừng tăng',
  'node-offline': 'Trạm cảm biến mất kết nối',
  'node-fault': 'Trạm cảm biến báo lỗi',
};

export function describeAlertVi(
  site: Site,
  a: { kind: string; zoneId: string; nodeId: string | null; level: number | null; eventTs: string },
  nowMs: number,
  timeZone: string,
): { what: string; where: string; when: string } {
  const zone = site.zones.find((z) => z.id === a.zoneId);
  const node = a.nodeId ? site.nodes.find((n) => n.id === a.nodeId) : undefined;
  const what = `${ALERT_KIND_WORDS[a.kind] ?? a.kind}${a.kind === 'level-changed' && a.level !== null ? ` lên cấp ${romanLevel(a.level)}` : ''}`;
  const place = node?.place ? `, ${node.place}` : '';
  const station = a.nodeId ? ` (trạm ${a.nodeId})` : '';
  return { what, where: `${zone?.name ?? a.zoneId}${place}${station}`, when: alertTime(a.eventTs, nowMs, timeZone) };
}

/**
 * The notice to the maintenance contacts, sent through the other transport, when the main one fails
 * every message (`auth`: credentials refused, Twilio 20003; `outage`) or works again. Pure.
 */
export function transportNotice(
  policy: AlertPolicy,
  transport: string,
  d: { reason: 'auth' | 'outage'; code: string; since: number },
  state: 'down' | 'up',
  nowMs: number,
): RenderedMessage {
  const name = transport === 'twilio' ? 'Twilio' : transport === 'gammu' ? 'modem GSM' : transport;
  const since = alertTime(d.since, nowMs, policy.timezone);
  const text =
    state === 'up'
      ? `${policy.brand}: Gửi SMS qua ${name} đã hoạt động lại lúc ${alertTime(nowMs, nowMs, policy.timezone)} (lỗi từ ${since}).`
      : d.reason === 'auth'
        ? `${policy.brand}: LỖI gửi SMS qua ${name} từ ${since} (${d.code}: sai mã hoặc tài khoản bị khoá). Cảnh báo đang chờ. Kiểm tra TWILIO_AUTH_TOKEN, tài khoản Twilio.`
        : `${policy.brand}: LỖI gửi SMS qua ${name} từ ${since} (${d.code}: không kết nối được). Cảnh báo đang chờ gửi lại.`;
  const body = toSmsBody(text, policy.encoding);
  return { body, count: countSegments(body) };
}

export function ackLink(publicUrl: string, token: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/ack/${token}`;
}

const placeholderPattern = /\{([A-Za-z]+)\}/g;

export function unknownPlaceholders(template: string): string[] {
  const known = new Set<string>(PLACEHOLDERS);
  return [...template.matchAll(placeholderPattern)].map((m) => m[1] ?? '').filter((name) => !known.has(name));
}

export interface RenderedMessage {
  body: string;
  count: SegmentCount;
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(placeholderPattern, (whole, name: string) => (Object.hasOwn(values, name) ? (values[name] ?? '') : whole));
}

/**
 * Every drill SMS starts with this word (GSM-7 in either encoding). A drill is marked by wrapping the
 * rendered message, not by a word in each template, so the templates can be reworded without losing
 * the mark (README "Drills"): when a template starts with `{brand}`, the brand gives way to the mark
 * ("DIEN TAP: CHAY RUNG tai …", never longer than the real message, so it keeps the segment budget);
 * otherwise the mark is put in front (`DIEN TAP - …`), and the start-up check sees whether it fits.
 */
export const DRILL_MARK = 'DIEN TAP';
/** The messages a drill can send (its first message, escalation and repeats). */
export const DRILL_MESSAGE_KINDS: readonly MessageKind[] = ['fire-confirmed', 'fire-suspected', 'level-raised'];

/**
 * Fills a template and converts it to the body sent (unaccented GSM-7 or NFC UCS-2). `{ack}` is the
 * policy's ackText for `mode` (empty for a message with nothing to acknowledge); a drill's message
 * carries the drill mark first.
 */
export function renderMessage(policy: AlertPolicy, kind: MessageKind, fields: TemplateFields, mode: AckMode, options: { drill?: boolean } = {}): RenderedMessage {
  const template = policy.templates[kind];
  const brandFirst = /^\s*\{brand\}/.test(template);
  // A zone-wide alert (a drill, a level) has no node: its place would only repeat the zone's name.
  const placed: TemplateFields = fields.place === fields.zone ? { ...fields, place: '' } : fields;
  const values: TemplateFields = options.drill && brandFirst ? { ...placed, brand: DRILL_MARK } : placed;
  const ack = values.code || values.link ? fill(policy.ackText[mode], values) : '';
  const rendered = fill(template, { ...values, ack }).replace(/,(\s*,)+/g, ',').replace(/ {2,}/g, ' ').trim();
  const body = toSmsBody(options.drill && !brandFirst ? `${DRILL_MARK} - ${rendered}` : rendered, policy.encoding);
  return { body, count: countSegments(body) };
}

export interface TemplateProblem {
  kind: MessageKind;
  message: string;
  /** The worst-case text that did not fit. */
  sample?: string;
}

/**
 * Renders every template with every zone and level, the longest node id, the repeat marker, the
 * widest time, code and link, and reports each template that exceeds `maxSegments` or (in gsm7 mode)
 * is not pure GSM-7 after unaccenting. An empty list means every message the service can produce fits.
 */
export function checkTemplates(policy: AlertPolicy, site: Site, publicUrl: string, modes: readonly AckMode[] = ACK_MODES): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  const longest = (values: readonly string[]) => values.reduce((a, v) => (v.length > a.length ? v : a), '');
  const longestIds = [...site.nodes.map((n) => n.id)].sort((a, b) => b.length - a.length);
  // The widest node list: the longest ids named, the rest counted.
  const widestNodes = nodeList([...longestIds.slice(0, MAX_NAMED_NODES), ...Array.from({ length: 99 - MAX_NAMED_NODES }, () => 'x')]);
  const longestPlace = longest(site.nodes.map((n) => n.place ?? n.id));
  const longestFault = longest(Object.values(policy.faultNames));
  const levelNames = Object.values(policy.levelNames);
  for (const name of ['reply', 'link'] as const) {
    const unknown = unknownPlaceholders(policy.ackText[name]).filter((u) => u !== 'code' && u !== 'link');
    if (unknown.length) problems.push({ kind: 'fire-confirmed', message: `ackText.${name}: only {code} and {link} are allowed, not ${unknown.map((u) => `{${u}}`).join(', ')}` });
  }
  const variants = [...MESSAGE_KINDS.map((kind) => ({ kind, drill: false })), ...DRILL_MESSAGE_KINDS.map((kind) => ({ kind, drill: true }))];
  for (const { kind, drill } of variants) {
    // A template that does not fit as a real message is reported once, not again as a drill message.
    if (drill && problems.some((p) => p.kind === kind)) continue;
    const unknown = drill ? [] : unknownPlaceholders(policy.templates[kind]);
    if (unknown.length) problems.push({ kind, message: `unknown placeholder${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `{${u}}`).join(', ')}` });
    const as = drill ? ` as a drill message (marked "${DRILL_MARK}")` : '';
    let worst: RenderedMessage | null = null;
    for (const zone of site.zones) {
      for (const [i, levelName] of levelNames.entries()) {
        for (const repeat of ['', policy.repeatMarker]) {
          for (const mode of modes) {
            const rendered = renderMessage(
              policy,
              kind,
              {
                brand: policy.brand,
                repeat,
                zone: zone.name,
                place: longestPlace || zone.name,
                time: WIDEST_TIME,
                level: romanLevel(i + 1),
                levelName,
                previousLevel: 'III',
                code: '9'.repeat(ACK_CODE_DIGITS),
                link: ackLink(publicUrl, 'x'.repeat(ACK_TOKEN_LENGTH)),
                count: '99',
                nodes: widestNodes,
                fault: longestFault,
              },
              mode,
              { drill },
            );
            if (!worst || rendered.count.units > worst.count.units || rendered.count.segments > worst.count.segments) worst = rendered;
            if (policy.encoding === 'gsm7' && !isGsm7(rendered.body)) {
              const bad = [...new Set(Array.from(rendered.body).filter((c) => !isGsm7(c)))].join('');
              problems.push({ kind, message: `characters outside GSM-7 after unaccenting${as}: ${JSON.stringify(bad)}`, sample: rendered.body });
              break;
            }
          }
        }
      }
    }
    if (worst && worst.count.segments > policy.maxSegments) {
      const limit = policy.maxSegments === 1 ? (worst.count.encoding === 'GSM-7' ? 160 : 70) : undefined;
      problems.push({
        kind,
        message: `${as ? `${as.trim()} ` : ''}takes ${worst.count.segments} ${worst.count.encoding} segments (${worst.count.units} ${worst.count.encoding === 'GSM-7' ? 'septets' : 'UTF-16 units'}${
          limit ? `, limit ${limit}` : ''
        }) with the longest names; at most ${policy.maxSegments} allowed`,
        sample: worst.body,
      });
    }
  }
  // The same character may be reported once per zone; keep the first per kind and message.
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.kind}|${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A configuration error (exit 2 in any command): one line per template, what to do after the last. */
export class TemplateCheckError extends ConfigError {
  readonly problems: TemplateProblem[];
  constructor(problems: TemplateProblem[]) {
    super(
      problems.map((p, i) => ({
        where: `SMS template ${p.kind}`,
        problem: `does not fit: ${p.message}${p.sample ? ` (worst case: ${p.sample})` : ''}`,
        fix: i === problems.length - 1 ? 'shorten ALERTS_PUBLIC_URL or the template in the site file\'s alerts section (fire-ews alerts check shows each)' : undefined,
      })),
    );
    this.name = 'TemplateCheckError';
    this.problems = problems;
  }
}

/** Throws TemplateCheckError when any template is oversize or unencodable: called at start-up. */
export function assertTemplatesFit(policy: AlertPolicy, site: Site, publicUrl: string, modes: readonly AckMode[] = ACK_MODES): void {
  const problems = checkTemplates(policy, site, publicUrl, modes);
  if (problems.length) throw new TemplateCheckError(problems);
}
