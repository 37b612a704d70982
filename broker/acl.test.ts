import { describe, expect, it } from 'vitest';
import { authorizeClientId, authorizePublish, authorizeReceive, authorizeSubscribe, principalFor, topicMatchesFilter, type Principal } from './acl.ts';

const nodes = new Set(['san-thang-01', 'san-thang-02']);
const node = principalFor('san-thang-01', nodes)!;
const svc = (role: string) => principalFor(`svc-${role}`, nodes)!;

type Action = 'publish' | 'subscribe';
const authorize = (who: Principal, action: Action, topic: string) => (action === 'publish' ? authorizePublish(who, topic) : authorizeSubscribe(who, topic));

it('usernames resolve to nodes from the registry or to known service roles', () => {
  expect(node).toStrictEqual({ kind: 'node', nodeId: 'san-thang-01' });
  expect(svc('ingest')).toStrictEqual({ kind: 'service', role: 'ingest' });
  expect(principalFor('svc-root', nodes)).toBeNull();
  expect(principalFor('nam-loong-99', nodes)).toBeNull();
});

describe('a node publishes only its own readings and status', () => {
  it.each([
    { topic: 'ews/v1/readings/san-thang-01', ok: true },
    { topic: 'ews/v1/status/san-thang-01', ok: true },
    { topic: 'ews/v1/danger/san-thang', ok: false },
    { topic: 'ews/v1/events/fire-confirmed/san-thang', ok: false },
    { topic: 'somewhere/else', ok: false },
  ])('publish $topic → $ok', ({ topic, ok }) => {
    expect(authorizePublish(node, topic).ok).toBe(ok);
  });

  it("another node's readings are refused with the reason", () => {
    expect(authorizePublish(node, 'ews/v1/readings/san-thang-02')).toStrictEqual({ ok: false, reason: 'node san-thang-01 may not publish for node san-thang-02' });
  });
});

describe('nodes cannot subscribe; $SYS and wildcards over everything stay closed', () => {
  it.each([
    { who: 'node san-thang-01', principal: node, action: 'subscribe' as const, topic: 'ews/v1/readings/san-thang-01' },
    { who: 'svc-observer', principal: svc('observer'), action: 'subscribe' as const, topic: '$SYS/#' },
    { who: 'svc-observer', principal: svc('observer'), action: 'subscribe' as const, topic: '#' },
    { who: 'svc-rules', principal: svc('rules'), action: 'publish' as const, topic: '$SYS/broker/x' },
  ])('$who may not $action $topic', ({ principal, action, topic }) => {
    expect(authorize(principal, action, topic).ok).toBe(false);
  });
});

describe('services get what their role needs and nothing more', () => {
  it.each<{ role: string; action: Action; topic: string; ok: boolean }>([
    { role: 'ingest', action: 'subscribe', topic: 'ews/v1/readings/+', ok: true },
    { role: 'ingest', action: 'subscribe', topic: 'ews/v1/readings/san-thang-01', ok: true },
    { role: 'ingest', action: 'subscribe', topic: 'ews/v1/events/#', ok: false },
    { role: 'ingest', action: 'publish', topic: 'ews/v1/deadletter/ingest', ok: true },
    { role: 'ingest', action: 'publish', topic: 'ews/v1/deadletter/rules', ok: false },
    { role: 'ingest', action: 'publish', topic: 'ews/v1/readings/san-thang-01', ok: false },
    { role: 'rules', action: 'publish', topic: 'ews/v1/danger/san-thang', ok: true },
    { role: 'rules', action: 'publish', topic: 'ews/v1/events/fire-confirmed/san-thang', ok: true },
    { role: 'rules', action: 'publish', topic: 'ews/v1/alerts/evt-1', ok: false },
    { role: 'alerts', action: 'subscribe', topic: 'ews/v1/events/+/+', ok: true },
    { role: 'alerts', action: 'subscribe', topic: 'ews/v1/events/fire-confirmed/+', ok: true },
    { role: 'alerts', action: 'subscribe', topic: 'ews/v1/readings/+', ok: false },
    { role: 'simulator', action: 'publish', topic: 'ews/v1/readings/san-thang-02', ok: true },
    { role: 'recorder', action: 'publish', topic: 'ews/v1/readings/san-thang-02', ok: false },
    { role: 'observer', action: 'subscribe', topic: 'ews/v1/#', ok: true },
    { role: 'board', action: 'subscribe', topic: 'ews/v1/danger/+', ok: true },
    { role: 'board', action: 'subscribe', topic: 'ews/v1/events/+/+', ok: true },
    { role: 'board', action: 'subscribe', topic: 'ews/v1/status/+', ok: true },
    { role: 'board', action: 'subscribe', topic: 'ews/v1/alerts/+', ok: true },
    { role: 'board', action: 'subscribe', topic: 'ews/v1/readings/+', ok: false },
    { role: 'board', action: 'subscribe', topic: 'ews/v1/deadletter/+', ok: false },
    { role: 'board', action: 'subscribe', topic: 'ews/v1/#', ok: false },
    { role: 'board', action: 'publish', topic: 'ews/v1/events/fire-cleared/san-thang', ok: false },
    { role: 'board', action: 'publish', topic: 'ews/v1/alerts/evt-1', ok: false },
    { role: 'board', action: 'publish', topic: 'ews/v1/status/san-thang-01', ok: false },
  ])('svc-$role $action $topic → $ok', ({ role, action, topic, ok }) => {
    expect(authorize(svc(role), action, topic).ok).toBe(ok);
  });
});

