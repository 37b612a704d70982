// `node --import tsx scripts/mosquitto-config.ts <dir>`: the password and ACL files that let the
// services and nodes use Mosquitto 2 instead of our broker (README "Other MQTT brokers"). Accounts
// and rights come from the site file (EWS_SITE_FILE) and broker/acl.ts; passwords from
// EWS_BROKER_SECRET, as our broker derives them. Writes <dir>/passwd (hashed by `mosquitto_passwd -U`,
// mode 0600) and <dir>/acl. The test harness (test/harness/mosquitto.ts) uses the same function.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { mosquittoAclFile, mosquittoPlainPasswords } from '../broker/mosquitto-acl.ts';
import { loadEnv } from '../contracts/config.ts';
import { ConfigError } from '../platform/config-error.ts';
import { loadSiteFile } from '../platform/site-file.ts';

export function writeMosquittoAuthFiles(dir: string, secret: string, nodeIds: Iterable<string>): { passwordFile: string; aclFile: string } {
  mkdirSync(dir, { recursive: true });
  const passwordFile = join(dir, 'passwd');
  writeFileSync(passwordFile, mosquittoPlainPasswords(secret, nodeIds), { mode: 0o600 });
  chmodSync(passwordFile, 0o600);
  execFileSync('mosquitto_passwd', ['-U', passwordFile]);
  const aclFile = join(dir, 'acl');
  writeFileSync(aclFile, mosquittoAclFile());
  return { passwordFile, aclFile };
}

if (process.argv[1] && resolve(process.argv[1]) === new URL(import.meta.url).pathname) {
  try {
    const dir = process.argv[2];
    if (!dir) throw new ConfigError([{ where: 'argument', problem: 'no output directory', fix: 'run: node --import tsx scripts/mosquitto-config.ts <dir>' }]);
    const env = loadEnv();
    if (!env.EWS_BROKER_SECRET) throw new ConfigError([{ where: 'EWS_BROKER_SECRET', problem: 'not set: the passwords are derived from it', fix: 'set EWS_BROKER_SECRET to the secret the services and nodes use' }]);
    const site = loadSiteFile(env.EWS_SITE_FILE);
    const files = writeMosquittoAuthFiles(dir, env.EWS_BROKER_SECRET, site.nodes.map((n) => n.id));
    process.stdout.write(`wrote ${files.passwordFile} (${site.nodes.length} nodes and the service accounts) and ${files.aclFile}\n`);
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigError ? err.message : `mosquitto-config: ${err instanceof Error ? err.message : String(err)}`}\n`);
    process.exit(err instanceof ConfigError ? 2 : 1);
  }
}
