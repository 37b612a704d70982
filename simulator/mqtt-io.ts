// MQTT side of the simulator: service connections, a back-pressured reading publisher (replay,
// load mode), emulated sensor nodes with their own credentials, and the recorder.
import type { IClientOptions, MqttClient } from 'mqtt';
import { connectToBrokers, connectToBrokersAsync, spreadIndex } from '../platform/broker-urls.ts';
import { readingSchema, type NodeStatus, type Reading } from '../contracts/payloads.ts';
import { topics } from '../contracts/topics.ts';
import { derivePassword, serviceUsername, type ServiceRole } from '../platform/credentials.ts';
import type { ReadingSink } from './replay.ts';

export interface BrokerAccess {
  url: string;
  secret: string;
}

const baseOptions: IClientOptions = { protocolVersion: 4, reconnectPeriod: 1000, connectTimeout: 10_000, keepalive: 30 };

export async function connectService(access: BrokerAccess, role: ServiceRole, clientId: string): Promise<MqttClient> {
  const username = serviceUsername(role);
  return connectToBrokersAsync(access.url, { ...baseOptions, clean: true, clientId, username, password: derivePassword(access.secret, username) });
}

function endClient(client: MqttClient, force = false): Promise<void> {
  return new Promise((resolve) => client.end(force, {}, () => resolve()));
}

/** Tracks QoS 1 publishes awaiting PUBACK and makes writers wait while too many are in flight. */
class InFlightWindow {
  private count = 0;
  private waiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  error: Error | undefined;
  constructor(private readonly limit: number) {}

  start(): void {
    this.count++;
  }
  done(err?: Error | null): void {
    if (err && !this.error) this.error = err;
    this.count--;
    if (this.count < this.limit) for (const w of this.waiters.splice(0)) w();
    if (this.count === 0) for (const w of this.idleWaiters.splice(0)) w();
  }
  /** A promise only when the window is full. */
  room(): Promise<void> | undefined {
    if (this.error) return Promise.reject(this.error);
    if (this.count < this.limit) return undefined;
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  idle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
  get inFlight(): number {
    return this.count;
  }
}

/** Publishes readings for any node as svc-simulator, QoS 1, at most `maxInFlight` unacknowledged. */
export class MqttReadingSink implements ReadingSink {
  private readonly window: InFlightWindow;
  constructor(
    private readonly client: MqttClient,
    maxInFlight = 1000,
  ) {
    this.window = new InFlightWindow(maxInFlight);
  }

  static async open(access: BrokerAccess, clientId = `sim-replay-${process.pid}`, maxInFlight = 1000): Promise<MqttReadingSink> {
    return new MqttReadingSink(await connectService(access, 'simulator', clientId), maxInFlight);
  }

  write(reading: Reading): void | Promise<void> {
    this.window.start();
    this.client.publish(topics.reading(reading.nodeId), JSON.stringify(reading), { qos: 1 }, (err) => this.window.done(err));
    return this.window.room();
  }

  async close(): Promise<void> {
    await this.window.idle();
    await endClient(this.client);
    if (this.window.error) throw this.window.error;
  }
}

export interface EmulatedNodeOptions {
  /** Readings kept while disconnected (a node's flash is finite); the oldest go first. */
  bufferLimit?: number;
  /**
   * The node's clock for its status messages: the run's clock when an accelerated run announces
   * one (README "Time model"), so that a following pipeline does not see them hours in the future.
   */
  now?: () => number;
  onEvent?: (event: { nodeId: string; kind: 'connected' | 'disconnected' | 'dropped'; detail?: string }) => void;
}

/**
 * One sensor node: its own credentials, a will on its status topic, QoS 1 readings, and a local
 * buffer that holds readings while the link is down and sends them in order once it is back.
 */
export class EmulatedNode {
  private client: MqttClient | undefined;
  private linkUp = false;
  private readonly buffer: Reading[] = [];
  /** Published on the current link and not yet acknowledged by the broker. */
  private readonly unacked = new Set<Reading>();
  private readonly bufferLimit: number;
  stats = { published: 0, buffered: 0, dropped: 0, acked: 0 };

