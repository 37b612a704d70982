// The alerts service core: feeds events and acknowledgements to the engine, commits each step to
// the outbox, wakes up for grouping/escalation/repeat timers, and drains the outbox through the
// transport at the configured segments per second with retries. No MQTT or HTTP here.
import { Counter, Gauge } from 'prom-client';
import type { Delivery, DrillReport, DrillSummary } from '../contracts/alerts-api.ts';
import { buildDrillReport, summarizeDrill } from './drill-report.ts';
import type { FireEvent } from '../contracts/payloads.ts';
import type { Logger } from '../platform/logger.ts';
import { metricsRegistry } from '../platform/metrics.ts';
import { PipelineClock } from '../platform/clock.ts';
import {
  acknowledge,
  alertByAckCode,
  confirmDrill,
  endDrill,
  startDrill,
  type DrillRequest,
  type DrillStartResult,
  handleEvent,
  nextWakeAt,
  rebaseState,
  tick,
  type AckChannel,
  type AlertRecord,
  type EngineContext,
  type EngineOutput,
  type EngineState,
  type LifecycleNote,
} from './engine.ts';
import type { AlertOutbox } from './outbox.ts';
import { retryDelayMs, SegmentRateLimiter, type RetryPolicy, type SmsTransport, type TransportProblem } from './transports.ts';
import { ownValue } from '../platform/records.ts';

const smsRequests = new Counter({ name: 'ews_alerts_sms_requests_total', help: 'SMS send attempts by result', labelNames: ['transport', 'result'] as const, registers: [metricsRegistry] });
const smsSegments = new Counter({ name: 'ews_alerts_sms_segments_total', help: 'Segments handed to the transport', labelNames: ['transport'] as const, registers: [metricsRegistry] });
const eventsTotal = new Counter({ name: 'ews_alerts_events_total', help: 'Events taken from the rules engine', labelNames: ['result'] as const, registers: [metricsRegistry] });
const acksTotal = new Counter({ name: 'ews_alerts_acks_total', help: 'Acknowledgements received', labelNames: ['channel', 'effective'] as const, registers: [metricsRegistry] });
const inFlightRecovered = new Counter({ name: 'ews_alerts_inflight_recovered_total', help: 'Messages in flight at a crash, re-sent (possible duplicates)', registers: [metricsRegistry] });
const transportErrors = new Counter({ name: 'ews_alerts_transport_errors_total', help: 'Failed send attempts by transport and provider error code', labelNames: ['transport', 'code'] as const, registers: [metricsRegistry] });
const transportDegraded = new Gauge({
  name: 'ews_alerts_transport_degraded',
  help: '1 while the transport fails every message: reason auth (credentials refused, Twilio 20003) or outage (5xx, unreachable)',
  labelNames: ['transport', 'reason'] as const,
  registers: [metricsRegistry],
});
const segmentMismatch = new Counter({ name: 'ews_alerts_segment_mismatch_total', help: 'Messages the provider counted more segments for than the service did', registers: [metricsRegistry] });
const outboxGauge = new Gauge({ name: 'ews_alerts_outbox_messages', help: 'Outbox rows by state', labelNames: ['state'] as const, registers: [metricsRegistry] });

export interface AlertServiceOptions {
  ctx: EngineContext;
  outbox: AlertOutbox;
  transport: SmsTransport;
  log: Logger;
  segmentsPerSecond: number;
  burst: number;
  /** Requests to the transport at the same time. */
  concurrency: number;
  retry: RetryPolicy;
  validityS: number;
  /** Wall clock: the outbox, the sender's rate limit, validity and retries, link expiry. */
  now?: () => number;
  /**
   * The pipeline's clock (README "Time model"): grouping, repeats, escalation and acknowledgement
   * times of the alerts themselves. Default: the wall clock.
   */
  clock?: PipelineClock;
  random?: () => number;
  onLifecycle?: (note: LifecycleNote, alert: AlertRecord | undefined) => void;
  /** Every message wave queued (the console of `fire-ews start` shows them). */
  onNotification?: (notification: EngineOutput['notifications'][number]) => void;
  /** The transport started failing every message (once per episode), and when it works again. */
  onTransportDegraded?: (d: TransportDegradation) => void;
  onTransportRecovered?: (d: TransportDegradation) => void;
}

