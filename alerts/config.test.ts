
import { expect, it } from 'vitest';
import * as contracts from '../contracts/config.ts';
import { alertsEnvSchema, chooseTransport, loadAlertsEnv } from './config.ts';

it('the alerts env schema is the one in contracts/config.ts, re-exported', () => {
  expect(alertsEnvSchema).toBe(contracts.alertsEnvSchema);
  // Every shared variable is part of it.
  for (const key of Object.keys(contracts.envSchema.shape)) expect(key in alertsEnvSchema.shape, key).toBeTruthy();
});

it('defaults: dry run on 127.0.0.1:8090; twilio when credentials are set', () => {
  const env = loadAlertsEnv({});
  expect(chooseTransport(env)).toBe('dryrun');
  expect(env.ALERTS_HTTP_PORT).toBe(8090);
  expect(env.ALERTS_RATE_SEGMENTS_PER_S).toBe(10);
  expect(env.GAMMU_INJECT_COMMAND).toBe('gammu-smsd-inject');
  expect(chooseTransport(loadAlertsEnv({ TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}`, TWILIO_AUTH_TOKEN: 't' }))).toBe('twilio');
});

it('invalid combinations are refused with the variable named', () => {
  expect(() => loadAlertsEnv({ ALERTS_TRANSPORT: 'twilio' })).toThrow(/ALERTS_TRANSPORT: the twilio transport needs TWILIO_ACCOUNT_SID/);
  expect(() => loadAlertsEnv({ ALERTS_TRANSPORT: 'gammu' })).toThrow(/ALERTS_TRANSPORT: the gammu transport needs GAMMU_SMSD_CONFIG/);
  expect(() => loadAlertsEnv({ TWILIO_ACCOUNT_SID: 'AC123' })).toThrow(/TWILIO_ACCOUNT_SID: expected AC followed by 32 hex digits/);
  expect(() => loadAlertsEnv({ ALERTS_API_KEY: 'short' })).toThrow(/ALERTS_API_KEY must be at least 16 characters/);
});
