import { describe, expect, it, vi } from 'vitest';
import { ApiFailover, apiUrls, tryOrder, worthTryingNext } from './api-failover.ts';
import { FetchError } from './fetch-json.ts';
import { boardEnvSchema, drillCliEnvSchema } from '../contracts/config.ts';

const refused = () => new FetchError('GET http://a/api/alerts: ECONNREFUSED', null, { network: 'ECONNREFUSED' });
const timedOut = () => new FetchError('GET http://a/api/alerts: no answer within 5000 ms', null, { network: 'TIMEOUT' });
const cutOff = () => new FetchError('POST http://a/api/drills: UND_ERR_SOCKET', null, { network: 'UND_ERR_SOCKET' });
const http = (status: number) => new FetchError(`HTTP ${status}`, status);

describe('which failures go on to the next alerts URL', () => {
  it.each<[string, FetchError | Error, boolean, boolean]>([
    // [what, error, a GET (retry-safe) goes on, a drill start (not retry-safe) goes on]
    ['connection refused (a standby does not listen)', refused(), true, true],
    ['host not found', new FetchError('x', null, { network: 'ENOTFOUND' }), true, true],
    ['503 (starting, or not the leader)', http(503), true, true],
    ['no answer in time', timedOut(), true, false],
    ['connection cut mid-request (the leader killed)', cutOff(), true, false],
    ['500', http(500), true, false],
    ['502 from a proxy', http(502), true, false],
    ['404: the service answered', http(404), false, false],
    ['409: the drill exists', http(409), false, false],
    ['401: a wrong key is wrong everywhere', http(401), false, false],
    ['an answer that is not JSON (status 200)', new FetchError('not JSON', 200), false, false],
    ['not a fetch error (a bug)', new Error('boom'), false, false],
  ])('%s', (_what, err, get, post) => {
    expect(worthTryingNext(err, true)).toBe(get);
    expect(worthTryingNext(err, false)).toBe(post);
  });
});

describe('ApiFailover', () => {
  it('splits and trims a comma-separated list', () => {
    expect(apiUrls(' http://a:8090 ,http://b:8090,, ')).toEqual(['http://a:8090', 'http://b:8090']);
  });

  it.each([
    [3, 0, [0, 1, 2]],
    [3, 2, [2, 0, 1]],
    [1, 0, [0]],
  ])('tries %i URLs from the preferred one (%i): %j', (count, preferred, order) => {
    expect(tryOrder(count, preferred)).toEqual(order);
  });

  it('one URL: its failure is thrown as it was', async () => {
    const api = new ApiFailover('http://a:8090');
    const err = refused();
    await expect(api.call(() => Promise.reject(err), { retrySafe: true })).rejects.toBe(err);
  });

  it('the leader refused (a standby now): the next answers, and is tried first from then on', async () => {
    const api = new ApiFailover('http://a:8090,http://b:8090');
    const attempt = vi.fn(async (base: string) => {
      if (base === 'http://a:8090') throw refused();
      return `alerts from ${base}`;
    });
    await expect(api.call(attempt, { retrySafe: true })).resolves.toBe('alerts from http://b:8090');
    expect(attempt.mock.calls.map((c) => c[0])).toEqual(['http://a:8090', 'http://b:8090']);
    expect(api.current).toBe('http://b:8090');
    attempt.mockClear();
    await api.call(attempt, { retrySafe: true });
    expect(attempt.mock.calls.map((c) => c[0])).toEqual(['http://b:8090']);
  });

  it('the kept one dies too (the old leader came back as the leader): back to the first', async () => {
    const api = new ApiFailover('http://a:8090,http://b:8090');
    let leader = 'http://b:8090';
    const attempt = async (base: string) => {
      if (base !== leader) throw refused();
      return base;
    };
    await api.call(attempt, { retrySafe: true });
    leader = 'http://a:8090';
    await expect(api.call(attempt, { retrySafe: true })).resolves.toBe('http://a:8090');
    expect(api.current).toBe('http://a:8090');
  });

  it('a drill start that timed out is not sent to the other one (the first may have started it)', async () => {
    const api = new ApiFailover('http://a:8090,http://b:8090');
    const err = timedOut();
    const attempt = vi.fn(async () => {
      throw err;
    });
    await expect(api.call(attempt, { retrySafe: false })).rejects.toBe(err);
    expect(attempt).toHaveBeenCalledTimes(1);
  });

  it('a 4xx is the leader answering: no other URL is tried, and it is kept', async () => {
    const api = new ApiFailover('http://a:8090,http://b:8090');
    await expect(api.call(async (base) => (base === 'http://a:8090' ? Promise.reject(refused()) : Promise.reject(http(404))), { retrySafe: true })).rejects.toMatchObject({ status: 404 });
    expect(api.current).toBe('http://b:8090');
  });

  it('none answers: the last failure is thrown, and the preferred one stays', async () => {
    const api = new ApiFailover('http://a:8090,http://b:8090');
    const attempt = vi.fn(async (base: string) => Promise.reject(base === 'http://a:8090' ? refused() : http(503)));
    await expect(api.call(attempt, { retrySafe: false })).rejects.toMatchObject({ status: 503 });
    expect(attempt).toHaveBeenCalledTimes(2);
    expect(api.current).toBe('http://a:8090');
  });

  it('fetchJson: a GET is retry-safe, a POST is not unless said so', async () => {
    const api = new ApiFailover('http://a:8090,http://b:8090');
    const call = vi.spyOn(api, 'call').mockResolvedValue({});
    const schema = boardEnvSchema; // any schema: call is replaced
    await api.fetchJson('/api/alerts', { timeoutMs: 1, maxBytes: 1 }, schema);
    await api.fetchJson('/api/drills', { method: 'POST', timeoutMs: 1, maxBytes: 1 }, schema);
    await api.fetchJson('/api/ack', { method: 'POST', retrySafe: true, timeoutMs: 1, maxBytes: 1 }, schema);
    expect(call.mock.calls.map((c) => c[1])).toEqual([{ retrySafe: true }, { retrySafe: false }, { retrySafe: true }]);
  });
});

describe('BOARD_ALERTS_URL and ALERTS_URL take a list', () => {
  it.each(['http://a:8090', 'http://alerts:8090,http://alerts-b:8090', 'https://a.example, http://10.0.0.2:8090'])('%s is accepted as given', (value) => {
    expect(boardEnvSchema.parse({ BOARD_ALERTS_URL: value }).BOARD_ALERTS_URL).toBe(value);
    expect(drillCliEnvSchema.parse({ ALERTS_URL: value, ALERTS_API_KEY: 'k'.repeat(16) }).ALERTS_URL).toBe(value);
  });
  it.each(['http://a:8090,notaurl', 'ftp://a:21', 'http://a:8090,,'])('%s is refused, naming the bad URL', (value) => {
    const r = boardEnvSchema.safeParse({ BOARD_ALERTS_URL: value });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(/is not an API URL/);
  });
});
