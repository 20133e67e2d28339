// Worpen's WebSocket examples as hooks routes, loaded from routes/ (YAML and JSON): an
// echo server, a multi-room chat, a game server keeping a score per player, and a
// notification hub. The core compiles each route when it is loaded and runs it with no
// JavaScript. Start it with `node examples/hooks/server.js` (PORT and HOST may be set)
// and talk to it with any WebSocket client, e.g. in a browser console:
//   ws = new WebSocket('ws://127.0.0.1:3002/ws/chat/lobby'); ws.onmessage = (m) => console.log(m.data);
//   ws.send('hello');
'use strict';
const path = require('path');
const fs = require('fs');
const { createApp } = require('../..');
const { serve } = require('../serve.js');

const routes = path.join(__dirname, 'routes');

/**
 * Builds the app with every route file of routes/ (exported for its integration test);
 * call listen() on the result.
 * @param {import('../..').AppOptions} [options]
 */
function createHooksApp(options = {}) {
  const app = createApp(options);
  for (const file of fs.readdirSync(routes).sort()) app.loadRoutes(path.join(routes, file));
  return app;
}

module.exports = { createHooksApp };

if (require.main === module) serve(createHooksApp(), 'roomwire hooks example', { port: 3002, path: '/ws/chat/lobby', websocket: true });
