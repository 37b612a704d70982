// Environment of the rules service, parsed once by zod. Extends the shared env schema the way
// alerts/config.ts does (rules/config.ts is the engine's tuning file, not the environment).
import { z } from 'zod';
import { envSchema, serviceClientId } from '../contracts/config.ts';
import { parseEnv } from '../platform/config-error.ts';

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));
const positiveInt = z.coerce.number().int().positive();

/** The variables only the rules service reads. */
export const rulesEnvExtras = z.object({
  /** Fixed MQTT client id: the persistent session (clean=false) belongs to it; `ews-rules[-…]` (reserved to svc-rules). */
  RULES_CLIENT_ID: serviceClientId('rules'),
  /** Default: <EWS_DATA_DIR>/rules.sqlite */
  RULES_DB_FILE: optionalString,
  /** Rules tuning YAML (rules/config.ts); defaults otherwise. */
  RULES_CONFIG_FILE: optionalString,
  /**
   * wall: a reading arrives at the wall clock (production). readings: the fleet's own time, from the
   * readings' timestamps (replays and tests: a recorded day played fast behaves as it did live).
   */
  RULES_CLOCK: z.enum(['wall', 'readings']).default('wall'),
  /** IANA zone of the schedules (the official level is a local 13:00 value). */
  RULES_TIMEZONE: z.string().default('Asia/Ho_Chi_Minh'),
  /** node-cron expression of the provisional (official: false) publication. */
  RULES_PROVISIONAL_CRON: z.string().default('0 * * * *'),
  /** Tick of the engine (offline nodes, stale incidents), in seconds of the pipeline's clock (README "Time model"). */
  RULES_TICK_S: positiveInt.default(10),
  /** A checkpoint of the engine state after this many journal entries (or RULES_CHECKPOINT_S). */
  RULES_CHECKPOINT_EVERY: positiveInt.default(5000),
  RULES_CHECKPOINT_S: positiveInt.default(30),
  /** Lines per InfluxDB write. */
  RULES_INFLUX_BATCH: positiveInt.default(1000),
});
export type RulesEnvExtras = z.infer<typeof rulesEnvExtras>;

export const rulesEnvSchema = envSchema.extend(rulesEnvExtras.shape);
export type RulesEnv = z.infer<typeof rulesEnvSchema>;

/** A bad variable is a ConfigError naming it (fire-ews prints it, exit 2). */
export function loadRulesEnv(source: NodeJS.ProcessEnv = process.env): RulesEnv {
  return parseEnv(rulesEnvSchema, source);
}

/** Only the RULES_* variables (for the one-process start, which already holds the shared Env). */
export function loadRulesEnvExtras(source: NodeJS.ProcessEnv = process.env): RulesEnvExtras {
  return parseEnv(rulesEnvExtras, source);
}
