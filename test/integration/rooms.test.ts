import { App, codes } from '../../lib';
import type { WebSocketEventData, WebSocketOptions } from '../../types/index';
import { Client, connect, sleep, startApp, until } from '../helpers';

describe('rooms', () => {
  let app: App;
  let url: string;
  const clients: Client[] = [];

  async function serve(options: WebSocketOptions = {}, appOptions = {}): Promise<void> {
    const started = await startApp((a) => a.websocket('/ws', options), appOptions);
    app = started.app;
    url = `ws://${started.url}/ws`;
  }

  async function client(clientId?: string): Promise<{ c: Client; id: string; clientId: string }> {
    const { client: c, welcome } = await connect(clientId ? `${url}?clientId=${clientId}` : url);
    clients.push(c);
    return { c, id: welcome.connection_id, clientId: welcome.client_id };
  }

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await app?.close({ timeoutMs: 1000 });
  });

  describe('join_room and leave_room', () => {
    it('joins, refuses unknown, full and repeated joins, and leaves', async () => {
      await serve();
      const room = app.createRoom('General', 'chat', 1);
      const a = await client();
      const b = await client();
      a.c.send({ type: 'join_room', room_id: room });
      expect(await a.c.next()).toMatchObject({ type: 'room_joined', room_id: room });
      a.c.send({ type: 'join_room', room_id: room });
      expect(await a.c.next()).toMatchObject({ type: 'error', error_type: 'room_join_error', error: 'Already in room' });
      b.c.send({ type: 'join_room', room_id: room });
      expect(await b.c.next()).toMatchObject({ error_type: 'room_join_error', error: 'Room is full' });
      b.c.send({ type: 'join_room', room_id: 'room_missing' });
      expect(await b.c.next()).toMatchObject({ error_type: 'room_join_error', error: 'Room not found' });
      b.c.send({ type: 'join_room' });
      expect(await b.c.next()).toMatchObject({ error_type: 'room_join_error' });
      b.c.send({ type: 'join_room', room_id: room, presence: 'not an object' });
      expect(await b.c.next()).toMatchObject({ error_type: 'room_join_error', error: 'presence must be an object' });
      b.c.send({ type: 'leave_room', room_id: room });
      expect(await b.c.next()).toMatchObject({ error_type: 'room_leave_error', error: 'Not in room' });
      a.c.send({ type: 'leave_room', room_id: room });
      expect(await a.c.next()).toMatchObject({ type: 'room_left', room_id: room });
      expect(app.getRoomInfo(room)!.connectionsCount).toBe(0);
    });

    it('tells members of presence join and leave, and lists presence', async () => {
      await serve();
      const room = app.createRoom('r');
      const a = await client('alice');
      const b = await client('bob');
      a.c.send({ type: 'join_room', room_id: room, presence: { name: 'Alice' } });
      await a.c.nextOfType('room_joined');
      b.c.send({ type: 'join_room', room_id: room, presence: { name: 'Bob', status: 'busy' } });
      await b.c.nextOfType('room_joined');
      const joined = await a.c.next();
      expect(joined).toMatchObject({
        type: 'presence', event: 'join', room_id: room, connection_id: b.id, client_id: 'bob',
        user_info: { name: 'Bob', status: 'busy' },
      });
      b.c.send({ type: 'presence_list', room_id: room });
      const state = await b.c.next();
      expect(state).toMatchObject({ type: 'presence_state', room_id: room });
      expect(state.members.map((m: any) => [m.client_id, m.user_info.name])).toEqual([['alice', 'Alice'], ['bob', 'Bob']]);
      expect(state.members[0].joined_at).toMatch(/Z$/);
      b.c.send({ type: 'leave_room', room_id: room });
      await b.c.nextOfType('room_left');
      expect(await a.c.next()).toMatchObject({ type: 'presence', event: 'leave', client_id: 'bob' });
      b.c.send({ type: 'join_room', room_id: room });
      await b.c.nextOfType('room_joined');
      expect((await a.c.next()).event).toBe('join');
      b.c.close();
      expect(await a.c.next()).toMatchObject({ type: 'presence', event: 'leave', connection_id: b.id });
      expect(app.getPresence(room)!.map((m) => m.client_id)).toEqual(['alice']);
      a.c.send({ type: 'presence_list', room_id: 'room_missing' });
      expect(await a.c.next()).toMatchObject({ type: 'error', error_type: 'room_not_found' });
    });

    it('lets a connection be in many rooms and removes it from all on disconnect', async () => {
      await serve();
      const rooms = Array.from({ length: 5 }, (_, i) => app.createRoom(`r${i}`));
      const a = await client();
      for (const r of rooms) {
        a.c.send({ type: 'join_room', room_id: r });
        await a.c.nextOfType('room_joined');
      }
      expect(app.getUserRoomIds(a.id).sort()).toEqual([...rooms].sort());
      expect(app.getUserRooms(a.id).map((r) => r.name).sort()).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
      a.c.close();
      await until(() => rooms.every((r) => app.getRoomInfo(r)!.connectionsCount === 0));
      expect(app.getAllRooms()).toHaveLength(5);
    });

    it('creates rooms on demand with autoCreateRooms, and drops them when empty', async () => {
      await serve({ autoCreateRooms: true });
      const a = await client();
      a.c.send({ type: 'join_room', room_id: 'match:42' });
      expect(await a.c.next()).toMatchObject({ type: 'room_joined', room_id: 'match:42' });
      expect(app.getRoomInfo('match:42')).toMatchObject({ id: 'match:42', ephemeral: true, connectionsCount: 1 });
      a.c.send({ type: 'leave_room', room_id: 'match:42' });
      await a.c.nextOfType('room_left');
      expect(app.getRoomInfo('match:42')).toBeNull();
    });
  });

  describe('room_message', () => {
    it('fans out to every member, sender included, and refuses non-members', async () => {
      await serve();
      const room = app.createRoom('r');
      const members = [await client('m1'), await client('m2'), await client('m3')];
      for (const m of members) {
        m.c.send({ type: 'join_room', room_id: room });
        await m.c.nextOfType('room_joined');
      }
      await sleep(50);
      const outsider = await client('out');
      members[0].c.send({ type: 'room_message', room_id: room, message: 'hello' });
      for (const m of members) {
        expect(await m.c.nextOfType('room_message')).toMatchObject({ room_id: room, message: 'hello', from_client_id: 'm1' });
      }
      members[1].c.send({ type: 'room_message', room_id: room, data: 'as data' });
      members[2].c.send({ type: 'room_message', room_id: room, data: { message: 'in data' } });
      // Two senders: each one's messages keep their order, but nothing orders them between senders.
      const got = [(await members[0].c.nextOfType('room_message')).message, (await members[0].c.nextOfType('room_message')).message];
      expect(got.sort()).toEqual(['as data', 'in data']);
      outsider.c.send({ type: 'room_message', room_id: room, message: 'let me in' });
      expect(await outsider.c.next()).toMatchObject({ type: 'error', error_type: 'not_in_room' });
      outsider.c.send({ type: 'room_message', room_id: room });
      expect(await outsider.c.next()).toMatchObject({ type: 'error', error_type: 'invalid_format' });
    });
  });

  describe('direct_message', () => {
    it('reaches every connection of a client id, or one connection id', async () => {
      await serve();
      const sender = await client('sender');
      const tab1 = await client('bob');
      const tab2 = await client('bob');
      sender.c.send({ type: 'direct_message', target_client_id: 'bob', message: 'hi bob' });
      for (const t of [tab1, tab2]) {
        expect(await t.c.next()).toMatchObject({ type: 'direct_message', message: 'hi bob', from_client_id: 'sender' });
      }
      sender.c.send({ type: 'direct_message', target_connection_id: tab2.id, data: { message: 'only tab 2' } });
      expect((await tab2.c.next()).message).toBe('only tab 2');
      await tab1.c.expectSilence(100);
      sender.c.send({ type: 'direct_message', target_client_id: 'nobody', message: 'x' });
      expect(await sender.c.next()).toMatchObject({ type: 'error', error_type: 'client_not_found' });
    });
  });

  describe('an RNode client session', () => {
    it('joins, chats, direct messages, gets acks and times its latency unchanged', async () => {
      await serve({}, { heartbeatInterval: 100 });
      const room = app.createRoom('lobby');
      const a = await client('rnode-a');
      const b = await client('rnode-b');
      for (const x of [a, b]) {
        x.c.send({ type: 'join_room', room_id: room });
        await x.c.nextOfType('room_joined');
      }
      a.c.send({ type: 'room_message', room_id: room, message: 'hey all' });
      expect((await b.c.nextOfType('room_message')).message).toBe('hey all');
      b.c.send({ type: 'direct_message', target_client_id: 'rnode-a', message: 'psst' });
      expect((await a.c.nextOfType('direct_message')).message).toBe('psst');
      a.c.send({ type: 'message', data: 'custom' });
      expect((await a.c.nextOfType('message_ack')).message).toBe('{"type":"message","data":"custom"}');
      await a.c.nextOfType('ping');
      a.c.send({ type: 'pong' });
      await a.c.nextOfType('message_ack');
      a.c.send({ type: 'ping' });
      expect(typeof (await a.c.nextOfType('pong')).latency).toBe('number');
      expect(app.getClientInfo(a.id)!.latency).toEqual(expect.any(Number));
    });
  });

  describe('callbacks', () => {
    it('onJoinRoom cancels with an error, replaces presence, and runs for app.joinRoom', async () => {
      const joins: WebSocketEventData[] = [];
      await serve({
        onJoinRoom: (e) => {
          joins.push(e);
          const presence = (e.data as { presence: any }).presence;
          if (presence?.banned) return { shouldCancel: true, error: 'banned' };
          return { modifiedEvent: { data: { presence: { ...presence, verified: true } } } };
        },
      });
      const room = app.createRoom('vip');
      const a = await client('a');
      a.c.send({ type: 'join_room', room_id: room, presence: { banned: true } });
      expect(await a.c.next()).toMatchObject({ type: 'error', error_type: 'room_join_error', error: 'banned' });
      a.c.send({ type: 'join_room', room_id: room, presence: { name: 'A' } });
      await a.c.nextOfType('room_joined');
      expect(app.getPresence(room)![0].user_info).toEqual({ name: 'A', verified: true });
      expect(joins[1]).toMatchObject({ type: 'join_room', room_id: room, connectionId: a.id, client_id: 'a' });

      const b = await client('b');
      expect(await app.joinRoomAsync(b.id, room)).toBe(true);
      expect(await b.c.next()).toMatchObject({ type: 'room_joined', room_id: room });
      expect(joins).toHaveLength(3);
      expect(await app.joinRoomAsync(b.id, room)).toBe(false);
      expect(await app.joinRoomAsync('00000000-0000-4000-8000-000000000000', room)).toBe(false);
    });

    it('app.joinRoomAsync resolves false when onJoinRoom cancels', async () => {
      await serve({ onJoinRoom: () => ({ shouldCancel: true }) });
      const room = app.createRoom('closed');
      const a = await client();
      expect(await app.joinRoomAsync(a.id, room)).toBe(false);
      expect(app.getRoomInfo(room)!.connectionsCount).toBe(0);
    });

    it("app.joinRoom answers as RNode's does: a boolean at once, the join in order after", async () => {
      await serve();
      const room = app.createRoom('small', '', 1);
      const a = await client();
      const b = await client();
      // Code written to the seed's API: if (app.joinRoom(...)) { ... }
      const joined = app.joinRoom(a.id, room);
      expect(joined).toBe(true);
      a.c.send({ type: 'after' });  // the join was queued first: room_joined comes before this ack
      expect((await a.c.next()).type).toBe('room_joined');
      expect((await a.c.next()).type).toBe('message_ack');
      expect(app.joinRoom(a.id, room)).toBe(false);  // already in it
      expect(app.joinRoom(b.id, room)).toBe(false);  // full
      expect(app.joinRoom(b.id, 'room_nope')).toBe(false);
      expect(app.joinRoom('00000000-0000-4000-8000-000000000000', room)).toBe(false);
      expect(() => app.joinRoom('', 5 as any)).toThrow(TypeError);
      const info = app.getClientInfo(a.id)!;
      expect(info).toMatchObject({ id: a.id, connectionId: a.id, roomId: room, createdAt: info.connectedAt });
      expect(new Date(info.lastPing).getTime()).toBeGreaterThan(0);
    });

    it('onLeaveRoom can refuse a leave', async () => {
      await serve({ onLeaveRoom: (e) => ({ shouldCancel: true, error: `stay in ${e.room_id}` }) });
      const room = app.createRoom('sticky');
      const a = await client();
      a.c.send({ type: 'join_room', room_id: room });
      await a.c.nextOfType('room_joined');
      a.c.send({ type: 'leave_room', room_id: room });
      expect(await a.c.next()).toMatchObject({ error_type: 'room_leave_error', error: `stay in ${room}` });
      expect(app.getUserRoomIds(a.id)).toEqual([room]);
    });

    it('onRoomMessage blocks for the sender only, or modifies what everyone gets', async () => {
      const seen: WebSocketEventData[] = [];
      await serve({
        onRoomMessage: (e) => {
          seen.push(e);
          if (e.message!.includes('darn')) return { shouldCancel: true, error: 'language' };
          return { modifiedEvent: { message: e.message!.trim() } };
        },
      });
      const room = app.createRoom('r');
      const a = await client('a');
      const b = await client('b');
      for (const x of [a, b]) {
        x.c.send({ type: 'join_room', room_id: room });
        await x.c.nextOfType('room_joined');
      }
      await a.c.nextOfType('presence');
      a.c.send({ type: 'room_message', room_id: room, message: 'darn it' });
      expect(await a.c.next()).toMatchObject({ type: 'message_blocked', reason: 'language' });
      a.c.send({ type: 'room_message', room_id: room, message: '  tidy  ' });
      expect((await a.c.next()).message).toBe('tidy');
      expect(await b.c.next()).toMatchObject({ type: 'room_message', message: 'tidy', from_client_id: 'a' });
      expect(seen[0]).toMatchObject({ type: 'room_message', room_id: room, message: 'darn it', from_client_id: 'a' });
    });

    it('a room message onMessage and onRoomMessage both see goes into JavaScript once, onMessage first', async () => {
      const calls: string[] = [];
      let sameTurn = 0;
      let current: { expired: boolean } | undefined;
      await serve({
        onMessage: async (e) => {
          const frame = JSON.parse(e.data as string) as { type: string; message?: string; room_id?: string };
          if (frame.type !== 'room_message') return undefined;
          calls.push(`message ${frame.message}`);
          // Seen in the same turn as onRoomMessage below: one batch from the core carried both.
          const token = { expired: false };
          current = token;
          setImmediate(() => { token.expired = true; });
          if (frame.message === 'stop') return { shouldCancel: true, error: 'stopped' };
          if (frame.message === 'elsewhere') {
            return { modifiedEvent: { data: JSON.stringify({ type: 'room_message', room_id: frame.room_id, message: 'moved' }) } };
          }
          if (frame.message === 'slow') await sleep(20);
          return undefined;
        },
        onRoomMessage: (e) => {
          calls.push(`room ${e.message}`);
          if (current && !current.expired) sameTurn += 1;
          return e.message === 'shout' ? { modifiedEvent: { message: 'SHOUT' } } : undefined;
        },
      });
      const room = app.createRoom('r');
      const a = await client('a');
      a.c.send({ type: 'join_room', room_id: room });
      await a.c.nextOfType('room_joined');
      for (const m of ['hi', 'shout', 'stop', 'elsewhere', 'slow']) a.c.send({ type: 'room_message', room_id: room, message: m });
      expect((await a.c.nextOfType('room_message')).message).toBe('hi');
      expect((await a.c.nextOfType('room_message')).message).toBe('SHOUT');
      expect(await a.c.next()).toMatchObject({ type: 'message_blocked', reason: 'stopped' });
      // A frame onMessage replaced is handled anew: onRoomMessage sees the new one.
      expect((await a.c.nextOfType('room_message')).message).toBe('moved');
      expect((await a.c.nextOfType('room_message')).message).toBe('slow');
      expect(calls).toEqual(['message hi', 'room hi', 'message shout', 'room shout', 'message stop', 'message elsewhere',
        'room moved', 'message slow', 'room slow']);
      // hi and shout: onRoomMessage ran in onMessage's turn (before, it came in a later batch).
      expect(sameTurn).toBeGreaterThanOrEqual(2);
      // A frame that is not a room message, or for a room it is not in, goes as before.
      a.c.send({ type: 'room_message', room_id: 'room_nope', message: 'x' });
      expect(await a.c.nextOfType('error')).toMatchObject({ error_type: 'not_in_room' });
    });

    it('onDirectMessage blocks or modifies a direct message', async () => {
      await serve({
        onDirectMessage: (e) => (e.target_client_id === 'vip' ? { shouldCancel: true, error: 'do not disturb' }
          : { modifiedEvent: { message: `[checked] ${e.message}` } }),
      });
      const a = await client('a');
      const vip = await client('vip');
      const b = await client('b');
      a.c.send({ type: 'direct_message', target_client_id: 'vip', message: 'hi' });
      expect(await a.c.next()).toMatchObject({ type: 'message_blocked', reason: 'do not disturb' });
      await vip.c.expectSilence(100);
      a.c.send({ type: 'direct_message', target_client_id: 'b', message: 'hi' });
      expect((await b.c.next()).message).toBe('[checked] hi');
    });

    it('onDirectMessage sees the real target of a message addressed by connection id', async () => {
      const seen: Array<{ client?: string; connection?: string }> = [];
      await serve({
        onDirectMessage: (e) => {
          seen.push({ client: e.target_client_id, connection: e.target_connection_id });
          return e.target_client_id === 'vip' ? { shouldCancel: true, error: 'do not disturb' } : undefined;
        },
      });
      const a = await client('a');
      const vip = await client('vip');
      const b = await client('b');
      // By connection id alone: the event names the client it belongs to, and the cancel holds.
      a.c.send({ type: 'direct_message', target_connection_id: vip.id, message: 'hi' });
      expect(await a.c.next()).toMatchObject({ type: 'message_blocked', reason: 'do not disturb' });
      await vip.c.expectSilence(100);
      expect(seen[0]).toEqual({ client: 'vip', connection: vip.id });
      // Both ids at once is ambiguous: refused before any callback or delivery.
      a.c.send({ type: 'direct_message', target_client_id: 'b', target_connection_id: vip.id, message: 'hi' });
      expect(await a.c.next()).toMatchObject({ type: 'error', error_type: 'invalid_format' });
      await vip.c.expectSilence(100);
      await b.c.expectSilence(10);
      expect(seen).toHaveLength(1);
      // By client id: no connection id in the event (every connection of the client gets it).
      a.c.send({ type: 'direct_message', target_client_id: 'b', message: 'hi' });
      expect((await b.c.next()).message).toBe('hi');
      expect(seen[1]).toEqual({ client: 'b', connection: undefined });
    });
  });

  describe('app API', () => {
    it('creates, describes, lists and deletes rooms', async () => {
      await serve();
      const id = app.createRoom('General', 'General chat', 500, { metadata: { topic: 'all' } });
      expect(id).toMatch(/^room_[0-9a-f]{32}$/);
      const a = await client();
      a.c.send({ type: 'join_room', room_id: id });
      await a.c.nextOfType('room_joined');
      const info = app.getRoomInfo(id)!;
      expect(info).toMatchObject({
        id, name: 'General', description: 'General chat', maxConnections: 500, connections: [a.id],
        connectionsCount: 1, metadata: { topic: 'all' }, ephemeral: false,
      });
      expect(new Date(info.createdAt).getTime()).toBeGreaterThan(0);
      expect(app.getAllRooms().map((r) => r.id)).toEqual([id]);
      expect(app.getRoomInfo('room_nope')).toBeNull();
      expect(app.deleteRoom(id)).toBe(true);
      expect(await a.c.next()).toMatchObject({ type: 'room_left', room_id: id });
      expect(app.deleteRoom(id)).toBe(false);
      expect(app.getUserRooms(a.id)).toEqual([]);
      expect(app.getUserRoomIds(a.id)).toEqual([]);
    });

    it('sends room and direct messages from the app', async () => {
      await serve();
      const room = app.createRoom('news');
      const a = await client('reader');
      expect(await app.joinRoom(a.id, room)).toBe(true);
      await a.c.nextOfType('room_joined');
      expect(app.sendRoomMessage(room, 'extra!')).toBe('ok');
      const m = await a.c.next();
      expect(m).toMatchObject({ type: 'room_message', room_id: room, message: 'extra!' });
      expect(m).not.toHaveProperty('from_client_id');
      expect(app.sendRoomMessage('room_nope', 'x')).toBe(false);
      expect(app.sendDirectMessage('reader', 'for you')).toBe('ok');
      expect(await a.c.next()).toMatchObject({ type: 'direct_message', message: 'for you' });
      expect(app.sendDirectMessage(a.id, 'by connection')).toBe('ok');
      expect((await a.c.next()).message).toBe('by connection');
      expect(app.sendDirectMessage('nobody', 'x')).toBe(false);
    });

    it('leaves rooms, reports clients, counts messages and closes connections', async () => {
      await serve({}, { logLevel: 'silent' });
      const room = app.createRoom('r');
      const a = await client('al');
      await app.joinRoom(a.id, room);
      await a.c.nextOfType('room_joined');
      const info = app.getClientInfo(a.id)!;
      expect(info).toMatchObject({ connectionId: a.id, clientId: 'al', path: '/ws', rooms: [room], latency: null, bufferedAmount: 0 });
      expect(app.getClientInfo('nope')).toBeNull();
      expect(app.leaveRoom(a.id, room)).toBe(true);
      expect(await a.c.next()).toMatchObject({ type: 'room_left', room_id: room });
      expect(app.leaveRoom(a.id, room)).toBe(false);
      const before = app.getWebSocketMessageCount();
      a.c.send({ type: 'x' });
      await a.c.nextOfType('message_ack');
      expect(app.getWebSocketMessageCount()).toBe(before + 1);
      expect(app.closeConnection(a.id, 4000, 'kicked')).toBe(true);
      expect(await a.c.closed).toBe(4000);
      expect(app.closeConnection(a.id)).toBe(false);
    });

    it('keeps a callback\'s sends, joins and close in the order it made them', async () => {
      let api: App;
      await serve({
        onMessage: (e) => {
          if (JSON.parse(e.data as string).type !== 'bye') return undefined;
          api.send(e.connectionId, 'first');
          void api.joinRoom(e.connectionId, room);
          api.send(e.connectionId, 'last words');
          api.closeConnection(e.connectionId, 4001, 'done');
          return { shouldCancel: true };
        },
      });
      api = app;
      const room = app.createRoom('order');
      const a = await client();
      a.c.send({ type: 'bye' });
      // Sends and the close keep their order; the join waits for the frame being handled
      // (joins are ordered with the connection's frames), then comes before the close.
      expect((await a.c.nextFrame()).data).toBe('first');
      expect((await a.c.nextFrame()).data).toBe('last words');
      expect((await a.c.next()).type).toBe('room_joined');
      expect(await a.c.closed).toBe(4001);
    });

    it('rejects bad arguments with stable codes', async () => {
      await serve();
      expect(() => app.createRoom('')).toThrow(expect.objectContaining({ code: codes.INVALID_ARG }));
      expect(() => app.createRoom('x', 'd', -1)).toThrow(RangeError);
      expect(() => app.createRoom('x', 'd', 0, { metadata: [] as any })).toThrow(TypeError);
      expect(() => app.createRoom('x', 5 as any)).toThrow(TypeError);
      expect(() => app.sendRoomMessage('r', 5 as any)).toThrow(TypeError);
      expect(() => app.closeConnection('c', 1005)).toThrow(expect.objectContaining({ code: codes.OUT_OF_RANGE }));
      expect(() => app.closeConnection('c', 4000, 'x'.repeat(200))).toThrow(RangeError);
      await expect(app.joinRoomAsync('', 'r')).rejects.toBeInstanceOf(TypeError);
      expect(() => app.enableRoomApi('api')).toThrow(TypeError);
      expect(() => app.websocket('/x', { autoCreateRooms: 'yes' } as any)).toThrow(/autoCreateRooms/);
    });

    it('keeps rooms created before listen and across a close', async () => {
      const { createApp } = await import('../../lib');
      const a = createApp({ threads: 1 });
      const id = a.createRoom('early');
      a.websocket('/ws');
      await a.listen(0, '127.0.0.1');
      expect(a.getRoomInfo(id)!.name).toBe('early');
      await a.close();
      expect(a.getAllRooms().map((r) => r.id)).toEqual([id]);
    });
  });
});
