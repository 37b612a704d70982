// The embedded MQTT broker: aedes 1.x on TCP, WebSocket and optional TLS, with per-node
// credentials, the topic ACL, and sessions + queued QoS 1 messages persisted on disk.
import { ConfigError } from '../platform/config-error.ts';
import { Aedes, type Client } from 'aedes';
import { Level } from 'level';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Counter, Gauge } from 'prom-client';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Logger } from '../platform/logger.ts';
import { metricsRegistry } from '../platform/metrics.ts';
import { passwordMatches } from '../platform/credentials.ts';
import { authorizeClientId, authorizePublish, authorizeReceive, authorizeSubscribe, principalFor, type Principal } from './acl.ts';
import { BoundedLevelPersistence } from './bounded-persistence.ts';
import { SessionStore } from './session-store.ts';
import { RedisSessionStore } from './redis-session-store.ts';
import { connectRedis, clearStaleWills, type ClusterOptions } from './cluster.ts';
import MQEmitterRedis from 'mqemitter-redis';
import { guardConnection, type ConnectionGuard } from './frame-guard.ts';
import type { Duplex } from 'node:stream';

export interface BrokerOptions {
  host: string;
  port: number;
  /** 0 disables. */
  wsPort: number;
  tls?: { port: number; certFile: string; keyFile: string } | undefined;
  dataDir: string;
  secret: string;
  nodeIds: ReadonlySet<string>;
  queueLimit: number;
  /** Largest payload accepted; readings are ~200 bytes. */
  maxPayloadBytes?: number;
  /** Connections that have not authenticated yet, at most (each holds memory until it does). */
  maxPendingConnections?: number;
  /** Bytes a connection may send before it has authenticated. */
  maxPreAuthBytes?: number;
  logger: Logger;
  /**
   * How QoS 1 queues are kept (bench/broker-alone.ts compares them): `session-store-ids-on-disk` (the
   * default: upstream's writes, msgpackr values), `session-store` (one write per message, packet ids in
   * memory: faster, but not the default — test/hostile/broker-takeover.test.ts saw 4–49 readings
   * delivered twice after an ingest restart in 3 of 4 runs, cause not found yet; broker/README.md),
   * `upstream` (aedes-persistence-level with msgpack-lite, the store before issue 14).
   */
  sessionStore?: SessionStoreKind;
  /**
   * Sessions and queues in Redis (aedes-persistence-redis; BROKER_PERSISTENCE=redis) and, with
   * `emitter: 'redis'`, messages between brokers over Redis pub/sub (mqemitter-redis): a broker
   * cluster (README "Scaling beyond one machine"). Default: LevelDB and in-process, one broker.
   */
  cluster?: ClusterOptions;
}

export const SESSION_STORE_KINDS = ['session-store', 'session-store-ids-on-disk', 'upstream'] as const;
export type SessionStoreKind = (typeof SESSION_STORE_KINDS)[number];

/** A packet's remaining length may exceed the payload limit by this much (topic, ids, CONNECT fields). */
const PACKET_OVERHEAD_BYTES = 1024;
export const DEFAULT_MAX_PENDING_CONNECTIONS = 256;
/** CONNECT plus a node's first readings pipelined after it (~200 bytes each): 256 KiB. */
export const DEFAULT_MAX_PRE_AUTH_BYTES = 256 * 1024;

export interface RunningBroker {
  aedes: Aedes;
  port: number;
  wsPort: number;
  tlsPort: number | undefined;
  close(): Promise<void>;
}

const rejected = new Counter({
  name: 'ews_broker_rejected_total',
  help: 'Connections, publishes and subscriptions the broker refused',
  labelNames: ['action', 'reason'] as const,
  registers: [metricsRegistry],
});
const connected = new Gauge({ name: 'ews_broker_connected_clients', help: 'Clients connected to the broker', registers: [metricsRegistry] });
const published = new Counter({ name: 'ews_broker_published_total', help: 'Messages published by clients', registers: [metricsRegistry] });
const queueDropped = new Counter({
  name: 'ews_broker_queue_dropped_total',
  help: 'QoS 1 messages refused because an offline session reached its queue limit',
  labelNames: ['client'] as const,
  registers: [metricsRegistry],
});
const pendingConnections = new Gauge({ name: 'ews_broker_pending_connections', help: 'Connections open that have not authenticated yet', registers: [metricsRegistry] });
const queueDepth = new Gauge({
  name: 'ews_broker_session_queue_depth',
  help: 'QoS 1 messages stored for a persistent session (queued or awaiting PUBACK)',
  labelNames: ['client'] as const,
  registers: [metricsRegistry],
});

