// Benchmark peer: echo on `ws` (with bufferutil), written the usual way. Sends a welcome
// first, like roomwire, so the load generator treats both alike. Prints its port on stdout.
'use strict';
const { WebSocketServer } = require('ws');

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.send(JSON.stringify({ type: 'welcome', timestamp: new Date().toISOString() }));
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('listening', () => console.log(wss.address().port));
process.on('SIGTERM', () => process.exit(0));
