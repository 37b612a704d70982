// `fire-ews start` (what `npm start` runs): the whole pipeline in one process, no InfluxDB, then Ctrl-C.
import { expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { freePort } from '../harness/ports.ts';
import { ServiceProcess, serviceEnv, tempDataDir } from '../harness/services.ts';

it('npm start runs without InfluxDB, stores simulated readings locally and stops cleanly on SIGINT', { timeout: 120_000 }, async () => {
  const data = tempDataDir('start');
  const env = serviceEnv(data.dir, { MQTT_PORT: String(await freePort()), ALERTS_HTTP_PORT: String(await freePort()), INGEST_FLUSH_MS: '100' });
  const ews = new ServiceProcess('start --speed 120', env).start();
  try {
    await ews.waitForLog('no INFLUX_URL configured: readings are kept in the local SQLite store only');
    await ews.waitForLog('pipeline running; Ctrl-C to stop', 30_000);
    const db = join(data.dir, 'ingest.sqlite');
    const rows = () => {
      const d = new Database(db, { readonly: true });
      try {
        return (d.prepare('SELECT count(*) AS n FROM local_readings').get() as { n: number }).n;
      } finally {
        d.close();
      }
    };
    await expect.poll(rows, { timeout: 60_000, interval: 250, message: 'simulated readings in the local store' }).toBeGreaterThanOrEqual(33);
    expect(await ews.stop('SIGINT'), 'exit code after Ctrl-C').toBe(0);
    const messages = ews.logs.map((l) => l.msg);
    expect(messages).toContain('stopped cleanly');
    expect(messages).toContain('ingest stopped');
  } finally {
    await ews.stop('SIGKILL');
    data.remove();
  }
});