/** The transport is failing every message: why, since when, the last provider answer. */
export interface TransportDegradation {
  reason: TransportProblem;
  code: string;
  detail: string;
  since: number;
}

/** Consecutive outage failures (5xx, network) before the transport counts as down; credentials refused count at once. */
export const OUTAGE_AFTER_FAILURES = 3;

export type TokenAckResult =
  | { ok: true; alert: AlertRecord; already: boolean; recipientId: string }
  | { ok: false; status: 404 | 410; reason: string };

export class AlertService {
  private state: EngineState;
  private readonly limiter: SegmentRateLimiter;
  private readonly now: () => number;
  private readonly clock: PipelineClock;
  private readonly stopFollowing: () => void;
  private readonly random: () => number;
  private inFlight = 0;
  private running = false;
  private engineTimer: NodeJS.Timeout | null = null;
  private senderTimer: NodeJS.Timeout | null = null;
  private idleWaiters: (() => void)[] = [];
  private degraded: TransportDegradation | null = null;
  private outageFailures = 0;

  constructor(private readonly opts: AlertServiceOptions) {
    this.now = opts.now ?? Date.now;
    this.clock = opts.clock ?? new PipelineClock(false, this.now);
    this.random = opts.random ?? Math.random;
    this.state = opts.outbox.loadState();
    this.limiter = new SegmentRateLimiter(opts.segmentsPerSecond, opts.burst, this.now());
    // A run clock starting or ending moves the engine's time: re-base and re-plan the timers.
    this.stopFollowing = this.clock.onChange(() => {
      if (this.running) this.runTimers();
    });
  }

  /** The engine's "now" on the pipeline's clock, after re-basing the state onto its timeline. */
  private engineNow(): number {
    const now = this.clock.now();
    if ((this.state.epoch ?? null) !== this.clock.epoch) {
      const rebased = rebaseState(this.state, now, this.clock.epoch);
      this.opts.log.info({ epoch: this.clock.epoch, movedBackS: Math.max(0, Math.round(((this.state.lastNow ?? now) - now) / 1000)) }, 'alerts re-based on the pipeline clock');
      this.opts.outbox.commit(rebased, { notifications: [], lifecycle: [], ignored: [], stopped: [] }, this.now());
      this.state = rebased;
    }
    return now;
  }

  /** Null while the transport works; else why it fails every message (shown in the internal /healthz). */
  get transportDegradation(): TransportDegradation | null {
    return this.degraded;
  }

  private transportWorked(): void {
    this.outageFailures = 0;
    if (!this.degraded) return;
    const was = this.degraded;
    this.degraded = null;
    transportDegraded.set({ transport: this.opts.transport.name, reason: was.reason }, 0);
    this.opts.log.warn({ transport: this.opts.transport.name, reason: was.reason, downS: Math.round((this.now() - was.since) / 1000) }, 'SMS transport works again');
    this.opts.onTransportRecovered?.(was);
  }

  private transportFailed(problem: TransportProblem | undefined, code: string, detail: string): void {
    transportErrors.inc({ transport: this.opts.transport.name, code });
    if (!problem) return;
    if (problem === 'outage' && ++this.outageFailures < OUTAGE_AFTER_FAILURES) return;
    if (this.degraded?.reason === problem) {
      this.degraded = { ...this.degraded, code, detail };
      return;
    }
    if (this.degraded) transportDegraded.set({ transport: this.opts.transport.name, reason: this.degraded.reason }, 0);
    this.degraded = { reason: problem, code, detail, since: this.now() };
    transportDegraded.set({ transport: this.opts.transport.name, reason: problem }, 1);
    this.opts.log.error(
      { transport: this.opts.transport.name, reason: problem, code, detail },
      problem === 'auth' ? 'SMS transport refuses our credentials (check TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN, account suspended?): messages wait and are retried' : 'SMS transport unreachable or failing: messages wait and are retried',
    );
    this.opts.onTransportDegraded?.(this.degraded);
  }

  get engineState(): EngineState {
    return this.state;
  }

  /** Site, roster and policy (the ack page names zones and places with them). */
  get context(): EngineContext {
    return this.opts.ctx;
  }

