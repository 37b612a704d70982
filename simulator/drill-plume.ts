// A sensor drill's plume (README "Drills"): the first minutes of a fire at a zone's nodes, from the
// simulator's own weather and plume models (engine.ts, smoke-plume.ts), as drill readings for
// `ews/v1/drill/readings/<node>`. `planDrillPlume` is pure; `playDrillPlume` publishes the plan
// through the broker with the svc-simulator account (the only account the broker lets publish there);
// `runSensorDrill` is a whole sensor drill (plan, start it through the alerts API, play), for the CLI and
// the drill player (drill-player.ts) alike.
//
// Timeline: WARMUP of clean air (the drill's detection state in rules learns its own baselines from
// it; rules/drill-detection.ts), then ignition 120 m upwind of one node, then FIRE of burning. The
// clean minutes are sent at once, stamped in the past; the fire is played at `speed` and placed on
// the pipeline's clock like an accelerated run (README "Time model"): stamped from
// now + F/speed − F, so the last reading is stamped at the moment it is sent and none is in the future.
import type { MqttClient } from 'mqtt';
import { drillStartResponseSchema, type DrillStart } from '../contracts/alerts-api.ts';
import { drillReadingSchema, type DrillReading } from '../contracts/payloads.ts';
import { ApiFailover } from '../platform/api-failover.ts';
import type { Site } from '../contracts/site.ts';
import { topics } from '../contracts/topics.ts';
import { systemClock, type Clock } from '../platform/clock.ts';
import { loadEnv } from '../contracts/config.ts';
import { ConfigError } from '../platform/config-error.ts';
import { MissingBrokerSecretError, resolveBrokerSecret } from '../platform/credentials.ts';
import { loadSiteFile } from '../platform/site-file.ts';
import { scenarioNodes, simulate } from './engine.ts';
import { connectService, type BrokerAccess } from './mqtt-io.ts';
import { scenarioSchema } from './scenario.ts';

/** Clean air before the ignition: more than the detector's baseline warm-up (15 readings at 60 s). */
export const DRILL_WARMUP_MIN = 20;
/** Burning time played: long enough for a confirmation by persistence (30 min after the suspicion). */
export const DRILL_FIRE_MIN = 45;
/** The ignition: this far from its node, upwind (the wind blows from the south-east, as in fire-san-thang). */
export const DRILL_IGNITION_OFFSET_M = 120;
const WIND_FROM_DEG = 135;

export interface DrillPlumeMessage {
  /** Wall time it is published. */
  atWallMs: number;
  reading: DrillReading;
}

export interface DrillPlumePlan {
  drillId: string;
  zoneId: string;
  ignitionNode: string;
  nodes: string[];
  speed: number;
  /** Wall time the plume starts to be published (the clean minutes all go then). */
  injectAtMs: number;
  /** The ignition on the readings' clock (detection time = an event's reading time − this). */
  ignitionAtMs: number;
  /** Wall time the last reading is published. */
  endWallMs: number;
  messages: DrillPlumeMessage[];
}

export interface DrillPlumeOptions {
  speed: number;
  /** The node the fire starts near; default the zone's first node. */
  ignitionNode?: string;
  warmupMin?: number;
  fireMin?: number;
  seed?: number;
}

