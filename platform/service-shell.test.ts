import type { IPublishPacket } from 'mqtt';
import { describe, expect, it, vi } from 'vitest';
import { envSchema, rulesEnvSchema } from '../contracts/config.ts';
import { derivePassword } from './credentials.ts';
import { createLogger } from './logger.ts';
import { ConfigError, parseEnv } from './config-error.ts';
import { awaitLeadership, healthWithLeadership, leaseInOneProcessError, routeFor, serviceContextFromEnv, serviceCredentials, topicMatches, type Leadership, type MessageRoute, type Stoppable } from './service-shell.ts';

describe('topicMatches (MQTT 3.1.1 §4.7 filters)', () => {
  it.each([
    ['ews/v1/readings/+', 'ews/v1/readings/san-thang-01', true],
    ['ews/v1/readings/+', 'ews/v1/readings/san-thang-01/x', false],
    ['ews/v1/readings/+', 'ews/v1/status/san-thang-01', false],
    ['ews/v1/events/+/+', 'ews/v1/events/fire-suspected/san-thang', true],
    ['ews/v1/#', 'ews/v1/readings/a', true],
    ['ews/v1/#', 'ews/v1', true],
    ['#', '$SYS/broker/load', false],
    ['+/v1/readings/+', '$x/v1/readings/a', false],
    ['$share/ingest/ews/v1/readings/+', 'ews/v1/readings/san-thang-01', true],
    ['$share/ingest/ews/v1/readings/+', 'ews/v1/status/san-thang-01', false],
    ['ews/v1/clock', 'ews/v1/clock', true],
    ['ews/v1/clock', 'ews/v1/clock/pipeline/rules', false],
  ])('%s ~ %s → %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });
});

describe('routeFor: one handler per subscription', () => {
  const packet = (topic: string) => ({ topic, payload: Buffer.from('{}'), qos: 1, messageId: 1 }) as unknown as IPublishPacket;
  const readings = vi.fn();
  const status = vi.fn();
  const routes: MessageRoute[] = [
    { filter: 'ews/v1/readings/+', handle: readings },
    { filter: 'ews/v1/status/+', handle: status },
  ];

  it('each message reaches the handler of its subscription, with ack and readNext', () => {
    const ack = vi.fn();
    const readNext = vi.fn();
    routeFor(routes, 'ews/v1/status/a')(packet('ews/v1/status/a'), ack, readNext);
    expect(status).toHaveBeenCalledExactlyOnceWith(expect.objectContaining({ topic: 'ews/v1/status/a' }), ack, readNext);
    expect(routeFor(routes, 'ews/v1/readings/a')).toBe(readings);
  });

  it('a topic no subscription matches goes to the first route (whose checks refuse it as unknown-topic)', () => {
    expect(routeFor(routes, 'ews/v1/danger/san-thang')).toBe(readings);
  });

  it('a session without routes is refused', () => {
    expect(() => routeFor([], 'x')).toThrow('at least one route');
  });
});

describe('ServiceContext: what every start<Name>Service takes', () => {
  const SECRET = 'service-shell-unit-secret-0123';

  it('loads the site from EWS_SITE_FILE and derives each service\'s login from the broker secret', () => {
    const context = serviceContextFromEnv(envSchema.parse({ EWS_BROKER_SECRET: SECRET }), createLogger('test', 'silent'));
    expect(context.site.nodes.length).toBeGreaterThan(0);
    expect(context.clock).toBeUndefined();
    expect(serviceCredentials(context, 'rules')).toStrictEqual({ username: 'svc-rules', password: derivePassword(SECRET, 'svc-rules') });
    expect(serviceCredentials(context, 'alerts')).toStrictEqual({ username: 'svc-alerts', password: derivePassword(SECRET, 'svc-alerts') });
  });

  it('MQTT_USERNAME and MQTT_PASSWORD win, and then the secret is never asked for', () => {
    const base = serviceContextFromEnv(envSchema.parse({ MQTT_USERNAME: 'ops', MQTT_PASSWORD: 'from-the-vault' }), createLogger('test', 'silent'));
    const secret = vi.fn(() => SECRET);
    expect(serviceCredentials({ ...base, secret }, 'ingest')).toStrictEqual({ username: 'ops', password: 'from-the-vault' });
    expect(secret).not.toHaveBeenCalled();
  });
});

describe('fire-ews start takes no lease: the lease variables are refused, not ignored', () => {
  it.each<[Record<string, string>, string | null]>([
    [{}, null],
    // an operator's .env from .env.example: TTL and prefix set, no Redis URL
    [{ LEADER_LEASE_REDIS_URL: '', LEADER_LEASE_TTL_MS: '15000', LEADER_LEASE_PREFIX: 'ews:lease:' }, null],
    [{ LEADER_LEASE_REDIS_URL: 'redis://:pw@redis:6379' }, 'LEADER_LEASE_REDIS_URL'],
    [{ LEADER_LEASE_REQUIRED: 'true' }, 'LEADER_LEASE_REQUIRED'],
  ])('%j → %s', (source, named) => {
    const err = leaseInOneProcessError(parseEnv(rulesEnvSchema, source));
    if (named === null) return expect(err).toBeNull();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err?.message).toMatch(new RegExp(`^${named}: fire-ews start runs every service in one process and takes no lease: standby services are separate \`fire-ews rules\` and \`fire-ews alerts run\` processes`));
    expect(err?.message.split('\n')).toHaveLength(1);
  });
});

