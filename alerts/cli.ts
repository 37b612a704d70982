import type { Command } from 'commander';
import { ackModeOf, loadAlertsEnv } from './config.ts';
import { loadSiteWithPolicy } from './policy.ts';
import { checkTemplates } from './templates.ts';

/** Adds this service's commands to `fire-ews`. */
export function registerAlertsCommands(program: Command): void {
  const alerts = program.command('alerts').description('SMS alerts: routing, templates, outbox, Twilio/gammu transports');
  alerts
    .command('check')
    .description('check the site file\'s alerts section and that every SMS template fits with the longest zone names and places, as the configured transport sends them')
    .action(() => {
      const env = loadAlertsEnv();
      const { site, policy } = loadSiteWithPolicy(env.EWS_SITE_FILE);
      // As the configured transport sends them: a reply with the code, or the link only (alerts/README.md "Twilio in Vietnam").
      const ackMode = ackModeOf(env);
      const problems = checkTemplates(policy, site, env.ALERTS_PUBLIC_URL, [ackMode]);
      for (const p of problems) console.error(`${p.kind}: ${p.message}${p.sample ? `\n  worst case: ${p.sample}` : ''}`);
      if (problems.length) process.exit(1);
      console.log(`ok: ${Object.keys(policy.templates).length} templates fit ${policy.maxSegments} ${policy.encoding} segment(s) (acknowledgement by ${ackMode === 'reply' ? 'reply with the code' : 'link only'}), ${policy.routes.length} routes`);
    });
  alerts
    .command('run')
    .description('run the alerts service (dry run unless Twilio or gammu is configured)')
    .action(async () => {
      await import('./main.ts');
    });
}
