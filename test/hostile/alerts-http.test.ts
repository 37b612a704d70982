// The alerts HTTP port faces the internet (ack links, Twilio callbacks, the boards' API). Slow and
// numerous clients, prototype-named ids, and the internal endpoints, against a real
// `fire-ews alerts run` process with short limits. Measured before the fix: partial headers held a
// socket > 340 s, an idle one > 230 s, a trickled body 310 s; "constructor" was "alreadyAcknowledged".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import Database from 'better-sqlite3';
import type { RunningBroker } from '../../broker/server.ts';
import { freePort } from '../harness/ports.ts';
import { ServiceProcess, serviceEnv, startSiteBroker, tempDataDir } from '../harness/services.ts';

const API_KEY = 'hostile-test-api-key-0123456789';
const LIMITS = { ALERTS_HTTP_MAX_CONNECTIONS: '10', ALERTS_HTTP_HEADERS_TIMEOUT_MS: '1500', ALERTS_HTTP_REQUEST_TIMEOUT_MS: '3000', ALERTS_HTTP_IDLE_TIMEOUT_MS: '2000' };

/** Opens a socket, runs `feed` on it, and resolves with the milliseconds until the server closed it (or `giveUpMs`). */
function closedAfter(port: number, feed: (s: Socket) => void, giveUpMs = 20_000): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const started = Date.now();
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(Number.POSITIVE_INFINITY);
    }, giveUpMs);
    socket.on('error', () => undefined);
    // Read what the server sends (a 408, say): a paused socket would never see the server's FIN.
    socket.resume();
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    });
    socket.on('connect', () => feed(socket));
  });
}

/** Writes one piece every `everyMs` until the socket closes. */
function trickle(socket: Socket, first: string, piece: string, everyMs: number): void {
  socket.write(first);
  const timer = setInterval(() => {
    if (socket.destroyed) return clearInterval(timer);
    socket.write(piece);
  }, everyMs);
  socket.on('close', () => clearInterval(timer));
}

describe('the alerts HTTP port against hostile clients', () => {
  let data: ReturnType<typeof tempDataDir>;
  let bed: { broker: RunningBroker; url: string };
  let alerts: ServiceProcess;
  let port: number;
  let internalPort: number;
  let base: string;

  beforeAll(async () => {
    data = tempDataDir('alerts-http');
    bed = await startSiteBroker(join(data.dir, 'broker'));
    port = await freePort();
    internalPort = await freePort();
    base = `http://127.0.0.1:${port}`;
    alerts = new ServiceProcess(
      'alerts run',
      serviceEnv(data.dir, { MQTT_URL: bed.url, ALERTS_HTTP_PORT: String(port), ALERTS_PUBLIC_URL: base, ALERTS_API_KEY: API_KEY, EWS_HTTP_PORT: String(internalPort), ...LIMITS }),
    ).start();
    await alerts.waitForLog('alerts service running', 60_000);
  });

  afterAll(async () => {
    await alerts?.stop();
    await bed?.broker.close();
    data?.remove();
  });

  it('partial headers sent slowly are cut off by the headers timeout (1.5 s)', async () => {
    const ms = await closedAfter(port, (s) => trickle(s, 'GET /ack/abcdefghij HTTP/1.1\r\nHost: x\r\n', 'X-Slow: 1\r\n', 300));
    expect(ms).toBeLessThan(6000);
  });

  it('a socket that sends nothing is closed by the headers timeout (1.5 s)', async () => {
    const ms = await closedAfter(port, () => undefined);
    expect(ms).toBeLessThan(6000);
  });

  it('a kept-alive socket idle after its request is closed after the idle timeout (2 s)', async () => {
    const ms = await closedAfter(port, (s) => s.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n'));
    expect(ms).toBeGreaterThan(1500);
    expect(ms).toBeLessThan(4500);
  });

  it('a body trickled byte by byte is cut off by the request timeout (3 s)', async () => {
    const head = `POST /api/ack HTTP/1.1\r\nHost: x\r\nX-API-Key: ${API_KEY}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`;
    const ms = await closedAfter(port, (s) => trickle(s, head, ' ', 200));
    expect(ms).toBeLessThan(8000);
  });

  it('at most 10 connections at once; the 11th is closed on arrival, and the port serves again once they are gone', async () => {
    const held: Socket[] = [];
    for (let i = 0; i < 10; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      await new Promise((resolve) => s.once('connect', resolve));
      held.push(s);
    }
    const ms = await closedAfter(port, () => undefined);
    expect(ms, 'the 11th connection closed at once, not after the idle timeout').toBeLessThan(1000);
    for (const s of held) s.destroy();
    await expect.poll(async () => (await fetch(`${base}/healthz`).catch(() => null))?.status, { timeout: 5000 }).toBe(200);
  });

  it.each(['constructor', 'tostring', 'hasownproperty'])('POST /api/ack for alert id %j is "no such alert" and records nothing', async (alertId) => {
    const res = await fetch(`${base}/api/ack`, { method: 'POST', headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' }, body: JSON.stringify({ alertId, by: 'attacker' }) });
    expect(res.status).toBe(404);
    expect(await res.json()).toStrictEqual({ error: `no alert ${alertId}` });
    const db = new Database(join(data.dir, 'alerts.sqlite'), { readonly: true });
    const acks = (db.prepare('SELECT count(*) AS n FROM acks').get() as { n: number }).n;
    db.close();
    expect(acks).toBe(0);
  });

  it('/metrics and the detailed health are not on the public port, but on the internal one', async () => {
    expect((await fetch(`${base}/metrics`)).status).toBe(404);
    const health = await fetch(`${base}/healthz`);
    expect(await health.json()).toStrictEqual({ ok: true });
    const internal = `http://127.0.0.1:${internalPort}`;
    expect(await (await fetch(`${internal}/metrics`)).text()).toMatch(/ews_alerts_http_connections_refused_total [1-9]/);
    expect(await (await fetch(`${internal}/healthz`)).json()).toMatchObject({ ok: true, detail: { mqtt: true, transport: 'dryrun' } });
  });
});
