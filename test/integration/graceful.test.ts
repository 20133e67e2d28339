import type { WebSocketEventData } from '../../types/index';
import { Client, connect, startApp, until } from '../helpers';

describe('App #close (graceful stop)', () => {
  it('delivers every message acknowledged before close() to the members still connected', async () => {
    const closes: WebSocketEventData[] = [];
    const { app, url } = await startApp((a) => a.websocket('/ws', { onClose: (e) => void closes.push(e) }));
    const room = app.createRoom('r');
    const members: Array<{ client: Client; got: number; closeCode?: number }> = [];
    for (let i = 0; i < 50; i++) {
      const { client, welcome } = await connect(`ws://${url}/ws`);
      await app.joinRoom(welcome.connection_id, room);
      await client.nextOfType('room_joined');
      members.push({ client, got: 0 });
    }
    const { client: publisher, welcome } = await connect(`ws://${url}/ws`);
    await app.joinRoom(welcome.connection_id, room);
    await publisher.nextOfType('room_joined');
    for (const m of members) {
      m.client.ws.on('message', (d) => {
        if (String(d).startsWith('{"type":"room_message"')) m.got++;
      });
    }
    // The publisher's frames are acknowledged by the fan-out echo; close once all 500 are.
    const total = 500;
    for (let i = 0; i < total; i++) publisher.send({ type: 'room_message', room_id: room, message: `m${i}-${'z'.repeat(200)}` });
    for (let i = 0; i < total; i++) await publisher.nextOfType('room_message', 10000);
    const closing = app.close({ timeoutMs: 5000 });
    const codes = await Promise.all(members.map((m) => m.client.closed));
    await closing;
    expect(codes.every((c) => c === 1001)).toBe(true);
    // Counted on the clients' side after their socket closed: nothing queued was lost.
    expect(members.map((m) => m.got)).toEqual(new Array(50).fill(total));
    await until(() => closes.length === 51);
    expect(closes.every((c) => c.code === 1001)).toBe(true);
  }, 60000);

  it('cuts off what cannot finish by the deadline and still resolves', async () => {
    const { app, url } = await startApp((a) => a.websocket('/ws', { onMessage: () => new Promise(() => undefined) }),
      { callbackTimeoutMs: 60000, logLevel: 'silent' });
    const { client } = await connect(`ws://${url}/ws`);
    client.send({ type: 'stuck' });
    const t0 = Date.now();
    await app.close({ timeoutMs: 300 });
    expect(Date.now() - t0).toBeLessThan(3000);
    client.ws.terminate();
  });

  it('stops accepting at once', async () => {
    const { app, port } = await startApp((a) => a.websocket('/ws'));
    const closing = app.close();
    await closing;
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  });
});

