#!/usr/bin/env node
// Fails the install with one clear line when the Boost 1.81 headers are missing.
'use strict';
const fs = require('fs');
const path = require('path');

const roots = [process.env.BOOST_ROOT && path.join(process.env.BOOST_ROOT, 'include'), process.env.BOOST_ROOT,
  '/usr/include', '/usr/local/include', '/opt/homebrew/include'].filter(Boolean);
for (const root of roots) {
  const version = path.join(root, 'boost', 'version.hpp');
  if (!fs.existsSync(version) || !fs.existsSync(path.join(root, 'boost', 'beast.hpp'))) continue;
  const m = /#define BOOST_VERSION (\d+)/.exec(fs.readFileSync(version, 'utf8'));
  if (m && Number(m[1]) >= 108100) process.exit(0);
}
console.error('roomwire: the Boost 1.81 headers are missing: on Debian/Ubuntu run `sudo apt-get install libboost1.81-dev` (or set BOOST_ROOT)');
process.exit(1);
