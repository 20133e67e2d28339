// Benchmark server: roomwire rooms on the native path (no callbacks registered). A
// join_room for "bench" creates the room. Prints its port on stdout.
'use strict';
const { createApp } = require('../..');

const app = createApp({ threads: Number(process.env.THREADS || 0) || undefined, heartbeatInterval: 0, maxBackpressure: 64 << 20 });
app.websocket('/bench', { autoCreateRooms: true, acks: false });
app.listen(0, '127.0.0.1').then((port) => console.log(port));
process.on('SIGTERM', () => app.close({ timeoutMs: 1000 }).then(() => process.exit(0)));