describe('standby services: the lease variables and a standby\'s health', () => {
  it('without LEADER_LEASE_REDIS_URL the service acts alone; a process marked LEADER_LEASE_REQUIRED refuses to start instead', async () => {
    const log = createLogger('test', 'silent');
    const alone = parseEnv(rulesEnvSchema, {});
    expect(alone).toMatchObject({ LEADER_LEASE_TTL_MS: 15_000, LEADER_LEASE_PREFIX: 'ews:lease:', LEADER_LEASE_REQUIRED: false });
    const started: Stoppable[] = [];
    await expect(awaitLeadership(alone, 'rules', log, started)).resolves.toBe('alone');
    const refused = awaitLeadership(parseEnv(rulesEnvSchema, { LEADER_LEASE_REQUIRED: 'true' }), 'alerts', log, started);
    await expect(refused).rejects.toBeInstanceOf(ConfigError);
    await expect(refused).rejects.toThrow(/^LEADER_LEASE_REDIS_URL: not set, but LEADER_LEASE_REQUIRED=true: this alerts process is meant as a standby/);
    expect(started, 'nothing to stop: no lease was competed for').toStrictEqual([]);
  });

  it.each([
    [{ LEADER_LEASE_REDIS_URL: 'http://127.0.0.1:6379' }, /LEADER_LEASE_REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/],
    [{ LEADER_LEASE_TTL_MS: '500' }, /LEADER_LEASE_TTL_MS: expected at least 1000 ms \(got "500"\)/],
    [{ LEADER_LEASE_PREFIX: 'ews lease' }, /LEADER_LEASE_PREFIX: must be a Redis key prefix/],
    [{ LEADER_LEASE_REQUIRED: 'maybe' }, /LEADER_LEASE_REQUIRED/],
  ])('%o is refused, naming the variable', (env, message) => {
    expect(() => parseEnv(rulesEnvSchema, env)).toThrow(message);
  });

  it.each<[Leadership, { health: () => { ok: boolean; detail: Record<string, unknown> } } | null, { ok: boolean; detail: Record<string, unknown> }]>([
    ['standby', null, { ok: true, detail: { leadership: 'standby' } }],
    ['leader', null, { ok: false, detail: { leadership: 'leader', starting: true } }],
    ['alone', null, { ok: false, detail: { leadership: 'alone', starting: true } }],
    ['leader', { health: () => ({ ok: false, detail: { mqtt: false } }) }, { ok: false, detail: { leadership: 'leader', mqtt: false } }],
    ['alone', { health: () => ({ ok: true, detail: { mqtt: true } }) }, { ok: true, detail: { leadership: 'alone', mqtt: true } }],
  ])('/healthz of a %s', (leadership, running, expected) => {
    expect(healthWithLeadership(() => leadership, () => running)()).toStrictEqual(expected);
  });
});
