// Renders the Vietnamese SMS templates and checks, at start-up, that every template fits the
// configured number of segments with the longest names the site has. Pure.
import { ConfigError } from '../platform/config-error.ts';
import type { Site } from '../contracts/site.ts';
import { countSegments, isGsm7, toSmsBody, type SegmentCount } from './gsm.ts';
import { MESSAGE_KINDS, type AlertPolicy, type MessageKind } from './policy.ts';

export const PLACEHOLDERS = ['brand', 'repeat', 'zone', 'place', 'time', 'level', 'levelName', 'previousLevel', 'code', 'link', 'count'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];
export type TemplateFields = Record<Placeholder, string>;

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

/** Fills a template and converts it to the body sent (unaccented GSM-7 or NFC UCS-2). */
export function renderMessage(policy: AlertPolicy, kind: MessageKind, fields: TemplateFields): RenderedMessage {
  const text = policy.templates[kind].replace(placeholderPattern, (whole, name: string) =>
    (PLACEHOLDERS as readonly string[]).includes(name) ? fields[name as Placeholder] : whole,
  );
  const body = toSmsBody(text.replace(/ {2,}/g, ' ').trim(), policy.encoding);
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
export function checkTemplates(policy: AlertPolicy, site: Site, publicUrl: string): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  const longestNode = site.nodes.reduce((a, n) => (n.id.length > a.length ? n.id : a), '');
  const levelNames = Object.values(policy.levelNames);
  for (const kind of MESSAGE_KINDS) {
    const unknown = unknownPlaceholders(policy.templates[kind]);
    if (unknown.length) problems.push({ kind, message: `unknown placeholder${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `{${u}}`).join(', ')}` });
    let worst: RenderedMessage | null = null;
    for (const zone of site.zones) {
      for (const [i, levelName] of levelNames.entries()) {
        for (const repeat of ['', policy.repeatMarker]) {
          const rendered = renderMessage(policy, kind, {
            brand: policy.brand,
            repeat,
            zone: zone.name,
            place: longestNode || zone.name,
            time: '23:59',
            level: romanLevel(i + 1),
            levelName,
            previousLevel: 'III',
            code: '9'.repeat(ACK_CODE_DIGITS),
            link: ackLink(publicUrl, 'x'.repeat(ACK_TOKEN_LENGTH)),
            count: '99',
          });
          if (!worst || rendered.count.units > worst.count.units || rendered.count.segments > worst.count.segments) worst = rendered;
          if (policy.encoding === 'gsm7' && !isGsm7(rendered.body)) {
            const bad = [...new Set(Array.from(rendered.body).filter((c) => !isGsm7(c)))].join('');
            problems.push({ kind, message: `characters outside GSM-7 after unaccenting: ${JSON.stringify(bad)}`, sample: rendered.body });
            break;
          }
        }
      }
    }
    if (worst && worst.count.segments > policy.maxSegments) {
      const limit = policy.maxSegments === 1 ? (worst.count.encoding === 'GSM-7' ? 160 : 70) : undefined;
      problems.push({
        kind,
        message: `takes ${worst.count.segments} ${worst.count.encoding} segments (${worst.count.units} ${worst.count.encoding === 'GSM-7' ? 'septets' : 'UTF-16 units'}${
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
export function assertTemplatesFit(policy: AlertPolicy, site: Site, publicUrl: string): void {
  const problems = checkTemplates(policy, site, publicUrl);
  if (problems.length) throw new TemplateCheckError(problems);
}
