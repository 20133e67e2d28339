// Rover's examples on a route with protocol 'events': a chat topic (`lobby`, a name
// required to join), shouts to everyone in it (upper-cased once by `map`, whoever receives
// them), direct messages, and a kick that removes a member and bans the name. Start it
// with `node examples/events/server.js` (PORT and HOST may be set) and talk to it with any
// WebSocket client, e.g. in a browser console:
//   ws = new WebSocket('ws://127.0.0.1:3001/rover'); ws.onmessage = (m) => console.log(m.data);
//   ws.send(JSON.stringify({ type: 'join', topic: 'lobby', payload: { name: 'ada' } }));
//   ws.send(JSON.stringify({ type: 'event', event: 'shout', payload: { text: 'hello' } }));
'use strict';
const { createApp } = require('../..');
const { serve } = require('../serve.js');

/**
 * Builds the app (exported for its integration test); call listen() on the result.
 * @param {import('../..').AppOptions} [options]
 */
function createEventsApp(options = {}) {
  const app = createApp(options);
  const banned = new Set();
  const names = new Map(); // connection id -> name in the lobby

  app.websocket('/rover', {
    protocol: 'events',
    connect: (ws) => ws.reply('hello', { id: ws.id }),
    disconnect: (ws) => names.delete(ws.id),
    join: {
      lobby: (ws, payload) => {
        const name = payload && typeof payload.name === 'string' ? payload.name.trim() : '';
        if (!name) return { status: 'error', reason: 'a name is required' };
        if (banned.has(name)) return { status: 'error', reason: 'banned' };
        names.set(ws.id, name);
        return { status: 'ok' };
      },
    },
    leave: {
      lobby: (ws) => {
        names.delete(ws.id);
        return { status: 'ok' };
      },
    },
    read: {
      shout: (ws, payload) => ws.emit('lobby', 'shout', { from: names.get(ws.id) ?? ws.id, text: String(payload?.text ?? '') }),
      dm: (ws, payload) => ws.sendTo(String(payload?.to), 'dm', { from: names.get(ws.id) ?? ws.id, text: String(payload?.text ?? '') }),
      kick: (ws, payload) => {
        const target = [...names].find(([, name]) => name === payload?.name);
        if (!target) return ws.reply('kick_failed', { name: payload?.name, reason: 'not in the lobby' });
        banned.add(target[1]);
        ws.sendTo(target[0], 'kicked', { by: names.get(ws.id) ?? ws.id });
        app.leaveRoom(target[0], 'lobby');
        names.delete(target[0]);
      },
    },
    map: {
      shout: (payload) => ({ ...payload, text: payload.text.toUpperCase() }),
    },
  });
  return app;
}

module.exports = { createEventsApp };

if (require.main === module) serve(createEventsApp(), 'roomwire events example', { port: 3001, path: '/rover', websocket: true });
