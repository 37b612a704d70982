// Environment of the rules service, parsed once by zod: the schema (the shared variables plus RULES_*)
// is in contracts/config.ts with every other env schema; re-exported here. (rules/config.ts is the
// engine's tuning file, not the environment.)
import { rulesEnvExtras, rulesEnvSchema, type RulesEnv, type RulesEnvExtras } from '../contracts/config.ts';
import { parseEnv } from '../platform/config-error.ts';

export { rulesEnvExtras, rulesEnvSchema, type RulesEnv, type RulesEnvExtras } from '../contracts/config.ts';

/** A bad variable is a ConfigError naming it (fire-ews prints it, exit 2). */
export function loadRulesEnv(source: NodeJS.ProcessEnv = process.env): RulesEnv {
  return parseEnv(rulesEnvSchema, source);
}

/** Only the RULES_* variables (for the one-process start, which already holds the shared Env). */
export function loadRulesEnvExtras(source: NodeJS.ProcessEnv = process.env): RulesEnvExtras {
  return parseEnv(rulesEnvExtras, source);
}