  /** Recovers messages in flight at the last stop, runs due timers and starts sending. */
  start(): void {
    this.running = true;
    const recovered = this.opts.outbox.recoverInFlight(this.now());
    for (const row of recovered) {
      inFlightRecovered.inc();
      this.opts.log.warn(
        { outboxId: row.id, alertId: row.alert_id, recipientId: row.recipient_id, step: row.step, to: row.phone },
        'possible duplicate: message was in flight when the service stopped; sending it again',
      );
    }
    this.runTimers();
    this.pump();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopFollowing();
    if (this.engineTimer) clearTimeout(this.engineTimer);
    if (this.senderTimer) clearTimeout(this.senderTimer);
    await this.whenIdle();
  }

  /** Resolves when no request is in flight. */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Takes one event; returns once its messages are committed to the outbox. */
  handleEvent(event: FireEvent): EngineOutput {
    const now = this.engineNow(); // re-bases this.state first when the clock changed timeline
    const { state, output } = handleEvent(this.opts.ctx, this.state, event, now);
    this.apply(state, output);
    eventsTotal.inc({ result: output.notifications.length ? 'notified' : output.ignored.length ? 'ignored' : 'held' });
    for (const reason of output.ignored) this.opts.log.info({ eventId: event.eventId, zoneId: event.zoneId, kind: event.kind, reason }, 'event produced no message');
    return output;
  }

  private apply(state: EngineState, output: EngineOutput): void {
    if (state !== this.state) state.lastNow = Math.max(state.lastNow ?? -Infinity, this.clock.now());
    const inserted = this.opts.outbox.commit(state, output, this.now());
    this.state = state;
    for (const n of output.notifications) this.opts.onNotification?.(n);
    for (const note of output.lifecycle) {
      this.opts.log.info({ ...note }, `alert ${note.state}`);
      this.opts.onLifecycle?.(note, ownValue(state.alerts, note.alertId));
    }
    if (inserted) this.pump();
    this.scheduleEngine();
  }

  private runTimers(): void {
    const now = this.engineNow();
    const { state, output } = tick(this.opts.ctx, this.state, now);
    this.apply(state, output);
  }

  private scheduleEngine(): void {
    if (!this.running) return;
    if (this.engineTimer) clearTimeout(this.engineTimer);
    const at = nextWakeAt(this.opts.ctx, this.state);
    this.engineTimer = null;
    if (at === null) return;
    this.engineTimer = setTimeout(() => this.runTimers(), Math.max(0, Math.min(this.clock.wallDelayUntil(at), 2 ** 31 - 1)));
  }

  /** Starts an alert drill (README "Drills"); its first messages are committed to the outbox when this returns. */
  startDrill(req: DrillRequest): DrillStartResult {
    const now = this.engineNow();
    const r = startDrill(this.opts.ctx, this.state, req, now, new Date(now).toISOString());
    if (r.result.ok) this.apply(r.state, r.output);
    return r.result;
  }

  /** A sensor drill's suspicion confirmed by rules: the drill alert widens as a real one would (engine `confirmDrill`). */
  confirmDrill(drillId: string, eventTs: string): boolean {
    const r = confirmDrill(this.opts.ctx, this.state, drillId, this.engineNow(), eventTs);
    if (r.widened) this.apply(r.state, r.output);
    return r.widened;
  }

  /** Ends a drill early (it also ends by itself when its links expire). */
  endDrill(drillId: string, by: string): boolean {
    const r = endDrill(this.state, `drill-${drillId}`, this.engineNow(), by);
    if (r.ok && r.state !== this.state) this.apply(r.state, r.output);
    return r.ok;
  }

  /** Every drill, oldest first, with its figures. */
  listDrills(zoneId?: string): DrillSummary[] {
    return this.opts.outbox.drills(zoneId).map((d) => summarizeDrill(this.drillInput(d)));
  }

