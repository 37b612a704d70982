// A pipeline process's link to the run clock (README "Time model"): it announces how the process's
// services judge time on `ews/v1/clock/pipeline/<role>` (retained, removed again when the process
// stops), and — when the process follows run clocks — takes the announcements of accelerated runs
// from `ews/v1/clock` into the process's PipelineClock and confirms the run it follows, so that
// simulate/replay send their first reading only once the pipeline is on the run's clock.
import type { MqttClient } from 'mqtt';
import { connectToBrokers } from './broker-urls.ts';
import { describeZodError, pipelineClockSchema, runClockSchema, type PipelineClockStatus } from '../contracts/payloads.ts';
import { topics, type PipelineClockRole } from '../contracts/topics.ts';
import { PipelineClock } from './clock.ts';
import type { Logger } from './logger.ts';

export interface ClockLinkOptions {
  url: string;
  username: string;
  password: string;
  /** Its own client id (the service's sessions keep theirs). */
  clientId: string;
  role: PipelineClockRole;
  /** How each service of this process judges time. */
  services: PipelineClockStatus['services'];
  clock: PipelineClock;
  log: Logger;
}

export interface ClockLink {
  readonly connected: boolean;
  /** Says (retained) that this process plays its own simulation, or no longer does. */
  setSimulating(source: string | null): void;
  /** Resolves once the status is published and (when following) the run clock subscribed. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

const localTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + 'Z';

export function startClockLink(opts: ClockLinkOptions): ClockLink {
  const { clock, log } = opts;
  const statusTopic = topics.pipelineClock(opts.role);
  const client: MqttClient = connectToBrokers(opts.url, {
    clientId: opts.clientId,
    username: opts.username,
    password: opts.password,
    clean: true,
    protocolVersion: 4,
    reconnectPeriod: 1000,
    connectTimeout: 30_000,
    // Gone without a goodbye: the broker removes the retained status, so nobody waits for us.
    will: { topic: statusTopic, payload: Buffer.alloc(0), qos: 1, retain: true },
  });
  let closing = false;

  let simulating: string | null = null;
  const status = (): PipelineClockStatus =>
    pipelineClockSchema.parse({ role: opts.role, services: opts.services, runId: clock.activeRun?.runId ?? null, ...(simulating ? { simulating } : {}), ts: new Date().toISOString() });
  let publishedRun: string | null | undefined;
  const publishStatus = (onStored?: () => void) => {
    if (closing || !client.connected) return;
    const s = status();
    publishedRun = s.runId;
    client.publish(statusTopic, JSON.stringify(s), { qos: 1, retain: true }, () => onStored?.());
  };

  // The status follows the clock: a new run is confirmed, an ended one released.
  const unsubscribe = clock.onChange((change) => {
    const run = clock.activeRun;
    if (run) {
      log.info(
        { runId: run.runId, source: run.source, speed: run.speed, pipelineTimeBefore: localTime(change.before), pipelineTimeNow: localTime(change.after), runEnds: localTime(run.endSimMs) },
        'following the clock of an accelerated run',
      );
    } else log.info({ runId: change.runId, pipelineTime: localTime(change.after) }, 'accelerated run ended; back on the wall clock');
    publishStatus();
  });
  // A run that reaches its end without an `ended` message: release it on time.
  const endWatch = setInterval(() => {
    if (publishedRun !== undefined && (clock.activeRun?.runId ?? null) !== publishedRun) publishStatus();
  }, 1000);

  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  client.on('connect', () => {
    // Once the broker has the status (PUBACK), a simulator that looks sees this process.
    const announce = () => publishStatus(markReady);
    if (!clock.followsRuns) return announce();
    client.subscribe(topics.clock, { qos: 1 }, (err, granted) => {
      if (err) log.error({ err: err.message }, 'could not subscribe to the run clock');
      else if (granted?.some((g) => g.qos === 128)) log.error({ topic: topics.clock }, 'the broker refused the run clock subscription');
      announce();
    });
  });
  client.on('message', (topic, payload) => {
    if (closing || topic !== topics.clock || payload.length === 0) return;
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      log.warn({ topic }, 'run clock announcement is not JSON; ignored');
      return;
    }
    const parsed = runClockSchema.safeParse(json);
    if (!parsed.success) {
      log.warn({ topic, err: describeZodError(parsed.error) }, 'run clock announcement refused; the pipeline stays on its clock');
      return;
    }
    clock.follow(parsed.data);
  });
  client.on('error', (err) => {
    if (!closing) log.warn({ err: err.message }, 'clock link MQTT error');
  });

  return {
    get connected() {
      return client.connected;
    },
    ready,
    setSimulating(source: string | null) {
      simulating = source === null ? null : source.slice(0, 200);
      publishStatus();
    },
    async close() {
      if (closing) return;
      clearInterval(endWatch);
      unsubscribe();
      // Remove our retained status, then leave (a clean DISCONNECT: no will).
      closing = true;
      if (client.connected) await client.publishAsync(statusTopic, Buffer.alloc(0), { qos: 1, retain: true }).catch(() => undefined);
      await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
    },
  };
}

/** A process's clock from its environment: standalone services stay on the wall clock unless EWS_FOLLOW_RUN_CLOCKS=true. */
export function pipelineClockFromEnv(env: { EWS_FOLLOW_RUN_CLOCKS?: boolean | undefined }, followByDefault: boolean): PipelineClock {
  return new PipelineClock(env.EWS_FOLLOW_RUN_CLOCKS ?? followByDefault);
}

/** How a service on this clock judges time, as announced. */
export function clockModeOf(clock: PipelineClock): 'follow' | 'wall' {
  return clock.followsRuns ? 'follow' : 'wall';
}
