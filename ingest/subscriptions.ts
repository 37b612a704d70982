// The topic filters ingest subscribes to: in one place, so a shared-subscription group is applied
// to all of them (MQTT 5 §4.8.2 `$share/<group>/<filter>`, also honoured by Mosquitto 2 on MQTT 3.1.1).
import { topics } from '../contracts/topics.ts';

/** Readings, node status and sensor drills' readings; through `$share/<group>/` when several ingest workers split the load. */
export function ingestFilters(sharedGroup?: string): string[] {
  const filters = [topics.allReadings, topics.allStatus, topics.allDrillReadings];
  return sharedGroup ? filters.map((f) => `$share/${sharedGroup}/${f}`) : filters;
}
