#!/usr/bin/env node
// `npm run bench`: every workload against each server, each run on a fresh server process,
// servers alternating, R runs (default 3); prints progress, then a table of medians and
// roomwire/peer ratios, and writes bench/results/bench.json and bench/results/bench.svg.
// Usage: node bench/run.js [--runs 3] [--seconds 5] [--only fanout,echo-js,...] [--servers roomwire,ws,...] | --chart-only
'use strict';
const fs = require('fs');
const path = require('path');
const { buildLoadgen, startServer, stopServer, runLoadgen, median, args, writeResult } = require('./lib');

const o = args({ runs: 3, seconds: 5, only: '', servers: '' });
const secs = String(o.seconds);

/** A self-signed pair for the TLS rows, made once per run with the openssl command. */
let tlsFiles;
function tlsPair() {
  if (tlsFiles) return tlsFiles;
  const os = require('os');
  const { execFileSync } = require('child_process');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roomwire-bench-tls-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2', '-subj', '/CN=localhost'], { cwd: dir, stdio: 'ignore' });
  tlsFiles = { TLS_KEY: path.join(dir, 'key.pem'), TLS_CERT: path.join(dir, 'cert.pem') };
  return tlsFiles;
}

/** A server's environment, with the TLS pair's files when it serves TLS (`TLS: '1'`). */
function serverEnv(env) {
  if (!env || env.TLS !== '1') return env;
  return { ...env, ...tlsPair() };
}

function rssKb(pid) {
  return Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
}

/** Idle connections: server memory per connection once `n` connections have settled. */
async function idleRun(server, n) {
  const { child, port } = await startServer(server.script, server.env);
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const base = rssKb(child.pid);
    const { spawn } = require('child_process');
    const lg = spawn(path.join(__dirname, '..', 'build', 'roomwire_loadgen'),
      ['--mode', 'idle', '--port', String(port), '--connections', String(n), '--warmup', '0', '--seconds', '6',
        ...(server.loadgen ?? [])],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    const ready = await new Promise((resolve, reject) => {
      lg.stdout.once('data', (d) => resolve(String(d)));
      lg.once('exit', (code) => reject(new Error(`loadgen exited with ${code} before all ${n} connected`)));
    });
    if (!/"ready":/.test(ready)) throw new Error(`idle: ${ready}`);
    await new Promise((r) => setTimeout(r, 3000)); // settle
    const held = rssKb(child.pid);
    await new Promise((r) => lg.once('exit', r));
    return ((held - base) * 1024) / n;
  } finally {
    await stopServer(child);
  }
}

/** A redis-server of the run's own on a free loopback port, no persistence. */
async function startRedis() {
  const net = require('net');
  const { spawn } = require('child_process');
  const port = await new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' });
  for (let i = 0; i < 100; ++i) {
    const up = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => c.write('PING\r\n'));
      c.on('data', (d) => { c.destroy(); resolve(String(d).includes('PONG')); });
      c.on('error', () => resolve(false));
    });
    if (up) return { child, url: `redis://127.0.0.1:${port}` };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error('redis-server did not start');
}

/**
 * A cross-server run: a fresh Redis and `server.nodes` (2, or 1 for the single-server row)
 * processes of `server.script` on it; the publisher and half the subscribers on the first,
 * the other half on the second.
 */
async function clusterRun(server, run) {
  const redis = await startRedis();
  const started = [];
  try {
    for (let i = 0; i < server.nodes; ++i) {
      started.push(await startServer(server.script, { REDIS_URL: server.nodes > 1 ? redis.url : '', NODE_ID: `bench${i + 1}` }));
    }
    return await run(started.map((s) => s.port), server.loadgen ?? []);
  } finally {
    for (const s of started) await stopServer(s.child);
    redis.child.kill('SIGKILL');
  }
}

