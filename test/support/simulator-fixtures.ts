// Shared by the simulator's tests: the sample site and a run collected into arrays.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Reading } from '../../contracts/payloads.ts';
import type { Site } from '../../contracts/site.ts';
import { loadSiteFile } from '../../platform/site-file.ts';
import { scenarioNodes, simulate, type SimMessage } from '../../simulator/engine.ts';
import type { Scenario } from '../../simulator/scenario.ts';

export const SAMPLE_SITE_FILE = join(fileURLToPath(new URL('../..', import.meta.url)), 'config', 'lai-chau.site.yaml');
let cachedSite: Site | undefined;
export function sampleSite(): Site {
  cachedSite ??= loadSiteFile(SAMPLE_SITE_FILE);
  return cachedSite;
}

export function collect(scenario: Scenario, onlyNodes?: readonly string[], seed?: number): { messages: SimMessage[]; readings: Reading[] } {
  let nodes = scenarioNodes(scenario, sampleSite());
  if (onlyNodes) {
    nodes = nodes.filter((n) => onlyNodes.includes(n.id));
    // Faults of nodes left out go too.
    scenario = { ...scenario, events: scenario.events.filter((e) => !('node' in e) || onlyNodes.includes(e.node)) };
  }
  const messages = [...simulate(scenario, nodes, seed).messages];
  return { messages, readings: messages.flatMap((m) => (m.kind === 'reading' ? [m.reading] : [])) };
}

/** Local (UTC+7) date and hour of a reading. */
export function localTime(r: Reading): { date: string; hour: number } {
  const local = new Date(Date.parse(r.ts) + 7 * 3600_000).toISOString();
  return { date: local.slice(0, 10), hour: Number(local.slice(11, 13)) };
}
