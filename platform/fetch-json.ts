// One bounded HTTP call: a timeout, a cap on the body (the remote party decides its size, so memory
// stays bounded), JSON parsed and checked by a zod schema. Errors say what and where, once.
import type { z } from 'zod';

export class FetchError extends Error {
  constructor(
    message: string,
    readonly status: number | null = null,
    /** Why it failed, where known: the remote party's own reason (`{"error": …}` of an HTTP error), for a caller that words it for its users; why no answer came: the network error's code (ECONNREFUSED, ENOTFOUND, UND_ERR_SOCKET…) or 'TIMEOUT' (null when an answer came). */
    readonly why: { detail?: string | null; network?: string | null } = {},
  ) {
    super(message);
  }

  get detail(): string | null {
    return this.why.detail ?? null;
  }

  get network(): string | null {
    return this.why.network ?? null;
  }
}

export async function fetchJson<T extends z.ZodType>(url: string, init: RequestInit & { timeoutMs: number; maxBytes: number }, schema: T): Promise<z.infer<T>> {
  const { timeoutMs, maxBytes, ...rest } = init;
  const where = new URL(url);
  const label = `${rest.method ?? 'GET'} ${where.origin}${where.pathname}`;
  let res: Response;
  try {
    res = await fetch(url, { ...rest, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const timedOut = (err as Error).name === 'TimeoutError';
    throw new FetchError(`${label}: ${timedOut ? `no answer within ${timeoutMs} ms` : (cause?.code ?? cause?.message ?? (err as Error).message)}`, null, { network: timedOut ? 'TIMEOUT' : (cause?.code ?? 'FETCH_FAILED') });
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body?.getReader();
  if (reader) {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel();
        throw new FetchError(`${label}: answer larger than ${maxBytes} bytes`, res.status);
      }
      chunks.push(value);
    }
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!res.ok) {
    let detail = text.slice(0, 200);
    let reason: string | null = null;
    try {
      const body = JSON.parse(text) as { error?: unknown };
      if (typeof body.error === 'string') detail = reason = body.error.slice(0, 500);
    } catch {
      // not JSON: keep the excerpt
    }
    throw new FetchError(`${label}: HTTP ${res.status}${detail ? ` ${detail}` : ''}`, res.status, { detail: reason });
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new FetchError(`${label}: the answer is not JSON`, res.status);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new FetchError(`${label}: unexpected answer: ${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, res.status);
  return parsed.data as z.infer<T>;
}