  constructor(
    readonly nodeId: string,
    private readonly access: BrokerAccess,
    private readonly window: InFlightWindow,
    private readonly opts: EmulatedNodeOptions = {},
  ) {
    this.bufferLimit = opts.bufferLimit ?? 10_000;
  }

  private status(status: NodeStatus['status'], reason: string): string {
    const payload: NodeStatus = { nodeId: this.nodeId, status, ts: new Date(this.opts.now?.() ?? Date.now()).toISOString(), reason };
    return JSON.stringify(payload);
  }

  /** Brings the link up and resolves once connected. */
  async connect(): Promise<void> {
    this.linkUp = true;
    const will = JSON.stringify({ nodeId: this.nodeId, status: 'offline', reason: 'connection lost' } satisfies NodeStatus);
    // With several brokers (a cluster) each node starts on its own one of them, so the fleet spreads.
    const client = connectToBrokers(this.access.url, {
      ...baseOptions,
      clean: true,
      // The broker accepts a node only under its own id (broker/acl.ts).
      clientId: this.nodeId,
      username: this.nodeId,
      password: derivePassword(this.access.secret, this.nodeId),
      will: { topic: topics.status(this.nodeId), payload: Buffer.from(will), qos: 1, retain: true },
    }, spreadIndex(this.nodeId));
    this.client = client;
    client.on('connect', () => {
      this.opts.onEvent?.({ nodeId: this.nodeId, kind: 'connected' });
      client.publish(topics.status(this.nodeId), this.status('online', 'connected'), { qos: 1, retain: true });
      // Catch up in order before anything new.
      for (const reading of this.buffer.splice(0)) this.publish(reading);
    });
    client.on('close', () => this.opts.onEvent?.({ nodeId: this.nodeId, kind: 'disconnected' }));
    client.on('error', (err) => this.opts.onEvent?.({ nodeId: this.nodeId, kind: 'disconnected', detail: err.message }));
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => {
        // Bad credentials will not get better by retrying.
        if (/Not authorized|Bad username/i.test(err.message)) reject(err);
      };
      client.once('connect', () => {
        client.off('error', onError);
        resolve();
      });
      client.on('error', onError);
    });
  }

  private publish(reading: Reading): void {
    const client = this.client!;
    this.window.start();
    this.unacked.add(reading);
    this.stats.published++;
    client.publish(topics.reading(this.nodeId), JSON.stringify(reading), { qos: 1 }, (err) => {
      // Already taken back at a link drop (and released from the window there).
      if (!this.unacked.delete(reading)) return;
      if (!err) this.stats.acked++;
      this.window.done(err ?? undefined);
    });
  }

  /** Sends now if connected, otherwise keeps it for later. */
  send(reading: Reading): void | Promise<void> {
    if (this.linkUp && this.client?.connected) {
      this.publish(reading);
      return this.window.room();
    }
    this.buffer.push(reading);
    this.stats.buffered++;
    if (this.buffer.length > this.bufferLimit) {
      this.buffer.shift();
      this.stats.dropped++;
      this.opts.onEvent?.({ nodeId: this.nodeId, kind: 'dropped', detail: 'buffer full' });
    }
  }

  /** The link drops without a goodbye, so the broker publishes the will. */
  async linkDown(): Promise<void> {
    this.linkUp = false;
    const client = this.client;
    this.client = undefined;
    // A forced end never calls the callbacks of unacknowledged publishes, so the fleet would wait
    // for them forever. A real node keeps what the broker has not acknowledged and sends it again
    // first after reconnecting (QoS 1: the broker may see it twice; consumers dedupe).
    const unacked = [...this.unacked];
    this.unacked.clear();
    if (client) await endClient(client, true);
    this.buffer.unshift(...unacked);
    this.stats.buffered += unacked.length;
    for (let i = 0; i < unacked.length; i++) this.window.done();
  }

  /** Graceful stop at the end of a run: say so on the status topic, then disconnect (at once when the broker is gone). */
  async close(reason = 'simulation stopped'): Promise<void> {
    const client = this.client;
    this.linkUp = false;
    this.client = undefined;
    if (!client) return;
    if (client.connected) {
      await new Promise<void>((resolve) => client.publish(topics.status(this.nodeId), this.status('offline', reason), { qos: 1, retain: true }, () => resolve()));
    }
    await endClient(client, !client.connected);
  }

  /** Readings published on the current link and not acknowledged yet. */
  get unacknowledged(): number {
    return this.unacked.size;
  }

  get buffered(): number {
    return this.buffer.length;
  }

  /** Readings still on the node (never acknowledged by the broker), oldest first. */
  get pending(): readonly Reading[] {
    return this.buffer;
  }
}

