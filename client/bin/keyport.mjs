#!/usr/bin/env node
// `keyport` CLI launcher: loads src/cli.ts through tsx (a dependency of this workspace) in-process,
// so signals and the exit status reach the command directly. See src/cli.ts for usage.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
await main(process.argv.slice(2));
