// `fire-ews`: one command-line entry for every service and tool.
import { Command } from 'commander';
import { registerServiceCommands } from './service-commands.ts';
import { registerSiteCommands } from './site-commands.ts';
import { registerSimulatorCommands } from '../simulator/cli.ts';
import { registerRulesCommands } from '../rules/cli.ts';
import { registerAlertsCommands } from '../alerts/cli.ts';
import { registerDrillCommands } from '../alerts/drill-cli.ts';
import { registerBoardCommands } from '../board/cli.ts';

const program = new Command();
program
  .name('fire-ews')
  .description('Lai Châu forest-fire early-warning pipeline: broker, ingest, rules, alerts, simulator and tools')
  .showHelpAfterError();

registerServiceCommands(program);
registerSiteCommands(program);
registerSimulatorCommands(program);
registerRulesCommands(program);
registerAlertsCommands(program);
registerDrillCommands(program);
registerBoardCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Configuration and usage problems (a bad variable, an unknown scenario, a file that cannot be
  // read): one message naming it, a non-zero exit, no stack trace.
  console.error(`fire-ews: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
