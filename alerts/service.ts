// Runs the alerts service: site file with its alerts section (templates checked at start-up), SQLite outbox, transport,
// HTTP server, and the MQTT subscription to rule events as svc-alerts with a persistent session.
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { Counter } from 'prom-client';
import { checkEventMessage } from '../contracts/message-checks.ts';
import { topics } from '../contracts/topics.ts';
import { createDeadLetters, DeadLetterTable } from '../platform/dead-letters.ts';
import type { Logger } from '../platform/logger.ts';
import { closeSession, connectServiceSession, serviceCredentials, type MessageHandler, type RunningService, type ServiceContext } from '../platform/service-shell.ts';
import { openDatabase } from '../platform/sqlite.ts';
import { metricsRegistry } from '../platform/metrics.ts';
import { ackModeOf, chooseTransport, refuseSampleRoster, type AlertsEnv } from './config.ts';
import type { EngineContext } from './engine.ts';
import { createAlertsHttpServer, listenAlertsHttp } from './http.ts';
import { AlertOutbox, type SmsCounts } from './outbox.ts';
import { GammuTransport, watchModemFolders } from './gammu.ts';
import { DEFAULT_INFLUX_SPOOL_MAX_LINES, startAlertsInflux, type AlertsInflux } from './influx.ts';
import { createLineWriter } from '../platform/influx-writer.ts';
import { sitePolicy, type Site } from '../contracts/site.ts';
import type { AlertPolicy } from './policy.ts';
import { buildRoster } from './routing.ts';
import { skippedDrillSlots, startDrillSchedule } from './drill-schedule.ts';
import { SensorDrills } from './sensor-drills.ts';
import { drillRequestPublisher } from './drill-requests.ts';
import { lifecycleMessages } from './lifecycle-messages.ts';
import { AlertService, type AlertServiceOptions, type TransportDegradation } from './core.ts';
import { assertTemplatesFit, ACK_CODE_DIGITS, transportNotice, type AckMode } from './templates.ts';
import { DryRunTransport, TwilioTransport, type SmsTransport } from './transports.ts';
import { randomInt } from 'node:crypto';

export interface RunningAlerts extends RunningService {
  service: AlertService;
  httpPort: number;
  /** dryrun, twilio or gammu. */
  transport: SmsTransport['name'];
  /** Whether the SMS ask for a reply with the code or carry only the link. */
  ackMode: AckMode;
  /** The alerts section of the site file, as the service uses it. */
  policy: AlertPolicy;
  /** SMS handed to the transport, failed and acknowledged since the process started. */
  sms: Readonly<SmsCounts>;
  /** Present when INFLUX_URL is set. */
  influx: AlertsInflux | null;
  /** What the internal /healthz answers (also for `fire-ews start`'s process-wide listener). */
  health: () => { ok: boolean; detail: Record<string, unknown> };
  close(): Promise<void>;
}

const deadLetterCounter = new Counter({ name: 'ews_alerts_dead_letters_total', help: 'Messages alerts refused', labelNames: ['reason'] as const, registers: [metricsRegistry] });

function newAckCode(taken: ReadonlySet<string>): string {
  for (;;) {
    const code = String(randomInt(10 ** (ACK_CODE_DIGITS - 1), 10 ** ACK_CODE_DIGITS));
    if (!taken.has(code)) return code;
  }
}

function makeTransport(env: AlertsEnv, log: Logger, unicode: boolean, kind = chooseTransport(env)): SmsTransport {
  if (kind === 'twilio') {
    return new TwilioTransport({
      accountSid: env.TWILIO_ACCOUNT_SID ?? '',
      authToken: env.TWILIO_AUTH_TOKEN ?? '',
      messagingServiceSid: env.TWILIO_MESSAGING_SERVICE_SID,
      from: env.TWILIO_FROM,
      statusCallback: `${env.ALERTS_PUBLIC_URL.replace(/\/+$/, '')}/twilio/status`,
      apiBaseUrl: env.ALERTS_TWILIO_API_BASE_URL,
      timeoutMs: 15_000,
    });
  }
  if (kind === 'gammu') return new GammuTransport({ configFile: env.GAMMU_SMSD_CONFIG ?? '', injectCommand: env.GAMMU_INJECT_COMMAND, unicode });
  return new DryRunTransport(log);
}

export { scanGammuInbox } from './gammu.ts';

/**
 * The other transport, for the maintenance notice when the main one fails every message: the modem
 * when Twilio is the main one and GAMMU_SMSD_CONFIG is set, Twilio when the modem is and Twilio's
 * credentials are set; none otherwise.
 */
export function fallbackTransportKind(env: AlertsEnv): 'twilio' | 'gammu' | null {
  const main = chooseTransport(env);
  if (main === 'twilio' && env.GAMMU_SMSD_CONFIG) return 'gammu';
  if (main === 'gammu' && env.TWILIO_ACCOUNT_SID && env.TWILIO_AUTH_TOKEN) return 'twilio';
  return null;
}

