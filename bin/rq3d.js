#!/usr/bin/env node
// Entry point of the `rq3d` command. The package runs its TypeScript sources through tsx so that
// a fresh clone needs no build step; tsx's loader is registered before the CLI module is imported.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv.slice(2));