/**
 * aedes drops a message as a "duplicate" when a client already got one with a higher broker
 * counter. With an on-disk (async) persistence, messages reach delivery out of counter order, so
 * that check silently discards real messages (we measured 0.3–4 % lost for a persistent session).
 * Our consumers are idempotent, so we turn the check off: at-least-once, never at-most-once.
 */
const NEVER_SEEN: Record<string, number> = new Proxy(Object.create(null) as Record<string, number>, {
  get: () => 0,
  set: () => true,
});

class AuthError extends Error {
  constructor(
    message: string,
    readonly returnCode: 2 | 4 | 5,
  ) {
    super(message);
  }
}

/**
 * Upstream aedes writes a QoS 1 PUBACK before it stores the message; patches/aedes+1.2.0.patch
 * (applied by `npm ci`) moves it after. Refuse to run without it: the delivery promise depends on it.
 */
export function assertAckAfterStore(): void {
  const handler = new URL('lib/handlers/publish.js', import.meta.resolve('aedes'));
  if (!readFileSync(handler, 'utf8').includes('fire-ews: acknowledge only once')) {
    throw new ConfigError([{ where: 'aedes', problem: `${handler.pathname} acknowledges QoS 1 messages before storing them`, fix: 'run `npm ci` (its postinstall applies patches/aedes+1.2.0.patch)' }]);
  }
}

async function listen(server: NetServer | HttpServer | TlsServer, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  return typeof address === 'object' && address ? address.port : port;
}