const roomwireEcho = { name: 'roomwire', script: 'servers/roomwire-echo.js' };
const wsEcho = { name: 'ws', script: 'peers/ws-echo.js' };
// Socket.IO speaks its own framing; the load generator is told so (see bench/loadgen).
const sio = ['--protocol', 'socketio'];
const sioEcho = { name: 'socket.io', script: 'peers/socketio-echo.js', loadgen: sio };
const sioFanout = { name: 'socket.io', script: 'peers/socketio-fanout.js', loadgen: sio };
const roomwireFanout = { name: 'roomwire', script: 'servers/roomwire-fanout.js' };
const wsFanout = { name: 'ws', script: 'peers/ws-fanout.js' };
// uWebSockets.js, the peer users pick for speed (one thread per process by design).
const uwsEcho = { name: 'uWebSockets.js', script: 'peers/uws-echo.js' };
const uwsFanout = { name: 'uWebSockets.js', script: 'peers/uws-fanout.js' };
// The floor: echo and relay on bare epoll, no framework (bench/floor), what any design can reach here.
const floorEcho = { name: 'bare epoll floor', script: 'build/roomwire_epoll_echo' };
const floorFanout = { ...floorEcho, args: ['--relay'], loadgen: ['--plain', '1'] };
/** The per-core table: a server pinned to CPU 0 (roomwire with one I/O thread); the load generator runs on CPU 1. */
const onCore = (s) => ({ ...s, env: { ...(s.env ?? {}), PIN_CPU: '0', ...(s.name === 'roomwire' ? { THREADS: '1' } : {}) } });
// Two servers on one Redis; roomwire alone (one server, no Redis) for scale.
const clusterServers = [
  { name: 'roomwire', script: 'servers/roomwire-fanout.js', nodes: 2 },
  { name: 'roomwire 1 server', script: 'servers/roomwire-fanout.js', nodes: 1 },
  { name: 'socket.io', script: 'peers/socketio-fanout.js', nodes: 2, loadgen: sio },
];
const fanoutArgs = (ports, inflight, subscribers = 1000) => ['--mode', 'fanout', '--port', String(ports[0]),
  ...(ports[1] ? ['--port2', String(ports[1])] : []), '--subscribers', String(subscribers), '--publishers', '1',
  '--inflight', String(inflight), '--size', '100', '--seconds', secs];
/** One server's room fan-out: 1,000 members, one publisher keeping 8 messages in flight. */
const fanoutOne = (port, rate, extra) => runLoadgen(['--mode', 'fanout', '--port', String(port), '--subscribers', '1000',
  '--publishers', '1', '--inflight', '8', '--size', '100', '--seconds', secs, ...extra]).then((r) => r.deliveries_per_s);
