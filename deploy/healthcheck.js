#!/usr/bin/env node
// Container healthcheck (docker-compose.yml): plain JavaScript so each probe starts in ~50 ms without
// the TypeScript loader, and needs no curl in the slim Node image.
//   node deploy/healthcheck.js http://127.0.0.1:9464/healthz   exit 0 when the URL answers 2xx
//   node deploy/healthcheck.js tcp://broker:1883               exit 0 when a TCP connection opens
// Anything else (refused, timeout, 503 from /healthz) exits 1 and prints why on stderr.
import { connect } from 'node:net';

const target = process.argv[2];
const timeoutMs = Number(process.env.HEALTHCHECK_TIMEOUT_MS ?? 4000);

function fail(reason) {
  process.stderr.write(`unhealthy: ${target}: ${reason}\n`);
  process.exit(1);
}

if (!target) fail('usage: healthcheck.js <http://…|tcp://host:port>');
const url = new URL(target);
if (url.protocol === 'tcp:') {
  const socket = connect({ host: url.hostname, port: Number(url.port), timeout: timeoutMs });
  socket.once('connect', () => {
    socket.end();
    process.exit(0);
  });
  socket.once('timeout', () => fail('timeout'));
  socket.once('error', (err) => fail(err.message));
} else {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = await res.text();
    if (!res.ok) fail(`HTTP ${res.status} ${body.slice(0, 300)}`);
    process.exit(0);
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
}
