// How `fire-ews` ends on an error that reached its entry: a ConfigError is printed as one line per
// problem (no stack trace) with exit code 2; anything else is a bug and keeps its stack (exit 1).
import { CONFIG_ERROR_EXIT_CODE, ConfigError, formatConfigProblem } from './config-error.ts';

/** Writes the report of `err` and returns the exit code. */
export function reportFatal(err: unknown, write: (text: string) => void): number {
  if (err instanceof ConfigError) {
    write(`${err.entries.map((p) => `fire-ews: ${formatConfigProblem(p)}`).join('\n')}\n`);
    return CONFIG_ERROR_EXIT_CODE;
  }
  write(`fire-ews: unexpected error (a bug; please report it with this output):\n${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 1;
}
