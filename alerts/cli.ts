import type { Command } from 'commander';
import { loadSiteFile } from '../platform/site-file.ts';
import { loadAlertsEnv } from './config.ts';
import { loadAlertPolicyFile } from './policy.ts';
import { checkTemplates } from './templates.ts';

/** Adds this service's commands to `fire-ews`. */
export function registerAlertsCommands(program: Command): void {
  const alerts = program.command('alerts').description('SMS alerts: routing, templates, outbox, Twilio/gammu transports');
  alerts
    .command('check')
    .description('check the alert policy and that every SMS template fits with the longest zone/node names')
    .action(() => {
      const env = loadAlertsEnv();
      const site = loadSiteFile(env.EWS_SITE_FILE);
      const policy = loadAlertPolicyFile(env.ALERTS_POLICY_FILE);
      const problems = checkTemplates(policy, site, env.ALERTS_PUBLIC_URL);
      for (const p of problems) console.error(`${p.kind}: ${p.message}${p.sample ? `\n  worst case: ${p.sample}` : ''}`);
      if (problems.length) process.exit(1);
      console.log(`ok: ${Object.keys(policy.templates).length} templates fit ${policy.maxSegments} ${policy.encoding} segment(s), ${policy.routes.length} routes`);
    });
  alerts
    .command('run')
    .description('run the alerts service (dry run unless Twilio or gammu is configured)')
    .action(async () => {
      await import('./run.ts');
    });
}