/** The plume a sensor drill plays at `zoneId`'s nodes, starting at wall time `nowMs`. Throws a plain message for an unknown zone or node. */
export function planDrillPlume(site: Site, zoneId: string, drillId: string, nowMs: number, opts: DrillPlumeOptions): DrillPlumePlan {
  if (!(opts.speed >= 1)) throw new Error(`speed must be at least 1 (readings would be in the future), got ${opts.speed}`);
  const zoneNodes = site.nodes.filter((n) => n.zone === zoneId);
  if (zoneNodes.length === 0) throw new Error(`zone ${zoneId} has no sensor nodes: a sensor drill needs some (fire-ews drill --depth alert rehearses the SMS path only)`);
  const ignitionNode = opts.ignitionNode ?? (zoneNodes[0]?.id as string);
  if (!zoneNodes.some((n) => n.id === ignitionNode)) throw new Error(`node ${ignitionNode} is not in zone ${zoneId}`);
  const warmupMs = (opts.warmupMin ?? DRILL_WARMUP_MIN) * 60_000;
  const fireMs = (opts.fireMin ?? DRILL_FIRE_MIN) * 60_000;
  const ignitionAtMs = Math.floor(nowMs + fireMs / opts.speed - fireMs);
  const startMs = ignitionAtMs - warmupMs;
  const scenario = scenarioSchema.parse({
    name: `drill-${zoneId}`,
    description: `sensor drill ${drillId}`,
    start: new Date(startMs).toISOString(),
    duration: `${Math.round((warmupMs + fireMs) / 1000)}s`,
    seed: opts.seed ?? 17,
    weather: { mode: 'dry-spell', windFromDeg: WIND_FROM_DEG, days: [{ day: 0, regime: 'dry' }] },
    nodes: { zones: [zoneId] },
    events: [{ type: 'fire', at: `${Math.round(warmupMs / 1000)}s`, near: ignitionNode, offsetM: DRILL_IGNITION_OFFSET_M, bearingDeg: WIND_FROM_DEG, duration: `${Math.round(fireMs / 1000)}s` }],
  });
  const drill = { id: drillId, depth: 'sensor' as const };
  const messages: DrillPlumeMessage[] = [];
  for (const m of simulate(scenario, scenarioNodes(scenario, site)).messages) {
    if (m.kind !== 'reading') continue; // a node the fire reaches goes silent; nothing else to send
    // The node's own observation time never after the moment it is sent (a reading is never in the future).
    const atWallMs = Math.max(nowMs + Math.max(0, m.atMs - ignitionAtMs) / opts.speed, Date.parse(m.reading.ts));
    messages.push({ atWallMs, reading: drillReadingSchema.parse({ ...m.reading, drill }) });
  }
  return { drillId, zoneId, ignitionNode, nodes: zoneNodes.map((n) => n.id), speed: opts.speed, injectAtMs: nowMs, ignitionAtMs, endWallMs: messages.at(-1)?.atWallMs ?? nowMs, messages };
}

/** Publishes a plan's readings at their wall times (QoS 1, at most `maxInFlight` unacknowledged); resolves when all are acknowledged. */
export async function publishDrillPlume(client: MqttClient, plan: DrillPlumePlan, opts: { clock?: Clock; signal?: AbortSignal; onReading?: (sent: number) => void } = {}): Promise<number> {
  const clock = opts.clock ?? systemClock;
  let sent = 0;
  const inFlight = new Set<Promise<unknown>>();
  for (const m of plan.messages) {
    if (opts.signal?.aborted) break;
    if (m.atWallMs > clock.now()) await clock.sleepUntil(m.atWallMs, opts.signal);
    if (opts.signal?.aborted) break;
    const p = client.publishAsync(topics.drillReading(m.reading.nodeId), JSON.stringify(m.reading), { qos: 1 });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p)).catch(() => undefined);
    if (inFlight.size >= 100) await Promise.race(inFlight);
    sent += 1;
    opts.onReading?.(sent);
  }
  await Promise.all(inFlight);
  return sent;
}

/** Connects as svc-simulator (a client of its own: several plumes may play at once in the drill player) and plays the plan. */
export async function playDrillPlume(access: BrokerAccess, plan: DrillPlumePlan, opts: { signal?: AbortSignal; onReading?: (sent: number) => void; clientId?: string } = {}): Promise<number> {
  const client = await connectService(access, 'simulator', opts.clientId ?? `sim-drill-${process.pid}`);
  try {
    return await publishDrillPlume(client, plan, opts);
  } finally {
    await client.endAsync();
  }
}

/** The zone, node or speed cannot make a plume (the CLI turns it into a ConfigError; the drill player logs it). */
export class DrillPlanError extends Error {}

/** What a sensor drill is asked to be: the CLI's options, or a drill request (board, schedule). */
export interface SensorDrillAsk {
  zoneId: string;
  speed: number;
  node?: string | undefined;
  audience?: DrillStart['audience'];
  dryRun: boolean;
  startedBy: string;
  /** Chosen by the requester (a drill request); absent: the alerts service chooses one. */
  drillId?: string | undefined;
}

