// Benchmark peer: echo on uWebSockets.js (the @trufflesuite/uws-js-unofficial build that
// carries a Node 20 binary), written the usual way: ws.send in `message`. Sends a welcome
// first, like roomwire, so the load generator treats both alike. Prints its port on stdout.
'use strict';
const uWS = require('@trufflesuite/uws-js-unofficial');

const welcome = () => JSON.stringify({ type: 'welcome', timestamp: new Date().toISOString() });
uWS.App().ws('/*', {
  compression: uWS.DISABLED,
  maxPayloadLength: 16 * 1024 * 1024,
  idleTimeout: 120,
  open: (ws) => ws.send(welcome(), false),
  message: (ws, message, isBinary) => ws.send(message, isBinary),
}).listen('127.0.0.1', 0, (token) => {
  if (!token) throw new Error('uWS could not listen');
  console.log(uWS.us_socket_local_port(token));
});
process.on('SIGTERM', () => process.exit(0));
