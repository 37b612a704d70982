#!/usr/bin/env node
// Thin launcher: registers the TypeScript loader, then runs the CLI. No build step needed.
import { register } from 'tsx/esm/api';
register();
await import('../cli/fire-ews.ts');
