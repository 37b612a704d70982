import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as contracts from '../contracts/config.ts';
import { alertsEnvSchema, chooseTransport, loadAlertsEnv } from './config.ts';

test('the alerts env schema is the one in contracts/config.ts, re-exported', () => {
  assert.equal(alertsEnvSchema, contracts.alertsEnvSchema);
  // Every shared variable is part of it.
  for (const key of Object.keys(contracts.envSchema.shape)) assert.ok(key in alertsEnvSchema.shape, key);
});

test('defaults: dry run on 127.0.0.1:8090; twilio when credentials are set', () => {
  const env = loadAlertsEnv({});
  assert.equal(chooseTransport(env), 'dryrun');
  assert.equal(env.ALERTS_HTTP_PORT, 8090);
  assert.equal(env.ALERTS_RATE_SEGMENTS_PER_S, 10);
  assert.equal(env.GAMMU_INJECT_COMMAND, 'gammu-smsd-inject');
  assert.equal(chooseTransport(loadAlertsEnv({ TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}`, TWILIO_AUTH_TOKEN: 't' })), 'twilio');
});

test('invalid combinations are refused with the variable named', () => {
  assert.throws(() => loadAlertsEnv({ ALERTS_TRANSPORT: 'twilio' }), /ALERTS_TRANSPORT: the twilio transport needs TWILIO_ACCOUNT_SID/);
  assert.throws(() => loadAlertsEnv({ ALERTS_TRANSPORT: 'gammu' }), /ALERTS_TRANSPORT: the gammu transport needs GAMMU_SMSD_CONFIG/);
  assert.throws(() => loadAlertsEnv({ TWILIO_ACCOUNT_SID: 'AC123' }), /TWILIO_ACCOUNT_SID: expected AC followed by 32 hex digits/);
  assert.throws(() => loadAlertsEnv({ ALERTS_API_KEY: 'short' }), /ALERTS_API_KEY must be at least 16 characters/);
});