  /** A drill's report: per unit and member, and the trend of the zone's earlier drills. */
  drillReport(drillId: string): DrillReport | null {
    const d = this.opts.outbox.drill(drillId);
    if (!d) return null;
    const previous = this.opts.outbox.drills(d.zone_id).filter((p) => p.started_at < d.started_at || (p.started_at === d.started_at && p.drill_id < d.drill_id));
    const alert = ownValue(this.state.alerts, d.alert_id);
    return buildDrillReport(this.drillInput(d), this.opts.ctx.roster, alert?.drill?.yieldedTo ?? [], previous.map((p) => summarizeDrill(this.drillInput(p))));
  }

  private drillInput(d: ReturnType<AlertOutbox['drills']>[number]) {
    return { drill: d, rows: this.opts.outbox.rowsForAlert(d.alert_id), acks: this.opts.outbox.acksFor(d.alert_id) };
  }

  private ackCommon(alertId: string, by: string, channel: AckChannel, recipientId: string | null, detail: string | null) {
    const now = this.engineNow();
    const r = acknowledge(this.state, alertId, by, channel, now);
    if (!r.result.ok) return r.result;
    this.opts.outbox.recordAck(alertId, by, channel, !r.result.already, detail, recipientId, this.now());
    acksTotal.inc({ channel, effective: String(!r.result.already) });
    if (!r.result.already) this.apply(r.state, r.output);
    return r.result;
  }

  /** The link in the SMS: identifies alert and person; expires. */
  acknowledgeByToken(token: string): TokenAckResult {
    const row = this.opts.outbox.findToken(token);
    if (!row) return { ok: false, status: 404, reason: 'unknown link' };
    if (row.expires_at <= this.now()) return { ok: false, status: 410, reason: 'this link has expired' };
    const recipient = this.opts.ctx.roster.byId.get(row.recipient_id);
    const by = recipient ? `${recipient.name} (${recipient.id})` : row.recipient_id;
    const result = this.ackCommon(row.alert_id, by, 'link', row.recipient_id, null);
    if (!result.ok) return { ok: false, status: 404, reason: result.reason };
    return { ok: true, alert: result.alert, already: result.already, recipientId: row.recipient_id };
  }

  /** A reply to the GSM modem: the sender's phone must be on the roster and the text must carry an open alert's code. */
  acknowledgeByModemReply(fromPhone: string, text: string): { ok: true; alert: AlertRecord; already: boolean } | { ok: false; reason: string } {
    return this.acknowledgeByReply(fromPhone, text, null);
  }

  /**
   * An SMS reply, through the modem or Twilio's incoming-message webhook (channel `modem`: an SMS
   * reply; `via` says which, e.g. `twilio SM…`, in the ack log).
   */
  acknowledgeByReply(fromPhone: string, text: string, via: string | null): { ok: true; alert: AlertRecord; already: boolean } | { ok: false; reason: string } {
    const people = this.opts.ctx.roster.byPhone.get(fromPhone) ?? [];
    if (people.length === 0) return { ok: false, reason: `reply from ${fromPhone}, not on the roster` };
    for (const code of text.match(/\d{4}/g) ?? []) {
      const alert = alertByAckCode(this.state, code);
      if (!alert) continue;
      const person = people.find((p) => alert.notified.includes(p.id)) ?? people[0];
      if (!person) continue;
      const result = this.ackCommon(alert.alertId, `${person.name} (${person.id})`, 'modem', person.id, `${via ? `${via}: ` : ''}${text.slice(0, 160)}`);
      if (result.ok) return { ok: true, alert: result.alert, already: result.already };
    }
    return { ok: false, reason: 'no open alert code in the reply' };
  }

  /** The boards' API; the situation board acknowledges with channel `board`. */
  acknowledgeByApi(alertId: string, by: string, channel: 'api' | 'board' = 'api', memberId: string | null = null) {
    return this.ackCommon(alertId, by, channel, memberId !== null && this.opts.ctx.roster.byId.has(memberId) ? memberId : null, null);
  }

