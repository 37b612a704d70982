// Server-sent events to open pages: each change of the view goes out as one `view` message with an
// id (the view's version); a `ping` every 15 s keeps proxies and weak links from closing an idle
// stream and lets the page notice a dead one (EventSource hides comments, so it is an event). A reconnecting page sends Last-Event-ID and gets the
// view again only if it changed meanwhile. The number of streams is capped (each holds a socket).
import type { ServerResponse } from 'node:http';
import { Gauge } from 'prom-client';
import { metricsRegistry } from '../platform/metrics.ts';

const streamsGauge = new Gauge({ name: 'ews_board_streams', help: 'Open server-sent-event streams (pages watching the board)', registers: [metricsRegistry] });

export const HEARTBEAT_MS = 15_000;
/** The browser waits this long before reconnecting a dropped stream. */
export const RETRY_MS = 2000;

export class LiveHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly maxStreams: number,
    private readonly current: () => { version: string; json: string },
  ) {
    this.timer = setInterval(() => this.heartbeat(), HEARTBEAT_MS);
    this.timer.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Takes over a response; false when the cap is reached (the caller answers 503). */
  add(res: ServerResponse, lastEventId: string | undefined): boolean {
    if (this.clients.size >= this.maxStreams) return false;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // nginx and similar proxies would otherwise buffer the stream
      'x-accel-buffering': 'no',
    });
    const { version, json } = this.current();
    res.write(`retry: ${RETRY_MS}\n\n`);
    if (lastEventId !== version) res.write(frame(version, json));
    this.clients.add(res);
    streamsGauge.set(this.clients.size);
    const drop = () => {
      this.clients.delete(res);
      streamsGauge.set(this.clients.size);
    };
    res.on('close', drop);
    res.on('error', drop);
    return true;
  }

  broadcast(version: string, json: string): void {
    const f = frame(version, json);
    for (const res of this.clients) {
      // A client that cannot keep up (its socket buffer keeps growing) is dropped; it reconnects and gets the current view.
      if (res.writableLength > 4 * 1024 * 1024) res.destroy();
      else res.write(f);
    }
  }

  private heartbeat(): void {
    for (const res of this.clients) res.write(`event: ping\ndata: ${Date.now()}\n\n`);
  }

  close(): void {
    clearInterval(this.timer);
    for (const res of this.clients) res.end();
    this.clients.clear();
    streamsGauge.set(0);
  }
}

function frame(version: string, json: string): string {
  return `id: ${version}\nevent: view\ndata: ${json}\n\n`;
}
