// `fire-ews creds` prints a password only from a secret a broker uses: given in EWS_BROKER_SECRET or
// the one a local broker generated in the data dir. Before, without either it silently generated a
// new secret in ./data and printed a password no running broker accepted.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { derivePassword } from '../../platform/credentials.ts';
import { SITE_FILE, tempDataDir } from '../harness/services.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const creds = (env: Record<string, string>, user = 'san-thang-01') =>
  spawnSync(process.execPath, [join(ROOT, 'bin/fire-ews.js'), 'creds', user], { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', EWS_SITE_FILE: SITE_FILE, ...env } });

describe('fire-ews creds', () => {
  it('refuses without EWS_BROKER_SECRET or a generated secret, naming both, and creates nothing', () => {
    const data = tempDataDir('creds');
    try {
      const r = creds({ EWS_DATA_DIR: data.dir });
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim()).toBe(
        `no broker secret: EWS_BROKER_SECRET is not set and ${join(data.dir, 'broker-secret.json')} does not exist. Set EWS_BROKER_SECRET to the broker's secret, or EWS_DATA_DIR to the data directory of the broker that generated one.`,
      );
      expect(readdirSync(data.dir)).toStrictEqual([]);
    } finally {
      data.remove();
    }
  });

  it('prints the password derived from EWS_BROKER_SECRET, or from the secret a local broker kept', () => {
    const data = tempDataDir('creds');
    try {
      const secret = 'creds-test-secret-0123456789abcdef';
      expect(creds({ EWS_DATA_DIR: data.dir, EWS_BROKER_SECRET: secret }).stdout.trim()).toBe(derivePassword(secret, 'san-thang-01'));
      expect(existsSync(join(data.dir, 'broker-secret.json'))).toBe(false);
      writeFileSync(join(data.dir, 'broker-secret.json'), JSON.stringify({ brokerSecret: 'generated-by-a-broker-0123456789' }));
      expect(creds({ EWS_DATA_DIR: data.dir }, 'svc-ingest').stdout.trim()).toBe(derivePassword('generated-by-a-broker-0123456789', 'svc-ingest'));
    } finally {
      data.remove();
    }
  });
});
