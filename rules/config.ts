// Tuning of the rules engine (detection, sensor health, the daily danger computation). Every
// value has a default; a YAML file (`--rules-config`) may override any subset. Only the rules
// service reads this format, so its schema lives here (CONTRIBUTING: "once in that service").
import { z } from 'zod';
import { readFileSync } from 'node:fs';
import { parseYamlWithSchema } from '../contracts/yaml-file.ts';
import { FileValidationError, unreadableFileError } from '../platform/config-error.ts';

const pos = () => z.number().positive();
const nonneg = () => z.number().nonnegative();
const count = () => z.number().int().min(1);

export const healthConfigSchema = z
  .object({
    /** A node is offline after this many reporting intervals without a reading. */
    offlineAfterIntervals: pos().default(3),
    /** Identical consecutive values of one channel that make it "stuck". */
    stuckReadings: z.number().int().min(3).default(30),
    /** Plausible values; outside them a reading is an out-of-range fault (and is not used). */
    temperatureC: z.tuple([z.number(), z.number()]).default([-20, 124.9]),
    humidityPct: z.tuple([z.number(), z.number()]).default([0, 100]),
    smoke: z.tuple([z.number(), z.number()]).default([0, 1_000_000]),
    /** Below: low-battery fault (advisory, the node is still used). Cleared at or above lowBatteryClearV. */
    lowBatteryV: nonneg().default(3.5),
    lowBatteryClearV: nonneg().default(3.6),
    /** Below: brown-out fault; readings are not trusted and the node is left out. */
    brownOutV: nonneg().default(3.3),
    /** |observation time − arrival time| above this is clock skew. */
    maxClockSkewS: pos().default(120),
    /** Readings in a row that raise (bad) or clear (good) a clock-skew fault. */
    skewReadings: count().default(3),
    /** Clean readings in a row that clear a stuck or out-of-range fault. */
    clearReadings: count().default(5),
  })
  .strict();

export const detectionConfigSchema = z
  .object({
    /** Time constant of the smoke and humidity baselines (EWMA), seconds. */
    baselineTauS: pos().default(7200),
    /** Readings that seed the baseline before detection is armed. */
    warmupReadings: count().default(15),
    /** Smoke channel rises with smoke (raw MQ-2 voltage) or falls (an Rs/R0 ratio). */
    smokeDirection: z.enum(['up', 'down']).default('up'),
    /** Smoke anomaly: excess over the baseline above max(rel·baseline, k·mean abs deviation, abs). */
    smokeRelThreshold: nonneg().default(0.3),
    smokeDeviationK: nonneg().default(6),
    smokeAbsThreshold: nonneg().default(0),
    /** Fixed heat ceiling on the smoothed temperature, °C (fixed-temperature detectors: 57–58 °C). */
    heatCeilingC: z.number().default(57),
    /** Rate-of-rise on the smoothed temperature, °C/min (rate-of-rise detectors: 6.7–8.3 °C/min). */
    heatRateCPerMin: pos().default(6.7),
    /** EWMA weight of a new temperature reading in the smoothed series. */
    heatSmoothing: z.number().gt(0).max(1).default(0.5),
    /** Humidity drop below the node's humidity baseline, percentage points. */
    humidityDropPct: pos().default(15),
    humidityTauS: pos().default(1800),
    /** Suspected when at least suspectCount of the last suspectWindow readings are anomalous. */
    suspectCount: count().default(3),
    suspectWindow: z.number().int().min(1).max(30).default(4),
    /**
     * Confirmed by persistence: suspected this long, at least confirmFraction of the readings since
     * anomalous, and still anomalous now (suspectCount of the last suspectWindow). Longer than a
     * typical village burn (~20 min) so that one does not confirm on a single node.
     */
    confirmAfterS: pos().default(1800),
    confirmFraction: z.number().min(0).max(1).default(0.6),
    /** Confirmed by a neighbouring healthy node within this distance that also suspects. */
    neighbourDistanceM: pos().default(1500),
    /**
     * Smoke travels downwind: a node that starts suspecting within this distance of a member of an
     * active incident joins that incident (one fire, one id) instead of opening a new one. Set it
     * to neighbourDistanceM to keep incidents strictly local.
     */
    plumeJoinDistanceM: pos().default(5000),
    /** A node returns to normal after this long without an anomalous reading. */
    clearAfterS: pos().default(1800),
    /**
     * An incident with no anomalous reading from any healthy member for this long has lost its
     * signal (e.g. the nodes near the fire burnt): fire-signal-lost, never an all-clear. It stays
     * open, so a member that reports again continues it.
     */
    staleAfterS: pos().default(6 * 3600),
    /**
     * A fire that re-appears within this long after its incident was cleared (or after a lost
     * incident was given up) continues the same incident (same id) instead of opening a new one.
     */
    reopenWithinS: nonneg().default(3 * 3600),
    /** A gap longer than this many reporting intervals restarts the smoothed series. */
    maxGapIntervals: pos().default(3),
  })
  .strict();

