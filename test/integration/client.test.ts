/**
 * roomwire/client against a real server over loopback: requests and answers, refused and
 * silent handshakes, and the faults it must survive (a server-side close, a TCP reset, a
 * silent link), rejoining and receiving exactly what it missed. Node 20 has no global
 * WebSocket: these run on the `ws` package the client loads by itself.
 */
import * as net from 'net';
import { App } from '../../lib';
import type { WebSocketOptions } from '../../types/index';
import {
  CloseCode, RoomMessageFrame, RoomwireClient, RoomwireClientError, RoomwireClientOptions,
} from '../../lib/client/roomwire-client';
import { Node } from '../node-process';
import { FaultyLink } from '../proxy';
import { sleep, startApp, until } from '../helpers';

describe('roomwire/client', () => {
  let app: App;
  let port: number;
  const clients: RoomwireClient[] = [];
  const links: FaultyLink[] = [];
  const servers: net.Server[] = [];

  async function serve(options: WebSocketOptions = {}, appOptions = {}): Promise<void> {
    const started = await startApp((a) => a.websocket('/ws', options), appOptions);
    app = started.app;
    port = started.port;
  }

  function client(options: Partial<RoomwireClientOptions> = {}, via = port): RoomwireClient {
    const c = new RoomwireClient({ url: `ws://127.0.0.1:${via}/ws`, reconnectDelay: 50, reconnectDelayMax: 200, ...options });
    clients.push(c);
    return c;
  }

  async function link(): Promise<FaultyLink> {
    const l = new FaultyLink(port);
    links.push(l);
    await l.port;
    return l;
  }

  /** Collects room messages (text and offset) as the client's handlers see them. */
  function collect(c: RoomwireClient): Array<[string, number | undefined]> {
    const got: Array<[string, number | undefined]> = [];
    c.on('room_message', (m: RoomMessageFrame) => got.push([m.message, m.offset]));
    return got;
  }

  afterEach(async () => {
    for (const c of clients.splice(0)) c.disconnect();
    for (const l of links.splice(0)) await l.close();
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
    await app?.close({ timeoutMs: 1000 });
  });

  it('connects, joins, sends and receives, lists presence and leaves', async () => {
    let header: string | undefined;
    await serve({
      onConnect: (e) => { header = e.headers?.['x-app-token']; return undefined; },
      onMessage: (e) => (JSON.parse(e.data as string).data === 'bad' ? { shouldCancel: true, error: 'no thanks' } : undefined),
    });
    const room = app.createRoom('r');
    const c = client({ clientId: 'alice', headers: { 'x-app-token': 'secret' } });
    const welcome = await c.connect();
    expect(welcome).toMatchObject({ type: 'welcome', client_id: 'alice' });
    expect(header).toBe('secret');
    expect(c.state).toBe('open');
    expect(c.connectionId).toBe(welcome.connection_id);
    const got = collect(c);
    await expect(c.joinRoom(room, { name: 'Alice' })).resolves.toMatchObject({ type: 'room_joined', room_id: room });
    const serverErrors: unknown[] = [];
    const errors: unknown[] = [];
    c.on('server_error', (f) => serverErrors.push(f));
    c.on('error', (e) => errors.push(e));
    await expect(c.joinRoom('room_missing')).rejects.toMatchObject({ code: 'server', errorType: 'room_join_error', message: 'Room not found' });
    c.sendToRoom('room_missing', 'nobody hears');
    await until(() => errors.length === 1);
    expect(errors[0]).toBeInstanceOf(RoomwireClientError);
    expect(errors[0]).toMatchObject({ code: 'server', errorType: 'not_in_room' });
    expect(serverErrors).toEqual([expect.objectContaining({ type: 'error', error_type: 'room_join_error' }),
      expect.objectContaining({ type: 'error', error_type: 'not_in_room' })]);
    expect(c.sendToRoom(room, 'hello')).toBe(true);
    await until(() => got.length === 1);
    expect(got).toEqual([['hello', undefined]]);
    await expect(c.send('fine')).resolves.toMatchObject({ type: 'message_ack', message: '{"type":"message","data":"fine"}' });
    await expect(c.send({ type: 'custom', n: 1 })).resolves.toMatchObject({ message: '{"type":"custom","n":1}' });
    await expect(c.send('bad')).rejects.toMatchObject({ code: 'blocked', message: 'no thanks' });
    const members = await c.presenceList(room);
    expect(members).toEqual([expect.objectContaining({ client_id: 'alice', user_info: { name: 'Alice' } })]);
    await expect(c.presenceList('room_missing')).rejects.toMatchObject({ errorType: 'room_not_found' });
    expect(c.joinedRooms).toEqual([room]);
    await expect(c.leaveRoom(room)).resolves.toMatchObject({ type: 'room_left' });
    await expect(c.leaveRoom(room)).rejects.toMatchObject({ errorType: 'room_leave_error' });
    expect(c.joinedRooms).toEqual([]);
  });

  it('sends and receives direct messages and binary frames, and answers the server\'s ping', async () => {
    let binary: Buffer | undefined;
    await serve({ onBinaryMessage: (e) => { binary = e.data as Buffer; } }, { heartbeatInterval: 100 });
    const a = client({ clientId: 'a' });
    const b = client({ clientId: 'b' });
    await a.connect();
    await b.connect();
    const direct = new Promise((resolve) => b.on('direct_message', resolve));
    expect(a.sendDirectMessage('b', 'psst')).toBe(true);
    expect(await direct).toMatchObject({ message: 'psst', from_client_id: 'a' });
    const bytes = new Promise<Uint8Array>((resolve) => a.on('binary', resolve));
    app.send(a.connectionId!, Buffer.from([1, 2, 3]));
    expect([...(await bytes)]).toEqual([1, 2, 3]);
    await a.send(new Uint8Array([9, 8]));
    await until(() => binary !== undefined);
    expect([...binary!]).toEqual([9, 8]);
    // The server's JSON ping is answered: it measures the latency from that.
    await until(() => app.getClientInfo(a.connectionId!)?.latency !== null, 3000, 'a latency measured by the server');
  });

  it('rejects connect() on a refused upgrade with its HTTP status, and does not retry', async () => {
    let attempts = 0;
    await serve({ onConnect: () => { attempts += 1; return { shouldCancel: true, status: 401, error: 'who are you' }; } });
    const c = client();
    await expect(c.connect()).rejects.toMatchObject({ code: 'refused', status: 401 });
    expect(c.state).toBe('idle');
    await sleep(300);
    expect(attempts).toBe(1);
  });

  it('offers its subprotocols, and is refused by a route that requires another', async () => {
    await serve({ protocols: ['chat.v2', 'chat.v1'], requireProtocol: true });
    const c = client({ protocols: ['chat.v1'] });
    await expect(c.connect()).resolves.toMatchObject({ type: 'welcome' });
    await expect(client({ protocols: ['chat.v0'] }).connect()).rejects.toMatchObject({ code: 'refused', status: 400 });
  });

  it('rejects connect() when no welcome comes within handshakeTimeout', async () => {
    await serve();
    // Accepts TCP and never answers the upgrade.
    const held: net.Socket[] = [];
    const silent = net.createServer((socket) => { held.push(socket); });
    servers.push(silent);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const c = client({ handshakeTimeout: 300 }, (silent.address() as net.AddressInfo).port);
    const started = Date.now();
    await expect(c.connect()).rejects.toMatchObject({ code: 'timeout' });
    expect(Date.now() - started).toBeLessThan(5000);
    for (const socket of held) socket.destroy();
  });

  describe('recovery', () => {
    async function historyRoom(): Promise<string> {
      await serve();
      return app.createRoom('h', '', 0, { history: { size: 1000 } });
    }

    async function conversation(fault: (c: RoomwireClient, l: FaultyLink) => void, options: Partial<RoomwireClientOptions> = {}) {
      const room = await historyRoom();
      const l = await link();
      const c = client(options, await l.port);
      await c.connect();
      const got = collect(c);
      const rejoined: unknown[] = [];
      c.on('rejoined', (e) => rejoined.push(e));
      await c.joinRoom(room, { name: 'me' });
      for (let i = 1; i <= 3; i += 1) app.sendRoomMessage(room, `before ${i}`);
      await until(() => got.length === 3);
      const first = c.connectionId;
      const gone = new Promise((resolve) => c.on('disconnect', resolve));
      fault(c, l);
      await gone;
      // While it is away (it cannot be back yet: each case keeps it away until here).
      for (let i = 1; i <= 3; i += 1) app.sendRoomMessage(room, `missed ${i}`);
      l.refuse(false);
      await until(() => rejoined.length === 1, 10000, 'rejoined');
      expect(rejoined).toEqual([{ room_id: room, recovered: true }]);
      expect(c.connectionId).not.toBe(first);
      app.sendRoomMessage(room, 'after');
      await until(() => got.length === 7, 5000, 'seven messages');
      await sleep(100);
      expect(got).toEqual([
        ['before 1', 1], ['before 2', 2], ['before 3', 3],
        ['missed 1', 4], ['missed 2', 5], ['missed 3', 6], ['after', 7],
      ]);
      // Rejoined with its presence.
      expect(app.getPresence(room)).toEqual([expect.objectContaining({ user_info: { name: 'me' } })]);
      return c;
    }

    it('after a server-side close', async () => {
      await conversation((c, l) => {
        l.refuse(true);
        app.closeConnection(c.connectionId!, CloseCode.GOING_AWAY, 'bye');
      });
    });

    it('after a TCP reset', async () => {
      await conversation((c, l) => {
        l.refuse(true);
        l.resetAll();
      });
    });

    it('after the link goes silent (its ping unanswered within pongTimeout)', async () => {
      const c = await conversation((_c, l) => {
        l.refuse(true);
        l.silenceAll();
      }, { pingInterval: 100, pongTimeout: 200 });
      expect(c.latency).not.toBeNull();
    });

    it('delivers messages that arrive twice (replayed and live across a reconnect) once', async () => {
      const room = await historyRoom();
      const c = client();
      await c.connect();
      const got = collect(c);
      await c.joinRoom(room);
      app.sendRoomMessage(room, 'one');
      await until(() => got.length === 1);
      // A client that missed nothing and still asks from an older position gets the
      // replay; what it had already is not delivered again.
      const l = await link();
      const raw = client({}, await l.port);
      await raw.connect();
      const rawGot = collect(raw);
      await raw.joinRoom(room);
      app.sendRoomMessage(room, 'two');
      await until(() => rawGot.length === 1 && got.length === 2);
      const back = new Promise((resolve) => raw.on('rejoined', resolve));
      l.resetAll();
      await back;
      app.sendRoomMessage(room, 'three');
      await until(() => rawGot.length === 2);
      await sleep(100);
      expect(rawGot).toEqual([['two', 2], ['three', 3]]);
    });

    it('says recovered: false when the server process was killed and started again, and live delivery resumes', async () => {
      let server = await Node.start();
      const l = new FaultyLink(server.port);
      links.push(l);
      // Attempts enough to outlast the restart on a loaded machine (10 would give up in about a second).
      const c = new RoomwireClient({ url: `ws://127.0.0.1:${await l.port}/chat`, reconnectDelay: 50, reconnectDelayMax: 100,
        reconnectAttempts: 1000 });
      clients.push(c);
      const got = collect(c);
      const rejoined: unknown[] = [];
      c.on('rejoined', (e) => rejoined.push(e));
      try {
        expect(await server.call('createRoom', 'h', '', 0, { history: { size: 100 }, id: 'h' })).toBe('h');
        await c.connect();
        await c.joinRoom('h');
        await server.call('sendRoomMessage', 'h', 'one');
        await until(() => got.length === 1);
        l.refuse(true);
        await server.kill();
        server = await Node.start();
        expect(await server.call('createRoom', 'h', '', 0, { history: { size: 100 }, id: 'h' })).toBe('h');
        l.retarget(server.port);
        l.refuse(false);
        await until(() => rejoined.length === 1, 10000, 'rejoined');
        expect(rejoined).toEqual([{ room_id: 'h', recovered: false }]);
        await server.call('sendRoomMessage', 'h', 'two');
        await until(() => got.length === 2);
        expect(got).toEqual([['one', 1], ['two', 1]]);
      } finally {
        c.disconnect();
        await server.stop();
      }
    });

    it('says recovered: false when the server restarted in-process, and live delivery resumes', async () => {
      const room = await historyRoom();
      const c = client({ reconnectDelayMax: 100 });
      await c.connect();
      const got = collect(c);
      await c.joinRoom(room);
      app.sendRoomMessage(room, 'one');
      await until(() => got.length === 1);
      const rejoined = new Promise((resolve) => c.on('rejoined', resolve));
      // A new server on the same port: the same room id, a new history (a new epoch).
      await app.close({ timeoutMs: 1000 });
      const again = await startApp((a) => {
        a.websocket('/ws');
        a.createRoom('h', '', 0, { history: { size: 1000 }, id: room });
      }, {}, port);
      app = again.app;
      expect(await rejoined).toEqual({ room_id: room, recovered: false });
      app.sendRoomMessage(room, 'two');
      await until(() => got.length === 2);
      expect(got).toEqual([['one', 1], ['two', 1]]);
    });
  });

  it('never reconnects after disconnect(), nor after a final close code', async () => {
    let connects = 0;
    await serve({ onConnect: () => { connects += 1; return undefined; } });
    const c = client();
    await c.connect();
    const states: string[] = [];
    c.on('state', (s) => states.push(s));
    c.disconnect();
    expect(c.state).toBe('closed');
    await expect(c.joinRoom('x')).rejects.toMatchObject({ code: 'closed' });
    expect(c.sendToRoom('x', 'y')).toBe(false);
    const d = client();
    await d.connect();
    const closed = new Promise((resolve) => d.on('disconnect', resolve));
    app.closeConnection(d.connectionId!, CloseCode.POLICY_VIOLATION, 'banned');
    expect(await closed).toEqual({ code: 1008, reason: 'banned', willReconnect: false });
    const e = client({ finalCloseCodes: [4001] });
    await e.connect();
    app.closeConnection(e.connectionId!, 4001, 'kicked');
    await until(() => e.state === 'closed');
    await sleep(400);  // several backoff periods
    expect(connects).toBe(3);
    expect(states).toEqual(['closed']);
    expect(d.state).toBe('closed');
  });

  it('queues sends while offline up to offlineQueueSize, refuses the overflow, and sends the queue in order', async () => {
    const room = (await serve(), app.createRoom('r'));
    const l = await link();
    const c = client({ offlineQueueSize: 3 }, await l.port);
    await c.connect();
    const got = collect(c);
    await c.joinRoom(room);
    l.refuse(true);
    const gone = new Promise((resolve) => c.on('disconnect', resolve));
    l.resetAll();
    await gone;
    expect(c.state).toBe('reconnecting');
    expect(c.sendToRoom(room, 'q1')).toBe(true);
    expect(c.sendToRoom(room, 'q2')).toBe(true);
    const acked = c.send('q3');
    expect(c.sendToRoom(room, 'overflow')).toBe(false);
    await expect(c.send('overflow too')).rejects.toMatchObject({ code: 'queue_full' });
    l.refuse(false);
    await expect(acked).resolves.toMatchObject({ type: 'message_ack' });
    await until(() => got.length === 2);
    expect(got.map(([m]) => m)).toEqual(['q1', 'q2']);
  });

  it('gives up after reconnectAttempts and rejects what waited', async () => {
    await serve();
    const l = await link();
    const c = client({ reconnectAttempts: 3, reconnectDelay: 10, reconnectDelayMax: 20 }, await l.port);
    await c.connect();
    const failed = new Promise((resolve) => c.on('reconnect_failed', resolve));
    const attempts: number[] = [];
    c.on('reconnecting', (e) => attempts.push(e.attempt));
    const gone = new Promise((resolve) => c.on('disconnect', resolve));
    l.refuse(true);
    l.resetAll();
    await gone;
    const queued = c.send('never');
    expect(await failed).toEqual({ attempts: 3 });
    expect(attempts).toEqual([1, 2, 3]);
    expect(c.state).toBe('closed');
    await expect(queued).rejects.toBeInstanceOf(RoomwireClientError);
  });

  it('checks its options', () => {
    expect(() => new RoomwireClient({ url: 'http://x' })).toThrow(/ws:\/\//);
    expect(() => new RoomwireClient({ url: 'ws://x', reconnectDelay: -1 })).toThrow(/reconnectDelay/);
    expect(() => new RoomwireClient({ url: 'ws://x', pongTimeout: Number.NaN })).toThrow(/pongTimeout/);
  });

  it('closes with 1009 on a message past maxPayload and reconnects', async () => {
    await serve();
    const c = client({ maxPayload: 1000 });
    await c.connect();
    const first = c.connectionId;
    const gone = new Promise((resolve) => c.on('disconnect', resolve));
    const back = new Promise((resolve) => c.on('welcome', resolve));
    app.send(first!, 'x'.repeat(5000));
    expect(await gone).toMatchObject({ code: CloseCode.MESSAGE_TOO_BIG, willReconnect: true });
    await back;
    expect(c.connectionId).not.toBe(first);
  });
});

describe('roomwire/client on the runtime\'s own WebSocket', () => {
  it('recovers missed messages after a reset (Node --experimental-websocket)', async () => {
    const { spawn } = await import('child_process');
    const path = await import('path');
    const started = await startApp((a) => a.websocket('/ws'));
    const app = started.app;
    const room = app.createRoom('h', '', 0, { history: { size: 100 } });
    const l = new FaultyLink(started.port);
    const child = spawn(process.execPath, ['--experimental-websocket', path.join(__dirname, '../fixtures/native-websocket-client.js')], {
      env: { ...process.env, URL: `ws://127.0.0.1:${await l.port}/ws`, ROOM: room },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const events: Array<Record<string, any>> = [];
    let buffered = '';
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        events.push(JSON.parse(buffered.slice(0, nl)));
        buffered = buffered.slice(nl + 1);
      }
    });
    const messages = () => events.filter((e) => e.event === 'room_message').map((e) => [e.message, e.offset]);
    try {
      await until(() => events.some((e) => e.event === 'joined' || e.type === 'no_websocket' || e.event === 'failed'), 10000, 'joined');
      expect(events[0]).toMatchObject({ event: 'joined', sockets: 1 });
      app.sendRoomMessage(room, 'one');
      await until(() => messages().length === 1);
      l.refuse(true);
      l.resetAll();
      await until(() => events.some((e) => e.event === 'disconnect'), 5000, 'disconnect');
      app.sendRoomMessage(room, 'two');
      app.sendRoomMessage(room, 'three');
      l.refuse(false);
      await until(() => events.some((e) => e.event === 'rejoined'), 10000, 'rejoined');
      app.sendRoomMessage(room, 'four');
      await until(() => messages().length === 4, 5000, 'four messages');
      expect(messages()).toEqual([['one', 1], ['two', 2], ['three', 3], ['four', 4]]);
      expect(events.find((e) => e.event === 'rejoined')).toMatchObject({ room_id: room, recovered: true });
      expect(Math.max(...events.map((e) => e.sockets ?? 0))).toBeGreaterThanOrEqual(2);
    } finally {
      child.stdin.end();
      await new Promise((r) => child.once('exit', r));
      await l.close();
      await app.close({ timeoutMs: 1000 });
    }
  });
});