/** A fleet of emulated nodes sharing one in-flight window (so --fast cannot flood memory). */
export class NodeFleet {
  readonly nodes = new Map<string, EmulatedNode>();
  private readonly window: InFlightWindow;
  constructor(
    private readonly access: BrokerAccess,
    private readonly opts: EmulatedNodeOptions & { maxInFlight?: number } = {},
  ) {
    this.window = new InFlightWindow(opts.maxInFlight ?? 2000);
  }

  async connectAll(nodeIds: readonly string[]): Promise<void> {
    for (const id of nodeIds) this.nodes.set(id, new EmulatedNode(id, this.access, this.window, this.opts));
    // A few at a time: a real fleet does not connect in one instant either.
    const ids = [...nodeIds];
    while (ids.length > 0) await Promise.all(ids.splice(0, 16).map((id) => this.node(id).connect()));
  }

  node(id: string): EmulatedNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no emulated node ${id}`);
    return n;
  }

  idle(): Promise<void> {
    return this.window.idle();
  }

  /**
   * Waits (at most `idleTimeoutMs`) for the broker to acknowledge what is in flight, then closes
   * every node. Returns how many readings were never acknowledged — a broker that went away must
   * not keep the run waiting forever.
   */
  async closeAll(reason?: string, idleTimeoutMs = 10_000): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.window.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, idleTimeoutMs)))]);
    clearTimeout(timer);
    const unacknowledged = [...this.nodes.values()].reduce((n, node) => n + node.unacknowledged + node.buffered, 0);
    await Promise.all([...this.nodes.values()].map((n) => n.close(reason)));
    if (this.window.error) throw this.window.error;
    return unacknowledged;
  }
}

export interface RecordOptions {
  access: BrokerAccess;
  sink: ReadingSink;
  /** Stop after this many readings. */
  maxReadings?: number | undefined;
  signal?: AbortSignal | undefined;
  clientId?: string;
  onReading?: (count: number) => void;
  onInvalid?: (topic: string, message: string) => void;
}

export interface RecordStats {
  recorded: number;
  invalid: number;
}

/** Subscribes as svc-recorder to every node's readings and writes valid ones to the sink until aborted or the count is reached. */
export async function recordReadings(opts: RecordOptions): Promise<RecordStats> {
  const client = await connectService(opts.access, 'recorder', opts.clientId ?? `recorder-${process.pid}`);
  const stats: RecordStats = { recorded: 0, invalid: 0 };
  let writeChain: Promise<void> = Promise.resolve();
  let stopped = false;
  await new Promise<void>((resolve, reject) => {
    const finish = () => {
      stopped = true;
      resolve();
    };
    if (opts.signal?.aborted) return finish();
    opts.signal?.addEventListener('abort', finish, { once: true });
    client.on('message', (topic, payload) => {
      if (stopped) return;
      let candidate: unknown;
      try {
        candidate = JSON.parse(payload.toString('utf8'));
      } catch {
        stats.invalid++;
        opts.onInvalid?.(topic, 'not JSON');
        return;
      }
      const parsed = readingSchema.safeParse(candidate);
      if (!parsed.success) {
        stats.invalid++;
        opts.onInvalid?.(topic, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
        return;
      }
      stats.recorded++;
      const pending = opts.sink.write(parsed.data);
      if (pending) writeChain = writeChain.then(() => pending);
      opts.onReading?.(stats.recorded);
      if (opts.maxReadings !== undefined && stats.recorded >= opts.maxReadings) finish();
    });
    client.subscribe(topics.allReadings, { qos: 1 }, (err, granted) => {
      if (err) return reject(err);
      if (granted?.some((g) => g.qos === 128)) reject(new Error(`the broker refused the subscription to ${topics.allReadings} for svc-recorder`));
    });
  });
  await endClient(client);
  await writeChain;
  return stats;
}
