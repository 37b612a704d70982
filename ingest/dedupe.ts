/**
 * Remembers the last `window` sequence numbers per node so MQTT re-deliveries and node resends are
 * not written again. After a restart the memory is empty; then InfluxDB's point identity (same
 * node, zone and time) makes the rewrite a no-op, so no extra point appears either way.
 */
export class RecentSequences {
  private readonly seen = new Map<string, { set: Set<number>; order: number[] }>();
  constructor(private readonly window = 2048) {}

  has(nodeId: string, seq: number): boolean {
    return this.seen.get(nodeId)?.set.has(seq) ?? false;
  }

  remember(nodeId: string, seq: number): void {
    let entry = this.seen.get(nodeId);
    if (!entry) {
      entry = { set: new Set(), order: [] };
      this.seen.set(nodeId, entry);
    }
    if (entry.set.has(seq)) return;
    entry.set.add(seq);
    entry.order.push(seq);
    if (entry.order.length > this.window) {
      const dropped = entry.order.splice(0, entry.order.length - this.window);
      for (const s of dropped) entry.set.delete(s);
    }
  }
}
