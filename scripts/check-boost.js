#!/usr/bin/env node
// Fails the install with one clear line when hiredis or the Boost headers are missing, or Boost is of a version
// the core is not known to build with: the WebSocket parser uses Beast internals
// (detail::utf8_checker, base64, hybi13), which Boost does not promise to keep.
'use strict';
const fs = require('fs');
const path = require('path');

/** The supported range: 1.81 (the first with Beast's and JSON's current APIs) up to, not including, 1.87. */
const lowest = 108100;
const beyond = 108700;

// hiredis (the cluster's Redis client) is built into the addon as well.
if (!['/usr/include', '/usr/local/include', '/opt/homebrew/include'].some((r) => fs.existsSync(path.join(r, 'hiredis', 'async.h')))) {
  console.error('roomwire: the hiredis headers are missing: on Debian/Ubuntu run `sudo apt-get install libhiredis-dev`');
  process.exit(1);
}

// zlib (permessage-deflate) and OpenSSL (TLS): their headers; the addon uses the libraries Node itself carries.
for (const [header, pkg, what] of [['zlib.h', 'zlib1g-dev', 'zlib'], [path.join('openssl', 'ssl.h'), 'libssl-dev', 'OpenSSL']]) {
  if (!['/usr/include', '/usr/local/include', '/opt/homebrew/include'].some((r) => fs.existsSync(path.join(r, header)))) {
    console.error(`roomwire: the ${what} headers are missing: on Debian/Ubuntu run \`sudo apt-get install ${pkg}\``);
    process.exit(1);
  }
}

const roots = [process.env.BOOST_ROOT && path.join(process.env.BOOST_ROOT, 'include'), process.env.BOOST_ROOT,
  '/usr/include', '/usr/local/include', '/opt/homebrew/include'].filter(Boolean);
for (const root of roots) {
  const version = path.join(root, 'boost', 'version.hpp');
  if (!fs.existsSync(version) || !fs.existsSync(path.join(root, 'boost', 'beast.hpp'))) continue;
  const m = /#define BOOST_VERSION (\d+)/.exec(fs.readFileSync(version, 'utf8'));
  if (!m) continue;
  const v = Number(m[1]);
  const name = `${Math.floor(v / 100000)}.${Math.floor(v / 100) % 1000}`;
  if (v >= lowest && v < beyond) process.exit(0);
  console.error(`roomwire: Boost ${name} found in ${root}; roomwire builds with Boost 1.81 to 1.86 ` +
    '(its WebSocket parser uses Beast internals): install libboost1.81-dev, or set BOOST_ROOT to a supported Boost');
  process.exit(1);
}
console.error('roomwire: the Boost 1.81 headers are missing: on Debian/Ubuntu run `sudo apt-get install libboost1.81-dev` (or set BOOST_ROOT)');
process.exit(1);
