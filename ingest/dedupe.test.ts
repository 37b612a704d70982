import { describe, expect, it } from 'vitest';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DEDUPE_WINDOW, RecentReadings } from './dedupe.ts';

// A collected heap makes the retained size measurable (the filter's memory is the bound under test).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
function retainedBytes(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

const line = (node: string, ts: number, seq: number) => `reading,node=${node},zone=san-thang humidity=51,seq=${seq}i,smoke=118,temperature=24.5 ${ts}`;

describe('duplicate filter memory is bounded', () => {
  it('5,000 nodes × 300 readings each: at most 10 KB per node, measured on the heap', () => {
    const NODES = 5000;
    const READINGS = 300;
    const before = retainedBytes();
    const recent = new RecentReadings();
    const t0 = Date.parse('2026-03-20T00:00:00Z');
    let notNew = 0;
    for (let r = 0; r < READINGS; r++) {
      for (let n = 0; n < NODES; n++) {
        const node = `node-${n}`;
        const ts = t0 + r * 60_000;
        if (recent.check(node, ts, r, line(node, ts, r)) !== 'new') notNew += 1;
      }
    }
    const retained = retainedBytes() - before;
    expect(notNew).toBe(0);
    expect(recent.nodeCount).toBe(NODES);
    expect(recent.windowBytes).toBeLessThanOrEqual(NODES * 10 * 1024);
    console.info(`duplicate filter: ${(retained / NODES / 1024).toFixed(2)} KB retained per node`);
    expect(retained, `${(retained / NODES / 1024).toFixed(1)} KB per node`).toBeLessThanOrEqual(NODES * 10 * 1024);
    // Still doing its job: the latest reading of the first node is recognised again.
    const ts = t0 + (READINGS - 1) * 60_000;
    expect(recent.check('node-0', ts, READINGS - 1, line('node-0', ts, READINGS - 1))).toBe('duplicate');
  }, 120_000); // 1.5 million checks on a shared machine; the bound under test is a size, not a time

  it('more nodes than the cap: the least recently heard node is forgotten, the total stays at the cap', () => {
    const recent = new RecentReadings(16, 100);
    for (let n = 0; n < 150; n++) recent.check(`n${n}`, 1000, 1, 'v');
    // n0 … n49 were forgotten; hearing from n50 makes it the most recent.
    recent.check('n50', 2000, 2, 'v2');
    recent.check('n150', 1000, 1, 'v');
    expect(recent.nodeCount).toBe(100);
    expect(recent.windowBytes).toBe(100 * 16 * 24);
    expect(recent.check('n50', 1000, 1, 'v'), 'n50 was kept (recently heard)').toBe('duplicate');
    expect(recent.check('n149', 1000, 1, 'v')).toBe('duplicate');
    expect(recent.check('n0', 1000, 1, 'v'), 'n0 was forgotten').toBe('new');
    expect(recent.check('n51', 1000, 1, 'v'), 'n51 was the least recent when n0 came back').toBe('new');
  });

  it('a reading forgotten after a rolled-back spool write counts as new again', () => {
    const recent = new RecentReadings();
    expect(recent.check('n', 1000, 1, 'v1')).toBe('new');
    recent.forget('n', 1000);
    expect(recent.check('n', 1000, 1, 'v1')).toBe('new');
    expect(recent.check('n', 1000, 1, 'v1')).toBe('duplicate');
  });

  it('out-of-order readings inside the window are still recognised', () => {
    const recent = new RecentReadings();
    for (let s = 0; s < DEDUPE_WINDOW; s++) recent.check('n', (s * 7919) % 100_000, s, `v${s}`);
    expect(recent.check('n', (5 * 7919) % 100_000, 5, 'v5')).toBe('duplicate');
    expect(recent.check('n', (5 * 7919) % 100_000, 6, 'v6')).toStrictEqual({ conflictWithSeq: 5 });
  });
});