const workloads = [
  {
    id: 'fanout', title: 'room fan-out, 1,000 members, 100 B', unit: 'deliveries/s', better: 'higher',
    servers: [roomwireFanout, wsFanout, sioFanout, uwsFanout],
    run: fanoutOne,
  },
  {
    // What a room's history costs its fan-out: offsets, the record, the per-thread queue.
    id: 'fanout-history', title: 'room fan-out keeping history (1,000 messages) against none, 1,000 members, 100 B',
    unit: 'deliveries/s', better: 'higher',
    servers: [{ ...roomwireFanout, name: 'roomwire history', env: { HISTORY: '1000' } }, roomwireFanout],
    run: fanoutOne,
  },
  {
    // Compression where it pays: a 2 KB chat-like JSON message to 1,000 members, every
    // client offering permessage-deflate. roomwire compresses once per I/O thread
    // (`shared`); ws compresses per recipient. The extras hold the server's CPU time per
    // delivery over the measured window (the fanout-deflate-cpu row).
    id: 'fanout-deflate', title: 'compressed room fan-out, 1,000 members, 2 KB JSON', unit: 'deliveries/s', better: 'higher',
    servers: [{ ...roomwireFanout, env: { COMPRESSION: 'shared' } }, { ...wsFanout, env: { DEFLATE: '1' } }],
    run: (port, rate, extra, pid) => runLoadgen(['--mode', 'fanout', '--port', String(port), '--subscribers', '1000',
      '--publishers', '1', '--inflight', '8', '--size', '2000', '--text', '1', '--deflate', '1', '--cpu-pid', String(pid),
      '--seconds', secs, ...extra]).then((r) => ({ value: r.deliveries_per_s, extra: r })),
  },
  {
    id: 'fanout-deflate-cpu', title: 'server CPU per compressed delivery (same runs)', unit: 'µs', better: 'lower',
    derived: { from: 'fanout-deflate', pick: (r) => r.server_cpu_us_per_delivery },
  },
  {
    id: 'fanout-cluster', title: 'cross-server fan-out: 2 servers on Redis, 1,000 members split, 100 B', unit: 'deliveries/s',
    better: 'higher', servers: clusterServers,
    cluster: (ports, extra) => runLoadgen([...fanoutArgs(ports, 8), ...extra]).then((r) => r.deliveries_per_s),
  },
  {
    // 1,000 messages/s, open loop, to 10 members: delivery latency without queueing (with
    // 1,000 members it would be the load generator's own time to read them all). The value
    // is what the Redis hop adds: p99 on the second server minus p99 on the publisher's own.
    id: 'fanout-cluster-hop', title: 'p99 added by the Redis hop (10 members, 1,000 messages/s)', unit: 'ms', better: 'lower',
    servers: clusterServers.filter((s) => s.nodes > 1),
    cluster: (ports, extra) => runLoadgen([...fanoutArgs(ports, 1, 10), '--paced', '1', '--rate', '1000', '--stamp', '1', ...extra])
      .then((r) => ({ value: r.p99_remote_ms - r.p99_ms, extra: r })),
  },
  {
    id: 'echo-js', title: 'echo through a JS onMessage, 100 connections, 512 B', unit: 'messages/s', better: 'higher',
    servers: [{ ...roomwireEcho, env: { MODE: 'js' } }, wsEcho, sioEcho, uwsEcho],
    run: (port, rate, extra) => runLoadgen(['--mode', 'echo', '--port', String(port), '--connections', '100', '--inflight', '8',
      '--size', '512', '--seconds', secs, ...extra]).then((r) => r.messages_per_s),
  },
  {
    // The same echo on a route with protocol 'raw': no welcome, no verdict to wait for.
    id: 'echo-raw', title: "echo through onMessage on a 'raw' route, 100 connections, 512 B", unit: 'messages/s',
    better: 'higher', servers: [{ ...roomwireEcho, env: { MODE: 'raw' }, loadgen: ['--no-welcome', '1'] }, wsEcho],
    run: (port, rate, extra) => runLoadgen(['--mode', 'echo', '--port', String(port), '--connections', '100', '--inflight', '8',
      '--size', '512', '--seconds', secs, ...extra]).then((r) => r.messages_per_s),
  },
  {
    // A hooks route's program (the `roomwire` column) against the same behaviour as
    // JavaScript callbacks (a raw route's onMessage) and against ws: echo, then a channel's
    // fan-out (the JS version broadcasts to its route, all of whose connections are members).
    id: 'echo-hooks', title: 'echo from a hooks route (no JavaScript), 100 connections, 512 B', unit: 'messages/s',
    better: 'higher',
    servers: [{ ...roomwireEcho, env: { MODE: 'hooks' }, loadgen: ['--no-welcome', '1'] },
      { ...roomwireEcho, name: 'roomwire JS onMessage', env: { MODE: 'raw' }, loadgen: ['--no-welcome', '1'] }, wsEcho],
    run: (port, rate, extra) => runLoadgen(['--mode', 'echo', '--port', String(port), '--connections', '100', '--inflight', '8',
      '--size', '512', '--seconds', secs, ...extra]).then((r) => r.messages_per_s),
  },
  {
    id: 'fanout-hooks', title: 'channel fan-out from a hooks route, 1,000 members, 100 B text', unit: 'deliveries/s',
    better: 'higher',
    servers: [{ ...roomwireFanout, env: { MODE: 'hooks' } },
      { ...roomwireFanout, name: 'roomwire JS onMessage', env: { MODE: 'js' } }, { ...wsFanout, env: { MODE: 'plain' } }],
    run: (port, rate, extra) => fanoutOne(port, rate, ['--plain', '1', ...extra]),
  },
  {
    // wss: the same echo and fan-out with TLS on both servers (one self-signed P-256 pair,
    // TLS 1.3), the load generator speaking TLS through its own client.
    id: 'echo-js-tls', title: 'TLS echo through a JS onMessage, 100 connections, 512 B', unit: 'messages/s', better: 'higher',
    servers: [{ ...roomwireEcho, env: { MODE: 'js', TLS: '1' } }, { ...wsEcho, env: { TLS: '1' } }],
    run: (port) => runLoadgen(['--mode', 'echo', '--port', String(port), '--connections', '100', '--inflight', '8',
      '--size', '512', '--tls', '1', '--seconds', secs]).then((r) => r.messages_per_s),
  },
  {
    id: 'fanout-tls', title: 'TLS room fan-out, 1,000 members, 100 B', unit: 'deliveries/s', better: 'higher',
    servers: [{ ...roomwireFanout, env: { TLS: '1' } }, { ...wsFanout, env: { TLS: '1' } }],
    run: (port) => runLoadgen(['--mode', 'fanout', '--port', String(port), '--subscribers', '1000', '--publishers', '1',
      '--inflight', '8', '--size', '100', '--tls', '1', '--seconds', secs]).then((r) => r.deliveries_per_s),
  },
  {
    // The same two on one core each: the server pinned to CPU 0 with one I/O thread, the
    // load generator on CPU 1 (on two shared cores the load generator's TLS work competes
    // with the server's threads).
    id: 'echo-js-tls-core', title: 'per core: TLS echo through a JS onMessage, 100 connections, 512 B', unit: 'messages/s',
    better: 'higher',
    servers: [{ ...roomwireEcho, env: { MODE: 'js', TLS: '1', PIN_CPU: '0', THREADS: '1' } }, { ...wsEcho, env: { TLS: '1', PIN_CPU: '0' } }],
    run: (port) => runLoadgen(['--mode', 'echo', '--port', String(port), '--connections', '100', '--inflight', '8',
      '--size', '512', '--tls', '1', '--seconds', secs], undefined, 1).then((r) => r.messages_per_s),
  },
  {
    id: 'fanout-tls-core', title: 'per core: TLS room fan-out, 1,000 members, 100 B', unit: 'deliveries/s', better: 'higher',
    servers: [{ ...roomwireFanout, env: { TLS: '1', PIN_CPU: '0', THREADS: '1' } }, { ...wsFanout, env: { TLS: '1', PIN_CPU: '0' } }],
    run: (port) => runLoadgen(['--mode', 'fanout', '--port', String(port), '--subscribers', '1000', '--publishers', '1',
      '--inflight', '8', '--size', '100', '--tls', '1', '--seconds', secs], undefined, 1).then((r) => r.deliveries_per_s),
  },
  {
    id: 'echo-native', title: 'native echo (message_ack path), 100 connections, 512 B', unit: 'messages/s', better: 'higher',
    servers: [{ ...roomwireEcho, env: { MODE: 'native' } }, wsEcho, uwsEcho],
    run: (port) => runLoadgen(['--mode', 'echo', '--port', String(port), '--connections', '100', '--inflight', '8',
      '--size', '512', '--seconds', secs]).then((r) => r.messages_per_s),
  },
  {
    id: 'latency-p99', title: 'p99 latency at half of roomwire\'s native echo peak', unit: 'ms', better: 'lower',
    servers: [{ ...roomwireEcho, env: { MODE: 'native' } }, wsEcho, sioEcho],
    rate: (results) => Math.round(median(results['echo-native']?.roomwire ?? [20000]) / 2),
    run: (port, rate, extra) => runLoadgen(['--mode', 'latency', '--port', String(port), '--connections', '100', '--rate',
      String(rate), '--size', '512', '--seconds', secs, ...extra]).then((r) => ({ value: r.p99_ms, extra: r })),
  },
  {
    id: 'idle-10k', title: 'idle memory per connection, 10k connections', unit: 'bytes/connection', better: 'lower',
    servers: [roomwireFanout, wsFanout, sioFanout],
    idle: 10000,
  },
  {
    // RLIMIT_NOFILE is 20,000 on this machine and cannot be raised (EPERM even as root):
    // 19,900 connections is the most one process can hold here.
    id: 'idle-max', title: 'idle memory per connection, 19,900 connections', unit: 'bytes/connection', better: 'lower',
    servers: [roomwireFanout, wsFanout, sioFanout, uwsFanout],
    idle: 19900,
  },
  // Per core: each server on CPU 0 alone (roomwire with one I/O thread besides its JS
  // thread), the load generator on CPU 1; printed as a table of its own, with the spread.
  {
    id: 'core-echo-js', table: 'core', title: 'per core: echo through a JS onMessage, 100 connections, 512 B',
    unit: 'messages/s', better: 'higher',
    servers: [onCore({ ...roomwireEcho, env: { MODE: 'js' } }), onCore(uwsEcho), onCore(wsEcho), onCore(floorEcho)],
    run: (port, rate, extra) => runLoadgen(['--mode', 'echo', '--port', String(port), '--connections', '100', '--inflight', '8',
      '--size', '512', '--seconds', secs, ...extra], undefined, 1).then((r) => r.messages_per_s),
  },
  {
    id: 'core-fanout', table: 'core', title: 'per core: room fan-out, 1,000 members, 100 B', unit: 'deliveries/s',
    better: 'higher', servers: [onCore(roomwireFanout), onCore(uwsFanout), onCore(wsFanout), onCore(floorFanout)],
    run: (port, rate, extra) => runLoadgen(['--mode', 'fanout', '--port', String(port), '--subscribers', '1000',
      '--publishers', '1', '--inflight', '8', '--size', '100', '--seconds', secs, ...extra], undefined, 1)
      .then((r) => r.deliveries_per_s),
  },
  {
    id: 'core-echo-native', table: 'core', title: 'per core: native echo (message_ack path; the peers echo in JS), 100 connections, 512 B',
    unit: 'messages/s', better: 'higher',
    servers: [onCore({ ...roomwireEcho, env: { MODE: 'native' } }), onCore(uwsEcho), onCore(wsEcho), onCore(floorEcho)],
    run: (port, rate, extra) => runLoadgen(['--mode', 'echo', '--port', String(port), '--connections', '100', '--inflight', '8',
      '--size', '512', '--seconds', secs, ...extra], undefined, 1).then((r) => r.messages_per_s),
  },
  {
    // The JS boundary alone: a native thread emits message events that await verdicts like
    // frames do (bench/dispatch.js); no sockets, so no system calls per event.
    id: 'js-dispatch', title: 'JS dispatch: events/s into a no-op onMessage, no sockets', unit: 'events/s', better: 'higher',
    servers: [{ name: 'roomwire' }],
    standalone: () => runNode('dispatch.js', ['--events', '2000000', '--runs', '1']).then((r) => r.events_per_s),
  },
  {
    id: 'js-dispatch-sockets', title: 'events/s into a no-op onMessage from 100 connections', unit: 'events/s', better: 'higher',
    servers: [{ name: 'roomwire', script: 'servers/roomwire-onmessage.js' }],
    run: (port) => runLoadgen(['--mode', 'echo', '--port', String(port), '--connections', '100', '--inflight', '32',
      '--size', '64', '--seconds', secs]).then((r) => r.messages_per_s),
  },
].filter((w) => !o.only || [w.id, w.derived?.from].some((id) => o.only.split(',').includes(id)));

