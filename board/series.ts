// The last 24 hours of temperature, humidity and smoke of a zone or a node, in fixed buckets per
// node (mean temperature and humidity, highest smoke: a short smoke peak must not average away).
// Pure; both readings sources produce this shape and the page draws it.
import { z } from 'zod';

export const SERIES_HOURS = 24;
export const SERIES_STEP_MS = 5 * 60_000;

export const seriesSchema = z.object({
  from: z.number(),
  to: z.number(),
  stepMs: z.number(),
  /** Bucket start times (ms). */
  times: z.array(z.number()),
  nodes: z.array(
    z.object({
      nodeId: z.string(),
      temperature: z.array(z.number().nullable()),
      humidity: z.array(z.number().nullable()),
      smoke: z.array(z.number().nullable()),
    }),
  ),
});
export type Series = z.infer<typeof seriesSchema>;

export interface ReadingPoint {
  nodeId: string;
  tsMs: number;
  temperatureC: number;
  humidityPct: number;
  smoke: number;
}

/** Bucket boundaries: `to` rounded up to the step, 24 h back. */
export function seriesWindow(now: number, hours = SERIES_HOURS, stepMs = SERIES_STEP_MS): { from: number; to: number; stepMs: number } {
  const to = Math.ceil(now / stepMs) * stepMs;
  return { from: to - hours * 3_600_000, to, stepMs };
}

export function emptySeries(w: { from: number; to: number; stepMs: number }, nodeIds: readonly string[]): Series {
  const n = Math.round((w.to - w.from) / w.stepMs);
  const times = Array.from({ length: n }, (_, i) => w.from + i * w.stepMs);
  const blank = () => Array.from({ length: n }, () => null as number | null);
  return { ...w, times, nodes: nodeIds.map((nodeId) => ({ nodeId, temperature: blank(), humidity: blank(), smoke: blank() })) };
}

/** Folds readings into the window's buckets for the given nodes; readings outside are ignored. */
export function bucketReadings(points: Iterable<ReadingPoint>, w: { from: number; to: number; stepMs: number }, nodeIds: readonly string[]): Series {
  const out = emptySeries(w, nodeIds);
  const index = new Map(nodeIds.map((id, i) => [id, i]));
  const sums = nodeIds.map(() => out.times.map(() => ({ t: 0, h: 0, n: 0, s: -Infinity })));
  for (const p of points) {
    const i = index.get(p.nodeId);
    if (i === undefined || p.tsMs < w.from || p.tsMs >= w.to) continue;
    const b = Math.floor((p.tsMs - w.from) / w.stepMs);
    const acc = sums[i]?.[b];
    if (!acc) continue;
    acc.t += p.temperatureC;
    acc.h += p.humidityPct;
    acc.n += 1;
    acc.s = Math.max(acc.s, p.smoke);
  }
  out.nodes.forEach((node, i) => {
    sums[i]?.forEach((acc, b) => {
      if (acc.n === 0) return;
      node.temperature[b] = Math.round((acc.t / acc.n) * 100) / 100;
      node.humidity[b] = Math.round((acc.h / acc.n) * 100) / 100;
      node.smoke[b] = acc.s;
    });
  });
  return out;
}
