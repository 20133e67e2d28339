// Benchmark peer: echo on Socket.IO 4, written the usual way: an `echo` event answered
// with the same data. WebSocket transport only, no compression. Prints its port on stdout.
'use strict';
const http = require('http');
const { Server } = require('socket.io');

const httpServer = http.createServer();
const io = new Server(httpServer, { transports: ['websocket'], perMessageDeflate: false, serveClient: false });
io.on('connection', (socket) => {
  socket.on('echo', (data) => socket.emit('echo', data));
});
httpServer.listen(0, '127.0.0.1', () => console.log(httpServer.address().port));
process.on('SIGTERM', () => process.exit(0));
