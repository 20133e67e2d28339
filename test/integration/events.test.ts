/**
 * Routes with `protocol: 'events'` (Rover's model), with real clients: the chat, kick and
 * direct-message examples, what the core answers without JavaScript, join and leave
 * handlers' answers, and `map` running once per event sent.
 */
import { App } from '../../lib';
import type { EventSocket } from '../../types/index';
import { Client, startApp, until } from '../helpers';

type Frame = Record<string, any>;

async function open(url: string): Promise<Client> {
  const c = new Client(url);
  await c.opened();
  return c;
}
const send = (c: Client, frame: Frame): void => c.ws.send(JSON.stringify(frame));
const next = async (c: Client, ms = 5000): Promise<Frame> => JSON.parse((await c.nextFrame(ms)).data as string);

describe("protocol: 'events'", () => {
  let app: App;
  let url: string;
  const calls: string[] = [];
  const opened: string[] = [];
  const closed: Array<{ id: string; code: number }> = [];
  let mapped = 0;
  const banned = new Set<string>();

  beforeAll(async () => {
    ({ app, url } = await startApp((a) => {
      a.websocket('/rover', {
        protocol: 'events',
        connect: (ws: EventSocket) => void opened.push(ws.id),
        disconnect: (ws: EventSocket, code: number) => void closed.push({ id: ws.id, code }),
        join: {
          lobby: (ws, payload) => {
            calls.push(`join lobby ${JSON.stringify(payload)}`);
            const name = (payload as { name?: string } | null)?.name;
            if (!name) return { status: 'error', reason: 'a name is required' };
            if (banned.has(name)) return { status: 'error', reason: 'banned' };
            return { status: 'ok' };
          },
          slow: async () => {
            await new Promise((r) => setTimeout(r, 50));
            return { status: 'ok' };
          },
        },
        leave: {
          slow: () => ({ status: 'error', reason: 'you cannot leave' }),
        },
        read: {
          // Rover's chat: a message to everyone in the topic.
          shout: (ws, payload) => {
            calls.push('shout');
            ws.emit('lobby', 'shout', { from: ws.id, text: (payload as { text: string }).text });
          },
          // Rover's direct message.
          dm: (ws, payload) => {
            const p = payload as { to: string; text: string };
            ws.sendTo(p.to, 'dm', { from: ws.id, text: p.text });
          },
          // Rover's kick: the target is told, removed from the topic and banned from it.
          kick: (ws, payload) => {
            const p = payload as { id: string; name: string };
            banned.add(p.name);
            ws.sendTo(p.id, 'kicked', { by: ws.id });
            a.leaveRoom(p.id, 'lobby');
          },
          whoami: (ws) => ws.reply('you', { id: ws.id }),
        },
        map: {
          // Runs once per event sent, however many receive it.
          shout: (payload) => {
            mapped++;
            return { ...(payload as object), text: String((payload as { text: string }).text).toUpperCase() };
          },
        },
      });
    }));
  });
  afterAll(() => app.close());

  it('chat: joins are acknowledged and an event emitted to the topic reaches every member, mapped once', async () => {
    const [alice, bob, carol] = [await open(`ws://${url}/rover`), await open(`ws://${url}/rover`), await open(`ws://${url}/rover`)];
    send(alice, { type: 'join', topic: 'lobby', payload: { name: 'alice' } });
    send(bob, { type: 'join', topic: 'lobby', payload: { name: 'bob' } });
    expect(await next(alice)).toEqual({ type: 'join_ack', topic: 'lobby' });
    expect(await next(bob)).toEqual({ type: 'join_ack', topic: 'lobby' });
    // No presence frames: alice hears nothing of bob's join.
    await expect(alice.nextFrame(200)).rejects.toThrow(/no frame/);
    send(alice, { type: 'event', event: 'whoami' });
    const me = await next(alice);
    expect(me).toMatchObject({ type: 'event', event: 'you' });
    mapped = 0;
    send(alice, { type: 'event', event: 'shout', payload: { text: 'hello' } });
    for (const c of [alice, bob]) {
      expect(await next(c)).toEqual({ type: 'event', event: 'shout', topic: 'lobby', payload: { from: me.payload.id, text: 'HELLO' } });
    }
    expect(mapped).toBe(1);
    await expect(carol.nextFrame(200)).rejects.toThrow(/no frame/);  // not in the topic
    for (const c of [alice, bob, carol]) c.ws.close();
  });

  it('direct message and kick', async () => {
    const [alice, bob] = [await open(`ws://${url}/rover`), await open(`ws://${url}/rover`)];
    send(bob, { type: 'event', event: 'whoami' });
    const bobId = (await next(bob)).payload.id;
    send(alice, { type: 'event', event: 'whoami' });
    const aliceId = (await next(alice)).payload.id;
    send(alice, { type: 'event', event: 'dm', payload: { to: bobId, text: 'psst' } });
    expect(await next(bob)).toEqual({ type: 'event', event: 'dm', payload: { from: aliceId, text: 'psst' } });

    send(bob, { type: 'join', topic: 'lobby', payload: { name: 'mallory' } });
    expect(await next(bob)).toEqual({ type: 'join_ack', topic: 'lobby' });
    send(alice, { type: 'event', event: 'kick', payload: { id: bobId, name: 'mallory' } });
    expect(await next(bob)).toEqual({ type: 'event', event: 'kicked', payload: { by: aliceId } });
    expect(await next(bob)).toEqual({ type: 'leave_ack', topic: 'lobby' });
    send(bob, { type: 'join', topic: 'lobby', payload: { name: 'mallory' } });
    expect(await next(bob)).toEqual({ type: 'join_error', topic: 'lobby', reason: 'banned' });
    alice.ws.close();
    bob.ws.close();
  });

  it('answers unknown topics and events, bad frames and leaves of topics not joined, calling no JavaScript', async () => {
    const c = await open(`ws://${url}/rover`);
    calls.length = 0;
    send(c, { type: 'join', topic: 'nowhere' });
    expect(await next(c)).toMatchObject({ type: 'error', error_type: 'unknown_topic', topic: 'nowhere' });
    send(c, { type: 'event', event: 'dance', payload: 1 });
    expect(await next(c)).toMatchObject({ type: 'error', error_type: 'unknown_event', event: 'dance' });
    c.ws.send('not json');
    expect(await next(c)).toMatchObject({ type: 'error', error_type: 'invalid_format' });
    send(c, { type: 'join_room', room_id: 'lobby' });
    expect(await next(c)).toMatchObject({ type: 'error', error_type: 'invalid_format' });
    send(c, { type: 'leave', topic: 'lobby' });
    expect(await next(c)).toMatchObject({ type: 'error', error_type: 'not_joined', topic: 'lobby' });
    expect(calls).toEqual([]);
    c.ws.close();
  });

  it("a join handler's error is a join_error; a leave handler's error keeps the member in", async () => {
    const c = await open(`ws://${url}/rover`);
    send(c, { type: 'join', topic: 'lobby', payload: {} });
    expect(await next(c)).toEqual({ type: 'join_error', topic: 'lobby', reason: 'a name is required' });
    send(c, { type: 'join', topic: 'slow' });
    expect(await next(c)).toEqual({ type: 'join_ack', topic: 'slow' });
    send(c, { type: 'leave', topic: 'slow' });
    expect(await next(c)).toMatchObject({ type: 'error', error_type: 'leave_error', topic: 'slow', message: 'you cannot leave' });
    send(c, { type: 'join', topic: 'lobby', payload: { name: 'dora' } });
    expect(await next(c)).toEqual({ type: 'join_ack', topic: 'lobby' });
    send(c, { type: 'leave', topic: 'lobby' });
    expect(await next(c)).toEqual({ type: 'leave_ack', topic: 'lobby' });
    expect(app.getRoomInfo('slow')?.connectionsCount).toBe(1);
    c.ws.close();
  });

  it('calls connect and disconnect', async () => {
    const before = opened.length;
    const c = await open(`ws://${url}/rover`);
    await until(() => opened.length === before + 1);
    const id = opened[opened.length - 1];
    c.ws.close(4001, 'bye');
    await until(() => closed.some((x) => x.id === id));
    expect(closed.find((x) => x.id === id)?.code).toBe(4001);
  });

  it('checks its options', () => {
    const a = new App();
    expect(() => a.websocket('/e', { protocol: 'events', join: { t: 'x' } } as never)).toThrow(/options\.join\.t/);
    expect(() => a.websocket('/e', { protocol: 'events', onMessage: () => undefined } as never)).toThrow(/options\.onMessage.*protocol 'events'/);
    expect(() => a.websocket('/e', { protocol: 'events', read: [] } as never)).toThrow(/options\.read/);
    // Topics keep no history: what ws.emit sends is not a room_message.
    expect(() => a.websocket('/e', { protocol: 'events', history: { size: 10 } } as never)).toThrow(/options\.history/);
  });
});

