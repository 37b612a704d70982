import { describe, expect, it } from 'vitest';
import { authorizeSubscribe } from '../broker/acl.ts';
import { loadEnv } from '../contracts/config.ts';
import { ingestFilters } from './subscriptions.ts';

describe('ingest subscription filters', () => {
  it('without a group: the plain reading, status and drill reading filters, each one our broker grants svc-ingest', () => {
    expect(ingestFilters()).toStrictEqual(['ews/v1/readings/+', 'ews/v1/status/+', 'ews/v1/drill/readings/+']);
    for (const filter of ingestFilters()) expect(authorizeSubscribe({ kind: 'service', role: 'ingest' }, filter).ok, filter).toBe(true);
  });

  it('with a group: every filter goes through $share/<group>/', () => {
    expect(ingestFilters('ingest')).toStrictEqual(['$share/ingest/ews/v1/readings/+', '$share/ingest/ews/v1/status/+', '$share/ingest/ews/v1/drill/readings/+']);
  });

  it('our own broker refuses the shared filters (README: leave INGEST_SHARED_GROUP unset with fire-ews broker)', () => {
    for (const filter of ingestFilters('ingest')) expect(authorizeSubscribe({ kind: 'service', role: 'ingest' }, filter).ok, filter).toBe(false);
  });

  it.each([
    ['absent', undefined, undefined],
    ['empty', '', undefined],
    ['a name', 'ingest-a1', 'ingest-a1'],
  ])('INGEST_SHARED_GROUP %s → %s', (_label, value, expected) => {
    const env = loadEnv(value === undefined ? {} : { INGEST_SHARED_GROUP: value });
    expect(env.INGEST_SHARED_GROUP).toBe(expected);
  });

  it.each(['a/b', 'in+gest', '#', 'Ingest'])('INGEST_SHARED_GROUP=%s is refused, naming the variable', (value) => {
    expect(() => loadEnv({ INGEST_SHARED_GROUP: value })).toThrow(/INGEST_SHARED_GROUP/);
  });
});
