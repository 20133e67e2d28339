/**
 * Several roomwire processes acting as one through a real redis-server that the tests start
 * on a free port (and kill): room messages, rooms, limits, presence, direct messages,
 * broadcasts and counts across servers, and the faults — Redis going away and coming back,
 * a server killed with SIGKILL.
 */
import * as http from 'http';
import * as path from 'path';
import { RoomMessageFrame, RoomwireClient } from '../../lib/client/roomwire-client';
import { Client, connect, repeats, sleep, until, withTimeout } from '../helpers';
import { Node } from '../node-process';
import { FaultyLink } from '../proxy';
import { RedisServer } from '../redis';

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? NaN : Number(line.split(' ')[1]);
}

/** Opens a client on `url` and joins `room`, waiting for `room_joined`. */
async function member(url: string, room: string, presence?: Record<string, unknown>): Promise<Client> {
  const { client } = await connect(url);
  client.send({ type: 'join_room', room_id: room, ...(presence ? { presence } : {}) });
  await client.nextOfType('room_joined');
  return client;
}

function request(port: number, method: string, p: string, json?: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, method, headers: { 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) }));
    });
    req.on('error', reject);
    req.end(json === undefined ? undefined : JSON.stringify(json));
  });
}

describe('cluster', () => {
  let redis: RedisServer;
  let prefixes = 0;
  const nodes: Node[] = [];
  const clients: Client[] = [];

  /** Two (or more) servers of a fresh cluster (its own prefix) on the shared Redis. */
  async function cluster(n: number, extra: Record<string, unknown> = {}, threads = 2,
    app: Record<string, unknown> = {}): Promise<Node[]> {
    const prefix = `t${++prefixes}`;
    const started = await Promise.all(Array.from({ length: n }, (_, i) =>
      Node.start({ redis: redis.url, prefix, nodeId: `n${i + 1}`, ...extra }, threads, app)));
    nodes.push(...started);
    return started;
  }

  function track<T extends Client>(c: T): T {
    clients.push(c);
    return c;
  }

  beforeAll(async () => {
    redis = await RedisServer.start();
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });

  afterAll(async () => {
    await redis.kill();
  });

  test('a room message reaches the members on every server once, in the publisher\'s order', async () => {
    const [a, b] = await cluster(2);
    const alice = track(await member(a.url(), 'lobby'));
    const bob = track(await member(b.url(), 'lobby'));
    await alice.nextOfType('presence');  // bob's join, told across
    for (let i = 0; i < 50; ++i) alice.send({ type: 'room_message', room_id: 'lobby', message: `m${i}` });
    for (let i = 0; i < 50; ++i) {
      expect((await bob.nextOfType('room_message')).message).toBe(`m${i}`);
      expect((await alice.nextOfType('room_message')).message).toBe(`m${i}`);  // the sender's echo, once
    }
    await bob.expectSilence(200);
    // From the app on b, too.
    expect(await b.call('sendRoomMessage', 'lobby', 'from the app')).toBe('ok');
    expect((await alice.nextOfType('room_message')).message).toBe('from the app');
  });

  test('a room with history numbers its messages once for the whole cluster, and recovery works through any server', async () => {
    const [a, b] = await cluster(2);
    const history = { history: { size: 100 }, id: 'hist' };
    await a.call('createRoom', 'History', '', 0, history);
    await b.until('getRoomInfo', ['hist'], (r) => r !== null);
    await expect(b.call('createRoom', 'History', '', 0, history)).rejects.toThrow(/exists/);
    const alice = track(await member(a.url(), 'hist'));
    const bob = track(await member(b.url(), 'hist'));
    await alice.nextOfType('presence');
    const total = 30;
    for (let i = 0; i < total / 3; ++i) {
      alice.send({ type: 'room_message', room_id: 'hist', message: `alice ${i}` });
      bob.send({ type: 'room_message', room_id: 'hist', message: `bob ${i}` });
      void a.call('sendRoomMessage', 'hist', `app ${i}`);
    }
    const read = async (c: Client) => {
      const got: Array<[number, string, string]> = [];
      while (got.length < total) {
        const m = await c.nextOfType('room_message');
        got.push([m.offset, m.epoch, m.message]);
      }
      return got;
    };
    const [seenA, seenB] = await Promise.all([read(alice), read(bob)]);
    // One numbering, one order, the same on both servers.
    expect(seenA.map(([o]) => o)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(seenB).toEqual(seenA);
    const epoch = seenA[0][1];
    // A client that had up to 10 (on a) rejoins on b: everything after it, once.
    const carol = track((await connect(b.url())).client);
    carol.send({ type: 'join_room', room_id: 'hist', since: { offset: 10, epoch } });
    expect(await carol.nextOfType('room_joined')).toMatchObject({ recovered: true, offset: total, epoch });
    const replay: string[] = [];
    while (replay.length < total - 10) replay.push((await carol.nextOfType('room_message')).message);
    expect(replay).toEqual(seenA.slice(10).map(([, , m]) => m));
    await expect(carol.nextOfType('room_message', 150)).rejects.toThrow(/no frame/);
  });

  test('recovery through a server that was killed and started again: its history comes from Redis', async () => {
    const prefix = `t${++prefixes}`;
    const start = (id: string) => Node.start({ redis: redis.url, prefix, nodeId: id });
    const history = { history: { size: 100 }, id: 'hist' };
    let a = await start('n1');
    const b = await start('n2');
    nodes.push(a, b);
    await a.call('createRoom', 'History', '', 0, history);
    await b.until('getRoomInfo', ['hist'], (r) => r !== null);
    const link = new FaultyLink(a.port);
    const client = new RoomwireClient({ url: `ws://127.0.0.1:${await link.port}/chat`, reconnectDelay: 50, reconnectDelayMax: 200 });
    const got: Array<[string, number | undefined]> = [];
    const rejoined: unknown[] = [];
    client.on('room_message', (m: RoomMessageFrame) => got.push([m.message, m.offset]));
    client.on('rejoined', (e) => rejoined.push(e));
    try {
      await client.connect();
      await client.joinRoom('hist');
      await b.call('sendRoomMessage', 'hist', 'one');
      await until(() => got.length === 1, 5000, 'one');
      link.refuse(true);
      await a.kill();
      await b.call('sendRoomMessage', 'hist', 'two');
      await b.call('sendRoomMessage', 'hist', 'three');
      // The same server again, a new process: it learns the room (and that it keeps a
      // history) from the cluster, and loads the history before it is live.
      a = await start('n1');
      nodes.push(a);
      expect(await a.call('getRoomInfo', 'hist')).toMatchObject({ id: 'hist' });
      link.retarget(a.port);
      link.refuse(false);
      await until(() => rejoined.length === 1, 10000, 'rejoined');
      expect(rejoined).toEqual([{ room_id: 'hist', recovered: true }]);
      await b.call('sendRoomMessage', 'hist', 'four');
      await until(() => got.length === 4, 5000, 'four messages');
      await sleep(100);
      expect(got).toEqual([['one', 1], ['two', 2], ['three', 3], ['four', 4]]);
    } finally {
      client.disconnect();
      await link.close();
    }
  });

  test('presence: joins and leaves are told across servers, and presence_list is the cluster\'s', async () => {
    const [a, b] = await cluster(2);
    const alice = track(await member(a.url('/chat', 'alice'), 'den', { name: 'Alice' }));
    const bob = track(await member(b.url('/chat', 'bob'), 'den', { name: 'Bob' }));
    const joined = await alice.nextOfType('presence');
    expect(joined).toMatchObject({ event: 'join', room_id: 'den', client_id: 'bob', user_info: { name: 'Bob' } });
    bob.send({ type: 'presence_list', room_id: 'den' });
    const list = await bob.nextOfType('presence_state');
    expect(list.members.map((m: any) => m.client_id).sort()).toEqual(['alice', 'bob']);
    expect((await a.call('getPresence', 'den')).map((m: any) => m.client_id).sort()).toEqual(['alice', 'bob']);
    // Each pair is told once: bob hears nothing of his own join; alice nothing more.
    await alice.expectSilence(150);
    bob.send({ type: 'leave_room', room_id: 'den' });
    await bob.nextOfType('room_left');
    expect(await alice.nextOfType('presence')).toMatchObject({ event: 'leave', client_id: 'bob' });
    await a.until('getPresence', ['den'], (m) => m.length === 1);
    // A connection that closes leaves on every server.
    alice.close();
    await b.until('getRoomInfo', ['den'], (r) => r === null);  // ephemeral: gone when empty cluster-wide
  });

  test('rooms: created, listed, counted and deleted on any server for the cluster', async () => {
    const [a, b] = await cluster(2);
    for (let round = 0; round < repeats; ++round) await roomsRound(a, b);
  }, 30000 + repeats * 2000);

  async function roomsRound(a: Node, b: Node): Promise<void> {
    const id = await a.call('createRoom', 'Ops', 'on call', 0, { metadata: { team: 'ops' } });
    const seen = await b.until('getRoomInfo', [id], (r) => r !== null);
    expect(seen).toMatchObject({ id, name: 'Ops', description: 'on call', metadata: { team: 'ops' }, connectionsCount: 0 });
    const carol = track(await member(b.url('/strict'), id));  // /strict joins only rooms that exist
    await a.until('getRoomInfo', [id], (r) => r.connectionsCount === 1);
    expect((await a.call('getAllRooms')).map((r: any) => r.id)).toContain(id);
    const rest = await request(a.port, 'GET', `/websocket/rooms/${id}`);
    expect(rest.status).toBe(200);
    expect(JSON.stringify(rest.body)).toContain('"connectionsCount":1');
    expect(await a.call('deleteRoom', id)).toBe(true);
    expect((await carol.nextOfType('room_left')).room_id).toBe(id);
    await b.until('getRoomInfo', [id], (r) => r === null);
    // The REST API creates and deletes for the cluster too.
    const created = await request(b.port, 'POST', '/websocket/rooms', { name: 'Via REST', maxConnections: 2 });
    expect(created.status).toBe(201);
    const restId = created.body.roomId;
    expect(await a.until('getRoomInfo', [restId], (r) => r !== null)).toMatchObject({ name: 'Via REST', maxConnections: 2 });
    expect((await request(a.port, 'DELETE', `/websocket/rooms/${restId}`)).status).toBe(200);
    await b.until('getRoomInfo', [restId], (r) => r === null);
    carol.close();
  }

  test('a room\'s maxConnections holds across servers, however the joins race', async () => {
    const [a, b] = await cluster(2);
    for (let round = 0; round < repeats; ++round) await capacityRound(a, b);
  }, 30000 + repeats * 2000);

  async function capacityRound(a: Node, b: Node): Promise<void> {
    const id = await a.call('createRoom', 'Small', '', 3);
    await b.until('getRoomInfo', [id], (r) => r !== null);
    const all = await Promise.all([...Array(5)].map(() => connect(a.url('/strict'))).concat(
      [...Array(5)].map(() => connect(b.url('/strict')))));
    const joiners = all.map(({ client }) => track(client));
    for (const c of joiners) c.send({ type: 'join_room', room_id: id });
    const outcomes = await Promise.all(joiners.map(async (c) => {
      for (;;) {
        const m = await c.next();
        if (m.type === 'room_joined') return 'joined';
        if (m.type === 'error') return m.error_type;
      }
    }));
    expect(outcomes.filter((o) => o === 'joined')).toHaveLength(3);
    expect(outcomes.filter((o) => o === 'room_join_error')).toHaveLength(7);
    await a.until('getRoomInfo', [id], (r) => r.connectionsCount === 3);
    await b.until('getRoomInfo', [id], (r) => r.connectionsCount === 3);
    for (const c of joiners) c.close();
  }

  test('direct messages reach every connection of a client on every server, or say client_not_found', async () => {
    const [a, b] = await cluster(2);
    const sender = track((await connect(a.url('/chat', 'sender'))).client);
    const onA = track((await connect(a.url('/chat', 'dana'))).client);
    const { client: onB, welcome } = await connect(b.url('/chat', 'dana'));
    track(onB);
    sender.send({ type: 'direct_message', target_client_id: 'dana', message: 'hi both' });
    expect(await onA.nextOfType('direct_message')).toMatchObject({ message: 'hi both', from_client_id: 'sender' });
    expect(await onB.nextOfType('direct_message')).toMatchObject({ message: 'hi both', from_client_id: 'sender' });
    // By connection id: only that connection, on its server.
    sender.send({ type: 'direct_message', target_connection_id: welcome.connection_id, message: 'just b' });
    expect((await onB.nextOfType('direct_message')).message).toBe('just b');
    await onA.expectSilence(150);
    // Connected nowhere.
    sender.send({ type: 'direct_message', target_client_id: 'nobody', message: '?' });
    expect(await sender.nextOfType('error')).toMatchObject({ error_type: 'client_not_found' });
    // From the app.
    expect(await b.call('sendDirectMessage', 'dana', 'from the app')).toBe('ok');
    expect((await onA.nextOfType('direct_message')).message).toBe('from the app');
    expect((await onB.nextOfType('direct_message')).message).toBe('from the app');
  });

  test('broadcast and the connection count are the cluster\'s, or this server\'s with { local: true }', async () => {
    const [a, b, c] = await cluster(3);
    const onA = track((await connect(a.url())).client);
    const onB = track((await connect(b.url())).client);
    const onC = track((await connect(c.url())).client);
    await a.until('getWebSocketConnections', [], (n) => n === 3);
    expect(await a.call('getWebSocketConnections', { local: true })).toBe(1);
    expect(await a.call('broadcast', '/chat', 'to all')).toBe(1);
    for (const cl of [onA, onB, onC]) expect((await cl.nextFrame()).data).toBe('to all');
    expect(await b.call('broadcast', '/chat', 'b only', { local: true })).toBe(1);
    expect((await onB.nextFrame()).data).toBe('b only');
    await onA.expectSilence(150);
    await onC.expectSilence(0);
    onC.close();
    await a.until('getWebSocketConnections', [], (n) => n === 2);
  });

  test('Redis down: each server goes on alone, counts what stayed local, and rejoins within 5 s of Redis coming back', async () => {
    const [a, b] = await cluster(2);
    const alice = track(await member(a.url('/chat', 'alice'), 'ops'));
    const ann = track(await member(a.url('/chat', 'ann'), 'ops'));
    const bob = track(await member(b.url('/chat', 'bob'), 'ops'));
    await alice.nextOfType('presence');
    await alice.nextOfType('presence');
    await redis.kill();
    await a.until('isClusterConnected', [], (v) => v === false);
    expect(metric(await a.metrics(), 'roomwire_cluster_connected')).toBe(0);
    const failedBefore = metric(await a.metrics(), 'roomwire_cluster_publish_failed_total');
    // Local delivery and the local API keep working.
    alice.send({ type: 'room_message', room_id: 'ops', message: 'while down' });
    expect((await ann.nextOfType('room_message')).message).toBe('while down');
    expect((await a.call('getRoomInfo', 'ops')).connectionsCount).toBe(3);
    expect(metric(await a.metrics(), 'roomwire_cluster_publish_failed_total')).toBe(failedBefore + 1);
    // A member who joins while Redis is away is registered once it is back.
    const late = track(await member(a.url('/chat', 'late'), 'ops'));
    const back = Date.now();
    await redis.restart();  // empty: everything is registered again
    await a.untilLive(5000);
    await b.untilLive(5000);
    expect(Date.now() - back).toBeLessThan(5000);
    expect(metric(await a.metrics(), 'roomwire_cluster_connected')).toBe(1);
    await b.until('getPresence', ['ops'], (m) => m.length === 4);
    alice.send({ type: 'room_message', room_id: 'ops', message: 'after' });
    let got = await bob.nextOfType('room_message');
    if (got.message === 'while down') got = await bob.nextOfType('room_message');  // never: it stayed on a
    expect(got.message).toBe('after');
    expect((await late.nextOfType('room_message')).message).toBe('after');
  }, 30000);

  test('Redis down: a history room goes on locally without offsets; a Redis back empty starts a new epoch', async () => {
    const [a, b] = await cluster(2);
    await a.call('createRoom', 'History', '', 0, { history: { size: 100 }, id: 'hist' });
    await b.until('getRoomInfo', ['hist'], (r) => r !== null);
    const alice = track(await member(a.url(), 'hist'));
    const bob = track(await member(b.url(), 'hist'));
    await alice.nextOfType('presence');
    await a.call('sendRoomMessage', 'hist', 'one');
    const first = await bob.nextOfType('room_message');
    expect(first).toMatchObject({ message: 'one', offset: 1 });
    expect(await alice.nextOfType('room_message')).toMatchObject({ message: 'one', offset: 1, epoch: first.epoch });
    await redis.kill();
    await a.until('isClusterConnected', [], (v) => v === false);
    alice.send({ type: 'room_message', room_id: 'hist', message: 'while down' });
    const local = await alice.nextOfType('room_message');
    expect(local.message).toBe('while down');
    expect(local).not.toHaveProperty('offset');
    await redis.restart();
    await a.untilLive(5000);
    await b.untilLive(5000);
    await a.call('sendRoomMessage', 'hist', 'after');
    const after = await bob.nextOfType('room_message');
    expect(after).toMatchObject({ message: 'after', offset: 1 });
    expect(after.epoch).not.toBe(first.epoch);
    expect(await alice.nextOfType('room_message')).toMatchObject({ message: 'after', offset: 1, epoch: after.epoch });
    const back = track((await connect(b.url())).client);
    back.send({ type: 'join_room', room_id: 'hist', since: { offset: 1, epoch: first.epoch } });
    expect(await back.nextOfType('room_joined')).toMatchObject({ recovered: false, offset: 1, epoch: after.epoch });
  }, 30000);

  test('a server killed with SIGKILL: its members leave the others\' rooms and presence within nodeTimeoutMs', async () => {
    const [a, b] = await cluster(2, { nodeTimeoutMs: 3000 });
    const alice = track(await member(a.url('/chat', 'alice'), 'watch'));
    const ghost = track(await member(b.url('/chat', 'ghost'), 'watch'));
    await alice.nextOfType('presence');
    // A room id may hold a NUL: the reaper still finds the member.
    ghost.send({ type: 'join_room', room_id: 'odd\u0000room' });
    await ghost.nextOfType('room_joined');
    await a.until('getRoomInfo', ['odd\u0000room'], (r) => r !== null && r.connectionsCount === 1);
    await a.until('getWebSocketConnections', [], (n) => n === 2);
    const killed = Date.now();
    await b.kill();
    const left = await alice.nextOfType('presence', 8000);
    expect(left).toMatchObject({ event: 'leave', client_id: 'ghost' });
    expect(Date.now() - killed).toBeLessThan(3000 + 1500);
    expect((await a.call('getRoomInfo', 'watch')).connectionsCount).toBe(1);
    expect(await a.call('getWebSocketConnections')).toBe(1);
    await a.until('getRoomInfo', ['odd\u0000room'], (r) => r === null);
    // What Redis keeps is reaped too: a server joining now loads no trace of the dead one.
    const c = await Node.start({ redis: redis.url, prefix: `t${prefixes}`, nodeId: 'n3', nodeTimeoutMs: 3000 });
    nodes.push(c);
    expect((await c.call('getRoomInfo', 'watch')).connectionsCount).toBe(1);
    expect(await c.call('getRoomInfo', 'odd\u0000room')).toBeNull();
  }, 20000);

  test("an events route's emit reaches the topic's members on every server", async () => {
    const [a, b] = await cluster(2);
    const members = [track(new Client(a.url('/rover'))), track(new Client(b.url('/rover')))];
    for (const c of members) {
      await c.opened();
      c.ws.send(JSON.stringify({ type: 'join', topic: 'lobby' }));
      expect(JSON.parse((await c.nextFrame()).data as string)).toEqual({ type: 'join_ack', topic: 'lobby' });
    }
    await a.until('getRoomInfo', ['lobby'], (r) => r?.connectionsCount === 2);
    members[0].ws.send(JSON.stringify({ type: 'event', event: 'shout', payload: { text: 'across' } }));
    for (const c of members) {
      expect(JSON.parse((await c.nextFrame()).data as string)).toEqual({ type: 'event', event: 'shout', topic: 'lobby', payload: { text: 'across' } });
    }
  }, 20000);

  test("an events route's sendTo reaches a connection on another server", async () => {
    const [a, b] = await cluster(2);
    const [x, y] = [track(new Client(a.url('/rover-dm'))), track(new Client(b.url('/rover-dm')))];
    const ids: string[] = [];
    for (const c of [x, y]) {
      await c.opened();
      ids.push(JSON.parse((await c.nextFrame()).data as string).payload.id);
    }
    x.ws.send(JSON.stringify({ type: 'event', event: 'dm', payload: { to: ids[1], text: 'across' } }));
    expect(JSON.parse((await y.nextFrame()).data as string)).toEqual({ type: 'event', event: 'dm', payload: { from: ids[0], text: 'across' } });
    y.ws.send(JSON.stringify({ type: 'event', event: 'dm', payload: { to: ids[0], text: 'back' } }));
    expect(JSON.parse((await x.nextFrame()).data as string)).toEqual({ type: 'event', event: 'dm', payload: { from: ids[1], text: 'back' } });
  }, 20000);

  test("a hooks route's channel and route broadcasts reach every server", async () => {
    const [a, b] = await cluster(2);
    const room = [track(new Client(a.url('/hooks/lobby'))), track(new Client(b.url('/hooks/lobby')))];
    const all = [track(new Client(a.url('/hooks-all'))), track(new Client(b.url('/hooks-all')))];
    for (const c of [...room, ...all]) {
      await c.opened();
      expect((await c.nextFrame()).data).toBe('in');
    }
    await a.until('getRoomInfo', ['lobby'], (r) => r?.connectionsCount === 2);
    room[1].ws.send('from b');
    for (const c of room) expect((await c.nextFrame()).data).toBe('from b');
    all[0].ws.send('to all');
    for (const c of all) expect((await c.nextFrame()).data).toBe('to all');
    for (const c of room) await c.expectSilence(100);
  }, 20000);

  test('a huge publish does not hold up the other connections of its I/O thread', async () => {
    await cluster(1);  // a second server's subscriber is not needed: the publish itself is the load
    // Room for all five echoes unread (the sender reads none until the pings are done): with
    // the default 1 MiB, an echo that comes while the one before is unsent is dropped.
    const [a] = await cluster(1, {}, 1, { maxBackpressure: 32 << 20 });
    const sender = track(await member(a.url(), 'bulk'));
    const other = track((await connect(a.url())).client);
    const big = 'x'.repeat(4 << 20);
    sender.ws.pause();
    for (let i = 0; i < 5; ++i) sender.send({ type: 'room_message', room_id: 'bulk', message: big });
    // The other connection's pings are answered meanwhile (each within 2 s, far past a normal round trip).
    for (let i = 0; i < 5; ++i) {
      other.send({ type: 'ping' });
      await other.nextOfType('pong', 2000);
    }
    sender.ws.resume();
    for (let i = 0; i < 5; ++i) expect((await sender.nextOfType('room_message', 10000)).message.length).toBe(big.length);
  }, 30000);
});