/** The servers roomwire is compared with, in table order. */
const peers = ['ws', 'socket.io', 'uWebSockets.js', 'roomwire 1 server', 'roomwire JS onMessage'];

/** Runs a bench/ script in a fresh Node process; resolves with the JSON line it prints last. */
function runNode(script, argv) {
  const { execFile } = require('child_process');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(__dirname, script), ...argv], { timeout: 120000 }, (err, stdout) => {
      if (err) return reject(err);
      resolve(JSON.parse(stdout.trim().split('\n').pop()));
    });
  });
}

function fmt(v, unit) {
  if (unit === 'ms' || unit === 'µs') return v.toFixed(3);
  return Math.round(v).toLocaleString('en');
}

function svgChart(rows) {
  // One block per workload: its title, unit and ratio, then a bar per server scaled to the
  // block's largest value.
  const width = 760;
  const barMax = width - 20 - 170;
  const colors = { roomwire: '#1f6feb', ws: '#8b949e', 'socket.io': '#d29922', 'uWebSockets.js': '#3fb950', 'roomwire 1 server': '#79c0ff',
    'roomwire JS onMessage': '#a371f7' };
  let y = 44;
  const parts = [
    '<text x="10" y="20" font-size="15" font-weight="bold">roomwire benchmarks: medians of 3 runs</text>',
    '<text x="10" y="36" font-size="11" fill="#555">ratios = roomwire / peer; for ms and bytes lower is better</text>',
  ];
  for (const r of rows) {
    const values = Object.entries(r.medians);
    const max = Math.max(...values.map(([, v]) => v)) || 1;
    parts.push(`<text x="10" y="${y + 14}" font-size="12" font-weight="bold">${r.title}</text>`);
    const ratios = Object.entries(r.ratios ?? (r.ratio ? { ws: r.ratio } : {}))
      .map(([p, v]) => ` · vs ${p} ${v.toFixed(2)}×`).join('');
    parts.push(`<text x="10" y="${y + 28}" font-size="11" fill="#555">${r.unit}${ratios}</text>`);
    values.forEach(([name, v], i) => {
      const w = Math.max(1, (v / max) * barMax);
      const by = y + 36 + i * 18;
      parts.push(`<rect x="10" y="${by}" width="${w.toFixed(1)}" height="14" fill="${colors[name] || '#444'}"/>`);
      parts.push(`<text x="${16 + w}" y="${by + 11}" font-size="11">${name} ${fmt(v, r.unit)}</text>`);
    });
    y += 36 + values.length * 18 + 14;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 6}" font-family="sans-serif">` +
    `<rect width="100%" height="100%" fill="white"/>${parts.join('')}</svg>\n`;
}

