import type { Command } from 'commander';

/** Adds this service's commands to `fire-ews`. */
export function registerRulesCommands(_program: Command): void {}
