// InfluxDB lines for what rules produces: `danger` (tags zone, official) and `event` (tags zone,
// kind, node), through the one schema and line writer in contracts/measurements.ts.
import { lineOf } from '../contracts/measurements.ts';
import type { Danger, FireEvent } from '../contracts/payloads.ts';

export function dangerLine(d: Danger): string {
  const fwi = d.fwi ?? undefined;
  return lineOf(
    'danger',
    { zone: d.zoneId, official: d.official ? 'true' : 'false' },
    {
      level: d.level ?? undefined,
      nesterov_p: d.nesterovP ?? undefined,
      t13: d.inputs.t13 ?? undefined,
      rh13: d.inputs.rh13 ?? undefined,
      d13: d.inputs.d13 ?? undefined,
      rain24h: d.inputs.rain24hMm ?? undefined,
      quality: d.quality,
      ffmc: fwi?.ffmc ?? undefined,
      dmc: fwi?.dmc ?? undefined,
      dc: fwi?.dc ?? undefined,
      isi: fwi?.isi ?? undefined,
      bui: fwi?.bui ?? undefined,
      fwi: fwi?.fwi ?? undefined,
      dsr: fwi?.dsr ?? undefined,
    },
    Date.parse(d.ts),
  ) as string; // quality is always written
}

export function eventLine(e: FireEvent): string {
  return lineOf('event', { zone: e.zoneId, kind: e.kind, node: e.nodeId }, { event_id: e.eventId, level: e.level }, Date.parse(e.ts)) as string; // event_id is always written
}
