/**
 * Remembers the last `window` readings per node (by arrival): each one's observation time, sequence
 * and a 52-bit hash of its values. An InfluxDB point is identified by node, zone and time, so a
 * second reading with the same time would overwrite the first silently:
 *  - the same reading again (an MQTT re-delivery, a node resending) is a `duplicate`: not rewritten;
 *  - a different reading with the same time (a stuck clock, a node rebooted with its clock reset)
 *    is a `conflict`: ingest dead-letters it and keeps the first.
 * Memory is bounded in total, whatever senders do: one Float64Array of 3 × `window` numbers per node
 * (24 bytes a reading: 6 KB per node at the default 256), for at most `maxNodes` nodes; beyond that
 * the node heard from least recently is forgotten (LRU). Only nodes of the site registry get here.
 * After an ingest restart, or once a node is forgotten, a re-delivered reading rewrites the same
 * point (same values: harmless).
 */
export type Seen = 'new' | 'duplicate' | { conflictWithSeq: number };

/** Default readings remembered per node: about 4 h at one reading a minute. */
export const DEDUPE_WINDOW = 256;
/** Default nodes remembered at once (≈ 60 MB at most with the default window). */
export const DEDUPE_MAX_NODES = 10_000;

const EMPTY = Number.NaN;

/** A ring of [tsMs, seq, hash] triples, the oldest overwritten first; `newestTs` skips the scan for in-order readings. */
interface NodeWindow {
  readonly slots: Float64Array;
  next: number;
  newestTs: number;
}

export class RecentReadings {
  // A Map iterates in insertion order; re-inserting a node on every reading makes it an LRU.
  private readonly nodes = new Map<string, NodeWindow>();

  constructor(
    private readonly window = DEDUPE_WINDOW,
    private readonly maxNodes = DEDUPE_MAX_NODES,
  ) {}

  /** Nodes remembered now (≤ maxNodes). */
  get nodeCount(): number {
    return this.nodes.size;
  }

  /** Bytes of reading memory held now: the bound is maxNodes × window × 24. */
  get windowBytes(): number {
    return this.nodes.size * this.window * 3 * Float64Array.BYTES_PER_ELEMENT;
  }

  /** Classifies a reading and remembers it when it is new. */
  check(nodeId: string, tsMs: number, seq: number, fingerprint: string): Seen {
    const node = this.touch(nodeId);
    const hash = hash52(fingerprint);
    if (tsMs <= node.newestTs) {
      const slot = find(node.slots, tsMs);
      if (slot >= 0) {
        const earlierSeq = node.slots[slot + 1] as number;
        return earlierSeq === seq && node.slots[slot + 2] === hash ? 'duplicate' : { conflictWithSeq: earlierSeq };
      }
    }
    const at = node.next * 3;
    node.slots[at] = tsMs;
    node.slots[at + 1] = seq;
    node.slots[at + 2] = hash;
    node.next = (node.next + 1) % this.window;
    if (!(tsMs <= node.newestTs)) node.newestTs = tsMs;
    return 'new';
  }

  /** Forgets one reading (its spooling was rolled back, so a re-delivery must count as new). */
  forget(nodeId: string, tsMs: number): void {
    const node = this.nodes.get(nodeId);
    if (!node) return;
    const slot = find(node.slots, tsMs);
    if (slot >= 0) node.slots[slot] = EMPTY;
  }

  private touch(nodeId: string): NodeWindow {
    let node = this.nodes.get(nodeId);
    if (node) {
      this.nodes.delete(nodeId);
    } else {
      node = { slots: new Float64Array(this.window * 3).fill(EMPTY), next: 0, newestTs: Number.NEGATIVE_INFINITY };
      if (this.nodes.size >= this.maxNodes) {
        const leastRecent = this.nodes.keys().next().value;
        if (leastRecent !== undefined) this.nodes.delete(leastRecent);
      }
    }
    this.nodes.set(nodeId, node);
    return node;
  }
}

function find(slots: Float64Array, tsMs: number): number {
  for (let i = 0; i < slots.length; i += 3) if (slots[i] === tsMs) return i;
  return -1;
}

/** FNV-1a and djb2 over the UTF-16 code units, combined into an integer below 2^53 (exact in a double). */
function hash52(s: string): number {
  let fnv = 0x811c9dc5;
  let djb = 5381;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    fnv = Math.imul(fnv ^ c, 0x01000193);
    djb = (Math.imul(djb, 33) + c) | 0;
  }
  return (fnv >>> 0) * 0x200000 + (djb & 0x1fffff);
}
