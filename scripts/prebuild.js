#!/usr/bin/env node
// Makes the prebuilt addon the package carries: builds it with cmake-js (as `npm install`
// would) and copies it, without debug symbols, to prebuilds/<platform>-<arch>/ under the
// name node-gyp-build's rules load (node.napi.<libc>.node: any Node with N-API 8).
'use strict';
const { execSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.join(__dirname, '..');
execSync('node scripts/check-boost.js && npx --no-install cmake-js compile --out build --parallel 2 --log-level warn',
  { cwd: root, stdio: 'inherit' });
const libc = process.report?.getReport().header.glibcVersionRuntime ? 'glibc' : 'musl';
const dir = path.join(root, 'prebuilds', `${os.platform()}-${os.arch()}`);
fs.mkdirSync(dir, { recursive: true });
const target = path.join(dir, `node.napi.${libc}.node`);
fs.copyFileSync(path.join(root, 'build', 'Release', 'roomwire.node'), target);
try {
  execSync(`strip --strip-debug "${target}"`, { stdio: 'ignore' });
} catch {
  // No strip on this machine: the prebuild keeps its symbols.
}
console.log(`prebuild: ${path.relative(root, target)} (${fs.statSync(target).size} bytes)`);
