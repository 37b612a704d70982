// Who an audience selector names for a zone, on the site roster. Pure.
import type { Member, Site } from '../contracts/site.ts';
import type { Audience, ZoneAudience } from './policy.ts';

export interface Recipient {
  /** Member id, unique across the roster (the outbox keys on it). */
  id: string;
  name: string;
  phone: string;
  /** Where on the roster the person sits, e.g. team:team-stg-1, board:board-stg, city-board, rangers. */
  unit: string;
  leader: boolean;
}

export interface Roster {
  site: Site;
  /** Member id → recipient, for acknowledgements and status callbacks. */
  byId: Map<string, Recipient>;
  byPhone: Map<string, Recipient[]>;
}

function toRecipient(m: Member, unit: string, leader: boolean): Recipient {
  return { id: m.id, name: m.name, phone: m.phone, unit, leader };
}

export function buildRoster(site: Site): Roster {
  const all: Recipient[] = [];
  for (const t of site.teams) for (const m of t.members) all.push(toRecipient(m, `team:${t.id}`, m.id === t.leader));
  for (const m of site.boards.city.members) all.push(toRecipient(m, 'city-board', false));
  for (const b of site.boards.communes) for (const m of b.members) all.push(toRecipient(m, `board:${b.id}`, false));
  for (const m of site.rangers) all.push(toRecipient(m, 'rangers', false));
  for (const m of site.maintenance) all.push(toRecipient(m, 'maintenance', false));
  const byPhone = new Map<string, Recipient[]>();
  for (const r of all) byPhone.set(r.phone, [...(byPhone.get(r.phone) ?? []), r]);
  return { site, byId: new Map(all.map((r) => [r.id, r])), byPhone };
}

/** Recipients of one audience for a zone, in roster order. `team:`, `board:` and `member:` name a fixed unit or person. */
export function audienceMembers(roster: Roster, audience: Audience, zoneId: string): Recipient[] {
  const site = roster.site;
  const pick = (members: readonly Member[]) => members.map((m) => roster.byId.get(m.id)).filter((r): r is Recipient => r !== undefined);
  const colon = audience.indexOf(':');
  if (colon > 0) {
    const prefix = audience.slice(0, colon);
    const id = audience.slice(colon + 1);
    if (prefix === 'team') return pick(site.teams.find((t) => t.id === id)?.members ?? []);
    if (prefix === 'board') return pick([site.boards.city, ...site.boards.communes].find((b) => b.id === id)?.members ?? []);
    const person = roster.byId.get(id);
    return person ? [person] : [];
  }
  switch (audience as ZoneAudience) {
    case 'team-leaders':
      return site.teams.filter((t) => t.zones.includes(zoneId)).flatMap((t) => pick(t.members.filter((m) => m.id === t.leader)));
    case 'team-members':
      return site.teams.filter((t) => t.zones.includes(zoneId)).flatMap((t) => pick(t.members));
    case 'commune-board':
      return site.boards.communes.filter((b) => b.zone === zoneId).flatMap((b) => pick(b.members));
    case 'city-board':
      return pick(site.boards.city.members);
    case 'rangers':
      return pick(site.rangers);
    case 'maintenance':
      return pick(site.maintenance);
  }
}

/** Union of several audiences for a zone, each person once (first occurrence kept). */
export function resolveAudiences(roster: Roster, audiences: readonly Audience[], zoneId: string): Recipient[] {
  const seen = new Set<string>();
  const out: Recipient[] = [];
  for (const a of audiences) {
    for (const r of audienceMembers(roster, a, zoneId)) {
      if (seen.has(r.id)) continue;
      seen.add(r.id);
      out.push(r);
    }
  }
  return out;
}
