#!/usr/bin/env node
// `keyport-server` CLI launcher: loads src/cli.ts through tsx (a dependency of this workspace)
// in-process. See src/cli.ts for usage.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv.slice(2));
