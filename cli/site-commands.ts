import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { formatProblem } from '../contracts/yaml-file.ts';
import { loadEnv } from '../contracts/config.ts';
import { checkSiteText, loadSiteFile } from '../platform/site-file.ts';
import { derivePassword, resolveBrokerSecret, SERVICE_ROLES, serviceUsername, type ServiceRole, MissingBrokerSecretError } from '../platform/credentials.ts';

export function registerSiteCommands(program: Command): void {
  const site = program.command('site').description('site registry (zones, nodes, boards, teams)');
  site
    .command('check')
    .argument('<file>', 'site YAML file')
    .description('validate a site file; errors name the line and the field')
    .action((file: string) => {
      const result = checkSiteText(readFileSync(file, 'utf8'), basename(file));
      if (!result.ok) {
        for (const p of result.problems) console.error(formatProblem(p));
        console.error(`${result.problems.length} problem${result.problems.length === 1 ? '' : 's'} in ${file}`);
        process.exitCode = 1;
        return;
      }
      const s = result.value;
      const teamMembers = s.teams.reduce((n, t) => n + t.members.length, 0);
      const boardMembers = s.boards.communes.reduce((n, b) => n + b.members.length, 0);
      console.log(
        `${file}: ok — ${s.zones.length} zones (${s.zones.filter((z) => z.hotspot).length} hotspots), ${s.nodes.length} nodes, ` +
          `${s.teams.length} teams (${teamMembers} members), city board ${s.boards.city.members.length}, ` +
          `${s.boards.communes.length} commune boards (${boardMembers} members)${s.site.sampleData ? ' [sample roster]' : ''}`,
      );
    });

  program
    .command('creds')
    .argument('<username>', `a node id from the site file, or svc-<role> (${SERVICE_ROLES.join(', ')})`)
    .description('print the MQTT password of a node or service account (derived from the broker secret)')
    .action((username: string) => {
      const env = loadEnv();
      const known = new Set(loadSiteFile(env.EWS_SITE_FILE).nodes.map((n) => n.id));
      const isService = SERVICE_ROLES.some((r: ServiceRole) => serviceUsername(r) === username);
      if (!isService && !known.has(username)) {
        console.error(`unknown username ${username}: not a node in ${env.EWS_SITE_FILE} nor a service account`);
        process.exitCode = 1;
        return;
      }
      try {
        const { secret } = resolveBrokerSecret(env.EWS_BROKER_SECRET, env.EWS_DATA_DIR, { generate: false });
        console.log(derivePassword(secret, username));
      } catch (err) {
        if (!(err instanceof MissingBrokerSecretError)) throw err;
        console.error(err.message);
        process.exitCode = 1;
      }
    });
}
