// Shared by the alerts tests and bench: the Lai Châu site file and the alert policy as committed.
import { fileURLToPath } from 'node:url';
import { loadSiteFile } from '../platform/site-file.ts';
import { loadAlertPolicyFile } from './policy.ts';
import type { EngineContext } from './engine.ts';
import { buildRoster } from './routing.ts';

export const SITE_FILE = fileURLToPath(new URL('../config/lai-chau.site.yaml', import.meta.url));
export const POLICY_FILE = fileURLToPath(new URL('../config/lai-chau.alerts.yaml', import.meta.url));

export function laiChauContext(): EngineContext {
  const site = loadSiteFile(SITE_FILE);
  const policy = loadAlertPolicyFile(POLICY_FILE);
  let n = 1000;
  return { policy, roster: buildRoster(site), newAckCode: (taken) => { do n += 1; while (taken.has(String(n))); return String(n); } };
}
