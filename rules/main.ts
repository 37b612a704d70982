// Entry point of the rules service (`fire-ews rules`, and the one-process `fire-ews start`).
import { join } from 'node:path';
import type { Env } from '../contracts/config.ts';
import type { Site } from '../contracts/site.ts';
import { createLineWriter } from '../platform/influx-writer.ts';
import type { PipelineClock } from '../platform/clock.ts';
import type { Logger } from '../platform/logger.ts';
import { DEFAULT_RULES_CONFIG, loadRulesConfig } from './config.ts';
import { loadRulesEnvExtras, type RulesEnvExtras } from './env.ts';
import { startRules, type RulesServiceOptions, type RunningRules } from './service.ts';

export function rulesOptionsFromEnv(env: Env & RulesEnvExtras, site: Site, credentials: { username: string; password: string }, logger: Logger): RulesServiceOptions {
  return {
    mqttUrl: env.MQTT_URL,
    clientId: env.RULES_CLIENT_ID,
    username: credentials.username,
    password: credentials.password,
    site,
    config: env.RULES_CONFIG_FILE ? loadRulesConfig(env.RULES_CONFIG_FILE) : DEFAULT_RULES_CONFIG,
    clockMode: env.RULES_CLOCK,
    databaseFile: env.RULES_DB_FILE ?? join(env.EWS_DATA_DIR, 'rules.sqlite'),
    writer: createLineWriter(env, logger),
    timezone: env.RULES_TIMEZONE,
    provisionalCron: env.RULES_PROVISIONAL_CRON,
    tickS: env.RULES_TICK_S,
    checkpointEvery: env.RULES_CHECKPOINT_EVERY,
    checkpointS: env.RULES_CHECKPOINT_S,
    influxBatch: env.RULES_INFLUX_BATCH,
    logger,
  };
}

/**
 * Starts the rules service. `env` is the shared Env (contracts/config.ts); the RULES_* variables are
 * read from `extras` (default: process.env), so the one-process start can call it as it calls
 * runIngest: `runRules({ ...rt.env, MQTT_URL: localMqtt }, rt.site, rt.credentialsFor('rules'), logger)`.
 */
export function runRules(
  env: Env,
  site: Site,
  credentials: { username: string; password: string },
  logger: Logger,
  extras: RulesEnvExtras = loadRulesEnvExtras(),
  clock?: PipelineClock,
  onEvent?: RulesServiceOptions['onEvent'],
): Promise<RunningRules> {
  return startRules({ ...rulesOptionsFromEnv({ ...env, ...extras }, site, credentials, logger), ...(clock ? { clock } : {}), ...(onEvent ? { onEvent } : {}) });
}
