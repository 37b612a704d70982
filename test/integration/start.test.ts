// `fire-ews start` (what `npm start` runs, there from the compiled JavaScript: start-build.test.ts): the whole pipeline in one process, no InfluxDB, the
// situation board behind the kiosk link it prints, then Ctrl-C.
import { assert, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { freePort } from '../harness/ports.ts';
import { ServiceProcess, serviceEnv, tempDataDir } from '../harness/services.ts';

it('npm start runs without InfluxDB, stores simulated readings locally, serves the situation board behind its printed kiosk link and stops cleanly on SIGINT', { timeout: 120_000 }, async () => {
  const data = tempDataDir('start');
  const env = serviceEnv(data.dir, { MQTT_PORT: String(await freePort()), ALERTS_HTTP_PORT: String(await freePort()), BOARD_HTTP_PORT: String(await freePort()), EWS_HTTP_PORT: String(await freePort()), INGEST_FLUSH_MS: '100' });
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

    // One /healthz for the process, covering ingest and alerts (its SMS transport among them).
    const health = await fetch(`http://127.0.0.1:${env.EWS_HTTP_PORT}/healthz`);
    const healthBody = (await health.json()) as { ok: boolean; detail: { ingest?: { mqtt: boolean }; alerts?: Record<string, unknown> } };
    expect(health.status, JSON.stringify(healthBody)).toBe(200);
    expect(healthBody).toMatchObject({ ok: true, detail: { ingest: { mqtt: true }, alerts: { mqtt: true, transport: 'dryrun' } } });

    // The board: nothing without a session; the kiosk link the console prints opens it read-only.
    const line = await ews.waitForLog(/^situation board: open http:\/\/127\.0\.0\.1:\d+\/kiosk\/\S+ \(read-only\)/);
    const kiosk = /(http:\/\/127\.0\.0\.1:\d+)\/kiosk\/\S+/.exec(line.msg);
    assert(kiosk, line.msg);
    const base = kiosk[1] as string;
    expect((await fetch(`${base}/api/state`)).status).toBe(401);
    const open = await fetch(kiosk[0], { redirect: 'manual' });
    expect(open.status).toBe(302);
    const cookie = (open.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    expect(cookie).toMatch(/^ews_board_session=/);
    const page = await fetch(`${base}/`, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script type="module" src="/assets/board.js');
    const state = (await (await fetch(`${base}/api/state`, { headers: { cookie } })).json()) as { zones: { name: string }[]; sources: { mqtt: boolean; alerts: string } };
    expect(state.zones.map((z) => z.name)).toHaveLength(7);
    await expect.poll(async () => ((await (await fetch(`${base}/api/state`, { headers: { cookie } })).json()) as typeof state).sources, { timeout: 15_000 }).toMatchObject({ mqtt: true, alerts: 'ok' });
    expect(await ews.stop('SIGINT'), 'exit code after Ctrl-C').toBe(0);
    const messages = ews.logs.map((l) => l.msg);
    expect(messages).toContain('stopped cleanly');
    expect(messages).toContain('ingest stopped');
  } finally {
    await ews.stop('SIGKILL');
    data.remove();
  }
});
