import type { Command } from 'commander';

/** Adds this service's commands to `fire-ews`. */
export function registerSimulatorCommands(_program: Command): void {}
