// Alert policy and SMS templates: the `alerts:` section of the site file (schema and roster
// cross-checks in contracts/site.ts). Re-exported here for the service's modules, plus route lookup.
import type { Site } from '../contracts/site.ts';
import { sitePolicy, type AlertPolicy, type Route, RAISING_KINDS } from '../contracts/site.ts';
import { loadSiteFile } from '../platform/site-file.ts';

export {
  AUDIENCES,
  MESSAGE_KINDS,
  RAISING_KINDS,
  alertPolicySchema,
  escalationStepSchema,
  repeatSchema,
  routeSchema,
  sitePolicy,
  type AlertPolicy,
  type AlertPolicyInput,
  type Audience,
  type MessageKind,
  type Route,
  type RosterRef,
  type ZoneAudience,
} from '../contracts/site.ts';

/** Reads and validates a site file and returns it with its alerts policy; throws when either is invalid or the section is missing. */
export function loadSiteWithPolicy(path: string): { site: Site; policy: AlertPolicy } {
  const site = loadSiteFile(path);
  return { site, policy: sitePolicy(site) };
}

/** First route matching an event kind (and for level changes its new level); null = nobody is told. */
export function findRoute(policy: AlertPolicy, kind: (typeof RAISING_KINDS)[number], level?: number): Route | null {
  for (const r of policy.routes) {
    if (!r.kinds.includes(kind)) continue;
    if (level !== undefined && r.minLevel !== undefined && level < r.minLevel) continue;
    if (level !== undefined && r.maxLevel !== undefined && level > r.maxLevel) continue;
    if (level === undefined && (r.minLevel !== undefined || r.maxLevel !== undefined) && kind === 'level-changed') continue;
    return r;
  }
  return null;
}
