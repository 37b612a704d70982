import type { Command } from 'commander';

/** Adds this service's commands to `fire-ews`. */
export function registerAlertsCommands(_program: Command): void {}
