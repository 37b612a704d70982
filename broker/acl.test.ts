import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorizePublish, authorizeSubscribe, principalFor } from './acl.ts';

const nodes = new Set(['san-thang-01', 'san-thang-02']);
const node = principalFor('san-thang-01', nodes)!;
const svc = (role: string) => principalFor(`svc-${role}`, nodes)!;

test('usernames resolve to nodes from the registry or to known service roles', () => {
  assert.deepEqual(node, { kind: 'node', nodeId: 'san-thang-01' });
  assert.deepEqual(svc('ingest'), { kind: 'service', role: 'ingest' });
  assert.equal(principalFor('svc-root', nodes), null);
  assert.equal(principalFor('nam-loong-99', nodes), null);
});

test('a node publishes only its own readings and status', () => {
  assert.equal(authorizePublish(node, 'ews/v1/readings/san-thang-01').ok, true);
  assert.equal(authorizePublish(node, 'ews/v1/status/san-thang-01').ok, true);
  const other = authorizePublish(node, 'ews/v1/readings/san-thang-02');
  assert.deepEqual(other, { ok: false, reason: 'node san-thang-01 may not publish for node san-thang-02' });
  assert.equal(authorizePublish(node, 'ews/v1/danger/san-thang').ok, false);
  assert.equal(authorizePublish(node, 'ews/v1/events/fire-confirmed/san-thang').ok, false);
  assert.equal(authorizePublish(node, 'somewhere/else').ok, false);
});

test('nodes cannot subscribe; $SYS and wildcards over everything stay closed', () => {
  assert.equal(authorizeSubscribe(node, 'ews/v1/readings/san-thang-01').ok, false);
  assert.equal(authorizeSubscribe(svc('observer'), '$SYS/#').ok, false);
  assert.equal(authorizeSubscribe(svc('observer'), '#').ok, false);
  assert.equal(authorizePublish(svc('rules'), '$SYS/broker/x').ok, false);
});

test('services get what their role needs and nothing more', () => {
  assert.equal(authorizeSubscribe(svc('ingest'), 'ews/v1/readings/+').ok, true);
  assert.equal(authorizeSubscribe(svc('ingest'), 'ews/v1/readings/san-thang-01').ok, true);
  assert.equal(authorizeSubscribe(svc('ingest'), 'ews/v1/events/#').ok, false);
  assert.equal(authorizePublish(svc('ingest'), 'ews/v1/deadletter/ingest').ok, true);
  assert.equal(authorizePublish(svc('ingest'), 'ews/v1/deadletter/rules').ok, false);
  assert.equal(authorizePublish(svc('ingest'), 'ews/v1/readings/san-thang-01').ok, false);
  assert.equal(authorizePublish(svc('rules'), 'ews/v1/danger/san-thang').ok, true);
  assert.equal(authorizePublish(svc('rules'), 'ews/v1/events/fire-confirmed/san-thang').ok, true);
  assert.equal(authorizePublish(svc('rules'), 'ews/v1/alerts/evt-1').ok, false);
  assert.equal(authorizeSubscribe(svc('alerts'), 'ews/v1/events/+/+').ok, true);
  assert.equal(authorizeSubscribe(svc('alerts'), 'ews/v1/events/fire-confirmed/+').ok, true);
  assert.equal(authorizeSubscribe(svc('alerts'), 'ews/v1/readings/+').ok, false);
  assert.equal(authorizePublish(svc('simulator'), 'ews/v1/readings/san-thang-02').ok, true);
  assert.equal(authorizePublish(svc('recorder'), 'ews/v1/readings/san-thang-02').ok, false);
  assert.equal(authorizeSubscribe(svc('observer'), 'ews/v1/#').ok, true);
});
