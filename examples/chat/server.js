// The chat demo: a page at http://localhost:3000 whose visitors pick a name and talk
// through one WebSocket path. Run it with `npm run demo` (PORT and HOST may be set).
'use strict';
const fs = require('fs');
const path = require('path');
const { createApp } = require('../..');

const app = createApp();
const page = fs.readFileSync(path.join(__dirname, 'public', 'index.html'));

app.get('/', (req, res) => res.setHeader('Content-Type', 'text/html; charset=utf-8').send(page));
app.get('/health', (req, res) => res.json({ ok: true, connections: app.getWebSocketConnections() }));

app.websocket('/chat', {
  // A name is required to join; it becomes the client id.
  onConnect: (e) => {
    const name = (e.query.clientId || '').trim();
    if (!/^[\w .-]{1,32}$/.test(name)) return { shouldCancel: true, status: 400, error: 'pick a name (1-32 letters, digits, spaces)' };
    return undefined;
  },
  // Chat lines are handled here and broadcast; everything else gets the default ack.
  onMessage: (e) => {
    let msg;
    try {
      msg = JSON.parse(e.data);
    } catch {
      return undefined;
    }
    if (msg.type !== 'chat' || typeof msg.text !== 'string') return undefined;
    const text = msg.text.trim().slice(0, 500);
    if (!text) return { shouldCancel: true, error: 'empty message' };
    app.broadcast('/chat', JSON.stringify({ type: 'chat', from: e.client_id, text, timestamp: new Date().toISOString() }));
    return { shouldCancel: true };
  },
  onWelcome: (e) => {
    app.broadcast('/chat', JSON.stringify({ type: 'joined', who: e.client_id, timestamp: e.timestamp }));
    return undefined;
  },
  onClose: (e) => {
    app.broadcast('/chat', JSON.stringify({ type: 'left', who: e.client_id, timestamp: e.timestamp }));
  },
});

const port = Number(process.env.PORT || 3000);
app.listen(port, process.env.HOST || '127.0.0.1').then((p) => {
  console.log(`roomwire chat demo: http://${process.env.HOST || '127.0.0.1'}:${p}/  (Ctrl+C to stop)`);
});
process.on('SIGINT', () => app.close().then(() => process.exit(0)));
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