describe('examples/events (Rover chat, direct message, kick)', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createEventsApp } = require('../../examples/events/server.js') as { createEventsApp: (o?: object) => App };
  let app: App;
  let url: string;

  beforeAll(async () => {
    app = createEventsApp({ threads: 2 });
    url = `127.0.0.1:${await app.listen(0, '127.0.0.1')}`;
  });
  afterAll(() => app.close());

  it('runs the chat, a direct message and a kick', async () => {
    const [alice, bob] = [await open(`ws://${url}/rover`), await open(`ws://${url}/rover`)];
    const aliceId = (await next(alice)).payload.id;
    const bobId = (await next(bob)).payload.id;
    send(alice, { type: 'join', topic: 'lobby', payload: { name: 'alice' } });
    send(bob, { type: 'join', topic: 'lobby', payload: { name: 'bob' } });
    expect(await next(alice)).toEqual({ type: 'join_ack', topic: 'lobby' });
    expect(await next(bob)).toEqual({ type: 'join_ack', topic: 'lobby' });
    send(alice, { type: 'event', event: 'shout', payload: { text: 'hi all' } });
    for (const c of [alice, bob]) {
      expect(await next(c)).toEqual({ type: 'event', event: 'shout', topic: 'lobby', payload: { from: 'alice', text: 'HI ALL' } });
    }
    send(bob, { type: 'event', event: 'dm', payload: { to: aliceId, text: 'psst' } });
    expect(await next(alice)).toEqual({ type: 'event', event: 'dm', payload: { from: 'bob', text: 'psst' } });
    send(alice, { type: 'event', event: 'kick', payload: { name: 'bob' } });
    expect(await next(bob)).toEqual({ type: 'event', event: 'kicked', payload: { by: 'alice' } });
    expect(await next(bob)).toEqual({ type: 'leave_ack', topic: 'lobby' });
    send(bob, { type: 'join', topic: 'lobby', payload: { name: 'bob' } });
    expect(await next(bob)).toEqual({ type: 'join_error', topic: 'lobby', reason: 'banned' });
    expect(app.getRoomInfo('lobby')?.connectionsCount).toBe(1);
    expect(bobId).not.toBe(aliceId);
    alice.ws.close();
    bob.ws.close();
  });
});