if (process.argv.includes('--chart-only')) {
  // Redraws bench/results/bench.svg from bench/results/bench.json.
  const saved = JSON.parse(fs.readFileSync(path.join(__dirname, 'results', 'bench.json'), 'utf8'));
  fs.writeFileSync(path.join(__dirname, 'results', 'bench.svg'), svgChart(saved.rows));
  process.exit(0);
}

(async () => {
  buildLoadgen();
  const results = {};
  const extras = {};
  for (const w of workloads) {
    if (w.derived) {
      // A second figure from another workload's runs (which must run in the same invocation).
      const source = extras[w.derived.from] ?? {};
      results[w.id] = Object.fromEntries(Object.entries(source).map(([name, runs]) => [name, runs.map(w.derived.pick)]));
      for (const [name, values] of Object.entries(results[w.id])) {
        console.error(`[${w.id}] ${name}: ${values.map((v) => fmt(v, w.unit)).join(', ')} ${w.unit}`);
      }
      continue;
    }
    // --servers: only the named servers of each workload (names as in the tables).
    const servers = o.servers ? w.servers.filter((s) => o.servers.split(',').includes(s.name)) : w.servers;
    results[w.id] = Object.fromEntries(servers.map((s) => [s.name, []]));
    const rate = w.rate ? w.rate(results) : undefined;
    for (let run = 1; run <= o.runs; run++) {
      for (const s of servers) {
        let value;
        if (w.idle) {
          value = await idleRun(s, w.idle);
        } else if (w.cluster) {
          const r = await clusterRun(s, w.cluster);
          if (typeof r === 'object') {
            value = r.value;
            (extras[w.id] ??= {})[s.name] = [...((extras[w.id] ?? {})[s.name] ?? []), r.extra];
          } else {
            value = r;
          }
        } else if (w.standalone) {
          value = await w.standalone();
        } else {
          const { child, port } = await startServer(s.script, serverEnv(s.env), s.args);
          try {
            const r = await w.run(port, rate, s.loadgen ?? [], child.pid);
            if (typeof r === 'object') {
              value = r.value;
              (extras[w.id] ??= {})[s.name] = [...((extras[w.id] ?? {})[s.name] ?? []), r.extra];
            } else {
              value = r;
            }
          } finally {
            await stopServer(child);
          }
        }
        results[w.id][s.name].push(value);
        console.error(`[${w.id}] run ${run}/${o.runs} ${s.name}: ${fmt(value, w.unit)} ${w.unit}${rate ? ` (at ${rate}/s)` : ''}`);
      }
    }
  }
  const rows = workloads.map((w) => {
    const medians = Object.fromEntries(Object.entries(results[w.id]).map(([k, v]) => [k, median(v)]));
    const ratios = Object.fromEntries(peers.filter((p) => medians[p]).map((p) => [p, medians.roomwire / medians[p]]));
    return { id: w.id, title: w.title, unit: w.unit, better: w.better, medians, runs: results[w.id], ratios };
  });
  console.log(`\n| workload | unit | roomwire | ${peers.join(' | ')} | ${peers.map((p) => `roomwire / ${p}`).join(' | ')} |`);
  console.log(`|---|---|---|${peers.map(() => '---|---|').join('')}`);
  const coreRows = rows.filter((r) => workloads.find((w) => w.id === r.id).table === 'core');
  for (const r of rows.filter((row) => !coreRows.includes(row))) {
    const values = peers.map((p) => (r.medians[p] === undefined ? '—' : fmt(r.medians[p], r.unit)));
    const ratios = peers.map((p) => (r.ratios[p] === undefined ? '—'
      : `${r.ratios[p].toFixed(2)}×${r.better === 'lower' ? ' (lower is better)' : ''}`));
    console.log(`| ${r.title} | ${r.unit} | ${fmt(r.medians.roomwire, r.unit)} | ${values.join(' | ')} | ${ratios.join(' | ')} |`);
  }
  if (coreRows.length > 0) {
    // Per core: medians with the spread (lowest–highest run), and the ratios in one run set.
    const names = [...new Set(coreRows.flatMap((r) => Object.keys(r.medians)))];
    const others = names.filter((n) => n !== 'roomwire');
    const spread = (v, unit) => (v.length > 1 ? ` (${fmt(Math.min(...v), unit)}–${fmt(Math.max(...v), unit)})` : '');
    console.log(`\n| per core | unit | ${names.join(' | ')} | ${others.map((p) => `roomwire / ${p}`).join(' | ')} |`);
    console.log(`|---|---|${names.map(() => '---|').join('')}${others.map(() => '---|').join('')}`);
    for (const r of coreRows) {
      const cells = names.map((n) => (r.medians[n] === undefined ? '—' : `${fmt(r.medians[n], r.unit)}${spread(r.runs[n], r.unit)}`));
      const ratios = others.map((p) => (r.medians[p] ? `${(r.medians.roomwire / r.medians[p]).toFixed(2)}×` : '—'));
      console.log(`| ${r.title} | ${r.unit} | ${cells.join(' | ')} | ${ratios.join(' | ')} |`);
    }
  }
  const file = writeResult('bench', { options: o, rows, extras });
  const svg = path.join(__dirname, 'results', 'bench.svg');
  fs.writeFileSync(svg, svgChart(rows));
  console.error(`results: ${file}\nchart: ${svg}`);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
