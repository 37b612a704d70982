import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

const options = (level: string, base: Record<string, string>) => ({ name: 'fire-ews', level, base, timestamp: pino.stdTimeFunctions.isoTime });

/** Structured JSON logs; every service tags its lines with `service`, and node/zone ids where known. */
export function createLogger(service: string, level: string = process.env.EWS_LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  return destination ? pino(options(level, { service }), destination) : pino(options(level, { service }));
}

/**
 * A logger without a `service` of its own, for the one-process `fire-ews start`: each service logs
 * through `root.child({ service })`, so every line carries `service` exactly once.
 */
export function createRootLogger(level: string, destination?: DestinationStream): Logger {
  return destination ? pino(options(level, {}), destination) : pino(options(level, {}));
}
