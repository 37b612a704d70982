// A flood of bad messages does not bury the log: `fire-ews ingest` and `fire-ews rules` as child
// processes receive 2,000 unparsable readings from a real broker; each logs at most 5 lines per
// reason per 10 s and then one summary with the count held back, while their metrics still count
// every message. Before, each service printed one warning per message (`simulate --nodes 500
// --rate 200` printed 12,020 lines in 30 s).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { freePort } from '../harness/ports.ts';
import { connectAs, ServiceProcess, serviceEnv, SITE_FILE, startSiteBroker, tempDataDir, type LogLine } from '../harness/services.ts';
import { loadSiteFile } from '../../platform/site-file.ts';
import { topics } from '../../contracts/topics.ts';
import type { RunningBroker } from '../../broker/server.ts';

const BAD = 2000;
const PER_INTERVAL = 5;

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

const deadLetterLines = (logs: readonly LogLine[]) => logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('message dead-lettered'));

describe('dead letters under load are logged rate-limited per reason, and all counted', () => {
  const data = tempDataDir('dead-letter-logs');
  let broker: RunningBroker;
  let ingest: ServiceProcess;
  let rules: ServiceProcess;
  let node: MqttClient;
  const ports = { ingest: 0, rules: 0 };

  beforeAll(async () => {
    const started = await startSiteBroker(data.dir);
    broker = started.broker;
    ports.ingest = await freePort();
    ports.rules = await freePort();
    ingest = new ServiceProcess('ingest', serviceEnv(data.dir, { MQTT_URL: started.url, EWS_HTTP_PORT: String(ports.ingest) })).start();
    rules = new ServiceProcess('rules', serviceEnv(data.dir, { MQTT_URL: started.url, EWS_HTTP_PORT: String(ports.rules) })).start();
    await ingest.waitForLog(/ingest running/, 60_000);
    await rules.waitForLog(/rules service running/, 60_000);
    node = await connectAs(started.url, loadSiteFile(SITE_FILE).nodes[0]!.id);
  });

  afterAll(async () => {
    await node?.endAsync();
    await ingest?.stop();
    await rules?.stop();
    await broker?.close();
    data.remove();
  });

  it(`${BAD} unparsable readings: ≤ ${PER_INTERVAL} lines per service, then a summary with the rest; metrics count all ${BAD}`, async () => {
    const nodeId = loadSiteFile(SITE_FILE).nodes[0]!.id;
    for (let i = 0; i < BAD; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, k) => node.publishAsync(topics.reading(nodeId), `{not json ${i + k}`, { qos: 1 })));
    }
    await expect.poll(() => metric(ports.ingest, 'ews_ingest_rejected_total'), { timeout: 60_000, interval: 500 }).toBe(BAD);
    await expect.poll(() => metric(ports.rules, 'ews_rules_dead_letters_total'), { timeout: 60_000, interval: 500 }).toBe(BAD);
    for (const service of [ingest, rules]) {
      const each = deadLetterLines(service.logs).filter((l) => l.suppressed === undefined);
      expect(each.length).toBeGreaterThan(0);
      expect(each.length).toBeLessThanOrEqual(PER_INTERVAL * 2); // at most two 10 s windows while the 2,000 arrive
      // The summary comes once the 10 s interval is over, and accounts for every message.
      await expect
        .poll(() => deadLetterLines(service.logs).reduce((n, l) => n + (typeof l.suppressed === 'number' ? l.suppressed : 1), 0), { timeout: 30_000, interval: 500 })
        .toBe(BAD);
      expect(deadLetterLines(service.logs).length).toBeLessThanOrEqual(PER_INTERVAL * 2 + 2);
    }
  });
});
