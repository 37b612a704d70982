import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from './logger.ts';
import { alertLine, formatLine, IntervalMean, pipelineLine, startPipelineStats } from './pipeline-stats.ts';

const logger = createLogger('test', 'silent');

test('pipeline line: ints with i, floats with a decimal point, tags escaped and sorted', () => {
  assert.equal(
    pipelineLine('ingest', { ints: { readings_stored: 12, spool_depth: 0, dead_letters: 3 }, floats: { write_latency_ms: 4 } }, 1_700_000_000_123),
    'pipeline,service=ingest readings_stored=12i,spool_depth=0i,dead_letters=3i,write_latency_ms=4.0 1700000000123',
  );
  assert.equal(formatLine('m', { b: 'x y', a: 'p,q' }, { floats: { v: 1.5, bad: Number.NaN } }, 1), 'm,a=p\\,q,b=x\\ y v=1.5 1');
  assert.equal(formatLine('m', {}, { floats: { v: Number.POSITIVE_INFINITY } }, 1), null, 'no field → no line');
});

test('alert line carries the alert id as a tag, alert_id, state, acked_by (always) and level', () => {
  assert.equal(
    alertLine({ alertId: 'evt-1', zoneId: 'san-thang', kind: 'fire-suspected', state: 'acknowledged', ackedBy: 'Lò Văn "A"', level: 4 }, 5),
    'alert,alert=evt-1,kind=fire-suspected,zone=san-thang level=4i,alert_id="evt-1",state="acknowledged",acked_by="Lò Văn \\"A\\"" 5',
  );
  assert.match(alertLine({ alertId: 'e', zoneId: 'z', kind: 'k', state: 'active' }, 5), /acked_by="" 5$/);
});

test('reporter ticks, survives a throwing collector and sink, and writes a final point on stop', async () => {
  const lines: string[] = [];
  let n = 0;
  let failSink = false;
  const r = startPipelineStats({
    service: 'ingest',
    intervalS: 0.02,
    logger,
    collect: () => {
      n += 1;
      if (n === 2) throw new Error('collector broke');
      return { ints: { readings_stored: n } };
    },
    sink: (line) => {
      if (failSink) throw new Error('disk full');
      lines.push(line);
    },
  });
  await new Promise((resolve) => setTimeout(resolve, 120));
  failSink = true;
  assert.equal(r.report(), null, 'a failing sink is swallowed');
  failSink = false;
  r.stop(true);
  const count = lines.length;
  assert.ok(count >= 3, `ticked (${count} lines)`);
  assert.ok(lines.every((l) => /^pipeline,service=ingest readings_stored=\d+i \d+$/.test(l)));
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(lines.length, count, 'no point after stop');
});

test('interval 0 disables the timer; IntervalMean resets after each take', () => {
  const r = startPipelineStats({ service: 's', intervalS: 0, logger, collect: () => ({ ints: { a: 1 } }), sink: () => assert.fail('no sink call') });
  r.stop(true);
  const m = new IntervalMean();
  assert.equal(m.take(), undefined);
  m.observe(2);
  m.observe(4);
  assert.equal(m.take(), 3);
  assert.equal(m.take(), undefined);
});
