import WebSocket from 'ws';
import { App } from '../../lib';
import type { CloseEvent, ConnectEvent, ProtocolErrorEvent, ServerErrorEvent, WebSocketEventData } from '../../types/index';
import { Client, connect, refusedUpgrade, sleep, startApp, until } from '../helpers';
import { RawClient } from '../raw-ws';

describe('app.websocket', () => {
  let app: App | undefined;
  afterEach(async () => {
    await app?.close({ timeoutMs: 1000 });
    app = undefined;
  });

  async function serve(options: Parameters<App['websocket']>[1], appOptions = {}, path = '/chat') {
    const started = await startApp((a) => a.websocket(path, options), appOptions);
    app = started.app;
    return started;
  }

  describe('handshake', () => {
    it('sends welcome with ids and path, honouring clientId', async () => {
      const { url } = await serve({});
      const { client, welcome } = await connect(`ws://${url}/chat?clientId=alice`);
      expect(welcome).toMatchObject({ type: 'welcome', client_id: 'alice', path: '/chat' });
      expect(welcome.connection_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(welcome.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const other = await connect(`ws://${url}/chat`);
      expect(other.welcome.client_id).toMatch(/^client_[0-9a-f]{8}$/);
      client.close();
      other.client.close();
    });

    it('refuses an upgrade with 401 and a JSON body when onConnect cancels', async () => {
      const seen: ConnectEvent[] = [];
      const { url } = await serve({
        onConnect: (e) => {
          seen.push(e);
          return e.query?.token ? undefined : { shouldCancel: true, status: 401, error: 'token required' };
        },
      }, {}, '/rooms/{room}');
      const refused = await refusedUpgrade(`ws://${url}/rooms/lobby?x=1`);
      expect(refused.status).toBe(401);
      expect(JSON.parse(refused.body)).toEqual({ error: 'token required' });
      const { client, welcome } = await connect(`ws://${url}/rooms/lobby?token=t`);
      expect(welcome.path).toBe('/rooms/lobby');
      expect(seen[1]).toMatchObject({
        type: 'connect', path: '/rooms/lobby', params: { room: 'lobby' }, query: { token: 't' },
        connectionId: welcome.connection_id, connection_id: welcome.connection_id, client_id: welcome.client_id,
      });
      expect(seen[1].headers?.upgrade?.toLowerCase()).toBe('websocket');
      client.close();
    });

    it('defaults a refusal to 403 and stores the client id onConnect chooses', async () => {
      const { url } = await serve({
        onConnect: (e) => (e.query?.deny ? { shouldCancel: true } : { modifiedEvent: { client_id: 'user-42' } }),
      });
      expect((await refusedUpgrade(`ws://${url}/chat?deny=1`)).status).toBe(403);
      const { client, welcome } = await connect(`ws://${url}/chat`);
      expect(welcome.client_id).toBe('user-42');
      client.close();
    });

    it('answers 404 to an upgrade on an unknown path', async () => {
      const { url } = await serve({});
      expect((await refusedUpgrade(`ws://${url}/nope`)).status).toBe(404);
    });

    it('delivers the welcome to a client that installs its handler only after open (RNode\'s client)', async () => {
      // The welcome follows the 101 after welcomeDelayMs: a timing margin, not a guarantee
      // (a client starved longer can still miss it), so this runs on the normal suite only.
      const { url } = await serve({});
      let welcomed = 0;
      for (let i = 0; i < 50; i++) {
        const ws = new WebSocket(`ws://${url}/chat`);
        await new Promise((resolve) => ws.once('open', resolve));
        // RNode's client: connect() resolves on open, then the handlers go on; it sends at once.
        const frames: string[] = [];
        ws.on('message', (d) => void frames.push(JSON.parse(String(d)).type));
        ws.send(JSON.stringify({ type: 'hello' }));
        await until(() => frames.length >= 2, 2000, 'welcome and ack').catch(() => undefined);
        if (frames[0] === 'welcome' && frames[1] === 'message_ack') welcomed++;
        ws.terminate();
      }
      expect(welcomed).toBe(50);
    });

    it('lets onWelcome replace or cancel the welcome', async () => {
      const { url } = await serve({
        onWelcome: (e) => (e.client_id === 'quiet' ? { shouldCancel: true }
          : { modifiedEvent: { ...(e.data as object), motd: 'hello' } }),
      });
      const { client, welcome } = await connect(`ws://${url}/chat`);
      expect(welcome).toMatchObject({ type: 'welcome', motd: 'hello' });
      const quiet = new Client(`ws://${url}/chat?clientId=quiet`);
      await quiet.opened();
      await quiet.expectSilence();
      client.close();
      quiet.close();
    });
  });

  describe('messages', () => {
    it('takes what JSON.stringify writes for half an emoji (a lone surrogate), as U+FFFD', async () => {
      const { url } = await serve({ autoCreateRooms: true });
      const { client } = await connect(`ws://${url}/chat`);
      client.send({ type: 'join_room', room_id: 'r' });
      await client.nextOfType('room_joined');
      const half = '😀'.slice(0, 1);
      const frame = JSON.stringify({ type: 'room_message', room_id: 'r', message: `split ${half}!` });
      expect(frame).toContain('\\ud83d');
      client.send(frame);
      expect(await client.next()).toMatchObject({ type: 'room_message', message: 'split \ufffd!' });
    });

    it('acknowledges frames with the text as received, answers ping, rejects bad JSON', async () => {
      const { url } = await serve({});
      const { client } = await connect(`ws://${url}/chat`);
      const frame = '{"type":"chat","text":"hi ü"}';
      client.send(frame);
      expect(await client.next()).toMatchObject({ type: 'message_ack', message: frame });
      client.send({ type: 'ping' });
      expect(await client.next()).toMatchObject({ type: 'pong', latency: null });
      for (const bad of ['not json', '[1]', '{"no":"type"}', '{"type":3}']) {
        client.send(bad);
        expect(await client.next()).toMatchObject({ type: 'error', error_type: 'invalid_format' });
      }
      client.send({ type: 'still', open: true });
      expect((await client.next()).type).toBe('message_ack');
      client.close();
    });

    it('sends no acks with acks: false', async () => {
      const { url } = await serve({ acks: false });
      const { client } = await connect(`ws://${url}/chat`);
      client.send({ type: 'x' });
      await client.expectSilence();
      client.close();
    });

    it('gives onMessage the frame and applies cancel, silent cancel and modify', async () => {
      const seen: WebSocketEventData[] = [];
      const { url } = await serve({
        onMessage: (e) => {
          seen.push(e);
          const m = JSON.parse(e.data as string);
          if (m.type === 'spam') return { shouldCancel: true, error: 'no spam' };
          if (m.type === 'handled') return { shouldCancel: true };
          if (m.type === 'shout') return { modifiedEvent: { data: { type: 'shout', text: String(m.text).toUpperCase() } } };
          return undefined;
        },
      });
      const { client, welcome } = await connect(`ws://${url}/chat`);
      client.send('{"type":"spam"}');
      expect(await client.next()).toMatchObject({ type: 'message_blocked', originalMessage: '{"type":"spam"}', reason: 'no spam' });
      client.send('{"type":"handled"}');
      client.send('{"type":"shout","text":"hey"}');
      expect(await client.next()).toMatchObject({ type: 'message_ack', message: '{"type":"shout","text":"HEY"}' });
      expect(seen[0]).toMatchObject({
        type: 'message', connectionId: welcome.connection_id, connection_id: welcome.connection_id,
        client_id: welcome.client_id, path: '/chat',
        data: '{"type":"spam"}', handlerId: '0',
      });
      expect(seen).toHaveLength(3);
      client.close();
    });

    it('lets onMessageAck replace or cancel the ack', async () => {
      const { url } = await serve({
        onMessageAck: (e) => {
          const ack = e.data as { message: string };
          return ack.message.includes('quiet') ? { shouldCancel: true } : { modifiedEvent: { ...ack, seq: 7 } };
        },
      });
      const { client } = await connect(`ws://${url}/chat`);
      client.send('{"type":"quiet"}');
      client.send('{"type":"loud"}');
      expect(await client.next()).toMatchObject({ type: 'message_ack', message: '{"type":"loud"}', seq: 7 });
      client.close();
    });

    it('runs onPing, and cancelling it sends no pong', async () => {
      const pings: WebSocketEventData[] = [];
      const { url } = await serve({ onPing: (e) => (pings.push(e), JSON.parse(e.data as string).quiet ? { shouldCancel: true } : undefined) });
      const { client } = await connect(`ws://${url}/chat`);
      client.send({ type: 'ping', quiet: true });
      client.send({ type: 'ping' });
      expect((await client.next()).type).toBe('pong');
      await client.expectSilence();
      expect(pings.map((p) => p.type)).toEqual(['ping', 'ping']);
      client.close();
    });

    it('times the heartbeat round trip and runs onPong', async () => {
      const pongs: WebSocketEventData[] = [];
      const { url } = await serve({ onPong: (e) => void pongs.push(e) }, { heartbeatInterval: 50 });
      const { client } = await connect(`ws://${url}/chat`);
      const ping = await client.nextOfType('ping');
      expect(ping.timestamp).toEqual(expect.any(String));
      client.send({ type: 'pong' });
      expect(await client.nextOfType('message_ack')).toMatchObject({ message: '{"type":"pong"}' });
      expect(pongs[0]).toMatchObject({ type: 'pong', data: '{"type":"pong"}' });
      client.send({ type: 'ping' });
      const pong = await client.nextOfType('pong');
      expect(typeof pong.latency).toBe('number');
      expect(pong.latency).toBeGreaterThanOrEqual(0);
      client.close();
    });

    it('sends no ack for a pong when onPong cancels', async () => {
      const { url } = await serve({ onPong: () => ({ shouldCancel: true }) });
      const { client } = await connect(`ws://${url}/chat`);
      client.send({ type: 'pong' });
      client.send({ type: 'other' });
      expect(await client.next()).toMatchObject({ type: 'message_ack', message: '{"type":"other"}' });
      client.close();
    });

    it('delivers binary frames to onBinaryMessage as Buffers, and drops them without it', async () => {
      const got: Buffer[] = [];
      const { url } = await serve({ onBinaryMessage: (e) => void got.push(e.data as Buffer) });
      const { client } = await connect(`ws://${url}/chat`);
      client.send(Buffer.from([0, 1, 2, 255]));
      await until(() => got.length === 1);
      expect(got[0]).toEqual(Buffer.from([0, 1, 2, 255]));
      client.close();
      await app!.close();

      const second = await serve({}, {}, '/bin');
      const { client: c2 } = await connect(`ws://${second.url}/bin`);
      c2.send(Buffer.from([1, 2, 3]));
      await c2.expectSilence();
      c2.send({ type: 'after' });
      expect((await c2.next()).type).toBe('message_ack');
      c2.close();
    });

    it('fires onClose with code and reason after the client closes', async () => {
      const closes: CloseEvent[] = [];
      const { url } = await serve({ onClose: (e) => void closes.push(e) });
      const { client, welcome } = await connect(`ws://${url}/chat`);
      client.ws.close(4001, 'bye now');
      await until(() => closes.length === 1);
      expect(closes[0]).toMatchObject({ type: 'close', code: 4001, reason: 'bye now', connectionId: welcome.connection_id });
      await until(() => app!.getWebSocketConnections() === 0);
    });

    it('reports 1005 for a close frame without a code, and echoes it empty', async () => {
      const closes: CloseEvent[] = [];
      const { url } = await serve({ onClose: (e) => void closes.push(e) });
      const c = await RawClient.open(Number(url.split(':')[1]), '/chat');
      c.send(8, Buffer.alloc(0));
      const echo = await c.readFrame();
      expect(echo.opcode).toBe(8);
      expect(echo.payload.length).toBe(0);
      await c.tcpClosed();
      await until(() => closes.length === 1);
      expect(closes[0]).toMatchObject({ type: 'close', code: 1005, reason: '' });
    });

    it('fires onError and closes with 1009 for an oversize message, other connections unharmed', async () => {
      const errors: ProtocolErrorEvent[] = [];
      const closes: CloseEvent[] = [];
      const { url } = await serve({ onError: (e) => void errors.push(e), onClose: (e) => void closes.push(e) }, { maxPayload: 1024 });
      const { client } = await connect(`ws://${url}/chat`);
      const { client: bystander } = await connect(`ws://${url}/chat`);
      client.send('x'.repeat(2048));
      expect(await client.closed).toBe(1009);
      await until(() => errors.length === 1 && closes.length === 1);
      expect(errors[0]).toMatchObject({ type: 'error', error_type: 'message_too_big' });
      expect(closes[0].code).toBe(1009);
      bystander.send({ type: 'ok' });
      expect((await bystander.next()).type).toBe('message_ack');
      bystander.close();
    });

    it('fires onError and closes with 1007 for invalid UTF-8 in a text frame', async () => {
      const errors: ProtocolErrorEvent[] = [];
      const { url } = await serve({ onError: (e) => void errors.push(e) });
      const { client } = await connect(`ws://${url}/chat`);
      // ws validates outgoing text only when asked to; send raw bytes as a text frame.
      (client.ws as any)._sender.send(Buffer.from([0xc3, 0x28]), { binary: false, fin: true, mask: true, opcode: 1, readOnly: false }, () => undefined);
      expect(await client.closed).toBe(1007);
      await until(() => errors.length === 1);
      expect(errors[0].error_type).toBe('invalid_utf8');
    });
  });

  describe('failing callbacks', () => {
    it('treats a throwing callback as a cancel with "handler error" and fires onServerError', async () => {
      const serverErrors: ServerErrorEvent[] = [];
      const { url } = await serve({
        onMessage: () => {
          throw new Error('boom');
        },
        onServerError: (e) => void serverErrors.push(e),
      });
      const { client } = await connect(`ws://${url}/chat`);
      client.send('{"type":"x"}');
      expect(await client.next()).toMatchObject({ type: 'message_blocked', reason: 'handler error', originalMessage: '{"type":"x"}' });
      await until(() => serverErrors.length === 1);
      expect(serverErrors[0]).toMatchObject({ type: 'server_error', error_type: 'handler_error' });
      expect(serverErrors[0].error).toContain('boom');
      client.send('{"type":"y"}');
      expect((await client.next()).type).toBe('message_blocked');
      client.close();
    });

    it('treats a rejecting callback the same way', async () => {
      const serverErrors: ServerErrorEvent[] = [];
      const { url } = await serve({
        onMessage: async () => {
          throw new Error('async boom');
        },
        onServerError: (e) => void serverErrors.push(e),
      });
      const { client } = await connect(`ws://${url}/chat`);
      client.send('{"type":"x"}');
      expect(await client.next()).toMatchObject({ type: 'message_blocked', reason: 'handler error' });
      await until(() => serverErrors.length === 1);
      expect(serverErrors[0].error).toContain('async boom');
      client.close();
    });

    it('treats a callback past callbackTimeoutMs as a cancel with "handler timeout"', async () => {
      const serverErrors: ServerErrorEvent[] = [];
      const { url } = await serve({
        onMessage: (e) => (JSON.parse(e.data as string).slow ? new Promise(() => undefined) : undefined),
        onServerError: (e) => void serverErrors.push(e),
      }, { callbackTimeoutMs: 100 });
      const { client } = await connect(`ws://${url}/chat`);
      client.send({ type: 'x', slow: true });
      client.send({ type: 'after' });
      expect(await client.next()).toMatchObject({ type: 'message_blocked', reason: 'handler timeout' });
      expect(await client.next()).toMatchObject({ type: 'message_ack', message: '{"type":"after"}' });
      await until(() => serverErrors.length === 1);
      expect(serverErrors[0].error_type).toBe('handler_timeout');
      client.close();
    });

    it('treats an invalid result as a handler error with a clear message', async () => {
      const serverErrors: ServerErrorEvent[] = [];
      const { url } = await serve({
        onMessage: () => ({ shouldCancel: 'yes' }) as any,
        onServerError: (e) => void serverErrors.push(e),
      });
      const { client } = await connect(`ws://${url}/chat`);
      client.send('{"type":"x"}');
      expect(await client.next()).toMatchObject({ type: 'message_blocked', reason: 'handler error' });
      await until(() => serverErrors.length === 1);
      expect(serverErrors[0]).toMatchObject({ error_type: 'invalid_result' });
      expect(serverErrors[0].error).toContain('shouldCancel must be a boolean');
      client.close();
    });

    it('refuses the upgrade with 500 when onConnect throws', async () => {
      const { url } = await serve({
        onConnect: () => {
          throw new Error('db down');
        },
        onServerError: () => undefined,
      });
      const refused = await refusedUpgrade(`ws://${url}/chat`);
      expect(refused.status).toBe(500);
      expect(JSON.parse(refused.body)).toEqual({ error: 'handler error' });
    });

    it('never holds up another connection while one callback is pending', async () => {
      let release: (() => void) | undefined;
      const { url } = await serve({
        onMessage: (e) => (JSON.parse(e.data as string).hold
          ? new Promise<undefined>((resolve) => (release = () => resolve(undefined))) : undefined),
      });
      const { client: a } = await connect(`ws://${url}/chat`);
      const { client: b } = await connect(`ws://${url}/chat`);
      a.send({ type: 'x', hold: true });
      await until(() => release !== undefined);
      b.send({ type: 'free' });
      expect((await b.next()).message).toBe('{"type":"free"}');
      release!();
      expect((await a.next()).type).toBe('message_ack');
      a.close();
      b.close();
    });
  });

  describe('ordering', () => {
    it('handles 1,000 frames of one connection in arrival order with a random-delay async onMessage', async () => {
      const order: number[] = [];
      const { url } = await serve({
        onMessage: async (e) => {
          await sleep(Math.random() * 3);
          order.push(JSON.parse(e.data as string).i);
          return undefined;
        },
      });
      const { client } = await connect(`ws://${url}/chat`);
      const n = 1000;
      for (let i = 0; i < n; i++) client.send({ type: 'seq', i });
      for (let i = 0; i < n; i++) {
        const ack = await client.next(10000);
        expect(JSON.parse(ack.message).i).toBe(i);
      }
      expect(order).toEqual(Array.from({ length: n }, (_, i) => i));
      client.close();
    });
  });

  describe('sending from JavaScript', () => {
    it('echoes exactly the bytes sent, text and binary, with onMessage + send + silent cancel', async () => {
      let echoApp: App;
      const { url } = await serve({
        onMessage: (e) => {
          echoApp.send(e.connectionId, e.data as string);
          return { shouldCancel: true };
        },
        onBinaryMessage: (e) => void echoApp.send(e.connectionId, e.data as Buffer),
        onWelcome: () => ({ shouldCancel: true }),
      });
      echoApp = app!;
      const client = new Client(`ws://${url}/chat`);
      await client.opened();
      const texts = ['hello', '', 'not json at all', '{"type":"x"}', 'ü€𝄞'.repeat(100), 'z'.repeat(70000)];
      for (const t of texts) {
        client.send(t);
        const f = await client.nextFrame();
        expect(f.binary).toBe(false);
        expect(f.data).toBe(t);
      }
      const bins = [Buffer.from([0]), Buffer.from([0xff, 0xfe, 0x00, 0x80]), Buffer.alloc(100000, 7)];
      for (const b of bins) {
        client.send(b);
        const f = await client.nextFrame();
        expect(f.binary).toBe(true);
        expect(Buffer.compare(f.data as Buffer, b)).toBe(0);
      }
      await client.expectSilence();
      client.close();
    });

    it('send returns a status, or false for an unknown connection', async () => {
      const { url } = await serve({ acks: false });
      const { client, welcome } = await connect(`ws://${url}/chat`);
      expect(app!.send(welcome.connection_id, 'raw text')).toBe('ok');
      expect((await client.nextFrame()).data).toBe('raw text');
      expect(app!.send(welcome.connection_id, new Uint8Array([1, 2]))).toBe('ok');
      expect((await client.nextFrame()).binary).toBe(true);
      expect(app!.send('00000000-0000-4000-8000-000000000000', 'x')).toBe(false);
      client.close();
    });

    it('broadcast reaches every connection on the path (pattern or actual path) and no other', async () => {
      const started = await startApp((a) => a.websocket('/room/{id}', { acks: false }).websocket('/other', { acks: false }));
      app = started.app;
      const { client: a1 } = await connect(`ws://${started.url}/room/1`);
      const { client: a2 } = await connect(`ws://${started.url}/room/2`);
      const { client: o } = await connect(`ws://${started.url}/other`);
      expect(app.broadcast('/room/{id}', 'to all rooms')).toBe(2);
      expect((await a1.nextFrame()).data).toBe('to all rooms');
      expect((await a2.nextFrame()).data).toBe('to all rooms');
      expect(app.broadcast('/room/2', Buffer.from('only 2'))).toBe(1);
      expect((await a2.nextFrame()).data).toEqual(Buffer.from('only 2'));
      await a1.expectSilence(100);
      await o.expectSilence(0);
      expect(app.broadcast('/nowhere', 'x')).toBe(0);
      for (const c of [a1, a2, o]) c.close();
    });
  });

  it('calls only the callbacks that were registered: other events never reach JavaScript', async () => {
    const calls: string[] = [];
    const { url } = await serve({ onClose: (e) => void calls.push(e.type) });
    const delivered: number[] = [];
    const original = (app as any).onBatch.bind(app);
    (app as any).onBatch = (nums: Float64Array, ...rest: unknown[]) => {
      for (let i = 0; i < nums.length; i += 4) delivered.push(nums[i]);
      original(nums, ...rest);
    };
    const { client } = await connect(`ws://${url}/chat`);
    client.send({ type: 'x' });
    await client.next();
    client.send({ type: 'ping' });
    await client.next();
    client.send(Buffer.from([1]));
    client.close();
    await until(() => calls.length > 0);
    expect(calls).toEqual(['close']);
    expect(delivered).toEqual([7]);
  });
});
