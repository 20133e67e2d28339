// Benchmark server: roomwire rooms on the native path (no callbacks registered). A
// join_room for "bench" creates the room (keeping HISTORY messages when that is set;
// COMPRESSION=shared|dedicated turns on permessage-deflate). With REDIS_URL set it is one server of a cluster
// (NODE_ID names it) and prints its port once it is in step with the others. Prints its
// port on stdout. MODE=hooks: a hooks route whose connections join the channel "bench" and
// relay each text message to it as it is, with no JavaScript; MODE=js: the same written as
// JavaScript callbacks, a raw route whose onMessage broadcasts to the route (loadgen --plain).
// CALLBACKS=1: no-op onMessage and onRoomMessage on the RNode route.
'use strict';
const fs = require('fs');
const { createApp } = require('../..');

// TLS_KEY and TLS_CERT (PEM files): serve wss instead of ws.
const tls = process.env.TLS_KEY ? { key: fs.readFileSync(process.env.TLS_KEY), cert: fs.readFileSync(process.env.TLS_CERT) } : undefined;

const cluster = process.env.REDIS_URL ? { redis: process.env.REDIS_URL, prefix: 'bench', nodeId: process.env.NODE_ID } : undefined;
const app = createApp({ threads: Number(process.env.THREADS || 0) || undefined, heartbeatInterval: 0, maxBackpressure: 64 << 20, cluster, tls });
const history = process.env.HISTORY ? { size: Number(process.env.HISTORY) } : undefined;
const compression = process.env.COMPRESSION || false;
if (process.env.MODE === 'hooks') {
  app.websocket('/bench', { protocol: 'hooks', compression, hooks: {
    on_connect: [{ WsOp: { command: 'join', channel: 'bench' } }],
    on_message: [{ WsOp: { command: 'broadcast', message: '{{ message }}', channel: 'bench' } }],
  } });
} else if (process.env.MODE === 'js') {
  app.websocket('/bench', { protocol: 'raw', compression, onMessage: (e) => void app.broadcast('/bench', e.data) });
} else if (process.env.CALLBACKS === '1') {
  // onMessage and onRoomMessage both registered (no-ops): what the JS round trips cost a room message.
  app.websocket('/bench', { autoCreateRooms: true, acks: false, history, compression,
    onMessage: () => undefined, onRoomMessage: () => undefined });
} else {
  app.websocket('/bench', { autoCreateRooms: true, acks: false, history, compression });
}
app.listen(0, '127.0.0.1').then(async (port) => {
  for (let i = 0; cluster && i < 1000 && !app.isClusterConnected(); ++i) await new Promise((r) => setTimeout(r, 10));
  console.log(port);
});
process.on('SIGTERM', () => app.close({ timeoutMs: 1000 }).then(() => process.exit(0)));