async function closeServer(server: NetServer | HttpServer | TlsServer): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export async function startBroker(opts: BrokerOptions): Promise<RunningBroker> {
  assertAckAfterStore();
  const log = opts.logger;
  const maxPayload = opts.maxPayloadBytes ?? 64 * 1024;
  const maxPending = opts.maxPendingConnections ?? DEFAULT_MAX_PENDING_CONNECTIONS;
  const maxPreAuthBytes = opts.maxPreAuthBytes ?? DEFAULT_MAX_PRE_AUTH_BYTES;
  const principals = new WeakMap<Client, Principal>();
  const guards = new WeakMap<object, ConnectionGuard>();
  let pending = 0;
  // A node whose publish is refused is disconnected (MQTT 3.1.1 has no negative PUBACK) and its
  // client library resends the same message on reconnect, every second: log each cause once a minute.
  const lastWarned = new Map<string, { at: number; suppressed: number }>();
  const warnLimited = (key: string, detail: Record<string, unknown>, msg: string) => {
    const now = Date.now();
    const entry = lastWarned.get(key);
    if (entry && now - entry.at < 60_000) {
      entry.suppressed += 1;
      return;
    }
    if (lastWarned.size > 10_000) lastWarned.clear();
    lastWarned.set(key, { at: now, suppressed: 0 });
    log.warn({ ...detail, repeatsSinceLastLog: entry?.suppressed ?? 0 }, msg);
  };

  // Once per 10 s for each client whose queue is full (a full queue of one client must not hide
  // another's); bounded like lastWarned.
  const dropWarnedAt = new Map<string, number>();
  const onDrop = (clientId: string, topic: string, queued: number) => {
    queueDropped.inc({ client: clientId });
    const now = Date.now();
    if (now - (dropWarnedAt.get(clientId) ?? 0) > 10_000) {
      if (dropWarnedAt.size > 10_000) dropWarnedAt.clear();
      dropWarnedAt.set(clientId, now);
      log.error({ clientId, topic, queued, limit: opts.queueLimit }, 'offline session queue full: refusing new messages for this client');
    }
  };
  const storeKind = opts.sessionStore ?? 'session-store-ids-on-disk';
  const cluster = opts.cluster;
  // Redis is checked before anything listens: unreachable is a configuration error naming BROKER_REDIS_URL.
  const redis = cluster ? await connectRedis(cluster.redisUrl) : undefined;
  const mq = cluster?.emitter === 'redis' ? MQEmitterRedis({ connectionString: cluster.redisUrl }) : undefined;
  let persistence: SessionStore | BoundedLevelPersistence | RedisSessionStore;
  if (redis) {
    persistence = new RedisSessionStore(redis, { queueLimit: opts.queueLimit, onDrop });
  } else {
    const db = new Level<string, Buffer>(join(opts.dataDir, 'broker-sessions'), { valueEncoding: 'buffer' });
    await db.open();
    persistence =
      storeKind === 'upstream'
        ? new BoundedLevelPersistence(db, opts.queueLimit, onDrop)
        : new SessionStore(db, { queueLimit: opts.queueLimit, onDrop, inflightInMemory: storeKind === 'session-store' });
  }

  const aedes = await Aedes.createBroker({
    persistence: persistence as never,
    ...(mq ? { mq: mq as never } : {}),
    // In a cluster, brokers announce themselves every 10 s; one silent for 30 s is dead and the others
    // publish the wills of its clients (aedes's default, 60 s, leaves a dead broker's nodes "online" for minutes).
    ...(cluster ? { heartbeatInterval: 10_000 } : {}),
    // A frozen subscriber must not stall delivery to everyone (aedes #1060): give up on it after 30 s.
    drainTimeout: 30_000,
    // Packets a client may send before its session is ready (nodes replay a backlog right after CONNECT).
    queueLimit: 1_000,
    // Our clients use QoS 1; QoS 2 in flight is only ever a handful, so keep that map small.
    maxInflightInbound: 100,
    concurrency: 200,
    // Rural links are slow: allow 30 s for CONNECT to arrive.
    connectTimeout: 30_000,
    preConnect(client, _packet, done) {
      (client as unknown as { duplicates: Record<string, number> }).duplicates = NEVER_SEEN;
      done(null, true);
    },
    authenticate(client, username, password, done) {
      const principal = username ? principalFor(username, opts.nodeIds) : null;
      if (!principal || !username || !passwordMatches(opts.secret, username, password)) {
        const reason = !username ? 'no username' : !principal ? `unknown user ${username}` : `wrong password for ${username}`;
        rejected.inc({ action: 'connect', reason: !principal ? 'unknown-user' : 'bad-password' });
        warnLimited(`connect:${client.id}:${reason}`, { clientId: client.id, username, reason }, 'connection refused');
        done(new AuthError(reason, 4), false);
        return;
      }
      const idDecision = authorizeClientId(principal, client.id, opts.nodeIds);
      if (!idDecision.ok) {
        // Refused before aedes registers the client: the session owner keeps its connection and queue.
        rejected.inc({ action: 'connect', reason: 'client-id' });
        warnLimited(`client-id:${username}:${client.id}`, { clientId: client.id, username, reason: idDecision.reason }, 'client id takeover refused');
        done(new AuthError(idDecision.reason, 2), false);
        return;
      }
      principals.set(client, principal);
      const guard = guards.get((client as unknown as { conn: object }).conn);
      if (guard && !guard.authenticated) {
        guard.markAuthenticated();
        pending -= 1;
        pendingConnections.set(pending);
      }
      done(null, true);
    },
    authorizePublish(client, packet, done) {
      if (!client) return done(null); // the broker's own messages ($SYS, wills already checked)
      const principal = principals.get(client);
      const size = packet.payload?.length ?? 0;
      const decision = !principal
        ? { ok: false as const, reason: 'not authenticated' }
        : size > maxPayload
          ? { ok: false as const, reason: `payload of ${size} bytes exceeds ${maxPayload}` }
          : authorizePublish(principal, packet.topic);
      if (!decision.ok) {
        rejected.inc({ action: 'publish', reason: size > maxPayload ? 'too-large' : 'acl' });
        warnLimited(`publish:${client.id}:${decision.reason}`, { clientId: client.id, topic: packet.topic, bytes: size, reason: decision.reason }, 'publish refused; closing the connection');
        return done(new Error(decision.reason));
      }
      published.inc();
      done(null);
    },
    authorizeSubscribe(client, sub, done) {
      const principal = principals.get(client);
      const decision = principal ? authorizeSubscribe(principal, sub.topic) : { ok: false as const, reason: 'not authenticated' };
      if (!decision.ok) {
        rejected.inc({ action: 'subscribe', reason: 'acl' });
        warnLimited(`subscribe:${client.id}:${sub.topic}`, { clientId: client.id, filter: sub.topic, reason: decision.reason }, 'subscription refused');
        return done(null, null); // SUBACK 0x80 for this filter
      }
      done(null, sub);
    },
    // Every delivery, live or replayed from a persistent session's queue, passes the subscribe ACL:
    // a queue reaches only a principal allowed to read what is in it.
    authorizeForward(client, packet) {
      const principal = principals.get(client);
      const decision = principal ? authorizeReceive(principal, packet.topic) : { ok: false as const, reason: 'not authenticated' };
      if (!decision.ok) {
        rejected.inc({ action: 'forward', reason: 'acl' });
        warnLimited(`forward:${client.id}:${decision.reason}`, { clientId: client.id, topic: packet.topic, reason: decision.reason }, 'delivery refused');
        return null;
      }
      return packet;
    },
  });

  /** Every connection, whatever its transport: bounded before login, oversized packets refused from their header. */
  const accept = (conn: Duplex, req?: unknown) => {
    const remote = (conn as { remoteAddress?: string }).remoteAddress;
    if (pending >= maxPending) {
      rejected.inc({ action: 'connect', reason: 'too-many-pending' });
      warnLimited('pending-cap', { remote, pending, limit: maxPending }, 'too many connections waiting to authenticate; closing new ones');
      conn.destroy();
      return;
    }
    pending += 1;
    pendingConnections.set(pending);
    const guard = guardConnection(conn, {
      maxRemainingLength: maxPayload + PACKET_OVERHEAD_BYTES,
      maxPreAuthBytes,
      onViolation: (reason) => {
        rejected.inc({ action: 'packet', reason: reason.startsWith('sent') ? 'pre-auth-bytes' : 'too-large' });
        warnLimited(`packet:${reason.slice(0, 20)}`, { remote, reason, authenticated: guard.authenticated }, 'packet refused from its header; closing the connection');
      },
    });
    guards.set(conn, guard);
    conn.once('close', () => {
      if (!guard.authenticated) {
        pending -= 1;
        pendingConnections.set(pending);
      }
    });
    aedes.handle(conn, req as never);
  };

  aedes.on('client', (client) => {
    persistence.recount(client.id);
    // A node that moved here from a dead broker: its will from there must not announce it offline later.
    if (redis) clearStaleWills(redis, aedes, client.id).catch((err: Error) => log.warn({ clientId: client.id, err: err.message }, 'could not clear wills left on other brokers'));
    connected.set(aedes.connectedClients);
    log.debug({ clientId: client.id }, 'client connected');
  });
  aedes.on('clientDisconnect', (client) => {
    connected.set(aedes.connectedClients);
    log.debug({ clientId: client.id }, 'client disconnected');
  });
  aedes.on('clientError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'client error'));
  aedes.on('connectionError', (_client, err) => log.debug({ err: err.message }, 'connection error before CONNECT'));

  const depthTimer = setInterval(() => {
    for (const [client, depth] of persistence.knownQueueDepths()) queueDepth.set({ client }, depth);
  }, 2_000);
  depthTimer.unref();

  const tcp = createNetServer((socket) => accept(socket));
  const port = await listen(tcp, opts.port, opts.host);
  const servers: (NetServer | HttpServer | TlsServer)[] = [tcp];

  let wsPort = 0;
  let wss: WebSocketServer | undefined;
  if (opts.wsPort > 0) {
    const http = createHttpServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' });
      res.end('MQTT over WebSocket only\n');
    });
    // ws buffers a whole frame before handing it on (default limit 100 MiB): cap it like a packet.
    wss = new WebSocketServer({ server: http, maxPayload: maxPayload + PACKET_OVERHEAD_BYTES + 8 });
    // ws re-emits the HTTP server's errors (EADDRINUSE from listen) on itself: without a listener that
    // is an unhandled 'error' event that kills the process; listen() below already rejects with it.
    wss.on('error', (err) => log.debug({ err: err.message }, 'MQTT over WebSocket server error'));
    wss.on('connection', (ws, req) => {
      const stream = createWebSocketStream(ws);
      Object.defineProperty(stream, 'remoteAddress', { value: req.socket.remoteAddress });
      accept(stream, req);
    });
    wsPort = await listen(http, opts.wsPort, opts.host);
    servers.push(http);
  }

  let tlsPort: number | undefined;
  if (opts.tls) {
    const tls = createTlsServer({ cert: readFileSync(opts.tls.certFile), key: readFileSync(opts.tls.keyFile) }, (socket) => accept(socket));
    tlsPort = await listen(tls, opts.tls.port, opts.host);
    servers.push(tls);
  }

  log.info(
    { port, wsPort: wsPort || undefined, tlsPort, queueLimit: opts.queueLimit, brokerId: aedes.id, persistence: cluster ? 'redis' : 'level', emitter: cluster?.emitter ?? 'local' },
    'MQTT broker listening',
  );

  let closing: Promise<void> | undefined;
  return {
    aedes,
    port,
    wsPort,
    tlsPort,
    close() {
      closing ??= (async () => {
        clearInterval(depthTimer);
        // Stop accepting, close every client (their sessions stay on disk), then wait for the sockets.
        const serversClosed = Promise.all(servers.map((s) => closeServer(s)));
        wss?.close();
        await new Promise<void>((resolve) => aedes.close(() => resolve()));
        await serversClosed;
        await persistence.destroy();
        log.info('MQTT broker closed');
      })();
      return closing;
    },
  };
}
