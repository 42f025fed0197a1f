#!/usr/bin/env node
// The `flotilla` command (package.json "bin"). Runs the built CLI (dist/cli, made by `npm run build`);
// on a clone that was never built, the TypeScript source through @swc-node/register (a dev dependency).
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

// A reader that stops early (`flotilla get clusters | head`) closes the pipe: stop quietly, as
// other command-line tools do, instead of dying on an unhandled EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error && error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

const root = join(__dirname, '..', '..');
const built = join(root, 'dist', 'cli', 'src', 'main.js');

if (existsSync(built) && process.env.FLOTILLA_CLI_FROM_SOURCE !== 'true') {
  require(built).main(process.argv);
} else {
  process.env.SWC_NODE_PROJECT = process.env.SWC_NODE_PROJECT || join(root, 'tsconfig.json');
  try {
    require('@swc-node/register');
  } catch {
    process.stderr.write('error: the flotilla CLI is not built: run `npm run build` in the Flotilla checkout\n');
    process.exit(6);
  }
  require(join(root, 'cli', 'src', 'main.ts')).main(process.argv);
}
