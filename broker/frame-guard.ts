// Memory before login. aedes' MQTT parser (mqtt-packet) buffers a packet until all of it has
// arrived and only then hands it to the broker, where the payload limit is checked: a socket that
// declares a 268 MB packet is allowed to send 268 MB into the heap first, authenticated or not.
// The guard reads each packet's fixed header as the bytes arrive and closes the connection as soon
// as a declared length exceeds the limit, and bounds what a connection may send before it has
// logged in. It sits on the connection's read() (aedes pulls with conn.read() on 'readable'), so
// the hot path gets no extra stream and no copy.
import type { Duplex } from 'node:stream';

/** Walks MQTT fixed headers across chunk boundaries; returns why a stream must be closed, or null. */
export class MqttFrameScanner {
  private bodyLeft = 0;
  private inHeader = false;
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;

  constructor(readonly maxRemainingLength: number) {}

  scan(chunk: Uint8Array): string | null {
    let i = 0;
    while (i < chunk.length) {
      if (this.bodyLeft > 0) {
        const n = Math.min(this.bodyLeft, chunk.length - i);
        this.bodyLeft -= n;
        i += n;
        continue;
      }
      if (!this.inHeader) {
        // First byte: packet type and flags. The remaining length follows.
        this.inHeader = true;
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
        i += 1;
        continue;
      }
      const byte = chunk[i] as number;
      i += 1;
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes += 1;
      if (byte & 0x80) {
        if (this.lengthBytes >= 4) return 'malformed remaining length (more than 4 bytes)';
        continue;
      }
      if (this.length > this.maxRemainingLength) return `declared packet of ${this.length} bytes exceeds ${this.maxRemainingLength}`;
      this.bodyLeft = this.length;
      this.inHeader = false;
    }
    return null;
  }
}

export interface ConnectionGuardOptions {
  maxRemainingLength: number;
  /** Bytes a connection may send before it has authenticated (CONNECT plus what a node pipelines after it). */
  maxPreAuthBytes: number;
  /** Called once, before the connection is destroyed. */
  onViolation: (reason: string) => void;
}

export interface ConnectionGuard {
  readonly authenticated: boolean;
  markAuthenticated(): void;
}

/** Installs the guard on a connection aedes is about to handle. */
export function guardConnection(conn: Duplex, opts: ConnectionGuardOptions): ConnectionGuard {
  const scanner = new MqttFrameScanner(opts.maxRemainingLength);
  let authenticated = false;
  let preAuthBytes = 0;
  let violated = false;
  const read = conn.read.bind(conn);
  conn.read = (size?: number) => {
    if (violated) return null;
    const chunk = read(size) as Buffer | string | null;
    if (chunk === null || typeof chunk === 'string') return chunk;
    let reason = scanner.scan(chunk);
    if (!reason && !authenticated) {
      preAuthBytes += chunk.length;
      if (preAuthBytes > opts.maxPreAuthBytes) reason = `sent ${preAuthBytes} bytes before authenticating (limit ${opts.maxPreAuthBytes})`;
    }
    if (reason) {
      violated = true;
      opts.onViolation(reason);
      conn.destroy();
      return null;
    }
    return chunk;
  };
  return {
    get authenticated() {
      return authenticated;
    },
    markAuthenticated() {
      authenticated = true;
    },
  };
}
