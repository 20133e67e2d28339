// The chat demo: rooms, presence, direct messages, the REST room API and a /health route,
// with a browser page served at http://127.0.0.1:3000. Start it with `npm run demo`
// (PORT and HOST may be set); `npm run demo -- --tls` serves https and wss instead, with a
// self-signed certificate made at start (the browser asks to accept it once).
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { createApp } = require('../..');
const { serve } = require('../serve.js');

/**
 * Builds the demo app (exported for the end-to-end test); call listen() on the result.
 * @param {import('../..').AppOptions} [options]
 */
function createChatApp(options = {}) {
  const app = createApp(options);
  const page = fs.readFileSync(path.join(__dirname, 'public', 'index.html'));
  const script = fs.readFileSync(path.join(__dirname, 'public', 'chat.js'));
  // The browser build of roomwire/client, served as it is.
  const client = fs.readFileSync(require.resolve('roomwire/client/browser'));

  // Fixed ids: the servers of a cluster (examples/cluster) each create these and share them.
  // The rooms keep their last 200 messages (in Redis with a cluster): a page that lost its
  // connection gets what it missed when it is back, through whichever server.
  const history = { history: { size: 200 } };
  app.createRoom('Lobby', 'Everyone starts here', 0, { id: 'lobby', ...history });
  app.createRoom('Random', 'Anything goes', 0, { id: 'random', ...history });
  app.createRoom('Help', 'Questions and answers', 50, { id: 'help', ...history });

  const js = 'text/javascript; charset=utf-8';
  app.get('/', (req, res) => res.setHeader('Content-Type', 'text/html; charset=utf-8').send(page));
  app.get('/chat.js', (req, res) => res.setHeader('Content-Type', js).send(script));
  app.get('/roomwire-client.js', (req, res) => res.setHeader('Content-Type', js).send(client));
  app.get('/health', (req, res) => res.json({ ok: true, connections: app.getWebSocketConnections(), rooms: app.getAllRooms().length }));

  app.websocket('/chat', {
    // A name is required; it becomes the client id, so direct messages can address it.
    onConnect: (e) => {
      const name = (e.query.clientId || '').trim();
      if (!/^[\w .-]{1,32}$/.test(name)) return { shouldCancel: true, status: 400, error: 'pick a name: 1-32 letters, digits, spaces, dots or dashes' };
      return undefined;
    },
    // Presence carries the display name only, whatever the page sent.
    onJoinRoom: (e) => ({ modifiedEvent: { data: { presence: { name: e.client_id } } } }),
    // Room and direct messages are trimmed and capped; empty ones are refused.
    onRoomMessage: (e) => tidy(e.message),
    onDirectMessage: (e) => tidy(e.message),
  });
  app.enableRoomApi('/websocket');
  return app;
}

function tidy(message) {
  const text = String(message).trim().slice(0, 500);
  if (!text) return { shouldCancel: true, error: 'empty message' };
  return { modifiedEvent: { message: text } };
}

/**
 * A self-signed certificate for localhost and 127.0.0.1, made now with the openssl
 * command (valid 30 days): `{ key, cert }` for createApp's `tls` option.
 */
function selfSignedTls() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roomwire-demo-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '30', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    return { key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { createChatApp, serve, selfSignedTls };

if (require.main === module) {
  const tls = process.argv.includes('--tls') ? selfSignedTls() : undefined;
  serve(createChatApp({ tls }), 'roomwire chat demo');
}
