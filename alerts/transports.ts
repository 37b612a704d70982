// SMS transports: dryrun (records and logs, sends nothing) and twilio (the `twilio` package); the
// gammu transport lives with the rest of the modem path in gammu.ts. Plus the pure pieces the
// sender uses: a segments-per-second token bucket and retry delays with backoff and jitter.
import twilio from 'twilio';
import { z } from 'zod';
import type { Logger } from '../platform/logger.ts';

export interface OutgoingSms {
  to: string;
  body: string;
  segments: number;
  /** Seconds the message may still wait at the provider before it is dropped. */
  validityS: number;
  /** Our outbox row, for logs and idempotency notes. */
  outboxId: number;
}

export type SendResult =
  /** status and segments: what the provider said it did (Twilio's `status` and `num_segments`), when it says. */
  | { ok: true; providerId: string; status?: string | undefined; segments?: number | undefined }
  /**
   * retry: temporary (429, 5xx, network, and rejected credentials — a rotated token is fixed and the
   * service restarted within the validity period); otherwise permanent and recorded as failed.
   * problem: the transport itself is down for every message (credentials, outage), not this one message.
   */
  | { ok: false; retry: boolean; code: string; detail: string; problem?: TransportProblem };

/** `auth`: the provider refuses our credentials (Twilio 401 / 20003); `outage`: it cannot be reached or fails (5xx, network). */
export type TransportProblem = 'auth' | 'outage';

export interface SmsTransport {
  readonly name: 'dryrun' | 'twilio' | 'gammu';
  send(sms: OutgoingSms): Promise<SendResult>;
}

/** Token bucket in segments per second. Pure: the caller passes the time. */
export class SegmentRateLimiter {
  private tokens: number;
  private updatedAt: number;
  constructor(
    readonly segmentsPerSecond: number,
    readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.updatedAt = now;
  }

  /** How long (ms) until `cost` segments are available, without taking them. */
  delayFor(cost: number, now: number): number {
    const tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.segmentsPerSecond);
    return tokens >= cost ? 0 : Math.ceil(((cost - tokens) / this.segmentsPerSecond) * 1000);
  }

  /** Takes `cost` segments; returns how long (ms) the caller must wait before sending (0 = now). */
  reserve(cost: number, now: number): number {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.segmentsPerSecond);
    this.updatedAt = now;
    this.tokens -= cost;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.segmentsPerSecond) * 1000);
  }
}

export interface RetryPolicy {
  baseMs: number;
  capMs: number;
}

/** Exponential backoff with "equal jitter": half fixed, half random, capped. attempt counts from 1. */
export function retryDelayMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  const exp = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (exp / 2) * random());
}

/** Twilio error codes that will not get better by retrying (invalid, opted out, landline...). */
export const PERMANENT_TWILIO_CODES = new Set([21211, 21408, 21610, 21612, 21614, 21606, 21617, 21660]);

const twilioErrorSchema = z.object({ status: z.number().int(), code: z.number().int().optional(), message: z.string().optional() });
/** Twilio's "Authenticate" error: bad or rotated auth token, wrong account SID, suspended account (https://www.twilio.com/docs/api/errors/20003). */
export const TWILIO_AUTH_ERROR = 20003;
const networkErrorSchema = z.object({ code: z.string().optional(), message: z.string() });

/** Classifies what `messages.create` threw: retry on 429/5xx/network, permanent otherwise. */
export function classifyTwilioError(err: unknown): Extract<SendResult, { ok: false }> {
  const api = twilioErrorSchema.safeParse(err);
  if (api.success) {
    const { status, code, message } = api.data;
    const label = code !== undefined ? String(code) : `http-${status}`;
    const detail = `${status}: ${message ?? ''}`.slice(0, 300);
    // Not this message's fault: every message fails until the token is fixed; keep them until their validity ends.
    if (status === 401 || code === TWILIO_AUTH_ERROR) return { ok: false, retry: true, code: label, detail, problem: 'auth' };
    const retry = (status === 429 || status >= 500) && !(code !== undefined && PERMANENT_TWILIO_CODES.has(code));
    return { ok: false, retry, code: label, detail, ...(status >= 500 ? { problem: 'outage' as const } : {}) };
  }
  const net = networkErrorSchema.safeParse(err);
  return { ok: false, retry: true, code: net.success ? (net.data.code ?? 'network') : 'network', detail: net.success ? net.data.message.slice(0, 300) : String(err), problem: 'outage' };
}

export class DryRunTransport implements SmsTransport {
  readonly name = 'dryrun' as const;
  constructor(private readonly log: Logger) {}
  async send(sms: OutgoingSms): Promise<SendResult> {
    this.log.info({ to: sms.to, segments: sms.segments, outboxId: sms.outboxId, body: sms.body }, 'dry run: SMS not sent');
    return { ok: true, providerId: `dryrun-${sms.outboxId}` };
  }
}

export interface TwilioOptions {
  accountSid: string;
  authToken: string;
  /** A Messaging Service SID (MG…) or a registered sender (alphanumeric brand name or number). */
  messagingServiceSid?: string | undefined;
  from?: string | undefined;
  /** Full URL Twilio posts delivery reports to; must match ALERTS_PUBLIC_URL for the signature check. */
  statusCallback?: string | undefined;
  /** Only for tests and benches: a local double of the Messages API instead of https://api.twilio.com. */
  apiBaseUrl?: string | undefined;
  timeoutMs: number;
}

export class TwilioTransport implements SmsTransport {
  readonly name = 'twilio' as const;
  private readonly client: ReturnType<typeof twilio>;
  constructor(private readonly opts: TwilioOptions) {
    if (!opts.messagingServiceSid && !opts.from) throw new Error('twilio transport needs TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM');
    // autoRetry stays off: it only covers 429 and would hide attempts from the outbox; we retry ourselves.
    this.client = twilio(opts.accountSid, opts.authToken, { timeout: opts.timeoutMs, autoRetry: false });
    // `baseUrl` is a public property of the Api domain; edge/region would only rewrite the hostname.
    if (opts.apiBaseUrl) this.client.api.baseUrl = opts.apiBaseUrl;
  }

  async send(sms: OutgoingSms): Promise<SendResult> {
    try {
      const msg = await this.client.messages.create({
        to: sms.to,
        body: sms.body,
        ...(this.opts.messagingServiceSid ? { messagingServiceSid: this.opts.messagingServiceSid } : { from: this.opts.from }),
        ...(this.opts.statusCallback ? { statusCallback: this.opts.statusCallback } : {}),
        validityPeriod: Math.max(1, Math.min(36_000, Math.floor(sms.validityS))),
      });
      // num_segments is a string in the API (the library passes it through); status queued or accepted.
      const segments = Number(msg.numSegments);
      return { ok: true, providerId: msg.sid, status: msg.status, segments: Number.isInteger(segments) && segments > 0 ? segments : undefined };
    } catch (err) {
      return classifyTwilioError(err);
    }
  }
}
