// The board's core: takes MQTT messages (stored before they are acknowledged), polls the readings
// store and the alerts API, and recomputes the view; a changed view gets a new version and goes to
// the listeners (the server-sent-event hub). No HTTP server and no MQTT client here.
import { randomBytes } from 'node:crypto';
import { Counter } from 'prom-client';
import type { ApiAlert } from '../contracts/alerts-api.ts';
import { alertLifecycleSchema, dangerSchema, describeZodError, eventSchema, nodeStatusSchema, type Danger, type FireEvent, type NodeStatus } from '../contracts/payloads.ts';
import type { Site } from '../contracts/site.ts';
import { parseTopic } from '../contracts/topics.ts';
import type { Logger } from '../platform/logger.ts';
import { metricsRegistry } from '../platform/metrics.ts';
import type { AlertsClient } from './alerts-client.ts';
import type { ReadingsSource } from './readings.ts';
import { seriesWindow, type Series } from './series.ts';
import { KEEP_EVENTS_MS, MAX_EVENTS_IN_MEMORY, type BoardStore } from './store.ts';
import { buildBoardView, rosterNames, type BoardView } from './view.ts';

const messagesTotal = new Counter({ name: 'ews_board_messages_total', help: 'MQTT messages taken by the board', labelNames: ['kind', 'result'] as const, registers: [metricsRegistry] });

export interface BoardServiceOptions {
  site: Site;
  store: BoardStore;
  readings: ReadingsSource;
  alerts: AlertsClient | null;
  log: Logger;
  now?: () => number;
  /** Polling periods. */
  readingsEveryMs?: number;
  alertsEveryMs?: number;
}

export class BoardService {
  private official = new Map<string, Danger>();
  private provisional = new Map<string, Danger>();
  private events: FireEvent[] = [];
  private status = new Map<string, NodeStatus & { receivedAt: number }>();
  private lastReading = new Map<string, number>();
  private alerts: ApiAlert[] | null = null;
  private alertsState: 'ok' | 'error' | 'off';
  private alertsError: string | null = null;
  private readingsError: string | null = null;
  private mqttConnected = false;
  private view: BoardView;
  private viewJson = '';
  private counter = 0;
  private readonly bootId = randomBytes(3).toString('hex');
  private readonly listeners = new Set<(version: string, json: string) => void>();
  private readonly timers: NodeJS.Timeout[] = [];
  private recomputeTimer: NodeJS.Timeout | null = null;
  private alertsTimer: NodeJS.Timeout | null = null;
  private readonly names: ReturnType<typeof rosterNames>;
  private readonly now: () => number;
  private alertsInFlight: Promise<void> | null = null;
  private readingsInFlight: Promise<void> | null = null;

  constructor(private readonly o: BoardServiceOptions) {
    this.now = o.now ?? Date.now;
    this.names = rosterNames(o.site);
    this.alertsState = o.alerts ? 'error' : 'off';
    if (o.alerts) this.alertsError = 'not asked yet';
    const latest = o.store.latestDanger();
    this.official = latest.official;
    this.provisional = latest.provisional;
    this.events = o.store.recentEvents(this.now() - KEEP_EVENTS_MS);
    this.status = o.store.statuses();
    this.view = this.compute();
    this.viewJson = JSON.stringify(this.view);
  }

  get version(): string {
    return `${this.bootId}-${this.counter}`;
  }

  current(): { version: string; json: string; view: BoardView } {
    return { version: this.version, json: this.viewJson, view: this.view };
  }