export interface SensorDrillDeps {
  site: Site;
  access: BrokerAccess;
  /** The alerts service's API (ALERTS_URL: one URL or a leader's and a standby's; ALERTS_API_KEY). */
  api: { endpoints: ApiFailover; key: string };
  now?: () => number;
  signal?: AbortSignal;
  /** The drill is recorded by the alerts service; the plume is about to play. */
  onStarted?: (drillId: string, plan: DrillPlumePlan) => void;
  onReading?: (sent: number) => void;
  clientId?: string;
}

const API_TIMEOUT_MS = 10_000;

/**
 * A sensor drill, the one code path of `fire-ews drill --depth sensor` and the drill player: plans the
 * plume, starts the drill through `POST /api/drills` (depth sensor, the plan's figures, the requester's
 * drill id), then plays the plume under the id the service answered. A `FetchError` with status 409
 * means a drill with the requested id exists already (a redelivered request): nothing is played.
 */
export async function runSensorDrill(ask: SensorDrillAsk, deps: SensorDrillDeps): Promise<{ drillId: string; plan: DrillPlumePlan; sent: number }> {
  const nowMs = (deps.now ?? Date.now)();
  const plan = (drillId: string) => {
    try {
      return planDrillPlume(deps.site, ask.zoneId, drillId, nowMs, { speed: ask.speed, ...(ask.node ? { ignitionNode: ask.node } : {}) });
    } catch (err) {
      throw new DrillPlanError((err as Error).message);
    }
  };
  const draft = plan(ask.drillId ?? 'pending');
  const body: DrillStart = {
    zoneId: ask.zoneId,
    dryRun: ask.dryRun,
    startedBy: ask.startedBy,
    depth: 'sensor',
    ...(ask.audience ? { audience: ask.audience } : {}),
    ...(ask.drillId ? { drillId: ask.drillId } : {}),
    plume: { ignitionNode: draft.ignitionNode, nodes: draft.nodes, speed: draft.speed, injectAt: draft.injectAtMs, ignitionAt: draft.ignitionAtMs, endsAt: Math.ceil(draft.endWallMs) },
  };
  // Starting a drill is tried at the next URL only when the first certainly did not get it (refused, 503).
  const started = await deps.api.endpoints.fetchJson(
    '/api/drills',
    { method: 'POST', headers: { 'x-api-key': deps.api.key, 'content-type': 'application/json' }, body: JSON.stringify(body), timeoutMs: API_TIMEOUT_MS, maxBytes: 64 * 1024 },
    drillStartResponseSchema,
  );
  const final = started.drillId === draft.drillId ? draft : plan(started.drillId);
  deps.onStarted?.(started.drillId, final);
  const sent = await playDrillPlume(deps.access, final, { ...(deps.signal ? { signal: deps.signal } : {}), ...(deps.onReading ? { onReading: deps.onReading } : {}), ...(deps.clientId ? { clientId: deps.clientId } : {}) });
  return { drillId: started.drillId, plan: final, sent };
}

/**
 * `fire-ews drill --depth sensor` from the environment (EWS_SITE_FILE, MQTT_URL, the broker secret as
 * `fire-ews simulate` finds it; the alerts API from the drill command's env). A missing secret or a
 * bad zone/node is a ConfigError (one line, exit 2).
 */
export function sensorDrillFromEnv(): (ask: SensorDrillAsk, api: { url: string; key: string }, onStarted: (drillId: string, plan: DrillPlumePlan) => void) => Promise<{ drillId: string; sent: number }> {
  const env = loadEnv();
  const site = loadSiteFile(env.EWS_SITE_FILE);
  let secret: string;
  try {
    secret = resolveBrokerSecret(env.EWS_BROKER_SECRET, env.EWS_DATA_DIR, { generate: false }).secret;
  } catch (err) {
    if (err instanceof MissingBrokerSecretError) throw new ConfigError([{ where: 'EWS_BROKER_SECRET', problem: 'a sensor drill publishes its plume as svc-simulator and needs the broker secret', fix: err.message }]);
    throw err;
  }
  return async (ask, api, onStarted) => {
    try {
      const r = await runSensorDrill(ask, { site, access: { url: env.MQTT_URL, secret }, api: { endpoints: new ApiFailover(api.url), key: api.key }, onStarted });
      return { drillId: r.drillId, sent: r.sent };
    } catch (err) {
      if (err instanceof DrillPlanError) throw new ConfigError([{ where: '--zone/--node/--speed', problem: err.message }]);
      throw err;
    }
  };
}
