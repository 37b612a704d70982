// The drill player (README "Drills", `fire-ews drill-player`): plays the sensor drills the board's form
// and the site file's schedule ask for. The alerts service faces the internet and the board serves
// members' browsers: neither may hold the simulator's right to publish readings for any node, so they
// publish a request (`ews/v1/drill/requests/<zone>`, svc-alerts only) and this process, as svc-simulator,
// runs the same code path as `fire-ews drill --depth sensor` (drill-plume.ts `runSensorDrill`).
//
// A persistent session (clean=false, QoS 1) keeps requests made while the player is down; a request is
// acknowledged once the alerts service has recorded its drill (or refused it), so a crash before that
// gets it again. The request's drill id is the idempotency key: the alerts service answers 409 for an id
// it has, so a request redelivered after a restart is not played twice. `decideDrillRequest` is pure.
import type { IPublishPacket, MqttClient } from 'mqtt';
import { Counter } from 'prom-client';
import { drillRequestSchema, type DrillRequestMessage } from '../contracts/alerts-api.ts';
import type { Site } from '../contracts/site.ts';
import { parseTopic, topics } from '../contracts/topics.ts';
import { derivePassword, serviceUsername } from '../platform/credentials.ts';
import { ApiFailover } from '../platform/api-failover.ts';
import { FetchError } from '../platform/fetch-json.ts';
import { rateLimitedWarn } from '../platform/log-limiter.ts';
import type { Logger } from '../platform/logger.ts';
import { metricsRegistry } from '../platform/metrics.ts';
import { connectDurableSession } from '../platform/mqtt-session.ts';
import { closeSession } from '../platform/service-shell.ts';
import { DrillPlanError, runSensorDrill } from './drill-plume.ts';
import type { BrokerAccess } from './mqtt-io.ts';

/** A request older than this is refused (logged, counted): a drill nobody is waiting for any more is not played. */
export const REQUEST_MAX_AGE_MS = 10 * 60_000;
/** Requests stamped further ahead than this (a wrong clock) are refused too. */
export const REQUEST_MAX_AHEAD_MS = 60_000;
/** Plumes playing at once, all zones together (one per zone at most). */
export const MAX_PLUMES = 4;
/** Drill ids remembered in memory (a redelivery inside one run); across restarts the alerts service's 409 decides. */
export const REMEMBERED_REQUESTS = 1000;
/** Waits before asking the alerts API again when it did not answer (or answered 5xx); then the request has failed. */
export const API_RETRY_DELAYS_MS = [2_000, 5_000, 10_000] as const;
/** The player's own MQTT client id (reserved to svc-simulator by the broker). */
export const DRILL_PLAYER_CLIENT_ID = 'ews-simulator-drill-player';

const requestsTotal = new Counter({
  name: 'ews_simulator_drill_requests_total',
  help: 'Sensor drill requests the drill player received, by outcome (played, stale, duplicate, zone-busy, too-many, invalid, failed)',
  labelNames: ['outcome'] as const,
  registers: [metricsRegistry],
});

export type DrillRequestDecision = { action: 'play' } | { action: 'refuse'; outcome: 'stale' | 'duplicate' | 'zone-busy' | 'too-many'; reason: string };

export interface DrillPlayerState {
  /** Drill ids of requests taken in this run. */
  seen: ReadonlySet<string>;
  /** Zone → drill id of the plume playing there. */
  playing: ReadonlyMap<string, string>;
}