  onChange(listener: (version: string, json: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  setMqttConnected(connected: boolean): void {
    if (this.mqttConnected === connected) return;
    this.mqttConnected = connected;
    this.scheduleRecompute();
  }

  /**
   * One MQTT message. Valid ones are committed to board.sqlite before this returns (the caller sends
   * the PUBACK after); invalid ones are kept in the `refused` table with the reason. Throws only when
   * the store fails, so the broker keeps the message.
   */
  handleMessage(topic: string, payload: Buffer): void {
    const now = this.now();
    const parsedTopic = parseTopic(topic);
    const refuse = (kind: string, reason: string) => {
      this.o.store.refuse(topic, reason, payload, now);
      messagesTotal.inc({ kind, result: 'refused' });
      this.o.log.warn({ topic, reason }, 'message refused (kept in board.sqlite, table refused)');
    };
    if (!parsedTopic || !['danger', 'event', 'status', 'alert'].includes(parsedTopic.kind)) return refuse('unknown', 'not a topic the board reads');
    let body: unknown;
    try {
      body = JSON.parse(payload.toString('utf8'));
    } catch {
      return refuse(parsedTopic.kind, 'payload is not JSON');
    }
    switch (parsedTopic.kind) {
      case 'danger': {
        const r = dangerSchema.safeParse(body);
        if (!r.success) return refuse('danger', describeZodError(r.error));
        if (r.data.zoneId !== parsedTopic.zoneId) return refuse('danger', 'topic and payload disagree on the zone');
        this.o.store.saveDanger(r.data, now);
        const map = r.data.official ? this.official : this.provisional;
        const prev = map.get(r.data.zoneId);
        if (!prev || Date.parse(prev.ts) <= Date.parse(r.data.ts)) map.set(r.data.zoneId, r.data);
        messagesTotal.inc({ kind: 'danger', result: 'stored' });
        break;
      }
      case 'event': {
        const r = eventSchema.safeParse(body);
        if (!r.success) return refuse('event', describeZodError(r.error));
        if (r.data.kind !== parsedTopic.eventKind || r.data.zoneId !== parsedTopic.zoneId) return refuse('event', 'topic and payload disagree on kind or zone');
        if (this.o.store.saveEvent(r.data, now)) {
          this.events.push(r.data);
          if (this.events.length > MAX_EVENTS_IN_MEMORY) this.events.splice(0, this.events.length - MAX_EVENTS_IN_MEMORY);
          messagesTotal.inc({ kind: 'event', result: 'stored' });
        } else messagesTotal.inc({ kind: 'event', result: 'duplicate' });
        // The alerts service opens an alert for it at the same moment.
        this.scheduleAlerts(500);
        break;
      }
      case 'status': {
        const r = nodeStatusSchema.safeParse(body);
        if (!r.success) return refuse('status', describeZodError(r.error));
        if (r.data.nodeId !== parsedTopic.nodeId) return refuse('status', 'topic and payload disagree on the node');
        this.o.store.saveStatus(r.data, now);
        this.status.set(r.data.nodeId, { ...r.data, receivedAt: now });
        messagesTotal.inc({ kind: 'status', result: 'stored' });
        break;
      }
      case 'alert': {
        const r = alertLifecycleSchema.safeParse(body);
        if (!r.success) return refuse('alert', describeZodError(r.error));
        this.o.store.saveLifecycle(r.data, now);
        messagesTotal.inc({ kind: 'alert', result: 'stored' });
        this.scheduleAlerts(100);
        break;
      }
    }
    this.scheduleRecompute();
  }

  private scheduleRecompute(): void {
    if (this.recomputeTimer) return;
    this.recomputeTimer = setTimeout(() => {
      this.recomputeTimer = null;
      this.recompute();
    }, 50);
  }

  private scheduleAlerts(ms: number): void {
    if (!this.o.alerts || this.alertsTimer) return;
    this.alertsTimer = setTimeout(() => {
      this.alertsTimer = null;
      void this.refreshAlerts();
    }, ms);
  }

  private compute(): BoardView {
    return buildBoardView(
      this.o.site,
      {
        official: this.official,
        provisional: this.provisional,
        events: this.events,
        status: this.status,
        lastReading: this.lastReading,
        alerts: this.alerts,
        mqttConnected: this.mqttConnected,
        alertsState: this.alertsState,
        alertsError: this.alertsError,
        readingsKind: this.o.readings.kind,
        readingsError: this.readingsError,
      },
      this.now(),
      this.names,
    );
  }

  /** Recomputes the view; a change gets a new version and goes to the listeners. */
  recompute(): boolean {
    const view = this.compute();
    const { generatedAt: _a, ...comparable } = view;
    const { generatedAt: _b, ...previous } = this.view;
    this.view = view;
    const changed = JSON.stringify(comparable) !== JSON.stringify(previous);
    if (changed) this.counter += 1;
    this.viewJson = JSON.stringify(view);
    if (changed) for (const l of this.listeners) l(this.version, this.viewJson);
    return changed;
  }

  refreshReadings(): Promise<void> {
    this.readingsInFlight ??= (async () => {
      try {
        this.lastReading = await this.o.readings.lastSeen(this.now());
        if (this.readingsError) this.o.log.info({ source: this.o.readings.description }, 'sensor readings readable again');
        this.readingsError = null;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (this.readingsError !== message) this.o.log.warn({ source: this.o.readings.description, err: message }, 'cannot read sensor readings');
        this.readingsError = message;
      } finally {
        this.readingsInFlight = null;
      }
      this.recompute();
    })();
    return this.readingsInFlight;
  }

  refreshAlerts(): Promise<void> {
    const client = this.o.alerts;
    if (!client) return Promise.resolve();
    this.alertsInFlight ??= (async () => {
      try {
        this.alerts = await client.openAlerts();
        if (this.alertsState !== 'ok') this.o.log.info('alerts service answers');
        this.alertsState = 'ok';
        this.alertsError = null;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (this.alertsError !== message) this.o.log.warn({ err: message }, 'cannot read the alerts service (the board keeps the last list it had)');
        this.alertsState = 'error';
        this.alertsError = message;
      } finally {
        this.alertsInFlight = null;
      }
      this.recompute();
    })();
    return this.alertsInFlight;
  }

  /** A board member acknowledges an alert: recorded by the alerts service with channel `board`. */
  async acknowledge(alertId: string, by: string): Promise<{ alreadyAcknowledged: boolean }> {
    if (!this.o.alerts) throw new Error('no alerts service configured (BOARD_ALERTS_URL and ALERTS_API_KEY)');
    const r = await this.o.alerts.acknowledge(alertId, by);
    await this.refreshAlerts();
    return r;
  }

  series(filter: { zoneId?: string; nodeId?: string }): Promise<Series> {
    const nodeIds = this.o.site.nodes.filter((n) => (filter.nodeId ? n.id === filter.nodeId : n.zone === filter.zoneId)).map((n) => n.id);
    return this.o.readings.series(nodeIds, filter, seriesWindow(this.now()));
  }

  start(): void {
    const every = (ms: number, fn: () => unknown) => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    void this.refreshReadings();
    void this.refreshAlerts();
    every(this.o.readingsEveryMs ?? 5000, () => void this.refreshReadings());
    if (this.o.alerts) every(this.o.alertsEveryMs ?? 5000, () => void this.refreshAlerts());
    // Ages move on without any message (a node turns stale, a cleared fire leaves the board).
    every(5000, () => this.recompute());
    every(3_600_000, () => this.o.store.prune(this.now()));
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    if (this.recomputeTimer) clearTimeout(this.recomputeTimer);
    if (this.alertsTimer) clearTimeout(this.alertsTimer);
    await Promise.allSettled([this.alertsInFlight, this.readingsInFlight]);
  }
}
