// One bench publisher process: publishes readings for a slice of the bench nodes at a paced rate,
// QoS 1 with a bounded window, timestamps = publish time (unique per node), then reports counts.
import mqtt from 'mqtt';
import { z } from 'zod';
import { topics } from '../contracts/topics.ts';

const argsSchema = z.object({
  url: z.string(),
  username: z.string(),
  password: z.string(),
  nodes: z.string().transform((s) => s.split(',')),
  rate: z.coerce.number().positive(),
  seconds: z.coerce.number().positive(),
  seqStart: z.coerce.number().int().nonnegative(),
});
const args = argsSchema.parse(JSON.parse(process.argv[2] ?? '{}'));

const client = await mqtt.connectAsync(args.url, { username: args.username, password: args.password, clean: true, reconnectPeriod: 500 });
const lastTs = new Map<string, number>();
let seq = args.seqStart;
let published = 0;
let acked = 0;
let inFlight = 0;
const WINDOW = 1000;
const started = Date.now();
const total = Math.round(args.rate * args.seconds);
const TICK_MS = 10;

await new Promise<void>((resolve) => {
  const timer = setInterval(() => {
    const due = Math.min(total, Math.round(((Date.now() - started) / 1000) * args.rate));
    while (published < due && inFlight < WINDOW) {
      const nodeId = args.nodes[published % args.nodes.length] as string;
      const now = Date.now();
      const ts = Math.max(now, (lastTs.get(nodeId) ?? 0) + 1);
      lastTs.set(nodeId, ts);
      seq += 1;
      const reading = { nodeId, seq, ts: new Date(ts).toISOString(), temperatureC: 24.5, humidityPct: 51, smoke: 118, batteryV: 3.8 };
      inFlight += 1;
      published += 1;
      client.publish(topics.reading(nodeId), JSON.stringify(reading), { qos: 1 }, () => {
        inFlight -= 1;
        acked += 1;
      });
    }
    if (published >= total && acked >= total) {
      clearInterval(timer);
      resolve();
    }
  }, TICK_MS);
});
process.stdout.write(`${JSON.stringify({ published, acked, seconds: (Date.now() - started) / 1000 })}\n`);
client.end(true);
