import { describe, expect, it, vi } from 'vitest';
import { createLogger } from './logger.ts';
import { formatLine } from '../contracts/measurements.ts';
import { alertLine, IntervalMean, pipelineLine, startPipelineStats, type StatFields } from './pipeline-stats.ts';

const logger = createLogger('test', 'silent');

describe('line protocol', () => {
  it('pipeline line: ints with i, floats with a decimal point, tags escaped and sorted', () => {
    expect(pipelineLine('ingest', { readings_stored: 12, spool_depth: 0, dead_letters: 3, write_latency_ms: 4 }, 1_700_000_000_123)).toBe('pipeline,service=ingest readings_stored=12i,spool_depth=0i,dead_letters=3i,write_latency_ms=4.0 1700000000123');
    expect(formatLine('m', { b: 'x y', a: 'p,q' }, { floats: { v: 1.5, bad: Number.NaN } }, 1)).toBe('m,a=p\\,q,b=x\\ y v=1.5 1');
    expect(formatLine('m', {}, { floats: { v: Number.POSITIVE_INFINITY } }, 1), 'no field → no line').toBeNull();
  });

  it('alert line carries the alert id as a tag, alert_id, state, acked_by (always) and level', () => {
    expect(alertLine({ alertId: 'evt-1', zoneId: 'san-thang', kind: 'fire-suspected', state: 'acknowledged', ackedBy: 'Lò Văn "A"', level: 4 }, 5)).toBe('alert,alert=evt-1,kind=fire-suspected,zone=san-thang level=4i,alert_id="evt-1",state="acknowledged",acked_by="Lò Văn \\"A\\"" 5');
    expect(alertLine({ alertId: 'e', zoneId: 'z', kind: 'k', state: 'active' }, 5)).toMatch(/acked_by="" 5$/);
  });

  it('alert line carries the escalation step and the ack time (Unix ms) when given', () => {
    expect(alertLine({ alertId: 'e', zoneId: 'z', kind: 'k', state: 'acknowledged', ackedBy: 'B', ackedAt: 1_773_471_600_000, escalationStep: 2 }, 5)).toBe(
      'alert,alert=e,kind=k,zone=z escalation_step=2i,acked_at=1773471600000i,alert_id="e",state="acknowledged",acked_by="B" 5',
    );
    expect(alertLine({ alertId: 'e', zoneId: 'z', kind: 'k', state: 'active', escalationStep: 0 }, 5)).toBe('alert,alert=e,kind=k,zone=z escalation_step=0i,alert_id="e",state="active",acked_by="" 5');
  });
});

describe('reporter', () => {
  it('reporter ticks, survives a throwing collector and sink, and writes a final point on stop', async () => {
    // The collector counts its calls; the second one throws.
    const collect = vi.fn((): StatFields => ({ readings_stored: collect.mock.calls.length }));
    collect.mockReturnValueOnce({ readings_stored: 1 }).mockImplementationOnce(() => {
      throw new Error('collector broke');
    });
    const sink = vi.fn<(line: string, tsMs: number) => void>();
    const r = startPipelineStats({ service: 'ingest', intervalS: 0.02, logger, collect, sink });
    await new Promise((resolve) => setTimeout(resolve, 120));
    sink.mockImplementationOnce(() => {
      throw new Error('disk full');
    });
    expect(r.report(), 'a failing sink is swallowed').toBeNull();
    expect(sink.mock.results.at(-1)?.type, 'the point reached the failing sink').toBe('throw');
    r.stop(true);
    const written = sink.mock.calls.filter((_, i) => sink.mock.results[i]?.type === 'return').map(([line]) => line);
    expect(written.length, `ticked (${written.length} lines)`).toBeGreaterThanOrEqual(3);
    expect(written.filter((l) => !/^pipeline,service=ingest readings_stored=\d+i \d+$/.test(l))).toStrictEqual([]);
    const calls = sink.mock.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(sink, 'no point after stop').toHaveBeenCalledTimes(calls);
  });

  it('interval 0 disables the timer', () => {
    const sink = vi.fn();
    const r = startPipelineStats({ service: 's', intervalS: 0, logger, collect: () => ({ readings_stored: 1 }), sink });
    r.stop(true);
    expect(sink).not.toHaveBeenCalled();
  });
});

it('IntervalMean resets after each take', () => {
  const m = new IntervalMean();
  expect(m.take()).toBeUndefined();
  m.observe(2);
  m.observe(4);
  expect(m.take()).toBe(3);
  expect(m.take()).toBeUndefined();
});
