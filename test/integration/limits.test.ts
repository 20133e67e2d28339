import * as net from 'net';
import { App, createApp } from '../../lib';
import type { CloseEvent } from '../../types/index';
import { RawClient } from '../raw-ws';
import { connect, refusedUpgrade, sleep, startApp, until } from '../helpers';

describe('limits and timeouts', () => {
  let app: App | undefined;
  afterEach(async () => {
    await app?.close({ timeoutMs: 1000 });
    app = undefined;
  });

  it('refuses upgrades past maxConnections with 503, and accepts again once one leaves', async () => {
    const s = await startApp((a) => a.websocket('/ws'), { maxConnections: 2 });
    app = s.app;
    const a = await connect(`ws://${s.url}/ws`);
    const b = await connect(`ws://${s.url}/ws`);
    const refused = await refusedUpgrade(`ws://${s.url}/ws`);
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body)).toEqual({ error: 'Too many connections' });
    a.client.close();
    await until(() => app!.getWebSocketConnections() === 1);
    const c = await connect(`ws://${s.url}/ws`);
    b.client.close();
    c.client.close();
  });

  it('closes a peer silent past idleTimeout with 1001 and cleans it up', async () => {
    const closes: CloseEvent[] = [];
    const s = await startApp((a) => a.websocket('/ws', { onClose: (e) => void closes.push(e) }),
      { idleTimeout: 300, heartbeatInterval: 0, requestTimeout: 500 });
    app = s.app;
    const room = app.createRoom('r');
    const raw = await RawClient.open(s.port);
    // Put it in a room through the REST-free API path: the join is what must be cleaned up.
    const started = Date.now();
    expect(await raw.closeCode(3000)).toBe(1001);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    await until(() => closes.length === 1, 3000);
    expect(closes[0].code).toBe(1001);
    expect(app.getWebSocketConnections()).toBe(0);
    expect(app.getRoomInfo(room)!.connectionsCount).toBe(0);
    raw.destroy();
  });

  it('keeps a peer that answers protocol pings, and records its latency', async () => {
    const s = await startApp((a) => a.websocket('/ws'), { idleTimeout: 400, heartbeatInterval: 100 });
    app = s.app;
    const { client, welcome } = await connect(`ws://${s.url}/ws`);
    let pings = 0;
    client.ws.on('ping', () => pings++);
    // The ws client answers protocol pings by itself and JSON pings here.
    client.ws.on('message', (d) => {
      if (JSON.parse(String(d)).type === 'ping') client.send({ type: 'pong' });
    });
    await sleep(1200);
    expect(client.closeCode).toBeUndefined();
    expect(pings).toBeGreaterThanOrEqual(3);
    expect(app.getClientInfo(welcome.connection_id)!.latency).toEqual(expect.any(Number));
    client.close();
  });

  it('drops a slowloris upgrade that never finishes its headers', async () => {
    const s = await startApp((a) => a.websocket('/ws'), { requestTimeout: 300 });
    app = s.app;
    const sock = net.connect(s.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n');
    const t0 = Date.now();
    await new Promise<void>((resolve) => sock.once('close', () => resolve()));
    expect(Date.now() - t0).toBeLessThan(3000);
    const ok = await connect(`ws://${s.url}/ws`);
    ok.client.close();
  });

  it('rate-limits a connection with rate_limited, then closes persistent abuse with 1008', async () => {
    const s = await startApp((a) => a.websocket('/ws', { maxMessagesPerSecond: 10 }), { metrics: true });
    app = s.app;
    const { client } = await connect(`ws://${s.url}/ws`);
    for (let i = 0; i < 15; i++) client.send({ type: 'm', i });
    const replies: string[] = [];
    for (let i = 0; i < 15; i++) {
      const m = await client.next();
      replies.push(m.type === 'error' ? m.error_type : m.type);
    }
    expect(replies.filter((r) => r === 'message_ack')).toHaveLength(10);
    expect(replies.filter((r) => r === 'rate_limited')).toHaveLength(5);
    for (let i = 0; i < 50; i++) client.send({ type: 'flood', i });
    expect(await client.closed).toBe(1008);
    const metrics = await (await fetch(`http://${s.url}/metrics`)).text();
    expect(metrics).toMatch(/roomwire_dropped_messages_total\{reason="rate_limited"\} [1-9]/);
    // Other connections are unaffected.
    const other = await connect(`ws://${s.url}/ws`);
    other.client.send({ type: 'x' });
    expect((await other.client.next()).type).toBe('message_ack');
    other.client.close();
  });

  it('answers every frame taken before a rate-limit close, in frame order, then closes', async () => {
    // Each connection sends 20 frames in one burst at 5 per second: 5 are taken and acked,
    // the next 5 get rate_limited, the 11th refusal closes with 1008. Nothing taken is lost.
    const s = await startApp((a) => a.websocket('/ws', { maxMessagesPerSecond: 5 }));
    app = s.app;
    const clients = await Promise.all(Array.from({ length: 20 }, () => connect(`ws://${s.url}/ws`)));
    const received = clients.map(() => [] as string[]);
    clients.forEach(({ client }, n) => {
      client.ws.on('message', (d) => {
        const m = JSON.parse(String(d));
        received[n].push(m.type === 'message_ack' ? `ack:${JSON.parse(m.message).i}` : m.error_type ?? m.type);
      });
      for (let i = 0; i < 20; i++) client.send({ type: 'm', i });
    });
    const codes = await Promise.all(clients.map(({ client }) => client.closed));
    expect(codes.every((c) => c === 1008)).toBe(true);
    const expected = ['ack:0', 'ack:1', 'ack:2', 'ack:3', 'ack:4', ...new Array(5).fill('rate_limited')];
    for (const r of received) expect(r).toEqual(expected);
  });

  it('bounds rooms per connection, room and client id length and presence size, with clear errors', async () => {
    const s = await startApp((a) => a.websocket('/ws', { autoCreateRooms: true }).enableRoomApi('/api'));
    app = s.app;
    const { client, welcome } = await connect(`ws://${s.url}/ws`);
    // Default maxRoomsPerConnection: 256.
    for (let i = 0; i < 257; i++) client.send({ type: 'join_room', room_id: `auto-${i}` });
    const answers: string[] = [];
    for (let i = 0; i < 257; i++) {
      const m = await client.next();
      answers.push(m.type === 'room_joined' ? 'joined' : m.error);
    }
    expect(answers.filter((a) => a === 'joined')).toHaveLength(256);
    expect(answers[256]).toMatch(/^Too many rooms/);
    expect(s.app.getUserRooms(welcome.connection_id)).toHaveLength(256);
    // The REST API and the app are held to it too.
    const room = s.app.createRoom('one more');
    const rest = await fetch(`http://${s.url}/api/rooms/${room}/join`, { method: 'POST', body: JSON.stringify({ connectionId: welcome.connection_id }) });
    expect(rest.status).toBe(409);
    expect(s.app.joinRoom(welcome.connection_id, room)).toBe(false);
    expect(await s.app.joinRoomAsync(welcome.connection_id, room)).toBe(false);
    // Room id of more than 256 bytes (default maxIdLength), up to 1 MB: refused, nothing created.
    const { client: other } = await connect(`ws://${s.url}/ws`);
    const roomsBefore = s.app.getAllRooms().length;
    for (const size of [257, 1 << 20]) {
      other.send({ type: 'join_room', room_id: 'r'.repeat(size) });
      expect(await other.next()).toMatchObject({ type: 'error', error_type: 'room_join_error', error: expect.stringMatching(/room_id is longer/) });
    }
    expect(s.app.getAllRooms()).toHaveLength(roomsBefore);
    // Presence over 4096 bytes of JSON (default maxPresenceSize).
    other.send({ type: 'join_room', room_id: 'p', presence: { bio: 'x'.repeat(5000) } });
    expect(await other.next()).toMatchObject({ error_type: 'room_join_error', error: expect.stringMatching(/presence is larger than 4096/) });
    other.send({ type: 'join_room', room_id: 'p', presence: { bio: 'x'.repeat(100) } });
    expect((await other.next()).type).toBe('room_joined');
    // A clientId of more than 256 bytes at the upgrade.
    const refused = await refusedUpgrade(`ws://${s.url}/ws?clientId=${'c'.repeat(257)}`);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatch(/clientId is longer/);
    client.close();
    other.close();
  });

  it('takes other limits as options', async () => {
    const s = await startApp((a) => a.websocket('/ws', { autoCreateRooms: true }),
      { maxRoomsPerConnection: 2, maxIdLength: 8, maxPresenceSize: 0 });
    app = s.app;
    const { client } = await connect(`ws://${s.url}/ws?clientId=12345678`);
    client.send({ type: 'join_room', room_id: 'a', presence: { bio: 'x'.repeat(10000) } });
    client.send({ type: 'join_room', room_id: 'b' });
    client.send({ type: 'join_room', room_id: 'c' });
    client.send({ type: 'join_room', room_id: '123456789' });
    expect((await client.next()).type).toBe('room_joined');
    expect((await client.next()).type).toBe('room_joined');
    expect((await client.next()).error).toMatch(/^Too many rooms/);
    expect((await client.next()).error).toMatch(/room_id is longer/);
    expect((await refusedUpgrade(`ws://${s.url}/ws?clientId=123456789`)).status).toBe(400);
    expect(() => createApp({ maxRoomsPerConnection: -1 })).toThrow(RangeError);
    expect(() => createApp({ maxIdLength: 0 })).toThrow(RangeError);
    client.close();
  });

  it('lets a well-behaved client keep sending at the rate forever', async () => {
    const s = await startApp((a) => a.websocket('/ws', { maxMessagesPerSecond: 50 }));
    app = s.app;
    const { client } = await connect(`ws://${s.url}/ws`);
    for (let i = 0; i < 40; i++) {
      client.send({ type: 'steady', i });
      expect((await client.next()).type).toBe('message_ack');
      await sleep(25);
    }
    client.close();
  });
});