/**
 * The checks that refuse a start (the sample roster with a real transport, templates that do not
 * fit): also run by a standby before it waits for the lease, so a bad configuration is found at
 * start-up, not at the takeover.
 */
export function checkAlertsConfiguration(env: AlertsEnv, site: Site): { policy: AlertPolicy; ackMode: AckMode } {
  const policy = sitePolicy(site);
  refuseSampleRoster(env, site);
  const ackMode = ackModeOf(env);
  assertTemplatesFit(policy, site, env.ALERTS_PUBLIC_URL, [ackMode]);
  return { policy, ackMode };
}

/** What only alerts takes beside its context. */
export interface AlertsServiceExtras {
  /** Every message wave queued (the console of `fire-ews start`). */
  onNotification?: AlertServiceOptions['onNotification'];
}

/**
 * Starts the alerts service as every service starts (platform/service-shell.ts). Its /metrics and
 * /healthz listener is the caller's (serveMetrics with health()), as for ingest and rules.
 */
export async function startAlertsService(context: ServiceContext<AlertsEnv>, extras: AlertsServiceExtras = {}): Promise<RunningAlerts> {
  const { env, site, logger: log, clock } = context;
  const { policy, ackMode } = checkAlertsConfiguration(env, site);
  const ctx: EngineContext = { policy, roster: buildRoster(site), newAckCode };
  const db = openDatabase(env.ALERTS_DB_FILE ?? join(env.EWS_DATA_DIR, 'alerts.sqlite'));
  // InfluxDB (optional): alert state changes and pipeline figures for the dashboards, through a spool in alerts.sqlite.
  const influxWriter = createLineWriter(env, log);
  const outbox = new AlertOutbox(db, { policy, publicUrl: env.ALERTS_PUBLIC_URL, validityS: env.ALERTS_VALIDITY_S, ackMode, influxSpoolMaxLines: influxWriter ? DEFAULT_INFLUX_SPOOL_MAX_LINES : 0 });
  const influx = influxWriter ? startAlertsInflux({ outbox, writer: influxWriter, log, statsIntervalS: env.EWS_PIPELINE_STATS_S }) : null;
  if (influxWriter) log.info({ influx: influxWriter.description, statsIntervalS: env.EWS_PIPELINE_STATS_S }, 'alert states and pipeline figures go to InfluxDB');
  const transport = makeTransport(env, log, policy.encoding === 'ucs2');
  let mqttClient: MqttClient | null = null;
  const fallbackKind = fallbackTransportKind(env);
  const fallback = fallbackKind ? makeTransport(env, log, policy.encoding === 'ucs2', fallbackKind) : null;
  // Best effort, not through the outbox: one SMS per maintenance contact per episode, logged either way.
  let noticeSeq = 0;
  const notifyMaintenance = (d: TransportDegradation, state: 'down' | 'up') => {
    if (!fallback) {
      log.warn({ transport: transport.name, reason: d.reason }, 'no other transport configured for a maintenance notice');
      return;
    }
    const notice = transportNotice(policy, transport.name, d, state, Date.now());
    for (const person of site.maintenance) {
      noticeSeq += 1;
      void fallback
        .send({ to: person.phone, body: notice.body, segments: notice.count.segments, validityS: env.ALERTS_VALIDITY_S, outboxId: -noticeSeq })
        .then((r) => (r.ok ? log.warn({ to: person.id, via: fallback.name, providerId: r.providerId, body: notice.body }, 'maintenance notice sent') : log.error({ to: person.id, via: fallback.name, code: r.code, detail: r.detail }, 'maintenance notice failed')));
    }
  };
  const service = new AlertService({
    onTransportDegraded: (d) => notifyMaintenance(d, 'down'),
    onTransportRecovered: (d) => notifyMaintenance(d, 'up'),
    ctx,
    outbox,
    transport,
    log,
    segmentsPerSecond: env.ALERTS_RATE_SEGMENTS_PER_S,
    burst: env.ALERTS_RATE_BURST,
    concurrency: env.ALERTS_SEND_CONCURRENCY,
    retry: { baseMs: env.ALERTS_RETRY_BASE_MS, capMs: env.ALERTS_RETRY_CAP_MS },
    validityS: env.ALERTS_VALIDITY_S,
    ...(clock ? { clock } : {}),
    ...(extras.onNotification ? { onNotification: extras.onNotification } : {}),
    onLifecycle: (note, alert) => {
      for (const m of lifecycleMessages(note, alert, new Date().toISOString())) mqttClient?.publish(m.topic, m.payload, { qos: 1 });
    },
  });
  log.info({ transport: transport.name, ackMode, encoding: policy.encoding, maxSegments: policy.maxSegments, rate: env.ALERTS_RATE_SEGMENTS_PER_S }, 'alerts service starting');
  service.start();
  // Sensor drills (alerts/sensor-drills.ts): recorded by the API, opened from rules' drill events.
  const sensorDrills = new SensorDrills(db, service, log);
  sensorDrills.startTimer();
  // Drills the site file schedules (README "Drills"): node-cron, wall clock, the site's timezone.
  // Sensor drills from the board and the schedule: a request for the drill player (alerts/drill-requests.ts).
  const requestSensorDrill = drillRequestPublisher({ site, client: () => mqttClient, log });
  const drillSchedule = startDrillSchedule({ drills: site.drills, timezone: policy.timezone, service, requestSensorDrill, drillExists: (id) => outbox.drill(id) !== null || sensorDrills.row(id) !== null, db, log });

  const http = createAlertsHttpServer({
    host: env.ALERTS_HTTP_HOST,
    port: env.ALERTS_HTTP_PORT,
    service,
    outbox,
    sensorDrills,
    requestSensorDrill,
    skippedDrillSlots: (zone) => skippedDrillSlots(db, 20, zone),
    log,
    publicUrl: env.ALERTS_PUBLIC_URL,
    twilioAuthToken: transport.name === 'twilio' ? env.TWILIO_AUTH_TOKEN : undefined,
    twilioInbound: transport.name === 'twilio' && env.TWILIO_RECEIVES_REPLIES,
    apiKey: env.ALERTS_API_KEY,
    health: () => ({ ok: mqttClient?.connected ?? false }),
    limits: {
      maxConnections: env.ALERTS_HTTP_MAX_CONNECTIONS,
      headersTimeoutMs: env.ALERTS_HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: env.ALERTS_HTTP_REQUEST_TIMEOUT_MS,
      idleTimeoutMs: env.ALERTS_HTTP_IDLE_TIMEOUT_MS,
    },
  });
  // The internal /healthz: 503 while MQTT is down or the transport fails every message (degraded, with the reason).
  const health = () => {
    const degraded = service.transportDegradation;
    return {
      ok: (mqttClient?.connected ?? false) && degraded === null,
      detail: {
        mqtt: mqttClient?.connected ?? false,
        transport: transport.name,
        ...(degraded ? { degraded: { reason: degraded.reason, code: degraded.code, detail: degraded.detail, since: new Date(degraded.since).toISOString() } } : {}),
        fallbackTransport: fallback?.name ?? null,
        outbox: outbox.countsByState(),
      },
    };
  };
  const httpPort = await listenAlertsHttp(http, env.ALERTS_HTTP_HOST, env.ALERTS_HTTP_PORT);
  const { username, password } = serviceCredentials(context, 'alerts');
  // A late-bound reference: the dead letters are published on the session that received the message.
  let client: MqttClient | null = null;
  const deadLetters = createDeadLetters({ service: 'alerts', table: new DeadLetterTable(db), log, counter: deadLetterCounter, client: () => client });
  // Events are committed to SQLite inside the handler, before ack() lets the PUBACK go: a crash
  // before the commit leaves the message with the broker's persistent session, which redelivers it.
  const handleEvent: MessageHandler = (packet, ack, readNext) => {
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    try {
      const message = checkEventMessage(packet.topic, payload);
      if (!message.ok) deadLetters.refuse(message, packet.topic, payload, Date.now());
      else service.handleEvent(message.event);
      ack();
    } catch (err) {
      // Move on without a PUBACK: the broker redelivers this message on the next connection.
      log.error({ err: String(err), topic: packet.topic }, 'event handling failed; not acknowledged');
      readNext();
    }
  };
  // A sensor drill's detection from rules (ews/v1/drill/events/+/+): never a real event.
  const handleDrillEvent: MessageHandler = (packet, ack, readNext) => {
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    try {
      const refused = sensorDrills.onDrillEventPayload(payload);
      if (refused) deadLetters.refuse(refused, packet.topic, payload, Date.now());
      ack();
    } catch (err) {
      log.error({ err: String(err), topic: packet.topic }, 'drill event handling failed; not acknowledged');
      readNext();
    }
  };
  const session = connectServiceSession({
    url: env.MQTT_URL,
    clientId: env.ALERTS_MQTT_CLIENT_ID,
    username,
    password,
    service: 'alerts',
    routes: [
      { filter: topics.allEvents, handle: handleEvent },
      { filter: topics.allDrillEvents, handle: handleDrillEvent },
    ],
    log,
  });
  client = session;
  mqttClient = session;

  const stopModemWatch = watchModemFolders({ configFile: env.GAMMU_SMSD_CONFIG, inboxOverride: env.GAMMU_INBOX_DIR, service, outbox, log });

  return {
    service,
    httpPort,
    transport: transport.name,
    ackMode,
    health,
    policy,
    sms: outbox.counts,
    influx,
    async close() {
      stopModemWatch?.();
      drillSchedule.stop();
      sensorDrills.stop();
      await closeSession(session);
      await service.stop();
      await influx?.stop();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
      deadLetters.close();
      db.close();
    },
  };
}
