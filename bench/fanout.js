#!/usr/bin/env node
// Room fan-out: S subscribers and P publishers in one room, B-byte messages, K in flight
// per publisher; deliveries/s counted by the C++ load generator. roomwire (native path)
// and `ws` (loop over a Set) alternate, each on a fresh server process, R runs each.
// Usage: node bench/fanout.js [--subscribers 1000] [--publishers 1] [--inflight 8]
//          [--size 100] [--seconds 5] [--runs 3] [--threads 0 (roomwire I/O threads; 0 = cores)]
'use strict';
const { buildLoadgen, startServer, stopServer, runLoadgen, median, args, writeResult } = require('./lib');

const o = args({ subscribers: 1000, publishers: 1, inflight: 8, size: 100, seconds: 5, runs: 3, threads: 0 });
const servers = [
  { name: 'roomwire', script: 'servers/roomwire-fanout.js' },
  { name: 'ws', script: 'peers/ws-fanout.js' },
];

(async () => {
  buildLoadgen();
  const results = Object.fromEntries(servers.map((s) => [s.name, []]));
  for (let run = 1; run <= o.runs; run++) {
    for (const s of servers) {
      const { child, port } = await startServer(s.script, { THREADS: String(o.threads) });
      try {
        const r = await runLoadgen(['--port', String(port), '--subscribers', String(o.subscribers),
          '--publishers', String(o.publishers), '--inflight', String(o.inflight), '--size', String(o.size),
          '--seconds', String(o.seconds), '--warmup', '1']);
        results[s.name].push(r.deliveries_per_s);
        console.error(`run ${run}/${o.runs} ${s.name}: ${Math.round(r.deliveries_per_s).toLocaleString('en')} deliveries/s`);
      } finally {
        await stopServer(child);
      }
    }
  }
  const med = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)]));
  const ratio = med.roomwire / med.ws;
  console.log(`\n| server | runs (deliveries/s) | median |`);
  console.log(`|---|---|---|`);
  for (const s of servers) {
    console.log(`| ${s.name} | ${results[s.name].map((x) => Math.round(x).toLocaleString('en')).join(' / ')} | ${Math.round(med[s.name]).toLocaleString('en')} |`);
  }
  console.log(`\nroomwire / ws: ${ratio.toFixed(2)}x`);
  const file = writeResult('fanout', { options: o, results, median: med, ratio });
  console.error(`results: ${file}`);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
