// Memory before login: sockets that never authenticate declare the largest MQTT packet (268 MB)
// and start sending it. Measured before the fix: six of them took the broker from 216 to 1,347 MB.
// Real `fire-ews broker` process; its resident memory is read from /proc.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { topics } from '../../contracts/topics.ts';
import { freePort } from '../harness/ports.ts';
import { connectAs, makeReading, ServiceProcess, serviceEnv, tempDataDir } from '../harness/services.ts';

const MAX_PENDING = 20;
const MB = 1024 * 1024;

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:')) ?? '';
  return Number(/(\d+)/.exec(line)?.[1] ?? 0) / 1024;
}

/** Opens a socket, sends `header`, then up to `bodyBytes` of zeros; resolves with what the broker let through. */
function declareAndSend(port: number, header: Buffer, bodyBytes: number, before: Buffer = Buffer.alloc(0)): Promise<{ sentBytes: number; closedByBroker: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunk = Buffer.alloc(MB);
    let sent = 0;
    let finished = false;
    const finish = (closedByBroker: boolean) => {
      if (finished) return;
      finished = true;
      socket.destroy();
      resolve({ sentBytes: sent, closedByBroker });
    };
    const pump = () => {
      while (sent < bodyBytes && !finished) {
        sent += chunk.length;
        if (!socket.write(chunk)) return socket.once('drain', pump);
      }
      if (sent >= bodyBytes) setTimeout(() => finish(false), 2000);
    };
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.on('connect', () => {
      socket.write(Buffer.concat([before, header]));
      pump();
    });
  });
}

/** A CONNECT of a node that authenticates, from mqtt-packet's encoding (protocol 4, clean, keepalive 30). */
async function authenticatedPrefix(nodeId: string): Promise<Buffer> {
  const { default: mqttPacket } = await import('mqtt-packet');
  const { derivePassword } = await import('../../platform/credentials.ts');
  const { TEST_SECRET } = await import('../harness/services.ts');
  return mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: nodeId, keepalive: 30, username: nodeId, password: Buffer.from(derivePassword(TEST_SECRET, nodeId)) });
}

const LARGEST_PACKET_HEADER = (type: number) => Buffer.from([type, 0xff, 0xff, 0xff, 0x7f]);

describe('the broker bounds what unauthenticated and oversized clients can make it hold', () => {
  let data: ReturnType<typeof tempDataDir>;
  let broker: ServiceProcess;
  let port: number;

  beforeAll(async () => {
    data = tempDataDir('memory');
    port = await freePort();
    broker = new ServiceProcess('broker', serviceEnv(data.dir, { MQTT_PORT: String(port), BROKER_MAX_PENDING_CONNECTIONS: String(MAX_PENDING) })).start();
    await broker.waitForLog('MQTT broker listening');
  });

  afterAll(async () => {
    await broker?.stop();
    data?.remove();
  });

  it('six sockets declaring 268 MB packets and sending 200 MB each are cut off at the header; memory stays flat', async () => {
    const pid = broker.pid as number;
    const before = rssMb(pid);
    const results = await Promise.all(Array.from({ length: 6 }, () => declareAndSend(port, LARGEST_PACKET_HEADER(0x10), 200 * MB)));
    for (const r of results) {
      expect(r.closedByBroker).toBe(true);
      // What loopback and socket buffers absorb before the close arrives, not 200 MB.
      expect(r.sentBytes).toBeLessThan(64 * MB);
    }
    await sleep(500);
    const growth = rssMb(pid) - before;
    expect(growth, `broker RSS grew by ${growth.toFixed(0)} MB`).toBeLessThan(40);
    await broker.waitForLog('packet refused from its header; closing the connection');
  });

  it('after login the limit still comes from the header: a node declaring a 268 MB PUBLISH is closed', async () => {
    const pid = broker.pid as number;
    const before = rssMb(pid);
    const r = await declareAndSend(port, LARGEST_PACKET_HEADER(0x32), 200 * MB, await authenticatedPrefix('san-thang-05'));
    expect(r.closedByBroker).toBe(true);
    expect(rssMb(pid) - before).toBeLessThan(40);
  });

  it(`at most ${MAX_PENDING} connections wait to log in; more are closed on arrival, and nodes connect again once they are gone`, async () => {
    const idle: Socket[] = [];
    for (let i = 0; i < MAX_PENDING; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      await new Promise((resolve) => s.once('connect', resolve));
      idle.push(s);
    }
    await sleep(200);
    const extra = connect(port, '127.0.0.1');
    extra.on('error', () => undefined);
    const closedAt = await new Promise<number>((resolve) => {
      const start = Date.now();
      extra.once('close', () => resolve(Date.now() - start));
    });
    expect(closedAt, 'closed at once, not after connectTimeout').toBeLessThan(2000);
    expect(idle.every((s) => !s.destroyed), 'the earlier ones are still open').toBe(true);
    for (const s of idle) s.destroy();
    await sleep(300);
    const node = await connectAs(`mqtt://127.0.0.1:${port}`, 'san-thang-06');
    await node.publishAsync(topics.reading('san-thang-06'), JSON.stringify(makeReading('san-thang-06', 1, Date.now())), { qos: 1 });
    await node.endAsync();
  });
});
