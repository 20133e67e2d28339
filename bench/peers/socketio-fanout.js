// Benchmark peer: the room workload on Socket.IO 4, written the usual way: `socket.join`
// and `io.to(room).emit`. WebSocket transport only (the load generator speaks Engine.IO
// over WebSocket), no compression, like the other servers. Events: `join` (answered with
// `joined`), `room_message` { room_id, message } fanned out to the room with the sender's
// client id and a timestamp. With REDIS_URL set it is one server of a cluster through
// `@socket.io/redis-adapter` (node-redis clients, as its README shows). Prints its port on
// stdout.
'use strict';
const http = require('http');
const { Server } = require('socket.io');

const httpServer = http.createServer();
const io = new Server(httpServer, { transports: ['websocket'], perMessageDeflate: false, serveClient: false });
const ready = process.env.REDIS_URL ? (async () => {
  const { createClient } = require('redis');
  const { createAdapter } = require('@socket.io/redis-adapter');
  const pubClient = createClient({ url: process.env.REDIS_URL });
  const subClient = pubClient.duplicate();
  await Promise.all([pubClient.connect(), subClient.connect()]);
  io.adapter(createAdapter(pubClient, subClient));
})() : Promise.resolve();
io.on('connection', (socket) => {
  const clientId = socket.handshake.query.clientId || 'anonymous';
  socket.on('join', (room) => {
    socket.join(room);
    socket.emit('joined', room);
  });
  socket.on('room_message', (msg) => {
    if (!msg || !socket.rooms.has(msg.room_id)) return;
    io.to(msg.room_id).emit('room_message', { room_id: msg.room_id, message: msg.message,
      from_client_id: clientId, timestamp: new Date().toISOString() });
  });
});
ready.then(() => httpServer.listen(0, '127.0.0.1', () => console.log(httpServer.address().port)));
process.on('SIGTERM', () => process.exit(0));
