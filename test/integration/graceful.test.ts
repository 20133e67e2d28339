import type { CloseEvent, ConnectResult } from '../../types/index';
import { createApp } from '../../lib';
import { Client, connect, repeats, sleep, startApp, until } from '../helpers';
import { makeCerts } from '../tls-certs';

describe('App #close (graceful stop)', () => {
  it.each([
    ['ws', false],
    // TLS and compression: each frame compressed, corked, then encrypted; the close frame
    // and TLS's close_notify after everything before them.
    ['wss with every frame compressed', true],
  ])('delivers every message fanned out before close() to the members still connected (%s)', async (_name, secure) => {
    // Members spread over two I/O threads; the publisher's own echo comes back before
    // the batches for the other thread have necessarily left: close() must not overtake them.
    const certs = secure ? makeCerts() : undefined;
    const scheme = secure ? 'wss' : 'ws';
    const clientOptions = secure ? { rejectUnauthorized: false, perMessageDeflate: true } : undefined;
    // The TLS run costs four times the plain one (51 handshakes, each frame compressed):
    // a third of the repeats keeps the contention run inside CI's time.
    const runs = secure ? Math.ceil(repeats / 3) : repeats;
    for (let run = 0; run < runs; run++) {
      const closes: CloseEvent[] = [];
      const { app, url } = await startApp((a) => a.websocket('/ws', {
        onClose: (e) => void closes.push(e),
        ...(secure ? { compression: 'shared', compressionThreshold: 0 } as const : {}),
      }), { threads: 2, welcomeDelayMs: 0, ...(certs ? { tls: { key: certs.leafKey, cert: certs.leafCert } } : {}) });
      const room = app.createRoom('r');
      const members: Array<{ client: Client; got: number }> = [];
      for (let i = 0; i < 50; i++) {
        const { client, welcome } = await connect(`${scheme}://${url}/ws`, clientOptions);
        await app.joinRoom(welcome.connection_id, room);
        await client.nextOfType('room_joined');
        members.push({ client, got: 0 });
      }
      const { client: publisher, welcome } = await connect(`${scheme}://${url}/ws`, clientOptions);
      await app.joinRoom(welcome.connection_id, room);
      await publisher.nextOfType('room_joined');
      for (const m of members) {
        m.client.ws.on('message', (d) => {
          if (String(d).startsWith('{"type":"room_message"')) m.got++;
        });
      }
      const total = 500;
      for (let i = 0; i < total; i++) publisher.send({ type: 'room_message', room_id: room, message: `m${i}-${'z'.repeat(300)}` });
      for (let i = 0; i < total; i++) await publisher.nextOfType('room_message', 10000);
      const closing = app.close({ timeoutMs: 5000 });
      const codes = await Promise.all(members.map((m) => m.client.closed));
      await closing;
      expect(codes.every((c) => c === 1001)).toBe(true);
      // Counted on the clients' side after their socket closed: nothing fanned out was lost.
      expect({ run, got: members.map((m) => m.got) }).toEqual({ run, got: new Array(50).fill(total) });
      await until(() => closes.length === 51);
      expect(closes.every((c) => c.code === 1001)).toBe(true);
    }
  }, 60000 + repeats * 10000);

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

  it('reports onClose once for every connection, those cut off with a callback pending included', async () => {
    const closes: CloseEvent[] = [];
    const { app, url } = await startApp((a) => a.websocket('/ws', {
      onMessage: (e) => (String(e.data).includes('stuck') ? new Promise(() => undefined) : undefined),
      onClose: (e) => void closes.push(e),
    }), { callbackTimeoutMs: 60000, logLevel: 'silent' });
    const clients: Client[] = [];
    for (let i = 0; i < 4; i++) clients.push((await connect(`ws://${url}/ws`)).client);
    clients[0].send({ type: 'stuck' });
    clients[1].send({ type: 'stuck' });
    await sleep(50);
    await app.close({ timeoutMs: 300 });
    const codes = await Promise.all(clients.map((c) => c.closed));
    expect(codes).toEqual([1001, 1001, 1001, 1001]);
    await until(() => closes.length >= 4);
    await sleep(100);
    expect(closes.map((c) => c.code)).toEqual([1001, 1001, 1001, 1001]);
    expect(new Set(closes.map((c) => c.connectionId)).size).toBe(4);
  });

  it('never applies a verdict pending at close() to a connection of the next listen()', async () => {
    // Each onConnect waits until the test lets it go; the first server's is let go only
    // after the second server has a connection waiting too.
    const gates: Array<(r: ConnectResult | undefined) => void> = [];
    const app = createApp({ threads: 2, callbackTimeoutMs: 60000, logLevel: 'silent' });
    app.websocket('/ws', { onConnect: () => new Promise((resolve) => gates.push(resolve)) });
    const port1 = await app.listen(0, '127.0.0.1');
    const admin = new Client(`ws://127.0.0.1:${port1}/ws`);
    await until(() => gates.length === 1);
    await app.close({ timeoutMs: 100 });
    const port2 = await app.listen(0, '127.0.0.1');
    const guest = new Client(`ws://127.0.0.1:${port2}/ws?clientId=guest`);
    await until(() => gates.length === 2);
    gates[0]({ modifiedEvent: { client_id: 'admin', metadata: { role: 'admin' } } });
    await sleep(100);
    gates[1](undefined);
    const welcome = await guest.nextOfType('welcome');
    expect(welcome.client_id).toBe('guest');
    expect(app.getClientInfo(welcome.connection_id)?.metadata).toBeNull();
    admin.ws.terminate();
    guest.close();
    await app.close();
  });

  it('stops accepting at once', async () => {
    const { app, port } = await startApp((a) => a.websocket('/ws'));
    const closing = app.close();
    await closing;
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  });
});