describe('client ids are identities', () => {
  it.each([
    { who: 'san-thang-01', clientId: 'san-thang-01', ok: true },
    { who: 'san-thang-01', clientId: 'ews-ingest', ok: false },
    { who: 'san-thang-01', clientId: 'ews-alerts', ok: false },
    { who: 'san-thang-01', clientId: 'san-thang-02', ok: false },
    { who: 'san-thang-01', clientId: 'node-san-thang-01', ok: false },
    { who: 'san-thang-01', clientId: '', ok: false },
    { who: 'svc-ingest', clientId: 'ews-ingest', ok: true },
    { who: 'svc-ingest', clientId: 'ews-ingest-bench', ok: true },
    { who: 'svc-ingest', clientId: 'ews-ingestor', ok: false },
    { who: 'svc-observer', clientId: 'ews-ingest', ok: false },
    { who: 'svc-simulator', clientId: 'ews-alerts', ok: false },
    { who: 'svc-rules', clientId: 'ews-rules-replay', ok: true },
    { who: 'svc-simulator', clientId: 'san-thang-02', ok: false },
    { who: 'svc-simulator', clientId: 'sim-replay-123', ok: true },
  ])('$who as $clientId → $ok', ({ who, clientId, ok }) => {
    expect(authorizeClientId(principalFor(who, nodes)!, clientId, nodes).ok).toBe(ok);
  });
});

describe('deliveries pass the subscribe ACL', () => {
  it.each([
    { filter: 'ews/v1/readings/+', topic: 'ews/v1/readings/a', ok: true },
    { filter: 'ews/v1/readings/+', topic: 'ews/v1/readings/a/b', ok: false },
    { filter: 'ews/v1/readings/+', topic: 'ews/v1/readings', ok: false },
    { filter: 'ews/v1/#', topic: 'ews/v1/readings/a', ok: true },
    { filter: 'ews/v1/#', topic: 'ews/v1', ok: true }, // MQTT 3.1.1 §4.7.1.2: # also matches the parent level
    { filter: 'ews/v1/events/+/+', topic: 'ews/v1/events/fire-confirmed/san-thang', ok: true },
    { filter: 'ews/v1/events/+/+', topic: 'ews/v1/danger/san-thang', ok: false },
  ])('$filter matches $topic → $ok', ({ filter, topic, ok }) => {
    expect(topicMatchesFilter(filter, topic)).toBe(ok);
  });

  it.each([
    { who: 'svc-ingest', topic: 'ews/v1/readings/san-thang-01', ok: true },
    { who: 'svc-ingest', topic: 'ews/v1/events/fire-confirmed/san-thang', ok: false },
    { who: 'svc-alerts', topic: 'ews/v1/events/fire-confirmed/san-thang', ok: true },
    { who: 'svc-alerts', topic: 'ews/v1/readings/san-thang-01', ok: false },
    { who: 'svc-observer', topic: 'ews/v1/readings/san-thang-01', ok: true },
    { who: 'svc-observer', topic: '$SYS/broker/x', ok: false },
    { who: 'svc-simulator', topic: 'ews/v1/readings/san-thang-01', ok: false },
    { who: 'san-thang-01', topic: 'ews/v1/readings/san-thang-01', ok: false },
  ])('$who receives $topic → $ok', ({ who, topic, ok }) => {
    expect(authorizeReceive(principalFor(who, nodes)!, topic).ok).toBe(ok);
  });
});

