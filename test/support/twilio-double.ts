// A local double of Twilio's Messages API, for tests and benches only (Twilio cannot be reached
// here). It checks every request against the official contract of CreateMessage
// (twilio/twilio-oai spec/json/twilio_api_v2010.json, POST /2010-04-01/Accounts/{AccountSid}/Messages.json,
// application/x-www-form-urlencoded, HTTP Basic auth with the account SID and auth token) and records
// any violation; it can answer with scripted faults (429, 500, 21211...) and send status callbacks
// signed correctly or not, the way Twilio signs them (X-Twilio-Signature, HMAC-SHA1 of URL + params).
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import twilio from 'twilio';
import { countSegments } from '../../alerts/gsm.ts';

export interface DoubleRequest {
  at: number;
  accountSid: string;
  form: Record<string, string>;
  sid: string | null;
  answered: number;
}

export type Fault = { status: number; code: number; message: string } | 'drop-connection';
export type FaultPlan = (req: { to: string; body: string; index: number }) => Fault | null;

/** Form fields CreateMessageRequest defines (the subset a client may send); anything else is a violation. */
const KNOWN_FIELDS = new Set([
  'To', 'From', 'MessagingServiceSid', 'Body', 'MediaUrl', 'ContentSid', 'ContentVariables', 'StatusCallback', 'ApplicationSid',
  'MaxPrice', 'ProvideFeedback', 'Attempt', 'ValidityPeriod', 'ForceDelivery', 'ContentRetention', 'AddressRetention',
  'SmartEncoded', 'PersistentAction', 'TrafficType', 'ShortenUrls', 'ScheduleType', 'SendAt', 'SendAsMms', 'RiskCheck',
]);

export class TwilioMessagesDouble {
  readonly requests: DoubleRequest[] = [];
  readonly violations: string[] = [];
  faults: FaultPlan = () => null;
  /** Artificial response delay (ms), e.g. to model Twilio's latency in a bench. */
  latencyMs = 0;
  private server: Server | null = null;
  port = 0;

