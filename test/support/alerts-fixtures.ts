// Shared by the alerts tests and bench: the Lai Châu site file (roster and alerts section) as committed.
import { fileURLToPath } from 'node:url';
import { loadSiteWithPolicy } from '../../alerts/policy.ts';
import type { EngineContext } from '../../alerts/engine.ts';
import { buildRoster } from '../../alerts/routing.ts';

export const SITE_FILE = fileURLToPath(new URL('../../config/lai-chau.site.yaml', import.meta.url));

export function laiChauContext(): EngineContext {
  const { site, policy } = loadSiteWithPolicy(SITE_FILE);
  let n = 1000;
  return { policy, roster: buildRoster(site), newAckCode: (taken) => { do n += 1; while (taken.has(String(n))); return String(n); } };
}
