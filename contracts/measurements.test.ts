import { describe, expect, it } from 'vitest';
import { columnsOf, isMeasurementName, lineOf, MEASUREMENTS } from './measurements.ts';

describe('lineOf: the one line writer over the measurement schema', () => {
  it.each([
    { what: 'node status: booleans as true/false, an empty string is a value', line: lineOf('node_status', { zone: 'z', node: 'n' }, { online: false, reason: '' }, 7), want: 'node_status,node=n,zone=z online=false,reason="" 7' },
    { what: 'dead letter: tags in schema order, a missing node left out', line: lineOf('dead_letter', { service: 'ingest', reason: 'bad-json' }, { count: 1, id: 4 }, 7), want: 'dead_letter,reason=bad-json,service=ingest id=4i,count=1i 7' },
    { what: 'danger keeps its historical tag order', line: lineOf('danger', { official: 'true', zone: 'a' }, { quality: 'ok', level: 2, nesterov_p: 700 }, 7), want: 'danger,zone=a,official=true level=2i,nesterov_p=700.0,quality="ok" 7' },
    { what: 'event: a missing node tag is left out', line: lineOf('event', { kind: 'level-changed', zone: 'a' }, { event_id: 'e "1"' }, 7), want: 'event,zone=a,kind=level-changed event_id="e \\"1\\"" 7' },
    { what: 'drill', line: lineOf('drill', { zone: 'z', kind: 'fire-suspected', drill: 'd1' }, { state: 'queued', drill_id: 'd1', escalation_step: 0 }, 7), want: 'drill,drill=d1,kind=fire-suspected,zone=z escalation_step=0i,drill_id="d1",state="queued" 7' },
    { what: 'non-finite numbers are dropped', line: lineOf('pipeline', { service: 'ingest' }, { write_latency_ms: Number.NaN, spool_depth: 3 }, 7.9), want: 'pipeline,service=ingest spool_depth=3i 7' },
    { what: 'tag values with spaces, commas, equals signs and line breaks stay on one line', line: lineOf('site_node', { node: 'a b', zone: 'x,y=z\n' }, { lat: 22.4 }, 7), want: 'site_node,node=a\\ b,zone=x\\,y\\=z\\n lat=22.4 7' },
  ])('$what', ({ line, want }) => {
    expect(line).toBe(want);
  });

  it('a point left without a field is no line', () => {
    expect(lineOf('pipeline', { service: 'ingest' }, { write_latency_ms: Number.POSITIVE_INFINITY }, 7)).toBeNull();
  });
});

it('the schema names the measurements the services write and the dashboards read', () => {
  expect(Object.keys(MEASUREMENTS).sort()).toStrictEqual(['alert', 'danger', 'dead_letter', 'drill', 'drill_reading', 'event', 'node_status', 'pipeline', 'reading', 'site_node']);
  expect(isMeasurementName('reading')).toBe(true);
  expect(isMeasurementName('toString')).toBe(false);
  expect(columnsOf('event')).toStrictEqual({ tags: ['zone', 'kind', 'node'], fields: ['event_id', 'level'] });
});
