/**
 * A route's `protocol`: RNode's JSON protocol by default, or `raw` (frames to onMessage as
 * they are: no welcome, no acks, no JSON heartbeat, nothing waiting on JavaScript).
 */
import WebSocket from 'ws';
import { App, createApp } from '../../lib';
import { Client, sleep, startApp, until } from '../helpers';

describe("protocol: 'raw'", () => {
  let app: App;
  let url: string;
  const order: string[] = [];
  const lastConnection: Record<string, string> = {};
  const remember = (e: { connectionId: string; path: string }): undefined => void (lastConnection[e.path] = e.connectionId);

  beforeAll(async () => {
    ({ app, url } = await startApp((a) => {
      a.websocket('/raw', {
        protocol: 'raw',
        onConnect: remember,
        onMessage: (e) => void a.send(e.connectionId, e.data as string),
        onBinaryMessage: (e) => void a.send(e.connectionId, e.data as Buffer),
      });
      // The first frame's callback takes 300 ms; nothing waits for it.
      a.websocket('/slow', {
        protocol: 'raw',
        onMessage: async (e) => {
          if (e.data === 'slow') await sleep(300);
          order.push(e.data as string);
          a.send(e.connectionId, e.data as string);
        },
      });
      a.websocket('/limited', { protocol: 'raw', maxMessagesPerSecond: 5, onMessage: (e) => void a.send(e.connectionId, e.data as string) });
      a.websocket('/beat', { protocol: 'raw', onConnect: remember });
    }, { heartbeatInterval: 150 }));
  });
  afterAll(() => app.close());

  it('echoes any text as it is, with no welcome and no ack, and binary through onBinaryMessage', async () => {
    const c = new Client(`ws://${url}/raw`);
    await c.opened();
    c.ws.send('not json at all');
    expect(await c.nextFrame()).toEqual({ data: 'not json at all', binary: false });
    c.ws.send('{"type":"room_message","room_id":"x","message":"m"}');
    expect((await c.nextFrame()).data).toBe('{"type":"room_message","room_id":"x","message":"m"}');
    c.ws.send(Buffer.from([1, 2, 3]));
    expect(await c.nextFrame()).toEqual({ data: Buffer.from([1, 2, 3]), binary: true });
    await expect(c.nextFrame(300)).rejects.toThrow(/no frame/);
    c.ws.close();
  });

  it('does not hold a connection\'s next frames behind a pending onMessage', async () => {
    const c = new Client(`ws://${url}/slow`);
    await c.opened();
    for (const t of ['slow', 'a', 'b']) c.ws.send(t);
    const got = [(await c.nextFrame()).data, (await c.nextFrame()).data, (await c.nextFrame()).data];
    expect(got).toEqual(['a', 'b', 'slow']);
    expect(order).toEqual(['a', 'b', 'slow']);
    c.ws.close();
  });

  it('sends WebSocket pings only (no JSON heartbeat), and measures latency from their pongs', async () => {
    const c = new Client(`ws://${url}/beat`);
    await c.opened();
    let pings = 0;
    c.ws.on('ping', () => pings++);
    await until(() => pings >= 2, 3000, 'two pings');
    await expect(c.nextFrame(100)).rejects.toThrow(/no frame/);
    await until(() => typeof app.getClientInfo(lastConnection['/beat'])?.latency === 'number', 3000, 'latency');
    c.ws.close();
  });

  it('drops frames over the rate limit without an error frame, then closes abuse with 1008', async () => {
    const c = new Client(`ws://${url}/limited`);
    await c.opened();
    // 8 at once against 5 per second: 5 echoed, 3 dropped, none answered with an error.
    for (let i = 0; i < 8; i++) c.ws.send(`m${i}`);
    const echoed: string[] = [];
    for (;;) {
      try {
        echoed.push((await c.nextFrame(500)).data as string);
      } catch {
        break;
      }
    }
    expect(echoed).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    // More refused within 5 s than a second's allowance: closed.
    for (let i = 0; i < 20; i++) c.ws.send(`n${i}`);
    expect(await c.closed).toBe(1008);
  });

  it('refuses the callbacks of RNode\'s protocol and unknown protocols', () => {
    for (const key of ['onWelcome', 'onMessageAck', 'onPing', 'onPong', 'onRoomMessage', 'onDirectMessage']) {
      expect(() => createApp().websocket('/x', { protocol: 'raw', [key]: () => undefined } as never)).toThrow(new RegExp(`options\\.${key}.*protocol 'raw'`));
    }
    expect(() => createApp().websocket('/x', { protocol: 'json' as never })).toThrow(/options\.protocol.*'rnode', 'raw', 'events' or 'hooks'/);
    createApp().websocket('/x', { protocol: 'rnode', onWelcome: () => undefined });
  });

  it('still takes rooms from the app: a raw connection gets room frames as JSON', async () => {
    const ws = new WebSocket(`ws://${url}/raw`);
    const frames: string[] = [];
    ws.on('message', (d) => frames.push(String(d)));
    await new Promise((r) => ws.once('open', r));
    await until(() => lastConnection['/raw'] !== undefined && app.getClientInfo(lastConnection['/raw']) !== null);
    app.createRoom('raw-room', '', 0, { id: 'raw-room' });
    expect(await app.joinRoomAsync(lastConnection['/raw'], 'raw-room')).toBe(true);
    app.sendRoomMessage('raw-room', 'to the room');
    await until(() => frames.some((f) => f.includes('"room_message"')));
    expect(JSON.parse(frames.find((f) => f.includes('"room_message"'))!)).toMatchObject({ room_id: 'raw-room', message: 'to the room' });
    ws.close();
  });
});