/** Play this request, or refuse it and why: too old (or ahead), already taken, its zone busy, too many plumes. */
export function decideDrillRequest(req: DrillRequestMessage, nowMs: number, state: DrillPlayerState): DrillRequestDecision {
  const age = nowMs - req.requestedAt;
  if (age > REQUEST_MAX_AGE_MS) return { action: 'refuse', outcome: 'stale', reason: `requested ${Math.round(age / 1000)} s ago, more than ${REQUEST_MAX_AGE_MS / 60_000} min` };
  if (-age > REQUEST_MAX_AHEAD_MS) return { action: 'refuse', outcome: 'stale', reason: `requested ${Math.round(-age / 1000)} s in the future (a wrong clock?)` };
  if (state.seen.has(req.drillId)) return { action: 'refuse', outcome: 'duplicate', reason: `drill ${req.drillId} was requested already` };
  const busy = state.playing.get(req.zoneId);
  if (busy) return { action: 'refuse', outcome: 'zone-busy', reason: `the plume of drill ${busy} is still playing in ${req.zoneId}` };
  if (state.playing.size >= MAX_PLUMES) return { action: 'refuse', outcome: 'too-many', reason: `${MAX_PLUMES} plumes are playing already` };
  return { action: 'play' };
}

/** A request message checked: the topic's zone, JSON, schema, and the topic and payload naming the same zone. */
export function parseDrillRequest(topic: string, payload: Buffer): { ok: true; request: DrillRequestMessage } | { ok: false; reason: string } {
  const parsed = parseTopic(topic);
  if (parsed?.kind !== 'drill-request') return { ok: false, reason: `not a drill request topic: ${topic}` };
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  const r = drillRequestSchema.safeParse(json);
  if (!r.success) return { ok: false, reason: r.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  if (r.data.zoneId !== parsed.zoneId) return { ok: false, reason: `topic zone ${parsed.zoneId} and payload zone ${r.data.zoneId} differ` };
  return { ok: true, request: r.data };
}

/**
 * `attempt` again after each of `delaysMs` while it fails for a transient reason — the alerts API unreachable,
 * no answer, or 5xx (a restart) — and `canRetry()` holds; a refusal (4xx, 409 included) or anything else is final.
 */
export async function retryTransient<T>(attempt: () => Promise<T>, o: { delaysMs: readonly number[]; canRetry?: () => boolean; onRetry?: (err: Error, delayMs: number) => void; sleep?: (ms: number) => Promise<void> }): Promise<T> {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      const transient = err instanceof FetchError && (err.status === null || err.status >= 500);
      const delay = o.delaysMs[i];
      if (!transient || delay === undefined || !(o.canRetry?.() ?? true)) throw err;
      o.onRetry?.(err, delay);
      await sleep(delay);
    }
  }
}

export interface DrillPlayerOptions {
  site: Site;
  access: BrokerAccess;
  /** The alerts service's API (ALERTS_URL: one URL or a leader's and a standby's, ALERTS_API_KEY). */
  api: { url: string; key: string };
  log: Logger;
  clientId?: string;
  now?: () => number;
}

export interface RunningDrillPlayer {
  client: MqttClient;
  /** Zone → drill id of the plumes playing now. */
  playing(): ReadonlyMap<string, string>;
  health(): { ok: boolean; detail: Record<string, unknown> };
  /** Stops taking requests and the plumes playing (their drills end as not detected). */
  close(): Promise<void>;
}

