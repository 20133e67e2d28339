// Starts a redis-server of its own (no persistence, loopback only) and two chat servers on
// it, on ports 3000 and 3001 (BASE_PORT moves them). Ctrl+C stops all three.
'use strict';
const { spawn } = require('child_process');
const net = require('net');
const path = require('path');

const basePort = Number(process.env.BASE_PORT || 3000);
const redisPort = Number(process.env.REDIS_PORT || 6399);

function answers(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => { s.destroy(); resolve(d.toString().includes('PONG')); });
    s.on('error', () => resolve(false));
  });
}

(async () => {
  const children = [];
  const stopAll = () => { for (const c of children) c.kill('SIGTERM'); };
  process.on('SIGINT', stopAll);
  process.on('SIGTERM', stopAll);
  const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' });
  children.push(redis);
  redis.on('error', (err) => {
    console.error(`cannot start redis-server (${err.message}); run scripts/setup.sh first`);
    process.exit(1);
  });
  for (let i = 0; i < 100 && !(await answers(redisPort)); ++i) await new Promise((r) => setTimeout(r, 50));
  for (const [i, port] of [basePort, basePort + 1].entries()) {
    children.push(spawn(process.execPath, [path.join(__dirname, 'server.js')], {
      stdio: 'inherit',
      env: { ...process.env, REDIS_URL: `redis://127.0.0.1:${redisPort}`, PORT: String(port), NODE_ID: `chat-${i + 1}` },
    }));
  }
})();