describe('the run clock moves a following pipeline\'s time: only the simulator announces it', () => {
  it.each<{ who: Principal; name: string; action: Action; topic: string; ok: boolean }>([
    { who: svc('simulator'), name: 'svc-simulator', action: 'publish', topic: 'ews/v1/clock', ok: true },
    { who: svc('rules'), name: 'svc-rules', action: 'publish', topic: 'ews/v1/clock', ok: false },
    { who: svc('recorder'), name: 'svc-recorder', action: 'publish', topic: 'ews/v1/clock', ok: false },
    { who: node, name: 'node san-thang-01', action: 'publish', topic: 'ews/v1/clock', ok: false },
    { who: svc('ingest'), name: 'svc-ingest', action: 'subscribe', topic: 'ews/v1/clock', ok: true },
    { who: svc('rules'), name: 'svc-rules', action: 'subscribe', topic: 'ews/v1/clock', ok: true },
    { who: svc('alerts'), name: 'svc-alerts', action: 'subscribe', topic: 'ews/v1/clock', ok: true },
    { who: svc('recorder'), name: 'svc-recorder', action: 'subscribe', topic: 'ews/v1/clock', ok: false },
    { who: svc('rules'), name: 'svc-rules', action: 'publish', topic: 'ews/v1/clock/pipeline/rules', ok: true },
    { who: svc('rules'), name: 'svc-rules', action: 'publish', topic: 'ews/v1/clock/pipeline/ingest', ok: false },
    { who: svc('ingest'), name: 'svc-ingest', action: 'publish', topic: 'ews/v1/clock/pipeline/ingest', ok: true },
    { who: svc('simulator'), name: 'svc-simulator', action: 'publish', topic: 'ews/v1/clock/pipeline/rules', ok: false },
    { who: svc('simulator'), name: 'svc-simulator', action: 'subscribe', topic: 'ews/v1/clock/pipeline/+', ok: true },
    { who: svc('simulator'), name: 'svc-simulator', action: 'subscribe', topic: 'ews/v1/clock', ok: true },
    { who: svc('simulator'), name: 'svc-simulator', action: 'subscribe', topic: 'ews/v1/readings/+', ok: false },
  ])('$name $action $topic → $ok', ({ who, action, topic, ok }) => {
    expect(authorize(who, action, topic).ok).toBe(ok);
  });
});

describe('drills', () => {
  const everyone = [svc('alerts'), svc('rules'), svc('simulator'), svc('board'), svc('ingest'), svc('recorder'), svc('observer'), node];
  it.each([
    { topic: 'ews/v1/drill/alerts/drill-san-thang-x', publishers: ['svc-alerts'] },
    // Alert drills are announced by alerts; what rules detects on a sensor drill's readings by rules.
    { topic: 'ews/v1/drill/events/fire-confirmed/san-thang', publishers: ['svc-alerts', 'svc-rules'] },
    // A sensor drill's plume: the simulator account only — never a node, even for its own id.
    { topic: 'ews/v1/drill/readings/nam-loong-01', publishers: ['svc-simulator'] },
    // A sensor drill request (the board's form, the schedule): alerts alone; the board asks alerts through its API.
    { topic: 'ews/v1/drill/requests/san-thang', publishers: ['svc-alerts'] },
  ])('only $publishers may publish $topic', ({ topic, publishers }) => {
    const allowed = everyone.filter((who) => authorizePublish(who, topic).ok).map((who) => (who.kind === 'node' ? who.nodeId : `svc-${who.role}`));
    expect(allowed).toStrictEqual(publishers);
  });
  it('a node is refused its own drill reading with a reason', () => {
    expect(authorizePublish(node, 'ews/v1/drill/readings/san-thang-01')).toStrictEqual({ ok: false, reason: 'node san-thang-01 may publish only its own readings and status' });
  });
  it('the board and recorder cannot receive drills; ingest and rules get drill readings only; alerts drill events; the observer all', () => {
    expect(authorizeReceive(svc('board'), 'ews/v1/drill/alerts/drill-san-thang-x').ok).toBe(false);
    expect(authorizeReceive(svc('recorder'), 'ews/v1/drill/readings/nam-loong-01').ok).toBe(false);
    expect(authorizeReceive(svc('rules'), 'ews/v1/drill/events/fire-confirmed/san-thang').ok).toBe(false);
    expect(authorizeReceive(svc('rules'), 'ews/v1/drill/readings/nam-loong-01').ok).toBe(true);
    expect(authorizeReceive(svc('ingest'), 'ews/v1/drill/readings/nam-loong-01').ok).toBe(true);
    expect(authorizeReceive(svc('alerts'), 'ews/v1/drill/events/fire-suspected/san-thang').ok).toBe(true);
    expect(authorizeReceive(svc('alerts'), 'ews/v1/drill/readings/nam-loong-01').ok).toBe(false);
    expect(authorizeReceive(svc('observer'), 'ews/v1/drill/events/fire-confirmed/san-thang').ok).toBe(true);
  });
  it('only the drill player (svc-simulator) receives sensor drill requests; a node can neither send nor read one', () => {
    const receivers = everyone.filter((who) => who.kind === 'service' && who.role !== 'observer' && authorizeReceive(who, 'ews/v1/drill/requests/san-thang').ok);
    expect(receivers).toStrictEqual([svc('simulator')]);
    expect(authorizeSubscribe(svc('simulator'), 'ews/v1/drill/requests/+').ok).toBe(true);
    expect(authorizeSubscribe(svc('alerts'), 'ews/v1/drill/requests/+').ok).toBe(false);
    expect(authorizePublish(node, 'ews/v1/drill/requests/san-thang')).toStrictEqual({ ok: false, reason: 'node san-thang-01 may publish only its own readings and status' });
    expect(authorizePublish(svc('board'), 'ews/v1/drill/requests/san-thang')).toStrictEqual({ ok: false, reason: 'service board may not publish to drill/requests' });
  });
});
