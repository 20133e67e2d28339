// Benchmark peer: echo on `ws` (with bufferutil), written the usual way. Sends a welcome
// first, like roomwire, so the load generator treats both alike. Prints its port on stdout.
'use strict';
const fs = require('fs');
const https = require('https');
const { WebSocketServer } = require('ws');

// TLS_KEY and TLS_CERT (PEM files): wss on an https server, as ws's users serve it.
const tls = process.env.TLS_KEY ? https.createServer({ key: fs.readFileSync(process.env.TLS_KEY), cert: fs.readFileSync(process.env.TLS_CERT) }) : undefined;

const wss = new WebSocketServer({ ...(tls ? { server: tls } : { host: '127.0.0.1', port: 0 }), perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.send(JSON.stringify({ type: 'welcome', timestamp: new Date().toISOString() }));
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
if (tls) tls.listen(0, '127.0.0.1', () => console.log(tls.address().port));
else wss.on('listening', () => console.log(wss.address().port));
process.on('SIGTERM', () => process.exit(0));
