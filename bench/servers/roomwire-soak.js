// Soak server: persistent rooms, auto-created rooms, a JS onMessage and onJoinRoom (so the
// JS boundary churns too), metrics. Prints its port on stdout.
'use strict';
const { createApp } = require('../..');

const app = createApp({ metrics: true, heartbeatInterval: 5000 });
for (let i = 0; i < 10; i++) app.createRoom(`persistent-${i}`, 'soak', 0);
app.websocket('/soak', {
  autoCreateRooms: true,
  onMessage: () => undefined,
  onJoinRoom: () => undefined,
});
app.listen(0, '127.0.0.1').then((port) => console.log(port));
process.on('SIGTERM', () => app.close({ timeoutMs: 2000 }).then(() => process.exit(0)));
