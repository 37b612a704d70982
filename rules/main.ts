// Entry point of the rules service (`fire-ews rules`, and the one-process `fire-ews start`).
import { join } from 'node:path';
import type { Site } from '../contracts/site.ts';
import { createLineWriter } from '../platform/influx-writer.ts';
import type { Logger } from '../platform/logger.ts';
import { serviceCredentials, type ServiceContext } from '../platform/service-shell.ts';
import { DEFAULT_RULES_CONFIG, loadRulesConfig } from './config.ts';
import type { RulesEnv } from './env.ts';
import { startRules, type RulesServiceOptions, type RunningRules } from './service.ts';

export function rulesOptionsFromEnv(env: RulesEnv, site: Site, credentials: { username: string; password: string }, logger: Logger): RulesServiceOptions {
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

/** What only rules takes beside its context. */
export interface RulesServiceExtras {
  /** Every event rules publishes (the console of `fire-ews start`). */
  onEvent?: RulesServiceOptions['onEvent'];
}

/**
 * Starts the rules service as every service starts (platform/service-shell.ts). Its env is the shared
 * Env with the RULES_* variables (loadRulesEnv, or the shared Env plus loadRulesEnvExtras()).
 */
export function startRulesService(context: ServiceContext<RulesEnv>, extras: RulesServiceExtras = {}): Promise<RunningRules> {
  const { env, site, logger, clock } = context;
  return startRules({ ...rulesOptionsFromEnv(env, site, serviceCredentials(context, 'rules'), logger), ...(clock ? { clock } : {}), ...(extras.onEvent ? { onEvent: extras.onEvent } : {}) });
}
