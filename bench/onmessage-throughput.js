#!/usr/bin/env node
// Messages/s through a registered no-op onMessage: C connections (default 100), each
// keeping K frames in flight (default 8), counting the message_ack replies for D seconds.
// The server runs in its own process; the clients are `ws` in this one. Repeats R times
// (default 3), each against a fresh server, and prints the median.
// Usage: node bench/onmessage-throughput.js [--connections 100] [--inflight 8] [--seconds 5] [--runs 3]
'use strict';
const { spawn } = require('child_process');
const path = require('path');
const WebSocket = require('ws');

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const connections = arg('connections', 100);
const inflight = arg('inflight', 8);
const seconds = arg('seconds', 5);
const runs = arg('runs', 3);
const payload = JSON.stringify({ type: 'bench', data: 'x'.repeat(64) });

function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'servers', 'roomwire-onmessage.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.once('data', (d) => resolve({ child, port: Number(String(d).trim()) }));
    child.once('error', reject);
  });
}

async function once() {
  const { child, port } = await startServer();
  const sockets = await Promise.all(Array.from({ length: connections }, () => new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/bench`);
    ws.once('message', () => resolve(ws)); // welcome
    ws.once('error', reject);
  })));
  let acks = 0;
  let counting = false;
  for (const ws of sockets) {
    ws.on('message', () => {
      if (counting) acks++;
      ws.send(payload);
    });
    for (let i = 0; i < inflight; i++) ws.send(payload);
  }
  await new Promise((r) => setTimeout(r, 1000)); // warm-up
  counting = true;
  const start = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  counting = false;
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  for (const ws of sockets) ws.terminate();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return acks / elapsed;
}

(async () => {
  const results = [];
  for (let i = 0; i < runs; i++) {
    const rate = await once();
    results.push(rate);
    console.error(`run ${i + 1}/${runs}: ${Math.round(rate).toLocaleString('en')} msg/s`);
  }
  results.sort((a, b) => a - b);
  const median = results[Math.floor(results.length / 2)];
  console.log(JSON.stringify({ workload: 'onmessage-noop', connections, inflight, seconds, runs: results.map(Math.round), median: Math.round(median) }));
})();
