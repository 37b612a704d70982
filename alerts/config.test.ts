import { describe, expect, it } from 'vitest';
import * as contracts from '../contracts/config.ts';
import { alertsEnvSchema, chooseTransport, loadAlertsEnv } from './config.ts';

it('the alerts env schema is the one in contracts/config.ts, re-exported', () => {
  expect(alertsEnvSchema).toBe(contracts.alertsEnvSchema);
  // Every shared variable is part of it.
  expect(Object.keys(alertsEnvSchema.shape)).toEqual(expect.arrayContaining(Object.keys(contracts.envSchema.shape)));
});

it('defaults: dry run on 127.0.0.1:8090; twilio when credentials are set', () => {
  const env = loadAlertsEnv({});
  expect(chooseTransport(env)).toBe('dryrun');
  expect(env).toMatchObject({ ALERTS_HTTP_PORT: 8090, ALERTS_RATE_SEGMENTS_PER_S: 10, GAMMU_INJECT_COMMAND: 'gammu-smsd-inject' });
  expect(chooseTransport(loadAlertsEnv({ TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}`, TWILIO_AUTH_TOKEN: 't' }))).toBe('twilio');
});

describe('invalid combinations are refused with the variable named', () => {
  it.each([
    { name: 'twilio transport without credentials', env: { ALERTS_TRANSPORT: 'twilio' }, error: /ALERTS_TRANSPORT: the twilio transport needs TWILIO_ACCOUNT_SID/ },
    { name: 'gammu transport without a config', env: { ALERTS_TRANSPORT: 'gammu' }, error: /ALERTS_TRANSPORT: the gammu transport needs GAMMU_SMSD_CONFIG/ },
    { name: 'malformed account SID', env: { TWILIO_ACCOUNT_SID: 'AC123' }, error: /TWILIO_ACCOUNT_SID: expected AC followed by 32 hex digits/ },
    { name: 'short API key', env: { ALERTS_API_KEY: 'short' }, error: /ALERTS_API_KEY must be at least 16 characters/ },
  ])('$name', ({ env, error }) => {
    expect(() => loadAlertsEnv(env)).toThrow(error);
  });
});
