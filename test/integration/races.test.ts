/**
 * Scenarios where threads race: joins at once, upgrades at once. Each runs `repeats`
 * times; scripts/contention.sh runs them under load, where rare interleavings show.
 */
import WebSocket from 'ws';
import type { App } from '../../lib';
import { Client, connect, repeats, sleep, startApp, until } from '../helpers';

describe('races', () => {
  let app: App | undefined;
  const sockets: WebSocket[] = [];
  afterEach(async () => {
    for (const ws of sockets.splice(0)) ws.terminate();
    await app?.close({ timeoutMs: 1000 });
    app = undefined;
  });

  it('tells each member of each other member exactly once when 200 join at once', async () => {
    for (let run = 0; run < repeats; run++) {
      // The welcome's pause is not what this tests: without it the 200 connect quicker.
      const s = await startApp((a) => a.websocket('/ws'), { welcomeDelayMs: 0 });
      app = s.app;
      const room = s.app.createRoom('r');
      const members: Array<{ client: Client; id: string; told: string[]; joined: boolean }> = [];
      for (let batch = 0; batch < 200; batch += 50) {
        const connected = await Promise.all(Array.from({ length: 50 }, () => connect(`ws://${s.url}/ws`)));
        for (const { client, welcome } of connected) {
          const m = { client, id: welcome.connection_id as string, told: [] as string[], joined: false };
          client.ws.on('message', (d) => {
            const f = JSON.parse(String(d));
            if (f.type === 'presence' && f.event === 'join') m.told.push(f.connection_id);
            if (f.type === 'room_joined') m.joined = true;
          });
          members.push(m);
        }
      }
      for (const m of members) m.client.send({ type: 'join_room', room_id: room });
      await until(() => members.every((m) => m.joined), 10000, 'every join answered');
      await until(() => members.reduce((n, m) => n + m.told.length, 0) >= 19900, 10000, 'presence events');
      await sleep(50);  // any duplicate still on its way
      const pairs = new Set<string>();
      let duplicates = 0;
      for (const m of members) {
        for (const other of m.told) {
          const key = [m.id, other].sort().join('|');
          if (pairs.has(key)) duplicates++;
          pairs.add(key);
        }
      }
      expect({ run, duplicates, pairs: pairs.size }).toEqual({ run, duplicates: 0, pairs: 19900 });
      // The snapshot completes the picture: every member is listed.
      members[0].client.send({ type: 'presence_list', room_id: room });
      const state = await members[0].client.nextOfType('presence_state');
      expect(state.members).toHaveLength(200);
      for (const m of members) m.client.ws.terminate();
      await s.app.close({ timeoutMs: 1000 });
      app = undefined;
    }
  }, 30000 + repeats * 10000);

  it('holds maxConnections with an async onConnect: 20 upgrades at once, 5 places', async () => {
    for (let run = 0; run < repeats; run++) {
      const s = await startApp((a) => a.websocket('/ws', { onConnect: () => sleep(50) }), { maxConnections: 5 });
      app = s.app;
      const outcomes = await Promise.all(Array.from({ length: 20 }, () => new Promise<string>((resolve) => {
        const ws = new WebSocket(`ws://${s.url}/ws`);
        const timer = setTimeout(() => resolve('no answer'), 5000);
        ws.on('open', () => { clearTimeout(timer); resolve('open'); });
        ws.on('unexpected-response', (_req, res) => { clearTimeout(timer); resolve(String(res.statusCode)); });
        ws.on('error', () => undefined);
        sockets.push(ws);
      })));
      expect({ run, open: outcomes.filter((o) => o === 'open').length, refused: outcomes.filter((o) => o === '503').length })
        .toEqual({ run, open: 5, refused: 15 });
      expect(s.app.getWebSocketConnections()).toBe(5);
      // A place frees when a connection leaves.
      for (const ws of sockets.splice(0)) ws.terminate();
      await until(() => s.app.getWebSocketConnections() === 0);
      const again = await connect(`ws://${s.url}/ws`);
      again.client.close();
      await s.app.close({ timeoutMs: 1000 });
      app = undefined;
    }
  }, 30000 + repeats * 5000);

  it('a hooks chat: 40 join at once, 20 leave while messages cross, each message and leave told once', async () => {
    for (let run = 0; run < repeats; run++) {
      const s = await startApp((a) => a.websocket('/room', { protocol: 'hooks', hooks: {
        on_connect: [{ WsOp: { command: 'join', channel: 'r' } }, { WsOp: { command: 'send', message: 'in' } }],
        on_message: [{ WsOp: { command: 'broadcast', message: '{{ message }}', channel: 'r' } }],
        on_disconnect: [{ WsOp: { command: 'broadcast', message: 'left {{ connection_id }}', channel: 'r' } }],
      } }), { welcomeDelayMs: 0 });
      app = s.app;
      const members = await Promise.all(Array.from({ length: 40 }, async (_, i) => {
        const ws = new WebSocket(`ws://${s.url}/room`);
        sockets.push(ws);
        const got: string[] = [];
        ws.on('message', (d) => got.push(String(d)));
        await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
        return { ws, got, stays: i % 2 === 0, name: `m${i}` };
      }));
      await until(() => members.every((m) => m.got.includes('in')), 10000, 'every on_connect done');
      for (const m of members) {
        for (let k = 0; k < 5; k++) m.ws.send(`${m.name}:${k}`);
        if (!m.stays) m.ws.terminate();
      }
      const staying = members.filter((m) => m.stays);
      await until(() => staying.every((m) => m.got.filter((t) => t.startsWith('left ')).length === 20 &&
        staying.every((o) => m.got.includes(`${o.name}:4`))), 10000, 'messages and leaves');
      await sleep(50); // any duplicate still on its way
      for (const m of staying) {
        const lefts = m.got.filter((t) => t.startsWith('left '));
        expect({ run, lefts: new Set(lefts).size }).toEqual({ run, lefts: 20 });
        for (const o of staying) {
          // Each staying sender's five, once each and in order.
          expect({ run, from: o.name, got: m.got.filter((t) => t.startsWith(`${o.name}:`)) })
            .toEqual({ run, from: o.name, got: [0, 1, 2, 3, 4].map((k) => `${o.name}:${k}`) });
        }
        expect(m.got.filter((t) => t.startsWith('left ')).length).toBe(20);
      }
      for (const ws of sockets.splice(0)) ws.terminate();
      await s.app.close({ timeoutMs: 1000 });
      app = undefined;
    }
  }, 30000 + repeats * 5000);
});
