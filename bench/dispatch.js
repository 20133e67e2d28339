#!/usr/bin/env node
// JS dispatch without sockets: a native thread emits message events for a route whose
// onMessage is a no-op, each awaiting its verdict like a frame's, with at most --window
// unanswered; the batched thread-safe calls carry them into JavaScript, the dispatcher
// builds each event object and runs the callback, and the verdicts go back in one native
// call per batch. Prints events/s for each run and the median, as one JSON line last.
// Usage: node bench/dispatch.js [--events 2000000] [--window 10000] [--runs 3]
'use strict';
const path = require('path');
const { execSync } = require('child_process');

// The event source is a benchmark hook, compiled only into a bench build of the addon
// (build-bench/, incremental after the first time); this process loads that build.
if (!process.env.ROOMWIRE_ADDON) {
  const root = path.join(__dirname, '..');
  execSync('npx --no-install cmake-js compile --out build-bench --parallel 2 --log-level warn --CDROOMWIRE_BENCH_HOOKS=ON',
    { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  process.env.ROOMWIRE_ADDON = path.join(root, 'build-bench', 'Release', 'roomwire.node');
}
const { createApp } = require('..');
const { args, median } = require('./lib');

const o = args({ events: 2000000, window: 10000, runs: 3 });

async function once() {
  let seen = 0;
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  const app = createApp({ threads: 1 });
  app.websocket('/bench', {
    onMessage: () => {
      if (++seen === o.events) done();
      return undefined;
    },
  });
  await app.listen(0, '127.0.0.1');
  const t0 = process.hrtime.bigint();
  // The app's native object; benchDispatch is a benchmark hook, not part of the API.
  if (!app.nativeApp.benchDispatch?.(o.events, 0, o.window)) throw new Error('benchDispatch refused (not a bench build?)');
  await finished;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await app.close();
  return o.events / seconds;
}

(async () => {
  const rates = [];
  for (let i = 0; i < o.runs; i++) {
    const rate = await once();
    rates.push(rate);
    console.error(`run ${i + 1}/${o.runs}: ${Math.round(rate).toLocaleString('en')} events/s`);
  }
  console.log(JSON.stringify({ events: o.events, window: o.window, runs: rates.map(Math.round), events_per_s: Math.round(median(rates)) }));
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
