// One writer interface over the InfluxDB versions we meet in the field:
//  - v2: @influxdata/influxdb-client → /api/v2/write (InfluxDB 1.8+, 2.x, 3.x)
//  - v1: the /write endpoint of older 1.x servers (Debian's 1.6 among them)
// Neither buffers or retries: the caller's durable spool owns that, so nothing lives only in memory.
import { HttpError, InfluxDB, setLogger, type WriteApi } from '@influxdata/influxdb-client';
import { gzipSync } from 'node:zlib';
import type { Env } from '../contracts/config.ts';
import type { Logger } from './logger.ts';

/** A write InfluxDB refused for the data itself (400/413/422…): retrying the same lines cannot help. */
export class PermanentWriteError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'PermanentWriteError';
  }
}

export interface LineWriter {
  /** Writes line-protocol lines with millisecond timestamps; resolves once InfluxDB accepted them. */
  write(lines: readonly string[]): Promise<void>;
  readonly description: string;
  close(): Promise<void>;
}

/**
 * Writes a batch; when InfluxDB refuses it for its content, halves it until the refused lines are
 * found, so one bad line costs only itself and every good line of the batch is written. Returns
 * the indexes of the refused lines with InfluxDB's reason. Other errors are thrown: the caller
 * retries the whole batch later, and writing a point again is a no-op (same series and time).
 */
export async function writeIsolatingRefused(writer: LineWriter, lines: readonly string[]): Promise<{ index: number; error: string }[]> {
  const refused: { index: number; error: string }[] = [];
  const attempt = async (from: number, to: number): Promise<void> => {
    try {
      await writer.write(lines.slice(from, to));
    } catch (err) {
      if (!(err instanceof PermanentWriteError)) throw err;
      if (to - from === 1) {
        refused.push({ index: from, error: err.message });
        return;
      }
      const mid = (from + to) >>> 1;
      await attempt(from, mid);
      await attempt(mid, to);
    }
  };
  if (lines.length > 0) await attempt(0, lines.length);
  return refused;
}

const GZIP_THRESHOLD_BYTES = 1000;

/** 408/429/5xx and network errors are worth retrying; other 4xx mean the lines themselves are bad. */
function isPermanentStatus(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429 && status !== 404;
}

export class V1HttpLineWriter implements LineWriter {
  readonly description: string;
  private readonly endpoint: string;
  private readonly headers: Record<string, string>;

  constructor(
    url: string,
    database: string,
    opts: { retentionPolicy?: string | undefined; username?: string | undefined; password?: string | undefined; token?: string | undefined; timeoutMs: number },
  ) {
    const params = new URLSearchParams({ db: database, precision: 'ms' });
    if (opts.retentionPolicy) params.set('rp', opts.retentionPolicy);
    this.endpoint = `${url.replace(/\/$/, '')}/write?${params}`;
    this.headers = { 'content-type': 'text/plain; charset=utf-8' };
    if (opts.token) this.headers.authorization = `Token ${opts.token}`;
    else if (opts.username) this.headers.authorization = `Basic ${Buffer.from(`${opts.username}:${opts.password ?? ''}`).toString('base64')}`;
    this.timeoutMs = opts.timeoutMs;
    this.description = `InfluxDB v1 /write at ${url} db=${database}`;
  }
  private readonly timeoutMs: number;

  async write(lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    const text = Buffer.from(lines.join('\n'));
    const gzip = text.length > GZIP_THRESHOLD_BYTES;
    const res = await fetch(this.endpoint, {
      method: 'POST',
      headers: gzip ? { ...this.headers, 'content-encoding': 'gzip' } : this.headers,
      body: gzip ? gzipSync(text) : text,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (res.status === 204 || res.status === 200) {
      await res.arrayBuffer();
      return;
    }
    const body = (await res.text()).slice(0, 500);
    if (isPermanentStatus(res.status)) throw new PermanentWriteError(`InfluxDB refused the batch (${res.status}): ${body}`, res.status);
    throw new Error(`InfluxDB write failed (${res.status}): ${body}`);
  }

  async close(): Promise<void> {}
}

export class ClientLineWriter implements LineWriter {
  readonly description: string;
  private readonly writeApi: WriteApi;

  constructor(url: string, token: string, org: string, bucket: string, timeoutMs: number) {
    const influx = new InfluxDB({ url, token, timeout: timeoutMs });
    // No client-side batching, timers or retry buffer: one call = one request, the spool retries.
    this.writeApi = influx.getWriteApi(org, bucket, 'ms', {
      // Larger than any spool batch, so one write() is one request (the client preallocates this many slots).
      batchSize: 100_000,
      flushInterval: 0,
      maxRetries: 0,
      maxBufferLines: 0,
      gzipThreshold: GZIP_THRESHOLD_BYTES,
    });
    this.description = `InfluxDB ${url} bucket=${bucket}${org ? ` org=${org}` : ''} (influxdb-client)`;
  }

  async write(lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    this.writeApi.writeRecords(lines as string[]);
    try {
      await this.writeApi.flush();
    } catch (err) {
      if (err instanceof HttpError && isPermanentStatus(err.statusCode)) {
        throw new PermanentWriteError(`InfluxDB refused the batch (${err.statusCode}): ${err.body ?? err.message}`, err.statusCode);
      }
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.writeApi.close().catch(() => undefined);
  }
}

/** The writer the configuration asks for, or null when no InfluxDB is configured (local store only). */
export function createLineWriter(env: Env, log: Logger): LineWriter | null {
  if (!env.INFLUX_URL) return null;
  // Route the client library's own messages into our structured log.
  setLogger({
    error: (message, error) => log.debug({ err: error instanceof Error ? error.message : error }, `influxdb-client: ${message}`),
    warn: (message, error) => log.debug({ err: error instanceof Error ? error.message : error }, `influxdb-client: ${message}`),
  });
  if (env.INFLUX_API === 'v1') {
    return new V1HttpLineWriter(env.INFLUX_URL, env.INFLUX_DATABASE, {
      retentionPolicy: env.INFLUX_RETENTION_POLICY,
      username: env.INFLUX_USERNAME,
      password: env.INFLUX_PASSWORD,
      token: env.INFLUX_TOKEN,
      timeoutMs: env.INFLUX_TIMEOUT_MS,
    });
  }
  // InfluxDB 1.8 speaks /api/v2/write with token "user:password" and bucket "db/rp".
  const token = env.INFLUX_TOKEN ?? (env.INFLUX_USERNAME ? `${env.INFLUX_USERNAME}:${env.INFLUX_PASSWORD ?? ''}` : '');
  return new ClientLineWriter(env.INFLUX_URL, token, env.INFLUX_ORG, env.INFLUX_BUCKET, env.INFLUX_TIMEOUT_MS);
}
