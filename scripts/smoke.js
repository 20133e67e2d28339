#!/usr/bin/env node
// A WebSocket round trip and an HTTP request through whichever addon build ROOMWIRE_ADDON
// names (default: the cmake-js build), loading roomwire from ROOMWIRE_MODULE (default: this
// checkout); then roomwire/client, resolved as a dependent project resolves it, required
// (CommonJS) for a room round trip and imported (ESM). Exits non-zero on any failure,
// within 10 s.
'use strict';
const { execFileSync } = require('child_process');
const { createRequire } = require('module');
const path = require('path');
const { createApp } = require(process.env.ROOMWIRE_MODULE || '..');
const WebSocket = require('ws');

// The project that depends on roomwire (node_modules/roomwire's grandparent), or this checkout.
const dependent = process.env.ROOMWIRE_MODULE
  ? path.dirname(path.dirname(path.resolve(process.env.ROOMWIRE_MODULE)))
  : path.join(__dirname, '..');

const deadline = setTimeout(() => {
  console.error('smoke: timed out');
  process.exit(1);
}, 10000);

(async () => {
  const app = createApp({ threads: 1 });
  app.get('/ping', (req, res) => res.json({ pong: true }));
  app.websocket('/rooms');
  app.websocket('/echo', { onMessage: (e) => (app.send(e.connectionId, e.data), { shouldCancel: true }) });
  const port = await app.listen(0, '127.0.0.1');
  const http = await (await fetch(`http://127.0.0.1:${port}/ping`)).json();
  if (!http.pong) throw new Error('bad HTTP answer');
  const ws = new WebSocket(`ws://127.0.0.1:${port}/echo`);
  const got = await new Promise((resolve, reject) => {
    let n = 0;
    ws.on('message', (m) => (++n === 2 ? resolve(String(m)) : undefined)); // welcome, then the echo
    ws.on('open', () => ws.send('hello'));
    ws.on('error', reject);
  });
  if (got !== 'hello') throw new Error(`echo returned ${got}`);
  ws.close();

  const room = app.createRoom('smoke', '', 0, { history: { size: 10 } });
  const { RoomwireClient } = createRequire(path.join(dependent, 'smoke.js'))('roomwire/client');
  const client = new RoomwireClient({ url: `ws://127.0.0.1:${port}/rooms`, WebSocket });
  await client.connect();
  await client.joinRoom(room);
  const echoed = new Promise((resolve) => client.on('room_message', resolve));
  client.sendToRoom(room, 'via the client');
  const m = await echoed;
  if (m.message !== 'via the client' || m.offset !== 1) throw new Error(`room message came back as ${JSON.stringify(m)}`);
  client.disconnect();
  execFileSync(process.execPath, ['--input-type=module', '-e',
    "import { RoomwireClient, CloseCode } from 'roomwire/client'; if (typeof RoomwireClient !== 'function' || CloseCode.NORMAL !== 1000) process.exit(1);"],
  { cwd: dependent, stdio: 'inherit' });
  await app.close();
  clearTimeout(deadline);
  console.log(`smoke: ${process.env.ROOMWIRE_MODULE || process.env.ROOMWIRE_ADDON || 'build/Release/roomwire.node'} serves HTTP and WebSocket; roomwire/client requires and imports`);
})().catch((err) => {
  console.error('smoke:', err);
  process.exit(1);
});
