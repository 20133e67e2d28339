// Benchmark peer: the same room protocol on `ws` (with bufferutil), written the usual way:
// a Map of room id to a Set of sockets, and a loop over the Set sending one serialised
// frame. DEFLATE=1 turns on perMessageDeflate (its defaults: threshold 1 KiB, a
// compressor per connection). MODE=plain: every client in one set, each text message
// relayed as it is to all (loadgen --plain). Prints its port on stdout.
'use strict';
const fs = require('fs');
const https = require('https');
const { WebSocketServer } = require('ws');

// TLS_KEY and TLS_CERT (PEM files): wss on an https server, as ws's users serve it.
const tls = process.env.TLS_KEY ? https.createServer({ key: fs.readFileSync(process.env.TLS_KEY), cert: fs.readFileSync(process.env.TLS_CERT) }) : undefined;

const rooms = new Map();
const wss = new WebSocketServer({ ...(tls ? { server: tls } : { host: '127.0.0.1', port: 0 }), perMessageDeflate: process.env.DEFLATE === '1' });
const plain = process.env.MODE === 'plain';
wss.on('connection', (ws, req) => {
  if (plain) {
    ws.on('message', (data, isBinary) => {
      for (const client of wss.clients) client.send(data, { binary: isBinary });
    });
    return;
  }
  const clientId = new URL(req.url, 'http://x').searchParams.get('clientId') || 'anonymous';
  const joined = new Set();
  ws.send(JSON.stringify({ type: 'welcome', client_id: clientId, timestamp: new Date().toISOString() }));
  ws.on('message', (data) => {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (msg.type === 'join_room') {
      if (!rooms.has(msg.room_id)) rooms.set(msg.room_id, new Set());
      rooms.get(msg.room_id).add(ws);
      joined.add(msg.room_id);
      ws.send(JSON.stringify({ type: 'room_joined', room_id: msg.room_id, timestamp: new Date().toISOString() }));
    } else if (msg.type === 'room_message') {
      const members = rooms.get(msg.room_id);
      if (!members || !members.has(ws)) return;
      const frame = JSON.stringify({ type: 'room_message', room_id: msg.room_id, message: msg.message,
        from_client_id: clientId, timestamp: new Date().toISOString() });
      for (const member of members) member.send(frame);
    }
  });
  ws.on('close', () => {
    for (const id of joined) rooms.get(id)?.delete(ws);
  });
});
if (tls) tls.listen(0, '127.0.0.1', () => console.log(tls.address().port));
else wss.on('listening', () => console.log(wss.address().port));
process.on('SIGTERM', () => process.exit(0));
