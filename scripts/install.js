#!/usr/bin/env node
// `npm install`: uses the prebuilt addon when it loads on this machine (node-gyp-build's
// rules: build/Release first, then prebuilds/<platform>-<arch>), and builds from source
// otherwise, or when asked to (`npm install --build-from-source`).
'use strict';
const { execSync } = require('child_process');
const path = require('path');

const root = path.join(__dirname, '..');
const fromSource = /^(true|1|roomwire)$/.test(process.env.npm_config_build_from_source ?? '');
if (!fromSource) {
  try {
    require('node-gyp-build')(root);
    process.exit(0);
  } catch {
    // No build that loads here: compile one.
  }
}
execSync('node scripts/check-boost.js && cmake-js compile --out build', { cwd: root, stdio: 'inherit' });