  /** Pulls due messages and sends them within the rate limit and concurrency. */
  private pump(): void {
    if (!this.running) return;
    while (this.inFlight < this.opts.concurrency) {
      const now = this.now();
      const needed = this.limiter.delayFor(1, now);
      if (needed > 0) {
        this.wakeSenderIn(needed);
        return;
      }
      const row = this.opts.outbox.claimNext(now);
      if (!row) {
        const due = this.opts.outbox.nextDueAt();
        if (due !== null) this.wakeSenderIn(Math.max(1, due - now));
        this.refreshGauge();
        return;
      }
      if (row.dry_run) {
        // A dry-run drill: the message is rendered and recorded, no transport sees it.
        this.opts.outbox.markSent(row.id, `dryrun-drill:${row.id}`, now);
        this.opts.log.info({ outboxId: row.id, alertId: row.alert_id, recipientId: row.recipient_id, body: row.body }, 'dry-run drill SMS (not sent)');
        continue;
      }
      this.limiter.reserve(row.segments, now);
      this.inFlight += 1;
      void this.sendOne(row.id, row.phone, row.body, row.segments, row.attempts, row.expires_at);
    }
  }

  private wakeSenderIn(ms: number): void {
    if (this.senderTimer) clearTimeout(this.senderTimer);
    this.senderTimer = setTimeout(() => {
      this.senderTimer = null;
      this.pump();
    }, ms);
  }

  private async sendOne(id: number, to: string, body: string, segments: number, attempts: number, expiresAt: number): Promise<void> {
    const t = this.opts.transport;
    try {
      const validityS = Math.max(1, Math.floor((expiresAt - this.now()) / 1000));
      const result = await t.send({ to, body, segments, validityS, outboxId: id });
      const now = this.now();
      if (!result.ok) this.transportFailed(result.problem, result.code, result.detail);
      if (result.ok) {
        this.transportWorked();
        this.opts.outbox.markSent(id, result.providerId, now, { status: result.status, segments: result.segments });
        if (result.segments !== undefined && result.segments > segments) {
          segmentMismatch.inc();
          this.opts.log.warn({ outboxId: id, counted: segments, provider: result.segments }, 'the provider counted more segments than the service: the message costs more than its template check said');
        }
        smsRequests.inc({ transport: t.name, result: 'sent' });
        smsSegments.inc({ transport: t.name }, segments);
      } else if (result.retry && now + retryDelayMs(attempts, this.opts.retry, () => 0) < expiresAt) {
        const delay = retryDelayMs(attempts, this.opts.retry, this.random);
        this.opts.outbox.markRetry(id, now + delay, result.code, result.detail, now);
        smsRequests.inc({ transport: t.name, result: 'retry' });
        this.opts.log.warn({ outboxId: id, to, code: result.code, detail: result.detail, attempts, retryInMs: delay }, 'SMS send failed, will retry');
      } else {
        this.opts.outbox.markFailed(id, result.code, result.detail, now);
        smsRequests.inc({ transport: t.name, result: 'failed' });
        this.opts.log.error({ outboxId: id, to, code: result.code, detail: result.detail, attempts }, result.retry ? 'SMS send failed, validity period over' : 'SMS send failed permanently, not retried');
      }
    } catch (err) {
      this.opts.log.error({ outboxId: id, err: String(err) }, 'SMS sender error');
    } finally {
      this.inFlight -= 1;
      if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
      this.pump();
    }
  }

  private refreshGauge(): void {
    for (const [state, n] of Object.entries(this.opts.outbox.countsByState())) outboxGauge.set({ state }, n);
  }

  /** Alerts for the boards' API, newest first. */
  listAlerts(filter: 'open' | 'all', drills: 'without' | 'with' = 'without'): (Omit<AlertRecord, 'drill'> & { drill?: { id: string; depth: 'alert' | 'sensor' }; outbox: Record<string, number>; acks: ReturnType<AlertOutbox['acksFor']>; deliveries: Delivery[] })[] {
    return Object.values(this.state.alerts)
      .filter((a) => filter === 'all' || a.status !== 'resolved')
      // Drill alerts only for a caller that asks for them: a board that does not know drills never shows one as a fire.
      .filter((a) => drills === 'with' || !a.drill)
      .sort((a, b) => b.openedAt - a.openedAt)
      .map(({ drill, ...a }) => ({ ...a, ...(drill ? { drill: { id: drill.id, depth: drill.depth } } : {}), outbox: this.opts.outbox.countsByState(a.alertId), acks: this.opts.outbox.acksFor(a.alertId), deliveries: this.opts.outbox.deliveriesFor(a.alertId) }));
  }
}
