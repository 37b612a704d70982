
import { expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { freePort, waitFor } from '../harness/ports.ts';
import { ServiceProcess, serviceEnv, tempDataDir } from '../harness/services.ts';

it('npm start runs without InfluxDB, stores simulated readings locally and stops cleanly on SIGINT', { timeout: 120_000 }, async () => {
  const data = tempDataDir('start');
  const env = serviceEnv(data.dir, { MQTT_PORT: String(await freePort()), ALERTS_HTTP_PORT: String(await freePort()), INGEST_FLUSH_MS: '100' });
  const ews = new ServiceProcess('start --speed 120', env).start();
  try {
    await ews.waitForLog('no INFLUX_URL configured: readings are kept in the local SQLite store only');
    await ews.waitForLog('pipeline running; Ctrl-C to stop', 30_000);
    const db = join(data.dir, 'ingest.sqlite');
    let rows = 0;
    await waitFor(
      () => {
        const d = new Database(db, { readonly: true });
        rows = (d.prepare('SELECT count(*) AS n FROM local_readings').get() as { n: number }).n;
        d.close();
        return rows >= 33;
      },
      60_000,
      'simulated readings in the local store',
      250,
    );
    expect(rows, `${rows} rows`).toBeGreaterThanOrEqual(33);
    expect(await ews.stop('SIGINT'), 'exit code after Ctrl-C').toBe(0);
    expect(ews.logs.some((l) => l.msg === 'stopped cleanly')).toBe(true);
    expect(ews.logs.some((l) => l.msg === 'ingest stopped')).toBe(true);
  } finally {
    await ews.stop('SIGKILL');
    data.remove();
  }
});
