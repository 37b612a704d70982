import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import mqttPacket from 'mqtt-packet';
import { guardConnection, MqttFrameScanner } from './frame-guard.ts';

const publish = (payloadBytes: number) => mqttPacket.generate({ cmd: 'publish', topic: 'ews/v1/readings/a', payload: Buffer.alloc(payloadBytes), qos: 1, messageId: 1, dup: false, retain: false });
const ping = mqttPacket.generate({ cmd: 'pingreq' });

describe('MqttFrameScanner', () => {
  it('passes packets under the limit, however the stream is cut', () => {
    const stream = Buffer.concat([publish(100), ping, publish(1000), ping, publish(0)]);
    for (const cut of [1, 2, 3, 7, 64, stream.length]) {
      const scanner = new MqttFrameScanner(2000);
      for (let i = 0; i < stream.length; i += cut) expect(scanner.scan(stream.subarray(i, i + cut))).toBeNull();
    }
  });

  it('refuses a declared length over the limit from the header alone, before the body', () => {
    // 268,435,455 bytes declared: the largest MQTT remaining length; only 5 header bytes sent.
    const header = Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]);
    expect(new MqttFrameScanner(65_536).scan(header)).toBe('declared packet of 268435455 bytes exceeds 65536');
    const scanner = new MqttFrameScanner(2000);
    expect(scanner.scan(publish(10))).toBeNull();
    expect(scanner.scan(publish(3000).subarray(0, 4))).toMatch(/declared packet of 30\d\d bytes exceeds 2000/);
  });

  it('refuses a remaining length of more than four bytes', () => {
    expect(new MqttFrameScanner(1e9).scan(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01]))).toMatch(/malformed/);
  });
});

describe('guardConnection', () => {
  it('destroys the connection at the first oversized header and hands nothing of it on', () => {
    const conn = new PassThrough();
    const onViolation = vi.fn();
    guardConnection(conn, { maxRemainingLength: 1000, maxPreAuthBytes: 1e9, onViolation });
    conn.write(Buffer.concat([Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]), Buffer.alloc(100)]));
    expect(conn.read()).toBeNull();
    expect(onViolation).toHaveBeenCalledExactlyOnceWith('declared packet of 268435455 bytes exceeds 1000');
    expect(conn.destroyed).toBe(true);
  });

  it('bounds the bytes before authentication, not after', () => {
    const conn = new PassThrough();
    const onViolation = vi.fn();
    const guard = guardConnection(conn, { maxRemainingLength: 10_000, maxPreAuthBytes: 1500, onViolation });
    conn.write(publish(1000));
    expect(conn.read()).not.toBeNull();
    guard.markAuthenticated();
    for (let i = 0; i < 5; i++) {
      conn.write(publish(1000));
      expect(conn.read()).not.toBeNull();
    }
    expect(onViolation).not.toHaveBeenCalled();

    const other = new PassThrough();
    guardConnection(other, { maxRemainingLength: 10_000, maxPreAuthBytes: 1500, onViolation });
    other.write(publish(1000));
    expect(other.read()).not.toBeNull();
    other.write(publish(1000));
    expect(other.read()).toBeNull();
    expect(onViolation).toHaveBeenCalledExactlyOnceWith(expect.stringMatching(/^sent 20\d\d bytes before authenticating \(limit 1500\)$/));
  });
});
