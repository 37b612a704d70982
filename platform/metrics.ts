import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';

/** One registry per process; in the embedded `npm start` all services share it. */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry, prefix: 'ews_process_' });

export type HealthCheck = () => { ok: boolean; detail: Record<string, unknown> };

/** Serves /metrics (Prometheus text) and /healthz (200 or 503 with JSON detail). */
export async function startMetricsServer(host: string, port: number, health: HealthCheck): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      metricsRegistry
        .metrics()
        .then((text) => {
          res.writeHead(200, { 'content-type': metricsRegistry.contentType });
          res.end(text);
        })
        .catch((err: unknown) => {
          res.writeHead(500);
          res.end(String(err));
        });
      return;
    }
    if (req.url === '/healthz') {
      const h = health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify(h));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
