// InfluxDB 2.x/3.x cannot run here (Debian ships 1.6): the v2 path is tested against a local double
// of POST /api/v2/write that checks the official contract (path, org/bucket/precision query,
// `Authorization: Token`, gzip body, line protocol) and can fail on demand. The v1 path is tested
// against the real Debian influxd in test/integration/.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { ClientLineWriter, PermanentWriteError, writeIsolatingRefused, type LineWriter } from './influx-writer.ts';

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function startDouble() {
  const received: string[][] = [];
  let failWith: number | null = null;
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const body = await readBody(req);
    const problems: string[] = [];
    if (req.method !== 'POST' || url.pathname !== '/api/v2/write') problems.push(`bad path ${req.method} ${url.pathname}`);
    if (url.searchParams.get('org') !== 'forest' || url.searchParams.get('bucket') !== 'ews' || url.searchParams.get('precision') !== 'ms') problems.push(`bad query ${url.search}`);
    if (req.headers.authorization !== 'Token secret-token') problems.push('bad auth');
    const text = req.headers['content-encoding'] === 'gzip' ? gunzipSync(body).toString() : body.toString();
    if (problems.length) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 'invalid', message: problems.join('; ') }));
      return;
    }
    if (failWith) {
      res.writeHead(failWith, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: failWith === 400 ? 'invalid' : 'unavailable', message: 'as asked' }));
      return;
    }
    received.push(text.split('\n'));
    res.writeHead(204);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, received, fail: (status: number | null) => (failWith = status), close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('v2 writer against the /api/v2/write double', () => {
  let double: Awaited<ReturnType<typeof startDouble>>;
  let writer: ClientLineWriter;

  beforeEach(async () => {
    double = await startDouble();
    writer = new ClientLineWriter(double.url, 'secret-token', 'forest', 'ews', 5000);
  });

  afterEach(async () => {
    await writer.close();
    await double.close();
  });

  it('v2 writer sends one gzip request per call with the token, org, bucket and ms precision', async () => {
    const lines = Array.from({ length: 300 }, (_, i) => `reading,node=san-thang-01,zone=san-thang temperature=${20 + i / 10} ${1771048740000 + i * 60000}`);
    await writer.write(lines);
    expect(double.received).toHaveLength(1);
    expect(double.received[0]).toStrictEqual(lines);
    await writer.write(lines.slice(0, 2));
    expect(double.received).toHaveLength(2);
  });

  it('v2 writer: 503 is a retryable failure, 400 a permanent one; nothing is buffered inside the client', async () => {
    double.fail(503);
    const unavailable = writer.write(['reading,node=a temperature=1 1']);
    await expect(unavailable).rejects.toBeInstanceOf(Error);
    await expect(unavailable).rejects.not.toBeInstanceOf(PermanentWriteError);
    double.fail(400);
    await expect(writer.write(['reading,node=a temperature=1 1'])).rejects.toThrow(PermanentWriteError);
    double.fail(null);
    await writer.write(['reading,node=a temperature=2 2']);
    // Only the last write arrives: failed lines are not retried behind our back (the spool owns retries).
    await new Promise((r) => setTimeout(r, 300));
    expect(double.received).toStrictEqual([['reading,node=a temperature=2 2']]);
  });
});

describe('writeIsolatingRefused', () => {
  /** A writer that refuses (400) any batch holding a line it considers bad, as InfluxDB does. */
  class RefusingWriter implements LineWriter {
    readonly description = 'double';
    readonly written: string[] = [];
    calls = 0;
    constructor(private readonly bad: (line: string) => boolean) {}
    async write(lines: readonly string[]): Promise<void> {
      this.calls += 1;
      if (lines.some(this.bad)) throw new PermanentWriteError('unable to parse: time outside range', 400);
      this.written.push(...lines);
    }
    async close(): Promise<void> {}
  }

  it('one bad line in 5,000 costs only itself: every other line is written', async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => (i === 1303 ? 'node_status,node=a online=true 253402300799000' : `reading,node=a t=${i} ${i}`));
    const writer = new RefusingWriter((l) => l.startsWith('node_status'));
    expect(await writeIsolatingRefused(writer, lines)).toStrictEqual([{ index: 1303, error: 'unable to parse: time outside range' }]);
    expect(writer.written).toStrictEqual(lines.filter((_, i) => i !== 1303));
    expect(writer.calls, 'a bisection, not one request per line').toBeLessThan(30);
  });

  it('a clean batch is one write; several bad lines are all found', async () => {
    const clean = new RefusingWriter(() => false);
    expect(await writeIsolatingRefused(clean, ['a', 'b', 'c'])).toStrictEqual([]);
    expect(clean.calls).toBe(1);
    const lines = Array.from({ length: 100 }, (_, i) => `l${i}`);
    const bad = new Set(['l0', 'l57', 'l58', 'l99']);
    const writer = new RefusingWriter((l) => bad.has(l));
    expect((await writeIsolatingRefused(writer, lines)).map((r) => r.index)).toStrictEqual([0, 57, 58, 99]);
    expect(writer.written).toHaveLength(96);
  });

  it('a transient failure is thrown (the spool retries the whole batch)', async () => {
    const writer: LineWriter = { description: 'down', write: () => Promise.reject(new Error('ECONNREFUSED')), close: async () => undefined };
    await expect(writeIsolatingRefused(writer, ['a'])).rejects.toThrow('ECONNREFUSED');
  });
});
