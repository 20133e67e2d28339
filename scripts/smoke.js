#!/usr/bin/env node
// A WebSocket round trip and an HTTP request through whichever addon build ROOMWIRE_ADDON
// names (default: the cmake-js build), loading roomwire from ROOMWIRE_MODULE (default: this
// checkout). Exits non-zero on any failure, within 10 s.
'use strict';
const { createApp } = require(process.env.ROOMWIRE_MODULE || '..');
const WebSocket = require('ws');

const deadline = setTimeout(() => {
  console.error('smoke: timed out');
  process.exit(1);
}, 10000);

(async () => {
  const app = createApp({ threads: 1 });
  app.get('/ping', (req, res) => res.json({ pong: true }));
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
  await app.close();
  clearTimeout(deadline);
  console.log(`smoke: ${process.env.ROOMWIRE_MODULE || process.env.ROOMWIRE_ADDON || 'build/Release/roomwire.node'} serves HTTP and WebSocket`);
})().catch((err) => {
  console.error('smoke:', err);
  process.exit(1);
});
