// A drill's report (README "Drills"): who was texted when, whose phone reported delivery, who
// acknowledged when and how, per unit (team, board) and per member; median and worst time to the
// first acknowledgement; escalation steps reached; the zone's earlier drills. Pure: it reads the
// drill's outbox rows and acknowledgements (wall-clock times, as the phones saw them).
import { ACK_CHANNELS, type AckChannel, type DrillMember, type DrillReport, type DrillSummary, type DrillUnit } from '../contracts/alerts-api.ts';
import type { AckRow, DrillRow, OutboxRow } from './outbox.ts';
import type { Roster } from './routing.ts';

export interface DrillInput {
  drill: DrillRow;
  rows: readonly OutboxRow[];
  acks: readonly AckRow[];
}

/** Median of a list (mean of the two middle values for an even count); null when empty. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

const worst = (values: readonly number[]): number | null => (values.length ? Math.max(...values) : null);

/** The roster member an acknowledgement came from: its recipient id, else the id the board/API put in `by` ("Name (id)"). */
function ackMember(a: AckRow): string | null {
  if (a.recipient_id) return a.recipient_id;
  return /\(([a-z0-9][a-z0-9-]*)\)\s*$/.exec(a.by)?.[1] ?? null;
}

const isAckChannel = (c: string): c is AckChannel => (ACK_CHANNELS as readonly string[]).includes(c);

function members(input: DrillInput, roster: Roster | null, yieldedTo: readonly string[]): DrillMember[] {
  const ids: string[] = [];
  for (const r of input.rows) if (!ids.includes(r.recipient_id)) ids.push(r.recipient_id);
  const firstAck = new Map<string, AckRow>();
  for (const a of [...input.acks].sort((x, y) => x.at - y.at)) {
    const id = ackMember(a);
    if (id === null || firstAck.has(id)) continue;
    firstAck.set(id, a);
    if (!ids.includes(id)) ids.push(id); // acknowledged without being texted (e.g. on the board)
  }
  const yielded = new Set(yieldedTo);
  return ids.map((id) => {
    const rows = input.rows.filter((r) => r.recipient_id === id);
    const sent = rows.map((r) => r.sent_at).filter((t): t is number => t !== null);
    const deliveredAt = rows.map((r) => r.delivered_at).filter((t): t is number => t !== null);
    const reportedBad = rows.some((r) => r.state === 'undelivered' || r.state === 'failed');
    const textedAt = sent.length ? Math.min(...sent) : null;
    const ack = firstAck.get(id) ?? null;
    const person = roster?.byId.get(id);
    return {
      memberId: id,
      name: person?.name ?? id,
      leader: person?.leader ?? false,
      textedAt,
      delivered: deliveredAt.length ? true : reportedBad ? false : null,
      deliveredAt: deliveredAt.length ? Math.min(...deliveredAt) : null,
      ackedAt: ack?.at ?? null,
      ackChannel: ack && isAckChannel(ack.channel) ? ack.channel : null,
      responseS: ack && textedAt !== null ? (ack.at - textedAt) / 1000 : null,
      steps: rows.map((r) => r.step),
      yieldedToReal: yielded.has(id) || rows.some((r) => r.state === 'cancelled' && r.error_detail?.startsWith('a real alert') === true),
    };
  });
}

function unitName(roster: Roster, unit: string): string {
  const [prefix, id] = unit.split(':');
  if (prefix === 'team') return roster.site.teams.find((t) => t.id === id)?.name ?? unit;
  if (prefix === 'board') return roster.site.boards.communes.find((b) => b.id === id)?.name ?? unit;
  if (unit === 'city-board') return roster.site.boards.city.name;
  if (unit === 'rangers') return 'Kiểm lâm';
  if (unit === 'maintenance') return 'Bảo trì';
  return unit;
}

function unitOf(m: DrillMember[], roster: Roster, unit: string): DrillUnit {
  const texted = m.filter((x) => x.textedAt !== null);
  const times = m.map((x) => x.responseS).filter((t): t is number => t !== null);
  return {
    unit,
    name: unitName(roster, unit),
    texted: texted.length,
    acknowledged: m.filter((x) => x.ackedAt !== null).length,
    neverAcknowledged: texted.filter((x) => x.ackedAt === null).length,
    medianResponseS: median(times),
    worstResponseS: worst(times),
    members: m,
  };
}

function summary(input: DrillInput, all: readonly DrillMember[]): DrillSummary {
  const d = input.drill;
  const times = all.map((x) => x.responseS).filter((t): t is number => t !== null);
  return {
    drillId: d.drill_id,
    alertId: d.alert_id,
    zoneId: d.zone_id,
    kind: d.kind,
    depth: d.depth,
    dryRun: d.dry_run === 1,
    startedAt: d.started_at,
    startedBy: d.started_by,
    endedAt: d.ended_at,
    endedBy: d.ended_by,
    texted: all.filter((x) => x.textedAt !== null).length,
    acknowledged: all.filter((x) => x.ackedAt !== null).length,
    medianResponseS: median(times),
    worstResponseS: worst(times),
    escalationStepsReached: d.escalation_steps,
    // A sensor drill's figures are added by sensor-drills.ts (withSensorParts).
    detectionS: null,
    sensorOutcome: null,
  };
}

/** The figures of one drill without the per-member detail (lists and trends). */
export function summarizeDrill(input: DrillInput): DrillSummary {
  return summary(input, members(input, null, []));
}

export function buildDrillReport(input: DrillInput, roster: Roster, yieldedTo: readonly string[], previous: DrillSummary[]): DrillReport {
  const all = members(input, roster, yieldedTo);
  const byUnit = new Map<string, DrillMember[]>();
  for (const m of all) {
    const unit = roster.byId.get(m.memberId)?.unit ?? 'unknown';
    byUnit.set(unit, [...(byUnit.get(unit) ?? []), m]);
  }
  return { drill: summary(input, all), units: [...byUnit].map(([unit, m]) => unitOf(m, roster, unit)), previous, sensor: null };
}
