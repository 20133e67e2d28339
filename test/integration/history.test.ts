import { App, codes } from '../../lib';
import type { WebSocketOptions } from '../../types/index';
import { Client, connect, repeats, sleep, startApp, until } from '../helpers';

describe('room history and recovery', () => {
  let app: App;
  let url: string;
  const clients: Client[] = [];

  async function serve(options: WebSocketOptions = {}, appOptions = {}): Promise<void> {
    const started = await startApp((a) => a.websocket('/ws', options), appOptions);
    app = started.app;
    url = `ws://${started.url}/ws`;
  }

  async function client(): Promise<Client> {
    const { client: c } = await connect(url);
    clients.push(c);
    return c;
  }

  async function join(c: Client, room: string, extra: Record<string, unknown> = {}): Promise<Record<string, any>> {
    c.send({ type: 'join_room', room_id: room, ...extra });
    return c.nextOfType('room_joined');
  }

  /** The next `count` room messages' texts and offsets. */
  async function messages(c: Client, count: number): Promise<Array<[string, number]>> {
    const out: Array<[string, number]> = [];
    while (out.length < count) {
      const m = await c.nextOfType('room_message');
      out.push([m.message, m.offset]);
    }
    return out;
  }

  /** No room message arrives within 150 ms (presence and other frames may). */
  async function noRoomMessage(c: Client): Promise<void> {
    await expect(c.nextOfType('room_message', 150)).rejects.toThrow(/no frame/);
  }

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await app?.close({ timeoutMs: 1000 });
  });

  it('numbers a room\'s messages and replays what a rejoining client missed, then live ones', async () => {
    await serve();
    const room = app.createRoom('h', '', 0, { history: { size: 100 } });
    const a = await client();
    const first = await join(a, room);
    expect(first).toMatchObject({ offset: 0, epoch: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(first).not.toHaveProperty('recovered');
    const epoch = first.epoch;
    a.send({ type: 'room_message', room_id: room, message: 'one' });
    expect(await messages(a, 1)).toEqual([['one', 1]]);
    app.sendRoomMessage(room, 'two');
    expect(await messages(a, 1)).toEqual([['two', 2]]);
    a.close();
    // While away: three more, from the app and from another member.
    const b = await client();
    await join(b, room);
    app.sendRoomMessage(room, 'three');
    b.send({ type: 'room_message', room_id: room, message: 'four' });
    await messages(b, 2);
    app.sendRoomMessage(room, 'five');
    await messages(b, 1);
    const back = await client();
    const rejoined = await join(back, room, { since: { offset: 2, epoch } });
    expect(rejoined).toMatchObject({ offset: 5, epoch, recovered: true });
    app.sendRoomMessage(room, 'six');
    expect(await messages(back, 4)).toEqual([['three', 3], ['four', 4], ['five', 5], ['six', 6]]);
    await noRoomMessage(back);
    // Up to date: recovered with nothing to replay.
    const current = await client();
    expect(await join(current, room, { since: { offset: 6, epoch } })).toMatchObject({ recovered: true, offset: 6 });
    await noRoomMessage(current);
  });

  it('answers recovered: false when the messages are gone, the epoch differs or the room keeps none', async () => {
    await serve();
    const room = app.createRoom('h', '', 0, { history: { size: 2 } });
    const a = await client();
    const { epoch } = await join(a, room);
    for (const m of ['1', '2', '3', '4']) app.sendRoomMessage(room, m);
    await messages(a, 4);
    const pushedOut = await client();
    expect(await join(pushedOut, room, { since: { offset: 1, epoch } })).toMatchObject({ recovered: false, offset: 4, epoch });
    const kept = await client();
    expect(await join(kept, room, { since: { offset: 2, epoch } })).toMatchObject({ recovered: true });
    expect(await messages(kept, 2)).toEqual([['3', 3], ['4', 4]]);
    const otherEpoch = await client();
    expect(await join(otherEpoch, room, { since: { offset: 4, epoch: 'ffffffffffffffff' } })).toMatchObject({ recovered: false });
    const ahead = await client();
    expect(await join(ahead, room, { since: { offset: 9, epoch } })).toMatchObject({ recovered: false });
    for (const c of [pushedOut, otherEpoch, ahead]) await noRoomMessage(c);
    const plain = app.createRoom('plain');
    const p = await client();
    const joined = await join(p, plain, { since: { offset: 0, epoch } });
    expect(joined).toMatchObject({ recovered: false });
    expect(joined).not.toHaveProperty('offset');
    app.sendRoomMessage(plain, 'x');
    expect(await p.nextOfType('room_message')).not.toHaveProperty('offset');
  });

  it('forgets messages older than ttlMs', async () => {
    await serve();
    const room = app.createRoom('h', '', 0, { history: { size: 100, ttlMs: 300 } });
    const a = await client();
    const { epoch } = await join(a, room);
    app.sendRoomMessage(room, 'old');
    await sleep(450);
    app.sendRoomMessage(room, 'new');
    await messages(a, 2);
    const late = await client();
    expect(await join(late, room, { since: { offset: 0, epoch } })).toMatchObject({ recovered: false, offset: 2 });
    const recent = await client();
    expect(await join(recent, room, { since: { offset: 1, epoch } })).toMatchObject({ recovered: true });
    expect(await messages(recent, 1)).toEqual([['new', 2]]);
  });

  it('gives auto-created rooms the route\'s history, and a new epoch once the room is gone', async () => {
    await serve({ autoCreateRooms: true, history: { size: 10 } });
    const a = await client();
    const { epoch } = await join(a, 'topic');
    a.send({ type: 'room_message', room_id: 'topic', message: 'hi' });
    expect(await messages(a, 1)).toEqual([['hi', 1]]);
    a.send({ type: 'leave_room', room_id: 'topic' });
    await a.nextOfType('room_left');
    const again = await join(a, 'topic', { since: { offset: 1, epoch } });
    expect(again.epoch).not.toBe(epoch);
    expect(again).toMatchObject({ recovered: false, offset: 0 });
  });

  it('refuses a malformed since and keeps the connection', async () => {
    await serve();
    const room = app.createRoom('h', '', 0, { history: { size: 10 } });
    const a = await client();
    for (const since of [5, { offset: -1, epoch: 'e' }, { offset: 1.5, epoch: 'e' }, { offset: 1 }, { offset: '1', epoch: 'e' }]) {
      a.send({ type: 'join_room', room_id: room, since });
      expect(await a.next()).toMatchObject({ type: 'error', error_type: 'room_join_error', error: expect.stringContaining('since') });
    }
    expect(await join(a, room, { since: null })).toMatchObject({ offset: 0 });
  });

  it('replays nothing that would overflow the connection\'s send buffer: the client reloads instead', async () => {
    await serve({}, { maxBackpressure: 16 * 1024 });
    const room = app.createRoom('h', '', 0, { history: { size: 1000 } });
    const a = await client();
    const { epoch } = await join(a, room);
    const big = 'x'.repeat(1024);
    for (let round = 0; round < 10; round += 1) {
      for (let i = 0; i < 10; i += 1) app.sendRoomMessage(room, big);
      await messages(a, 10);
    }
    const b = await client();
    expect(await join(b, room, { since: { offset: 0, epoch } })).toMatchObject({ recovered: false, offset: 100 });
    await noRoomMessage(b);
    const c = await client();
    expect(await join(c, room, { since: { offset: 90, epoch } })).toMatchObject({ recovered: true });
    expect((await messages(c, 10)).map(([, o]) => o)).toEqual([91, 92, 93, 94, 95, 96, 97, 98, 99, 100]);
  });

  it('hands every member, and a member rejoining mid-stream, each offset once and in order while several threads publish', async () => {
    await serve({}, { threads: 2 });
    const senders = await Promise.all([client(), client(), client()]);
    for (let round = 0; round < repeats; round += 1) {
      const room = app.createRoom(`race ${round}`, '', 0, { history: { size: 10_000 } });
      const watcher = await client();
      const { epoch } = await join(watcher, room);
      for (const s of senders) await join(s, room);
      const perSender = 40;
      const total = perSender * (senders.length + 1);
      const seen: number[] = [];
      const watching = (async () => {
        while (seen.length < total) seen.push((await watcher.nextOfType('room_message')).offset);
      })();
      for (let i = 0; i < perSender; i += 1) {
        for (const s of senders) s.send({ type: 'room_message', room_id: room, message: `m${i}` });
        app.sendRoomMessage(room, `app${i}`);
        if (i === perSender / 2) await sleep(1);
      }
      // A client that had everything up to some offset rejoins while the senders go on.
      await until(() => seen.length > 0, 5000, 'a first message');
      const from = seen[seen.length - 1];
      const rejoiner = await client();
      const joined = await join(rejoiner, room, { since: { offset: from, epoch } });
      expect(joined.recovered).toBe(true);
      const got: number[] = [];
      while (got.length < total - from) got.push((await rejoiner.nextOfType('room_message')).offset);
      await watching;
      const upTo = (n: number, start = 1) => Array.from({ length: n - start + 1 }, (_, k) => start + k);
      expect(seen).toEqual(upTo(total));
      expect(got).toEqual(upTo(total, from + 1));
      for (const s of senders) {
        s.send({ type: 'leave_room', room_id: room });
        await s.nextOfType('room_left');
      }
      watcher.close();
      rejoiner.close();
    }
  });

  it('is created through the REST API too, and room info reports it', async () => {
    const started = await startApp((a) => { a.websocket('/ws'); a.enableRoomApi('/api'); });
    app = started.app;
    const post = async (body: unknown) => {
      const res = await fetch(`http://${started.url}/api/rooms`, { method: 'POST', body: JSON.stringify(body) });
      return { status: res.status, body: await res.json() as Record<string, any> };
    };
    const made = await post({ name: 'rest', history: { size: 5, ttlMs: 1000 } });
    expect(made.status).toBe(201);
    const id = made.body.roomId as string;
    app.sendRoomMessage(id, 'x');
    expect(app.getRoomInfo(id)!.history).toEqual({ size: 5, ttlMs: 1000, offset: 1, epoch: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(app.getRoomInfo(app.createRoom('plain'))).not.toHaveProperty('history');
    for (const history of [{}, { size: 0 }, { size: 100_001 }, { size: 2, ttlMs: -1 }, { size: 2, other: 1 }, 5, { size: '2' }]) {
      const bad = await post({ name: 'bad', history });
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatch(/history/);
    }
  });

  it('checks the history option', async () => {
    await serve();
    for (const history of [{}, { size: 0 }, { size: 100_001 }, { size: 1.5 }, { size: 5, ttlMs: -1 }, { size: 5, extra: 1 }, 5]) {
      expect(() => app.createRoom('x', '', 0, { history } as never)).toThrow(/history/);
    }
    expect(() => app.websocket('/other', { history: { size: 0 } })).toThrow(/history/);
    expect(app.getAllRooms()).toHaveLength(0);
  });

  it('is refused on a route with the cluster option (createRoom keeps history in Redis)', async () => {
    const clustered = new App({ cluster: { redis: 'redis://127.0.0.1:1' } });
    expect(() => clustered.websocket('/ws', { autoCreateRooms: true, history: { size: 5 } })).toThrow(
      expect.objectContaining({ code: codes.INVALID_ARG, message: expect.stringContaining('cluster') }));
    expect(clustered.createRoom('x', '', 0, { history: { size: 5 } })).toMatch(/^room_/);
  });
});
