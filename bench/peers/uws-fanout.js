// Benchmark peer: the room protocol on uWebSockets.js, written the usual way: a join is
// ws.subscribe(room), a room message is app.publish(room, frame) to its subscribers.
// Prints its port on stdout.
'use strict';
const uWS = require('@trufflesuite/uws-js-unofficial');

const decoder = new TextDecoder();
const app = uWS.App();
app.ws('/*', {
  compression: uWS.DISABLED,
  maxPayloadLength: 16 * 1024 * 1024,
  maxBackpressure: 64 * 1024 * 1024,
  idleTimeout: 120,
  upgrade: (res, req, context) => {
    const clientId = new URLSearchParams(req.getQuery() || '').get('clientId') || 'anonymous';
    res.upgrade({ clientId }, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'), context);
  },
  open: (ws) => ws.send(JSON.stringify({ type: 'welcome', client_id: ws.getUserData().clientId, timestamp: new Date().toISOString() })),
  message: (ws, message) => {
    let msg;
    try {
      msg = JSON.parse(decoder.decode(message));
    } catch {
      return;
    }
    if (msg.type === 'join_room') {
      ws.subscribe(msg.room_id);
      ws.send(JSON.stringify({ type: 'room_joined', room_id: msg.room_id, timestamp: new Date().toISOString() }));
    } else if (msg.type === 'room_message') {
      if (!ws.isSubscribed(msg.room_id)) return;
      app.publish(msg.room_id, JSON.stringify({ type: 'room_message', room_id: msg.room_id, message: msg.message,
        from_client_id: ws.getUserData().clientId, timestamp: new Date().toISOString() }));
    }
  },
}).listen('127.0.0.1', 0, (token) => {
  if (!token) throw new Error('uWS could not listen');
  console.log(uWS.us_socket_local_port(token));
});
process.on('SIGTERM', () => process.exit(0));