  constructor(
    readonly accountSid: string,
    readonly authToken: string,
  ) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(
        (answer) => {
          if (answer === 'drop-connection') {
            req.socket.destroy();
            return;
          }
          const send = () => {
            res.writeHead(answer.status, { 'content-type': 'application/json' });
            res.end(JSON.stringify(answer.body));
          };
          if (this.latencyMs > 0) setTimeout(send, this.latencyMs);
          else send();
        },
        (err: unknown) => {
          res.writeHead(500);
          res.end(String(err));
        },
      );
    });
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', () => resolve()));
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
  }

  private violation(msg: string): void {
    this.violations.push(msg);
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; body: unknown } | 'drop-connection'> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const m = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !m) {
      this.violation(`unexpected ${req.method} ${req.url}`);
      return { status: 404, body: { code: 20404, message: 'The requested resource was not found', status: 404 } };
    }
    const pathSid = m[1] ?? '';
    const auth = req.headers.authorization ?? '';
    const expected = `Basic ${Buffer.from(`${this.accountSid}:${this.authToken}`).toString('base64')}`;
    if (auth !== expected) {
      this.violation(`bad Basic auth: ${auth ? 'wrong credentials' : 'missing'}`);
      return { status: 401, body: { code: 20003, message: 'Authenticate', status: 401 } };
    }
    if (pathSid !== this.accountSid) this.violation(`AccountSid in path ${pathSid} is not the authenticated account`);
    if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) this.violation(`content-type ${req.headers['content-type']}`);
    const params = new URLSearchParams(raw);
    const form: Record<string, string> = {};
    for (const [k, v] of params) {
      if (k in form) this.violation(`field ${k} repeated`);
      form[k] = v;
    }
    for (const k of Object.keys(form)) if (!KNOWN_FIELDS.has(k)) this.violation(`unknown field ${k}`);
    const problems: string[] = [];
    if (!form.To || !/^\+[1-9]\d{7,14}$/.test(form.To)) problems.push(`To must be E.164, got ${JSON.stringify(form.To)}`);
    if (!form.Body) problems.push('Body is required (no MediaUrl/ContentSid sent)');
    else if (Array.from(form.Body).length > 1600) problems.push('Body longer than 1600 characters');
    if (!form.From === !form.MessagingServiceSid) problems.push('exactly one of From and MessagingServiceSid is required');
    if (form.MessagingServiceSid && !/^MG[0-9a-fA-F]{32}$/.test(form.MessagingServiceSid)) problems.push(`MessagingServiceSid ${form.MessagingServiceSid} does not match ^MG[0-9a-fA-F]{32}$`);
    if (form.ValidityPeriod !== undefined && !(/^\d+$/.test(form.ValidityPeriod) && +form.ValidityPeriod >= 1 && +form.ValidityPeriod <= 36_000)) problems.push(`ValidityPeriod ${form.ValidityPeriod} not an integer in 1..36000`);
    if (form.StatusCallback !== undefined && !/^https?:\/\/\S+$/.test(form.StatusCallback)) problems.push(`StatusCallback ${form.StatusCallback} is not a URL`);
    const index = this.requests.length;
    const record: DoubleRequest = { at: Date.now(), accountSid: pathSid, form, sid: null, answered: 0 };
    this.requests.push(record);
    if (problems.length) {
      for (const p of problems) this.violation(p);
      record.answered = 400;
      return { status: 400, body: { code: 21604, message: problems.join('; '), status: 400 } };
    }
    const fault = this.faults({ to: form.To ?? '', body: form.Body ?? '', index });
    if (fault === 'drop-connection') return fault;
    if (fault) {
      record.answered = fault.status;
      return { status: fault.status, body: { code: fault.code, message: fault.message, more_info: `https://www.twilio.com/docs/errors/${fault.code}`, status: fault.status } };
    }
    const sid = `SM${randomBytes(16).toString('hex')}`;
    record.sid = sid;
    record.answered = 201;
    const now = new Date().toUTCString();
    return {
      status: 201,
      body: {
        account_sid: this.accountSid, api_version: '2010-04-01', body: form.Body, date_created: now, date_sent: null, date_updated: now,
        direction: 'outbound-api', error_code: null, error_message: null, from: form.From ?? null, messaging_service_sid: form.MessagingServiceSid ?? null,
        // "For messages sent via a Messaging Service, num_segments is initially 0, since a sender hasn't
        // yet been assigned" (Message resource docs); with From, Twilio has counted the segments.
        num_media: '0', num_segments: form.MessagingServiceSid ? '0' : String(countSegments(form.Body ?? '').segments), price: null, price_unit: 'USD', sid,
        status: form.MessagingServiceSid ? 'accepted' : 'queued',
        subresource_uris: { media: `/2010-04-01/Accounts/${this.accountSid}/Messages/${sid}/Media.json` }, to: form.To,
        uri: `/2010-04-01/Accounts/${this.accountSid}/Messages/${sid}.json`,
      },
    };
  }

  /**
   * Posts an incoming SMS to a webhook the way Twilio does for a number that receives messages
   * (https://www.twilio.com/docs/messaging/guides/webhook-request): form fields MessageSid, SmsSid,
   * SmsMessageSid, AccountSid, MessagingServiceSid (if any), From, To, Body, NumMedia, NumSegments,
   * ApiVersion, signed with X-Twilio-Signature. Returns the HTTP status and body of the answer.
   */
  async sendIncomingMessage(url: string, from: string, to: string, body: string, signature: 'valid' | 'invalid' | 'missing'): Promise<{ status: number; body: string; contentType: string }> {
    const sid = `SM${randomBytes(16).toString('hex')}`;
    const params: Record<string, string> = {
      MessageSid: sid, SmsSid: sid, SmsMessageSid: sid, AccountSid: this.accountSid, From: from, To: to, Body: body,
      NumMedia: '0', NumSegments: String(countSegments(body).segments), ApiVersion: '2010-04-01',
    };
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (signature !== 'missing') headers['x-twilio-signature'] = twilio.getExpectedTwilioSignature(signature === 'valid' ? this.authToken : 'not-the-auth-token', url, params);
    const res = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(params).toString() });
    return { status: res.status, body: await res.text(), contentType: res.headers.get('content-type') ?? '' };
  }

  /** Posts a status callback for a message the way Twilio does; `signature: 'invalid'` signs with the wrong token. */
  async sendStatusCallback(sid: string, status: string, opts: { signature: 'valid' | 'invalid' | 'missing'; errorCode?: string; url?: string }): Promise<number> {
    const req = this.requests.find((r) => r.sid === sid);
    const url = opts.url ?? req?.form.StatusCallback;
    if (!url) throw new Error(`no StatusCallback for ${sid}`);
    const params: Record<string, string> = {
      AccountSid: this.accountSid, ApiVersion: '2010-04-01', MessageSid: sid, SmsSid: sid, SmsStatus: status, MessageStatus: status,
      To: req?.form.To ?? '', From: req?.form.From ?? 'PCCR LAI CHAU', ...(req?.form.MessagingServiceSid ? { MessagingServiceSid: req.form.MessagingServiceSid } : {}),
      ...(opts.errorCode ? { ErrorCode: opts.errorCode } : {}),
    };
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (opts.signature !== 'missing') headers['x-twilio-signature'] = twilio.getExpectedTwilioSignature(opts.signature === 'valid' ? this.authToken : 'not-the-auth-token', url, params);
    const res = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(params).toString() });
    await res.arrayBuffer();
    return res.status;
  }
}
