import { describe, expect, it } from 'vitest';
import { brokerConnectArgs, brokerServer, brokerUrls, rotated, spreadIndex } from './broker-urls.ts';
import { envSchema } from '../contracts/config.ts';

describe('broker URL lists (MQTT_URL)', () => {
  it('one URL connects as before: no servers option', () => {
    expect(brokerConnectArgs('mqtt://10.0.0.5:1883', { clientId: 'x' })).toEqual(['mqtt://10.0.0.5:1883', { clientId: 'x' }]);
  });

  it('several URLs become mqtt.js servers, in order, with default ports filled in', () => {
    const [first, options] = brokerConnectArgs('mqtt://a:1883, mqtts://b ,ws://c:9001', {});
    expect(first).toBe('mqtt://a:1883');
    expect(options.servers).toEqual([
      { host: 'a', port: 1883, protocol: 'mqtt' },
      { host: 'b', port: 8883, protocol: 'mqtts' },
      { host: 'c', port: 9001, protocol: 'ws' },
    ]);
  });

  it('a node starts on its own broker: the list is rotated by its spread index', () => {
    const [first, options] = brokerConnectArgs('mqtt://a:1,mqtt://b:2', {}, 1);
    expect(first).toBe('mqtt://b:2');
    expect(options.servers?.map((s) => s.host)).toEqual(['b', 'a']);
  });

  it.each([
    [[1, 2, 3], 0, [1, 2, 3]],
    [[1, 2, 3], 4, [2, 3, 1]],
    [[1, 2, 3], -1, [3, 1, 2]],
    [[], 5, []],
  ])('rotated(%j, %i) = %j', (items, k, expected) => {
    expect(rotated(items, k)).toEqual(expected);
  });

  it('spreads the 33 site nodes over two brokers roughly evenly', () => {
    const ids = Array.from({ length: 33 }, (_, i) => `zone-${String(i).padStart(2, '0')}`);
    const onFirst = ids.filter((id) => spreadIndex(id) % 2 === 0).length;
    expect(onFirst).toBeGreaterThan(8);
    expect(onFirst).toBeLessThan(25);
  });

  it('IPv6 hosts lose their brackets', () => {
    expect(brokerServer('mqtt://[::1]:1884')).toEqual({ host: '::1', port: 1884, protocol: 'mqtt' });
    expect(brokerUrls(' mqtt://a:1 ,, mqtt://b:2 ')).toEqual(['mqtt://a:1', 'mqtt://b:2']);
  });

  it.each(['mqtt://a:1883,http://b:80', 'a:1883', 'mqtt://a:1883,', 'redis://a:6379'])('MQTT_URL=%s is refused with a message saying what is expected', (value) => {
    const parsed = envSchema.safeParse({ MQTT_URL: value });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(/is not a broker URL: expected mqtt:\/\/host:port/);
  });

  it('MQTT_URL with two brokers is accepted', () => {
    expect(envSchema.parse({ MQTT_URL: 'mqtt://a:1883,mqtt://b:1883' }).MQTT_URL).toBe('mqtt://a:1883,mqtt://b:1883');
  });
});
