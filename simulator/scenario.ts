// Scenario files: YAML validated by zod, with `file:line path: message` errors. Built-ins live in
// simulator/scenarios/<name>.yaml.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { nodeIdSchema, zoneIdSchema } from '../contracts/payloads.ts';
import { parseYamlWithSchema, type FileProblem } from '../contracts/yaml-file.ts';
import { ConfigError, FileValidationError, unreadableFileError } from '../platform/config-error.ts';
import { DAY_REGIMES, WEATHER_MODES } from './weather.ts';

export const BUILTIN_SCENARIO_DIR = join(dirname(fileURLToPath(import.meta.url)), 'scenarios');

const DURATION_PATTERN = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** `30d`, `4h`, `1h30m`, `90s` → milliseconds. */
export function parseDurationMs(text: string): number | undefined {
  const m = DURATION_PATTERN.exec(text.trim());
  if (!m || text.trim() === '') return undefined;
  const [, d, h, min, s] = m;
  return ((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(min ?? 0)) * 60_000 + Number(s ?? 0) * 1000;
}

export const durationSchema = z
  .union([z.string(), z.number()])
  .transform((value, ctx) => {
    // A bare number is minutes.
    const ms = typeof value === 'number' ? value * 60_000 : parseDurationMs(value);
    if (ms === undefined || !Number.isFinite(ms) || ms < 0) {
      ctx.addIssue({ code: 'custom', message: `expected a duration like 30d, 4h, 1h30m or 90s, got ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    return ms;
  });

const instant = z.iso.datetime({ offset: true }).transform((s) => Date.parse(s));

/** When an event happens: an offset from the scenario start (`2h30m`) or an ISO instant. */
const eventTime = z.union([z.iso.datetime({ offset: true }).transform((s) => ({ absoluteMs: Date.parse(s) })), durationSchema.transform((ms) => ({ offsetMs: ms }))]);
export type EventTime = z.output<typeof eventTime>;

const place = {
  /** The event happens `offsetM` metres from this node towards `bearingDeg`, or at lat/lon. */
  near: nodeIdSchema.optional(),
  offsetM: z.number().min(0).max(5000).default(0),
  bearingDeg: z.number().min(0).max(360).default(0),
  lat: z.number().min(-90).max(90).optional(),
  lon: z.number().min(-180).max(180).optional(),
};

const fireEvent = z
  .object({
    type: z.literal('fire'),
    at: eventTime,
    ...place,
    /** Burning time until it is put out. */
    duration: durationSchema.default(3 * 3600_000),
    /** Multiplies the default source strength. */
    intensity: z.number().positive().max(100).default(1),
    spreadMPerMin: z.number().min(0).max(50).default(1.5),
  })
  .strict();

const burnEvent = z
  .object({
    type: z.literal('burn'),
    at: eventTime,
    ...place,
    duration: durationSchema.default(20 * 60_000),
    intensity: z.number().positive().max(100).default(1),
  })
  .strict();

const nodeWindow = {
  node: nodeIdSchema,
  at: eventTime,
  duration: durationSchema,
};

const faultEvents = [
  /** The radio link drops; with buffered, readings taken meanwhile arrive in a burst on reconnect. */
  z.object({ type: z.literal('offline'), ...nodeWindow, buffered: z.boolean().default(true) }).strict(),
  /** The node loses power: no readings at all during the window. */
  z.object({ type: z.literal('power-off'), ...nodeWindow }).strict(),
  z.object({ type: z.literal('stuck'), ...nodeWindow, sensor: z.enum(['temperature', 'humidity', 'smoke']) }).strict(),
  /** Battery falls to brown-out over the duration; the node then stops reporting. */
  z.object({ type: z.literal('battery-drain'), ...nodeWindow, brownOutV: z.number().min(2).max(4).default(3.0) }).strict(),
  z.object({ type: z.literal('clock-skew'), ...nodeWindow, skewS: z.number().min(-86_400).max(86_400) }).strict(),
  z.object({ type: z.literal('duplicates'), ...nodeWindow, probability: z.number().min(0).max(1).default(0.3) }).strict(),
  z.object({ type: z.literal('out-of-order'), ...nodeWindow, probability: z.number().min(0).max(1).default(0.3) }).strict(),
] as const;

export const scenarioEventSchema = z.discriminatedUnion('type', [fireEvent, burnEvent, ...faultEvents]);
export type ScenarioEvent = z.output<typeof scenarioEventSchema>;
export type FaultEvent = Exclude<ScenarioEvent, { type: 'fire' | 'burn' }>;

export const scenarioSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().default(''),
    start: instant,
    duration: durationSchema.refine((ms) => ms > 0, 'duration must be positive'),
    seed: z.number().int().min(0).max(2 ** 32 - 1).default(1),
    weather: z
      .object({
        mode: z.enum(WEATHER_MODES).default('seasonal'),
        /** Regime of given days, counted from 0 = the start day. */
        days: z.array(z.object({ day: z.number().int().min(0), regime: z.enum(DAY_REGIMES) }).strict()).default([]),
        windFromDeg: z.number().min(0).max(360).optional(),
      })
      .strict()
      .default({ mode: 'seasonal', days: [] }),
    /** Which site nodes take part; default every node of the site. */
    nodes: z
      .object({ ids: z.array(nodeIdSchema).optional(), zones: z.array(zoneIdSchema).optional() })
      .strict()
      .optional(),
    events: z.array(scenarioEventSchema).default([]),
  })
  .strict();
export type Scenario = z.output<typeof scenarioSchema>;

export class ScenarioFileError extends FileValidationError {
  constructor(problems: FileProblem[]) {
    super(problems, 'fix the scenario file (simulator/README.md describes its fields)');
    this.name = 'ScenarioFileError';
  }
}

export function parseScenarioText(text: string, fileName: string): Scenario {
  const result = parseYamlWithSchema(text, fileName, scenarioSchema);
  if (!result.ok) throw new ScenarioFileError(result.problems);
  return result.value;
}

export function listBuiltinScenarios(): string[] {
  return readdirSync(BUILTIN_SCENARIO_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => basename(f, '.yaml'))
    .sort();
}

/** A built-in name (`fire-san-thang`) or a path to a YAML file. */
export function loadScenario(nameOrPath: string): Scenario {
  const isPath = nameOrPath.includes('/') || nameOrPath.endsWith('.yaml') || nameOrPath.endsWith('.yml');
  const file = isPath ? nameOrPath : join(BUILTIN_SCENARIO_DIR, `${nameOrPath}.yaml`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const known = listBuiltinScenarios().join(', ');
    if (isPath) throw unreadableFileError(file, '--scenario', err, `give a readable scenario file, or a built-in name (${known})`);
    throw new ConfigError([{ where: '--scenario', problem: `unknown scenario ${nameOrPath}`, fix: `use a built-in (${known}) or give a .yaml path` }]);
  }
  return parseScenarioText(text, isPath ? file : `scenarios/${nameOrPath}.yaml`);
}

export const resolveEventTime = (scenario: Scenario, t: EventTime): number => ('absoluteMs' in t ? t.absoluteMs : scenario.start + t.offsetMs);

/** The same scenario moved to start at `startMs`; absolute event times move with it. */
export function withStart(scenario: Scenario, startMs: number): Scenario {
  const delta = startMs - scenario.start;
  return {
    ...scenario,
    start: startMs,
    events: scenario.events.map((e) => ('absoluteMs' in e.at ? { ...e, at: { absoluteMs: e.at.absoluteMs + delta } } : e)),
  };
}
