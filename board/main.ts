// Runs the situation board: board.sqlite, the MQTT subscription as svc-board (read-only account,
// persistent session, each message stored before its PUBACK), the readings source, the alerts API
// client, the page bundle and the HTTP server. `runBoard` is what `fire-ews board` and the embedded
// `fire-ews start` call.
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { connectToBrokers } from '../platform/broker-urls.ts';
import type { BoardEnv } from '../contracts/config.ts';
import type { Site } from '../contracts/site.ts';
import { topics } from '../contracts/topics.ts';
import type { Logger } from '../platform/logger.ts';
import { openDatabase } from '../platform/sqlite.ts';
import { AlertsClient } from './alerts-client.ts';
import { ConfigError, parseBoardUsers, resolveBoardSecrets } from './auth.ts';
import { redactUrlPasswords } from '../platform/config-error.ts';
import { bundleClient } from './bundle.ts';
import { buildMapGeometry } from './geometry.ts';
import { createBoardHttp } from './http.ts';
import { LiveHub } from './live.ts';
import { htmlToPdf } from './pdf.ts';
import { readingsSource } from './readings.ts';
import { BoardService } from './service.ts';
import { BoardStore } from './store.ts';

export interface RunningBoard {
  service: BoardService;
  port: number;
  url: string;
  kioskUrl: string | null;
  health(): { ok: boolean; detail: Record<string, unknown> };
  close(): Promise<void>;
}

export interface BoardRunOptions {
  /** The embedded `fire-ews start`: generate and keep a kiosk token when BOARD_KIOSK_TOKEN is unset. */
  generateKiosk?: boolean;
  /** At most this many open pages (server-sent-event streams). */
  maxStreams?: number;
}

export async function runBoard(env: BoardEnv, site: Site, credentials: { username: string; password: string }, log: Logger, opts: BoardRunOptions = {}): Promise<RunningBoard> {
  const users = parseBoardUsers(env.BOARD_USERS, site);
  const secrets = resolveBoardSecrets(env, env.EWS_DATA_DIR, opts.generateKiosk ?? false);
  if (env.BOARD_ALERTS_URL && !env.ALERTS_API_KEY) throw new ConfigError('BOARD_ALERTS_URL is set but ALERTS_API_KEY is not: the board needs the alerts API key to list and acknowledge alerts');
  const db = openDatabase(env.BOARD_DB_FILE ?? join(env.EWS_DATA_DIR, 'board.sqlite'));
  const store = new BoardStore(db);
  store.prune(Date.now());
  const readings = readingsSource(env, env.EWS_DATA_DIR);
  const alerts = env.BOARD_ALERTS_URL && env.ALERTS_API_KEY ? new AlertsClient(env.BOARD_ALERTS_URL, env.ALERTS_API_KEY) : null;
  const service = new BoardService({ site, store, readings, alerts, log });
  const hub = new LiveHub(opts.maxStreams ?? 200, () => service.current());
  service.onChange((version, json) => hub.broadcast(version, json));

  const assets = await bundleClient();
  const geometry = buildMapGeometry(site, env.BOARD_TILE_URL ? { tileUrl: env.BOARD_TILE_URL } : {});
  const secureCookies = env.BOARD_PUBLIC_URL?.startsWith('https:') ?? false;
  const app = await createBoardHttp({
    alerts,
    site,
    service,
    store,
    hub,
    geometry,
    assets,
    users,
    kioskToken: secrets.kioskToken,
    sessionSecret: secrets.sessionSecret,
    sessionHours: env.BOARD_SESSION_HOURS,
    secure: secureCookies,
    tileOrigin: env.BOARD_TILE_URL ? new URL(env.BOARD_TILE_URL.replace(/[{}]/g, '')).origin : null,
    log,
    pdf: (html) => htmlToPdf(html, env.BOARD_CHROMIUM),
  });
  await app.listen({ host: env.BOARD_HTTP_HOST, port: env.BOARD_HTTP_PORT });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : env.BOARD_HTTP_PORT;

  // MQTT: read-only account, fixed client id, persistent session; a message is stored before its PUBACK.
  const client: MqttClient = connectToBrokers(env.MQTT_URL, { clientId: env.BOARD_MQTT_CLIENT_ID, clean: false, username: credentials.username, password: credentials.password, reconnectPeriod: 1000, protocolVersion: 4 });
  client.handleMessage = (packet, done) => {
    try {
      service.handleMessage(packet.topic, Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload));
      done();
    } catch (err) {
      log.error({ err: String(err), topic: packet.topic }, 'storing a message failed; not acknowledged');
      done(err as Error);
    }
  };
  client.on('connect', (ack) => {
    service.setMqttConnected(true);
    log.info({ sessionPresent: ack.sessionPresent }, 'board connected to the broker');
    if (!ack.sessionPresent) client.subscribe([topics.allDanger, topics.allEvents, topics.allStatus, topics.allAlerts], { qos: 1 }, (err) => err && log.error({ err: err.message }, 'subscribe failed'));
  });
  client.on('close', () => service.setMqttConnected(false));
  client.on('error', (err) => log.warn({ err: err.message }, 'MQTT error'));

  service.start();
  const base = (env.BOARD_PUBLIC_URL ?? `http://${env.BOARD_HTTP_HOST === '0.0.0.0' || env.BOARD_HTTP_HOST === '::' ? '127.0.0.1' : env.BOARD_HTTP_HOST}:${port}`).replace(/\/+$/, '');
  const kioskUrl = secrets.kioskToken ? `${base}/kiosk/${secrets.kioskToken}` : null;
  log.info(
    {
      url: base,
      listen: `${env.BOARD_HTTP_HOST}:${port}`,
      members: users.size,
      kiosk: secrets.kioskToken ? 'on' : 'off',
      readings: readings.description,
      alerts: alerts && env.BOARD_ALERTS_URL ? redactUrlPasswords(env.BOARD_ALERTS_URL) : 'none',
      ...(secrets.kioskGenerated ? { kioskUrl } : {}),
    },
    secrets.kioskGenerated ? `situation board: open ${kioskUrl} (read-only); members sign in at ${base}/login once BOARD_USERS is set (fire-ews board-user <memberId>)` : 'situation board running',
  );

  return {
    service,
    port,
    url: base,
    kioskUrl,
    health: () => {
      const view = service.current().view;
      return { ok: client.connected, detail: { mqtt: client.connected, alerts: view.sources.alerts, readings: view.sources.readings, readingsError: view.sources.readingsError, pages: hub.size } };
    },
    async close() {
      hub.close();
      await app.close();
      await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
      await service.stop();
      readings.close();
      db.close();
    },
  };
}
