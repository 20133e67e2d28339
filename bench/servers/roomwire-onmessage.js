// Benchmark server: roomwire with a registered no-op onMessage (every frame crosses into
// JavaScript and back before the native ack). Prints its port on stdout.
'use strict';
const { createApp } = require('../..');

const app = createApp({ threads: Number(process.env.THREADS || 0) || undefined });
// NOOP=0 registers no callback at all: the native ack path, for comparison.
app.websocket('/bench', process.env.NOOP === '0' ? {} : { onMessage: () => undefined });
app.listen(0, '127.0.0.1').then((port) => console.log(port));
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
