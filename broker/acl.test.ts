
import { expect, it } from 'vitest';
import { authorizePublish, authorizeSubscribe, principalFor } from './acl.ts';

const nodes = new Set(['san-thang-01', 'san-thang-02']);
const node = principalFor('san-thang-01', nodes)!;
const svc = (role: string) => principalFor(`svc-${role}`, nodes)!;

it('usernames resolve to nodes from the registry or to known service roles', () => {
  expect(node).toStrictEqual({ kind: 'node', nodeId: 'san-thang-01' });
  expect(svc('ingest')).toStrictEqual({ kind: 'service', role: 'ingest' });
  expect(principalFor('svc-root', nodes)).toBeNull();
  expect(principalFor('nam-loong-99', nodes)).toBeNull();
});

it('a node publishes only its own readings and status', () => {
  expect(authorizePublish(node, 'ews/v1/readings/san-thang-01').ok).toBe(true);
  expect(authorizePublish(node, 'ews/v1/status/san-thang-01').ok).toBe(true);
  const other = authorizePublish(node, 'ews/v1/readings/san-thang-02');
  expect(other).toStrictEqual({ ok: false, reason: 'node san-thang-01 may not publish for node san-thang-02' });
  expect(authorizePublish(node, 'ews/v1/danger/san-thang').ok).toBe(false);
  expect(authorizePublish(node, 'ews/v1/events/fire-confirmed/san-thang').ok).toBe(false);
  expect(authorizePublish(node, 'somewhere/else').ok).toBe(false);
});

it('nodes cannot subscribe; $SYS and wildcards over everything stay closed', () => {
  expect(authorizeSubscribe(node, 'ews/v1/readings/san-thang-01').ok).toBe(false);
  expect(authorizeSubscribe(svc('observer'), '$SYS/#').ok).toBe(false);
  expect(authorizeSubscribe(svc('observer'), '#').ok).toBe(false);
  expect(authorizePublish(svc('rules'), '$SYS/broker/x').ok).toBe(false);
});

it('services get what their role needs and nothing more', () => {
  expect(authorizeSubscribe(svc('ingest'), 'ews/v1/readings/+').ok).toBe(true);
  expect(authorizeSubscribe(svc('ingest'), 'ews/v1/readings/san-thang-01').ok).toBe(true);
  expect(authorizeSubscribe(svc('ingest'), 'ews/v1/events/#').ok).toBe(false);
  expect(authorizePublish(svc('ingest'), 'ews/v1/deadletter/ingest').ok).toBe(true);
  expect(authorizePublish(svc('ingest'), 'ews/v1/deadletter/rules').ok).toBe(false);
  expect(authorizePublish(svc('ingest'), 'ews/v1/readings/san-thang-01').ok).toBe(false);
  expect(authorizePublish(svc('rules'), 'ews/v1/danger/san-thang').ok).toBe(true);
  expect(authorizePublish(svc('rules'), 'ews/v1/events/fire-confirmed/san-thang').ok).toBe(true);
  expect(authorizePublish(svc('rules'), 'ews/v1/alerts/evt-1').ok).toBe(false);
  expect(authorizeSubscribe(svc('alerts'), 'ews/v1/events/+/+').ok).toBe(true);
  expect(authorizeSubscribe(svc('alerts'), 'ews/v1/events/fire-confirmed/+').ok).toBe(true);
  expect(authorizeSubscribe(svc('alerts'), 'ews/v1/readings/+').ok).toBe(false);
  expect(authorizePublish(svc('simulator'), 'ews/v1/readings/san-thang-02').ok).toBe(true);
  expect(authorizePublish(svc('recorder'), 'ews/v1/readings/san-thang-02').ok).toBe(false);
  expect(authorizeSubscribe(svc('observer'), 'ews/v1/#').ok).toBe(true);
});
