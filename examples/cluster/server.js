// One server of a chat cluster: the chat demo (examples/chat) with the cluster option.
// Start several on one Redis and they act as one server — rooms, presence, direct messages:
//
//   REDIS_URL=redis://127.0.0.1:6379 PORT=3000 node examples/cluster/server.js
//   REDIS_URL=redis://127.0.0.1:6379 PORT=3001 node examples/cluster/server.js
//
// then open http://127.0.0.1:3000/ and http://127.0.0.1:3001/ and chat across them.
// `node examples/cluster/start.js` does all of it with a redis-server of its own.
'use strict';
const { createChatApp, serve } = require('../chat/server.js');

const redis = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const nodeId = process.env.NODE_ID || `chat-${process.env.PORT || 3000}`;
const app = createChatApp({ cluster: { redis, prefix: process.env.PREFIX || 'chat', nodeId } });
serve(app, `chat server ${nodeId} (Redis ${redis})`);
