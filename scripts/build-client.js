#!/usr/bin/env node
// Builds roomwire/client twice from lib/client/roomwire-client.ts: ESM (dist/client/esm,
// with the typings; also the file browsers load as it is) and CommonJS (dist/client/cjs).
// Each directory gets a package.json naming its module kind for Node.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
for (const [config, dir, type] of [
  ['tsconfig.client.json', 'dist/client/esm', 'module'],
  ['tsconfig.client.cjs.json', 'dist/client/cjs', 'commonjs'],
]) {
  execFileSync(process.execPath, [tsc, '-p', path.join(root, config)], { stdio: 'inherit' });
  fs.writeFileSync(path.join(root, dir, 'package.json'), `${JSON.stringify({ type }, null, 2)}\n`);
}
