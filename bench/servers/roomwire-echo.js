// Benchmark server: echo. MODE=js echoes through a registered onMessage that sends the
// data back and cancels silently; MODE=native registers nothing, so the core answers each
// frame with its message_ack without entering JavaScript; MODE=raw echoes through onMessage
// on a route with protocol 'raw'; MODE=hooks echoes from a hooks route's program, with no
// JavaScript. Prints its port on stdout.
'use strict';
const fs = require('fs');
const { createApp } = require('../..');

// TLS_KEY and TLS_CERT (PEM files): serve wss instead of ws.
const tls = process.env.TLS_KEY ? { key: fs.readFileSync(process.env.TLS_KEY), cert: fs.readFileSync(process.env.TLS_CERT) } : undefined;

const app = createApp({ threads: Number(process.env.THREADS || 0) || undefined, heartbeatInterval: 0, maxBackpressure: 64 << 20, tls });
if (process.env.MODE === 'native') {
  app.websocket('/bench');
} else if (process.env.MODE === 'hooks') {
  app.websocket('/bench', { protocol: 'hooks', hooks: { on_message: [{ WsOp: { command: 'send', message: '{{ message }}' } }] } });
} else if (process.env.MODE === 'raw') {
  // protocol 'raw': no welcome to send, nothing waits for onMessage's result.
  app.websocket('/bench', { protocol: 'raw', onMessage: (e) => void app.send(e.connectionId, e.data) });
} else {
  app.websocket('/bench', {
    onWelcome: () => undefined,
    onMessage: (e) => {
      app.send(e.connectionId, e.data);
      return { shouldCancel: true };
    },
  });
}
app.listen(0, '127.0.0.1').then((port) => console.log(port));
process.on('SIGTERM', () => app.close({ timeoutMs: 1000 }).then(() => process.exit(0)));