export function startDrillPlayer(o: DrillPlayerOptions): RunningDrillPlayer {
  const now = o.now ?? Date.now;
  const log = o.log;
  const seen = new Set<string>();
  const playing = new Map<string, string>();
  const plumes = new Set<Promise<unknown>>();
  const stop = new AbortController();
  const invalidLog = rateLimitedWarn(log, 'drill request refused');
  let plumeSeq = 0;
  // One list for the player's life: the alerts API that answered last is tried first.
  const api = { endpoints: new ApiFailover(o.api.url), key: o.api.key };

  const remember = (drillId: string) => {
    seen.add(drillId);
    // Bounded: the oldest ids go first (a Set iterates in insertion order).
    if (seen.size > REMEMBERED_REQUESTS) seen.delete(seen.values().next().value as string);
  };

  const handle = (packet: IPublishPacket, ack: () => void): void => {
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const parsed = parseDrillRequest(packet.topic, payload);
    if (!parsed.ok) {
      requestsTotal.inc({ outcome: 'invalid' });
      invalidLog.warn('invalid', { topic: packet.topic, reason: parsed.reason });
      return ack();
    }
    const req = parsed.request;
    const decision = decideDrillRequest(req, now(), { seen, playing });
    if (decision.action === 'refuse') {
      requestsTotal.inc({ outcome: decision.outcome });
      log.warn({ drillId: req.drillId, zoneId: req.zoneId, outcome: decision.outcome, reason: decision.reason }, 'sensor drill request refused');
      return ack();
    }
    remember(req.drillId);
    playing.set(req.zoneId, req.drillId);
    plumeSeq += 1;
    let acked = false;
    const ackOnce = () => {
      if (!acked) ack();
      acked = true;
    };
    const attempt = () => runSensorDrill(
      { zoneId: req.zoneId, speed: req.speed, node: req.node, audience: req.audience, dryRun: req.dryRun, startedBy: req.startedBy, drillId: req.drillId },
      {
        site: o.site,
        access: o.access,
        api,
        now,
        signal: stop.signal,
        clientId: `sim-drill-player-${process.pid}-${plumeSeq}`,
        onStarted: (drillId, plan) => {
          // The alerts service has recorded the drill: the request has done its part.
          ackOnce();
          requestsTotal.inc({ outcome: 'played' });
          log.info({ drillId, zoneId: req.zoneId, ignitionNode: plan.ignitionNode, speed: plan.speed, readings: plan.messages.length, until: new Date(plan.endWallMs).toISOString(), startedBy: req.startedBy }, 'sensor drill requested: plume playing');
        },
      },
    );
    const retrying = () =>
      retryTransient(attempt, {
        delaysMs: API_RETRY_DELAYS_MS,
        // Once the drill is recorded (acked), a failure is the plume's, not the API's: never start it again.
        canRetry: () => !acked && !stop.signal.aborted,
        onRetry: (err, delayMs) => log.warn({ drillId: req.drillId, err: err.message, retryInMs: delayMs }, 'alerts API not answering for a sensor drill request: trying again'),
      });
    const run = retrying()
      .then((r) => log.info({ drillId: r.drillId, zoneId: req.zoneId, sent: r.sent }, 'sensor drill plume played'))
      .catch((err: unknown) => {
        if (err instanceof FetchError && err.status === 409) {
          requestsTotal.inc({ outcome: 'duplicate' });
          log.warn({ drillId: req.drillId, zoneId: req.zoneId }, 'sensor drill request for a drill that exists already (a redelivery): not played again');
        } else if (!acked) {
          requestsTotal.inc({ outcome: 'failed' });
          log.error({ drillId: req.drillId, zoneId: req.zoneId, err: err instanceof Error ? err.message : String(err), plan: err instanceof DrillPlanError }, 'sensor drill request failed: not played');
        } else {
          log.error({ drillId: req.drillId, zoneId: req.zoneId, err: err instanceof Error ? err.message : String(err) }, 'sensor drill plume stopped before its end');
        }
      })
      .finally(() => {
        ackOnce();
        if (playing.get(req.zoneId) === req.drillId) playing.delete(req.zoneId);
        plumes.delete(run);
      });
    plumes.add(run);
  };

  const username = serviceUsername('simulator');
  const client = connectDurableSession({
    url: o.access.url,
    clientId: o.clientId ?? DRILL_PLAYER_CLIENT_ID,
    username,
    password: derivePassword(o.access.secret, username),
    service: 'drill player',
    filters: [topics.allDrillRequests],
    log,
    handle: (packet, ack) => handle(packet, ack),
  });

  return {
    client,
    playing: () => playing,
    health: () => ({ ok: client.connected, detail: { mqtt: client.connected, playing: Object.fromEntries(playing) } }),
    async close() {
      stop.abort();
      await closeSession(client);
      await Promise.allSettled([...plumes]);
      invalidLog.close();
    },
  };
}
