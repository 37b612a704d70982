import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs; every service tags its lines with `service`, and node/zone ids where known. */
export function createLogger(service: string, level: string = process.env.EWS_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name: 'fire-ews', level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime });
}
