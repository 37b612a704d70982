// `fire-ews`: one command-line entry for every service and tool.
import { Command } from 'commander';
import { registerServiceCommands } from './service-commands.ts';
import { registerSiteCommands } from './site-commands.ts';
import { registerSimulatorCommands } from '../simulator/cli.ts';
import { registerRulesCommands } from '../rules/cli.ts';
import { registerAlertsCommands } from '../alerts/cli.ts';
import { registerDrillCommands } from '../alerts/drill-cli.ts';
import { sensorDrillFromEnv } from '../simulator/drill-plume.ts';
import { registerBoardCommands } from '../board/cli.ts';
import { reportFatal } from '../platform/fatal.ts';

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
registerDrillCommands(program, sensorDrillFromEnv);
registerBoardCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Configuration problems: one line each naming the variable or file:line and what to do, exit 2,
  // no stack trace. Anything else is a bug: its stack, exit 1.
  process.exit(reportFatal(err, (text) => process.stderr.write(text)));
}
