// Ports a command is about to listen on, probed together before anything starts: every port in use
// (or claimed twice by our own variables) is reported at once, each with its variable, instead of
// the first bind failing mid start-up.
import { createServer } from 'node:net';
import { ConfigError, type ConfigProblem } from './config-error.ts';

export interface PortClaim {
  /** The variable that sets it (MQTT_PORT, EWS_HTTP_PORT…). */
  variable: string;
  host: string;
  /** 0 = disabled or any free port: not probed. */
  port: number;
}

/** null when `host:port` can be bound now, else the error code (EADDRINUSE, EACCES, EADDRNOTAVAIL…). */
export function probePort(host: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(null)));
  });
}

function problemOf(claim: PortClaim, code: string): ConfigProblem {
  const at = `${claim.host}:${claim.port}`;
  if (code === 'EADDRINUSE') return { where: claim.variable, problem: `port ${at} is already in use by another process`, fix: `stop that process (ss -ltnp 'sport = :${claim.port}' shows it) or set ${claim.variable} to a free port` };
  if (code === 'EACCES') return { where: claim.variable, problem: `no permission to listen on ${at} (ports below 1024 need root)`, fix: `set ${claim.variable} to a port of 1024 or more` };
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') return { where: claim.variable, problem: `cannot listen on ${at}: ${claim.host} is not an address of this machine`, fix: `set the matching *_HOST variable to an address of this machine (0.0.0.0 for all)` };
  return { where: claim.variable, problem: `cannot listen on ${at} (${code})`, fix: `set ${claim.variable} to another port` };
}

/** Throws one ConfigError naming every claim that cannot be bound. */
export async function assertPortsFree(claims: readonly PortClaim[]): Promise<void> {
  const problems: ConfigProblem[] = [];
  const byPort = new Map<number, string>();
  const probed: PortClaim[] = [];
  for (const claim of claims) {
    if (claim.port === 0) continue;
    const first = byPort.get(claim.port);
    if (first) {
      problems.push({ where: claim.variable, problem: `port ${claim.port} is also set for ${first}`, fix: `give ${claim.variable} a port of its own` });
      continue;
    }
    byPort.set(claim.port, claim.variable);
    probed.push(claim);
  }
  const codes = await Promise.all(probed.map((c) => probePort(c.host, c.port)));
  probed.forEach((claim, i) => {
    const code = codes[i];
    if (code) problems.push(problemOf(claim, code));
  });
  if (problems.length) throw new ConfigError(problems);
}
