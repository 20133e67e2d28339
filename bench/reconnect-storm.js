#!/usr/bin/env node
// A reconnect storm: N roomwire/client clients (default 1,000) in one room, every
// connection closed by the server at once (1012), each client back after its own
// full-jitter backoff. Prints when the server saw them return, relative to the closes:
// first, percentiles, last, and the busiest 100 ms against an even spread's share.
//   node bench/reconnect-storm.js [clients] [window ms]
'use strict';
const path = require('path');
const root = path.join(__dirname, '..');
const { createApp } = require(root);
const { RoomwireClient } = require(path.join(root, 'dist/client/cjs/roomwire-client.js'));

async function main() {
  const count = Number(process.argv[2] || 1000);
  const window = Number(process.argv[3] || 2000);
  const arrivals = [];
  let closedAt = 0;
  const app = createApp({ threads: 2 });
  app.websocket('/ws', { onConnect: () => { if (closedAt) arrivals.push(performance.now() - closedAt); return undefined; } });
  const room = app.createRoom('storm');
  const port = await app.listen(0, '127.0.0.1');
  const clients = [];
  for (let i = 0; i < count; i += 100) {
    const batch = [];
    for (let j = 0; j < 100 && i + j < count; j += 1) {
      const c = new RoomwireClient({ url: `ws://127.0.0.1:${port}/ws`, reconnectDelay: window, reconnectDelayMax: window, pingInterval: 0 });
      clients.push(c);
      batch.push(c.connect().then(() => c.joinRoom(room)));
    }
    await Promise.all(batch);
  }
  let rejoined = 0;
  const back = new Promise((resolve) => {
    for (const c of clients) c.on('rejoined', () => { if (++rejoined === count) resolve(); });
  });
  closedAt = performance.now();
  for (const c of clients) app.closeConnection(c.connectionId, 1012, 'restart');
  await Promise.race([back, new Promise((_, reject) => setTimeout(() => reject(new Error('not all rejoined in 30 s')), 30000))]);
  const allBack = performance.now() - closedAt;
  arrivals.sort((a, b) => a - b);
  const at = (q) => arrivals[Math.min(arrivals.length - 1, Math.floor(q * arrivals.length))];
  const buckets = new Map();
  for (const t of arrivals) buckets.set(Math.floor(t / 100), (buckets.get(Math.floor(t / 100)) || 0) + 1);
  const busiest = Math.max(...buckets.values());
  const fmt = (v) => `${Math.round(v)} ms`;
  console.log(`${count} clients, backoff window ${window} ms: reconnects first ${fmt(arrivals[0])}, p10 ${fmt(at(0.1))}, ` +
    `p50 ${fmt(at(0.5))}, p90 ${fmt(at(0.9))}, last ${fmt(arrivals[arrivals.length - 1])}; all rejoined ${fmt(allBack)}; ` +
    `busiest 100 ms: ${busiest} reconnects (an even spread: ${Math.round((count * 100) / window)})`);
  for (const c of clients) c.disconnect();
  await app.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
