// A client's list of HTTP API base URLs (BOARD_ALERTS_URL, ALERTS_URL): one URL, or several separated by
// commas when the service runs as a leader and a standby (README "Scaling beyond one machine"). Only the
// leader serves its API (a standby does not listen), so a client tries the URL that answered last, and on
// an answer that says "not here" goes on to the next one of the list, and keeps the one that answered.
import type { z } from 'zod';
import { FetchError, fetchJson } from './fetch-json.ts';

/** Network failures where the request cannot have reached the service: nothing was done there. */
const NEVER_DELIVERED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/** The URLs of a comma-separated list, in order (the list is validated by contracts/config.ts). */
export function apiUrls(list: string): string[] {
  return list
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
}

/**
 * Whether a failed call may be tried at the next URL. A call that changes nothing (a GET, or a POST the
 * service treats as idempotent) goes on after anything that is not an answer of the service itself:
 * refused, unreachable, no answer in time, cut off, or a 5xx. A call that changes something (start a
 * drill) goes on only when it certainly was not carried out — the connection was refused or the host not
 * found, or a 503 — since after a timeout or a cut connection the first service may have done it.
 */
export function worthTryingNext(err: unknown, retrySafe: boolean): boolean {
  if (!(err instanceof FetchError)) return false;
  if (err.status !== null) return err.status === 503 || (retrySafe && err.status >= 500);
  if (err.network === null) return false;
  return retrySafe || NEVER_DELIVERED.has(err.network);
}

/** The order in which a call tries the URLs: the one that answered last, then the others in list order. */
export function tryOrder(count: number, preferred: number): number[] {
  return Array.from({ length: count }, (_, i) => (preferred + i) % count);
}

export class ApiFailover {
  readonly urls: readonly string[];
  private preferred = 0;

  constructor(list: string) {
    this.urls = apiUrls(list);
    if (this.urls.length === 0) throw new Error('an API URL list needs at least one URL');
  }

  /** The base URL the next call tries first (the one that answered last). */
  get current(): string {
    return this.urls[this.preferred] as string;
  }

  /**
   * `attempt` at each base URL in turn until one answers (or fails in a way the next cannot help); the
   * one that answered is tried first next time. The last error is thrown when none answered.
   */
  async call<T>(attempt: (baseUrl: string) => Promise<T>, o: { retrySafe: boolean }): Promise<T> {
    let lastError: unknown;
    for (const i of tryOrder(this.urls.length, this.preferred)) {
      try {
        const result = await attempt(this.urls[i] as string);
        this.preferred = i;
        return result;
      } catch (err) {
        lastError = err;
        // A 4xx is an answer of the service: it is the leader, keep it.
        if (err instanceof FetchError && err.status !== null && err.status < 500) this.preferred = i;
        if (!worthTryingNext(err, o.retrySafe)) throw err;
      }
    }
    throw lastError;
  }

  /** fetchJson (bounded, zod-checked) of `path` at the URL that answers; GETs are retry-safe, other methods unless said so. */
  fetchJson<S extends z.ZodType>(path: string, init: RequestInit & { timeoutMs: number; maxBytes: number; retrySafe?: boolean }, schema: S): Promise<z.infer<S>> {
    const { retrySafe, ...rest } = init;
    return this.call((base) => fetchJson(new URL(path, base).toString(), rest, schema), { retrySafe: retrySafe ?? (rest.method ?? 'GET') === 'GET' });
  }
}
