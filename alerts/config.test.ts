import { describe, expect, it } from 'vitest';
import * as contracts from '../contracts/config.ts';
import type { Site } from '../contracts/site.ts';
import { ackModeOf, alertsEnvSchema, chooseTransport, loadAlertsEnv, refuseSampleRoster } from './config.ts';

it('the alerts env schema is the one in contracts/config.ts, re-exported', () => {
  expect(alertsEnvSchema).toBe(contracts.alertsEnvSchema);
  // Every shared variable is part of it.
  expect(Object.keys(alertsEnvSchema.shape)).toEqual(expect.arrayContaining(Object.keys(contracts.envSchema.shape)));
});

it('defaults: dry run on 127.0.0.1:8090; twilio when credentials are set', () => {
  const env = loadAlertsEnv({});
  expect(chooseTransport(env)).toBe('dryrun');
  expect(env).toMatchObject({ ALERTS_HTTP_PORT: 8090, ALERTS_RATE_SEGMENTS_PER_S: 10, GAMMU_INJECT_COMMAND: 'gammu-smsd-inject' });
  const credentials = { TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}`, TWILIO_AUTH_TOKEN: 't', ALERTS_PUBLIC_URL: 'https://ews.laichau.vn' };
  const twilioEnv = loadAlertsEnv(credentials);
  expect(chooseTransport(twilioEnv)).toBe('twilio');
  expect(ackModeOf(twilioEnv), 'Twilio in Vietnam cannot receive replies: the SMS carry the link').toBe('link');
  expect(ackModeOf(loadAlertsEnv({ ...credentials, TWILIO_FROM: '+14155550100', TWILIO_RECEIVES_REPLIES: 'true' }))).toBe('reply');
  expect(ackModeOf(loadAlertsEnv({ ALERTS_TRANSPORT: 'gammu', GAMMU_SMSD_CONFIG: '/etc/gammu-smsdrc' })), 'the modem receives replies').toBe('reply');
});

const TWILIO = { ALERTS_TRANSPORT: 'twilio', TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}`, TWILIO_AUTH_TOKEN: 't', ALERTS_PUBLIC_URL: 'https://ews.laichau.vn' };

describe('Twilio sender and public address', () => {
  it.each(['+84912345678', 'PCCR LCHAU', 'PCCRLaiChau', 'EWS 2'])('TWILIO_FROM=%s is accepted', (from) => {
    expect(loadAlertsEnv({ ...TWILIO, TWILIO_FROM: from }).TWILIO_FROM).toBe(from);
  });
  it.each([
    ['PCCR LAI CHAU', 'longer than 11 characters'],
    ['0912345678', 'neither E.164 nor containing a letter'],
    ['12345', 'digits only'],
    ['PCCR-LC', 'a character outside letters, digits and space'],
    ['+84 912 345 678', 'E.164 has no spaces'],
  ])('TWILIO_FROM=%s is refused (%s)', (from) => {
    expect(() => loadAlertsEnv({ ...TWILIO, TWILIO_FROM: from })).toThrow(/TWILIO_FROM: must be an E\.164 number .* or an alphanumeric sender ID of at most 11/);
  });
  it.each(['http://127.0.0.1:8090', 'http://localhost:8090', 'https://10.1.2.3', 'https://192.168.1.20:8090', 'https://172.20.0.5', 'http://[::1]:8090', 'http://alerts:8090', 'https://ews.local'])(
    'ALERTS_PUBLIC_URL=%s is refused with the twilio transport',
    (url) => {
      expect(() => loadAlertsEnv({ ...TWILIO, ALERTS_PUBLIC_URL: url })).toThrow(/ALERTS_PUBLIC_URL: .* is a loopback or private address: Twilio's status callbacks and the ack links/);
      expect(() => loadAlertsEnv({ ALERTS_PUBLIC_URL: url }), 'the dry run may use a local address').not.toThrow();
    },
  );
  it('a public address is accepted; a local one too when the API is a local double (tests only)', () => {
    expect(loadAlertsEnv({ ...TWILIO, ALERTS_PUBLIC_URL: 'https://113.160.1.2:8090' }).ALERTS_PUBLIC_URL).toBe('https://113.160.1.2:8090');
    expect(() => loadAlertsEnv({ ...TWILIO, ALERTS_PUBLIC_URL: 'http://127.0.0.1:8090', ALERTS_TWILIO_API_BASE_URL: 'http://127.0.0.1:9999' })).not.toThrow();
  });
  it('replies are refused from an alphanumeric sender', () => {
    expect(() => loadAlertsEnv({ ...TWILIO, TWILIO_FROM: 'PCCR LCHAU', TWILIO_RECEIVES_REPLIES: 'true' })).toThrow(/TWILIO_RECEIVES_REPLIES: an alphanumeric sender \(TWILIO_FROM=PCCR LCHAU\) cannot receive replies/);
  });
});

describe('a real transport with the sample roster', () => {
  const site = { site: { sampleData: true } } as Site;
  it.each([
    [{ ...TWILIO }, 'twilio'],
    [{ ALERTS_TRANSPORT: 'gammu', GAMMU_SMSD_CONFIG: '/etc/gammu-smsdrc' }, 'gammu'],
  ])('is refused, naming the file, the flag and what to do (%#)', (env, transport) => {
    expect(() => refuseSampleRoster(loadAlertsEnv({ ...env, EWS_SITE_FILE: 'config/lai-chau.site.yaml' }), site)).toThrow(
      new RegExp(`^config/lai-chau\\.site\\.yaml: site\\.sampleData is true .* ALERTS_TRANSPORT is ${transport}: copy the site file, .* set sampleData: false and point EWS_SITE_FILE at the copy$`),
    );
  });
  it('the dry run and a real roster are fine', () => {
    expect(() => refuseSampleRoster(loadAlertsEnv({}), site)).not.toThrow();
    expect(() => refuseSampleRoster(loadAlertsEnv(TWILIO), { site: { sampleData: false } } as Site)).not.toThrow();
  });
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
