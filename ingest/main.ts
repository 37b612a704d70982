// Entry point of the ingest service (also started by `fire-ews start`).
import { writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Env } from '../contracts/config.ts';
import { indexSite, type Site } from '../contracts/site.ts';
import { createLineWriter } from '../platform/influx-writer.ts';
import type { Logger } from '../platform/logger.ts';
import { serviceCredentials, type ServiceContext } from '../platform/service-shell.ts';
import { startIngest, type IngestOptions, type RunningIngest } from './service.ts';

export function ingestOptionsFromEnv(env: Env, site: Site, credentials: { username: string; password: string }, logger: Logger): IngestOptions {
  return {
    mqttUrl: env.MQTT_URL,
    clientId: env.INGEST_CLIENT_ID,
    ...(env.INGEST_SHARED_GROUP ? { sharedGroup: env.INGEST_SHARED_GROUP } : {}),
    username: credentials.username,
    password: credentials.password,
    site: indexSite(site),
    databaseFile: join(env.EWS_DATA_DIR, 'ingest.sqlite'),
    writer: createLineWriter(env, logger),
    limits: {
      maxPayloadBytes: env.INGEST_MAX_PAYLOAD_BYTES,
      maxFutureMs: env.INGEST_MAX_FUTURE_S * 1000,
      maxAgeMs: env.INGEST_MAX_AGE_DAYS * 86_400_000,
    },
    batchSize: env.INGEST_BATCH_SIZE,
    flushMs: env.INGEST_FLUSH_MS,
    spoolMaxRows: env.INGEST_SPOOL_MAX_ROWS,
    localRetentionRows: env.INGEST_LOCAL_RETENTION_ROWS,
    logger,
    pipelineStatsS: env.EWS_PIPELINE_STATS_S,
    ...(env.EWS_TEST_KILL_INGEST_BEFORE_COMMIT ? { beforeCommit: killBeforeCommit(env.EWS_TEST_KILL_INGEST_BEFORE_COMMIT, logger) } : {}),
  };
}

/** The test hook EWS_TEST_KILL_INGEST_BEFORE_COMMIT (loadEnv refuses it unless NODE_ENV=test). */
function killBeforeCommit(afterMessages: number, logger: Logger): (messagesInTransaction: number) => void {
  logger.warn({ afterMessages }, 'TEST HOOK: ingest will SIGKILL itself before a COMMIT');
  let spooled = 0;
  return (messagesInTransaction) => {
    spooled += messagesInTransaction;
    if (spooled < afterMessages) return;
    // Written synchronously: the logger's buffer would die with the process.
    writeSync(2, `${JSON.stringify({ msg: 'TEST HOOK: SIGKILL between INSERT and COMMIT', spooled, messagesInTransaction })}\n`);
    process.kill(process.pid, 'SIGKILL');
  };
}

/** Starts the ingest service as every service starts (platform/service-shell.ts). */
export function startIngestService(context: ServiceContext): Promise<RunningIngest> {
  const { env, site, logger, clock } = context;
  return startIngest({ ...ingestOptionsFromEnv(env, site, serviceCredentials(context, 'ingest'), logger), ...(clock ? { clock } : {}) });
}
