import type { Command } from 'commander';

export function registerServiceCommands(_program: Command): void {}