export const dangerConfigSchema = z
  .object({
    /** Local time of the official observation, minutes after midnight (13:00). */
    officialMinute: z.number().int().min(0).max(1439).default(13 * 60),
    /** Half-width of the observation window around 13:00, minutes. */
    windowMinutes: z.number().int().min(1).max(120).default(15),
    /** The official value is computed this long after the window closes (late deliveries). */
    graceS: nonneg().default(120),
    /** Minimum readings of a node inside the window for it to count. */
    minSamplesPerNode: count().default(3),
    /** Quality "ok" needs at least this fraction of the zone's nodes (rounded up, at least 1). */
    okNodeFraction: z.number().min(0).max(1).default(0.5),
    /** A node's 24-h rain total is complete when its readings cover this fraction of the day. */
    rainCoverage: z.number().min(0).max(1).default(0.9),
    /** The provisional intra-day value uses the readings of this many last minutes. */
    provisionalWindowMinutes: z.number().int().min(1).max(180).default(30),
  })
  .strict();

export const rulesConfigSchema = z
  .object({
    /** Local time offset of the site, minutes (Asia/Ho_Chi_Minh: UTC+7, no daylight saving). */
    utcOffsetMinutes: z.number().int().min(-720).max(840).default(420),
    health: healthConfigSchema.default(healthConfigSchema.parse({})),
    detection: detectionConfigSchema.default(detectionConfigSchema.parse({})),
    danger: dangerConfigSchema.default(dangerConfigSchema.parse({})),
  })
  .strict();

export type RulesConfig = z.infer<typeof rulesConfigSchema>;
export type HealthConfig = z.infer<typeof healthConfigSchema>;
export type DetectionConfig = z.infer<typeof detectionConfigSchema>;
export type DangerConfig = z.infer<typeof dangerConfigSchema>;

export const DEFAULT_RULES_CONFIG: RulesConfig = rulesConfigSchema.parse({});

/** Defaults overridden by a partial config (deep, one level per section). */
export function rulesConfig(overrides: { utcOffsetMinutes?: number; health?: Partial<HealthConfig>; detection?: Partial<DetectionConfig>; danger?: Partial<DangerConfig> } = {}): RulesConfig {
  return rulesConfigSchema.parse({
    utcOffsetMinutes: overrides.utcOffsetMinutes ?? DEFAULT_RULES_CONFIG.utcOffsetMinutes,
    health: { ...DEFAULT_RULES_CONFIG.health, ...overrides.health },
    detection: { ...DEFAULT_RULES_CONFIG.detection, ...overrides.detection },
    danger: { ...DEFAULT_RULES_CONFIG.danger, ...overrides.danger },
  });
}

/**
 * Reads a rules config YAML; a missing file names `variable` (RULES_CONFIG_FILE or the option that
 * gave it), bad content each `file:line` and field (a ConfigError either way).
 */
export function loadRulesConfig(path: string, variable = 'RULES_CONFIG_FILE'): RulesConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw unreadableFileError(path, variable, err, `set ${variable} to an existing rules config, or leave it unset for the defaults`);
  }
  const result = parseYamlWithSchema(text, path, rulesConfigSchema);
  if (!result.ok) throw new FileValidationError(result.problems, 'fix the file (rules/README.md lists every field and its default)');
  return result.value;
}
