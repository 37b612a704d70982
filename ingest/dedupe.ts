/**
 * Remembers the last `window` readings per node, by (sequence, observation time), so MQTT
 * re-deliveries and node resends are not written again. The time is part of the key because a
 * node that reboots starts its sequence again: its new readings must not look like duplicates.
 * After an ingest restart the memory is empty; InfluxDB's point identity (node, zone, time) then
 * makes the rewrite a no-op, so no extra point appears either way.
 */
export class RecentSequences {
  private readonly seen = new Map<string, { set: Set<string>; order: string[] }>();
  constructor(private readonly window = 2048) {}

  has(nodeId: string, seq: number, tsMs: number): boolean {
    return this.seen.get(nodeId)?.set.has(`${seq}@${tsMs}`) ?? false;
  }

  remember(nodeId: string, seq: number, tsMs: number): void {
    let entry = this.seen.get(nodeId);
    if (!entry) {
      entry = { set: new Set(), order: [] };
      this.seen.set(nodeId, entry);
    }
    const key = `${seq}@${tsMs}`;
    if (entry.set.has(key)) return;
    entry.set.add(key);
    entry.order.push(key);
    if (entry.order.length > this.window) {
      const dropped = entry.order.splice(0, entry.order.length - this.window);
      for (const k of dropped) entry.set.delete(k);
    }
  }
}
