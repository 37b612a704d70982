// Lines InfluxDB refuses for their content, against Debian's real influxd 1.6: one out-of-range
// timestamp and one field-type conflict in a batch of 2,000 cost only themselves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfluxdProcess, integrationSkipReason } from '../harness/influxd.ts';
import { skipTitle } from '../harness/skip.ts';
import { PermanentWriteError, V1HttpLineWriter, writeIsolatingRefused } from '../../platform/influx-writer.ts';

const skip = integrationSkipReason();

describe.skipIf(skip)(skipTitle('refused lines against a real influxd', skip), () => {
  let influx: InfluxdProcess;
  beforeAll(async () => {
    influx = await InfluxdProcess.start('ews');
  });
  afterAll(async () => {
    await influx?.destroy();
  });

  it('influxd answers 400 to a batch holding a 9999-12-31 point or a field-type conflict; the isolation writes every other line', async () => {
    const writer = new V1HttpLineWriter(influx.url, 'ews', { timeoutMs: 10_000 });
    const base = Date.now() - 86_400_000;
    const lines = Array.from({ length: 2000 }, (_, i) => `reading,node=n${i % 7} temperature=${20 + (i % 10)} ${base + i}`);
    lines.splice(700, 0, `node_status,node=n1 online=true ${Date.parse('9999-12-31T23:59:59Z')}`);
    lines.splice(1500, 0, `reading,node=n2 temperature="hot" ${base + 5000}`);
    await expect(writer.write(lines)).rejects.toBeInstanceOf(PermanentWriteError);
    const refused = await writeIsolatingRefused(writer, lines);
    expect(refused.map((r) => r.index)).toStrictEqual([700, 1500]);
    expect(refused[0]?.error).toMatch(/400/);
    expect(await influx.count('reading', 'temperature')).toBe(2000);
    await writer.close();
  });
});
