// InfluxDB line protocol for what rules produces: `danger` (tags zone, official) and `event`
// (tags zone, kind, node). Millisecond timestamps (the writers use precision ms).
import type { Danger, FireEvent } from '../contracts/payloads.ts';

const escapeTag = (s: string) => s.replace(/[\\,= ]/g, (c) => `\\${c}`);
const stringField = (s: string) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
const floatField = (v: number) => (Number.isInteger(v) ? `${v}.0` : String(v));

function fields(pairs: [string, string | undefined][]): string {
  return pairs
    .filter((p): p is [string, string] => p[1] !== undefined)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

const num = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? undefined : floatField(v));

export function dangerLine(d: Danger): string {
  const f: [string, string | undefined][] = [
    ['level', d.level === null ? undefined : `${d.level}i`],
    ['nesterov_p', num(d.nesterovP)],
    ['t13', num(d.inputs.t13)],
    ['rh13', num(d.inputs.rh13)],
    ['d13', num(d.inputs.d13)],
    ['rain24h', num(d.inputs.rain24hMm)],
    ['quality', stringField(d.quality)],
  ];
  if (d.fwi) for (const k of ['ffmc', 'dmc', 'dc', 'isi', 'bui', 'fwi', 'dsr'] as const) f.push([k, num(d.fwi[k])]);
  return `danger,zone=${escapeTag(d.zoneId)},official=${d.official ? 'true' : 'false'} ${fields(f)} ${Date.parse(d.ts)}`;
}

export function eventLine(e: FireEvent): string {
  const tags = `zone=${escapeTag(e.zoneId)},kind=${escapeTag(e.kind)}${e.nodeId ? `,node=${escapeTag(e.nodeId)}` : ''}`;
  const f: [string, string | undefined][] = [
    ['event_id', stringField(e.eventId)],
    ['level', e.level === undefined ? undefined : `${e.level}i`],
  ];
  return `event,${tags} ${fields(f)} ${Date.parse(e.ts)}`;
}
