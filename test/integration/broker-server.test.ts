// The real aedes broker in-process: WebSocket and TLS listeners, the persistent-session queue cap,
// and delivery of every message to a persistent session under load (the duplicate-filter fix).
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { startBroker, type RunningBroker } from '../../broker/server.ts';
import { createLogger } from '../../platform/logger.ts';
import { derivePassword } from '../../platform/credentials.ts';
import { metricsRegistry } from '../../platform/metrics.ts';
import { connectAs, tempDataDir, TEST_SECRET } from '../harness/services.ts';
import { freePort, waitFor } from '../harness/ports.ts';

const nodeIds = new Set(['san-thang-01', 'san-thang-02']);
const logger = createLogger('broker-test', 'silent');

async function withBroker(opts: { queueLimit?: number; wsPort?: number; tls?: { port: number; certFile: string; keyFile: string } }, fn: (b: RunningBroker, dataDir: string) => Promise<void>) {
  const data = tempDataDir('broker');
  const broker = await startBroker({ host: '127.0.0.1', port: 0, wsPort: opts.wsPort ?? 0, tls: opts.tls, dataDir: data.dir, secret: TEST_SECRET, nodeIds, queueLimit: opts.queueLimit ?? 1000, logger });
  try {
    await fn(broker, data.dir);
  } finally {
    await broker.close();
    data.remove();
  }
}

describe('persistent sessions', () => {
  it('a persistent session receives every one of 10,000 QoS 1 messages', { timeout: 60_000 }, async () => {
    await withBroker({}, async (broker) => {
      const url = `mqtt://127.0.0.1:${broker.port}`;
      const sub = await connectAs(url, 'svc-ingest', { clientId: 'ingest-under-test', clean: false });
      const seen = new Set<string>();
      sub.on('message', (_t, p) => seen.add(p.toString()));
      await sub.subscribeAsync('ews/v1/readings/+', { qos: 1 });
      const pub = await connectAs(url, 'svc-simulator');
      const inFlight = new Set<Promise<unknown>>();
      for (let i = 0; i < 10_000; i++) {
        const p = pub.publishAsync(`ews/v1/readings/san-thang-0${(i % 2) + 1}`, String(i), { qos: 1 }).finally(() => inFlight.delete(p));
        inFlight.add(p);
        if (inFlight.size >= 500) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      await expect.poll(() => seen.size, { timeout: 30_000, message: 'messages delivered' }).toBe(10_000);
      await pub.endAsync();
      await sub.endAsync();
    });
  });

  it('the offline queue of a persistent session is capped, and refusals are counted', { timeout: 30_000 }, async () => {
    await withBroker({ queueLimit: 5 }, async (broker) => {
      const url = `mqtt://127.0.0.1:${broker.port}`;
      const sub = await connectAs(url, 'svc-ingest', { clientId: 'capped-consumer', clean: false });
      await sub.subscribeAsync('ews/v1/readings/+', { qos: 1 });
      await sub.endAsync();
      const before = (await metricsRegistry.getSingleMetric('ews_broker_queue_dropped_total')?.get())?.values.find((v) => v.labels.client === 'capped-consumer')?.value ?? 0;
      const pub = await connectAs(url, 'svc-simulator');
      for (let i = 0; i < 8; i++) await pub.publishAsync('ews/v1/readings/san-thang-01', `m${i}`, { qos: 1 });
      await pub.endAsync();
      await new Promise((r) => setTimeout(r, 200));
      const got: string[] = [];
      const again = await mqtt.connectAsync(url, { clientId: 'capped-consumer', clean: false, username: 'svc-ingest', password: derivePassword(TEST_SECRET, 'svc-ingest') });
      again.on('message', (_t, p) => got.push(p.toString()));
      await waitFor(() => got.length >= 5, 10_000, 'queued messages');
      await new Promise((r) => setTimeout(r, 300));
      expect(got).toStrictEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
      const after = (await metricsRegistry.getSingleMetric('ews_broker_queue_dropped_total')?.get())?.values.find((v) => v.labels.client === 'capped-consumer')?.value ?? 0;
      expect(after - before).toBe(3);
      await again.endAsync();
    });
  });
});

it('MQTT over WebSocket and over TLS use the same credentials and ACL', { timeout: 30_000 }, async (t) => {
  const certDir = tempDataDir('tls');
  const certFile = join(certDir.dir, 'cert.pem');
  const keyFile = join(certDir.dir, 'key.pem');
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  } catch {
    certDir.remove();
    t.skip('openssl not available to make a test certificate');
  }
  await withBroker({ wsPort: await freePort(), tls: { port: await freePort(), certFile, keyFile } }, async (broker) => {
    const ws = await mqtt.connectAsync(`ws://127.0.0.1:${broker.wsPort}`, { clientId: 'san-thang-01', username: 'san-thang-01', password: derivePassword(TEST_SECRET, 'san-thang-01') });
    await ws.publishAsync('ews/v1/readings/san-thang-01', '{}', { qos: 1 });
    await ws.endAsync();
    await expect(mqtt.connectAsync(`ws://127.0.0.1:${broker.wsPort}`, { clientId: 'san-thang-01', username: 'san-thang-01', password: 'nope', reconnectPeriod: 0 })).rejects.toThrow(/Bad username or password|Not authorized/);
    const tls = await mqtt.connectAsync(`mqtts://127.0.0.1:${broker.tlsPort}`, { clientId: 'san-thang-02', username: 'san-thang-02', password: derivePassword(TEST_SECRET, 'san-thang-02'), rejectUnauthorized: false });
    await tls.publishAsync('ews/v1/readings/san-thang-02', '{}', { qos: 1 });
    await tls.endAsync();
  });
  certDir.remove();
});
