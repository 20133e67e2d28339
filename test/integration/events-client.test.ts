/**
 * roomwire/client's EventsClient against a route with protocol 'events': joins and their
 * answers, events by name (to the connection and to a topic), leaves, a removal by the
 * app, and a reconnect through a link that drops every connection: topics rejoined with
 * their payload, events sent while offline delivered after.
 */
import { App } from '../../lib';
import { EventsClient, EventsClientOptions, RoomwireClientError } from '../../lib/client/roomwire-client';
import type { EventSocket } from '../../types/index';
import { startApp, until } from '../helpers';
import { FaultyLink } from '../proxy';

describe('roomwire/client EventsClient', () => {
  let app: App;
  let port: number;
  const joins: Array<{ id: string; payload: unknown }> = [];
  const sockets = new Map<string, EventSocket>();
  const clients: EventsClient[] = [];
  const links: FaultyLink[] = [];

  beforeEach(async () => {
    joins.length = 0;
    ({ app, port } = await startApp((a) => a.websocket('/rover', {
      protocol: 'events',
      connect: (ws) => {
        sockets.set(ws.id, ws);
        ws.reply('hello', { id: ws.id });
      },
      join: {
        lobby: (ws, payload) => {
          joins.push({ id: ws.id, payload });
          return (payload as { name?: string } | null)?.name ? { status: 'ok' } : { status: 'error', reason: 'a name is required' };
        },
      },
      read: {
        shout: (ws, payload) => void ws.emit('lobby', 'shout', payload),
        whoami: (ws) => ws.reply('you', { id: ws.id }),
      },
    })));
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.disconnect();
    for (const l of links.splice(0)) await l.close();
    await app.close({ timeoutMs: 1000 });
  });

  function client(options: Partial<EventsClientOptions> = {}, via = port): EventsClient {
    const c = new EventsClient({ url: `ws://127.0.0.1:${via}/rover`, reconnectDelay: 50, reconnectDelayMax: 200, ...options });
    clients.push(c);
    return c;
  }

  it('joins, is refused, sends and receives events by name, and leaves', async () => {
    const a = client();
    const b = client();
    const hello: unknown[] = [];
    a.on('hello', (payload) => hello.push(payload));
    const shouts: Array<[unknown, string | undefined]> = [];
    b.on('shout', (payload, frame) => shouts.push([payload, frame.topic]));
    await a.connect();
    await b.connect();
    await until(() => hello.length === 1);
    expect(hello[0]).toEqual({ id: expect.any(String) });

    await expect(a.join('lobby')).rejects.toMatchObject({ code: 'server', errorType: 'join_error', message: 'a name is required' });
    await expect(a.join('nowhere')).rejects.toMatchObject({ errorType: 'unknown_topic' });
    await a.join('lobby', { name: 'ann' });
    await b.join('lobby', { name: 'bob' });
    expect(a.joinedTopics).toEqual(['lobby']);

    a.emit('shout', { text: 'hi' });
    await until(() => shouts.length === 1);
    expect(shouts[0]).toEqual([{ text: 'hi' }, 'lobby']);

    const unknown: string[] = [];
    a.on('server_error', (f) => unknown.push(f.error_type));
    a.emit('nope');
    await until(() => unknown.includes('unknown_event'));

    await b.leave('lobby');
    expect(b.joinedTopics).toEqual([]);
    await expect(b.leave('lobby')).rejects.toMatchObject({ errorType: 'not_joined' });
  });

  it('tells when the app removes it from a topic', async () => {
    const a = client();
    const left: string[] = [];
    a.on('left', (e) => left.push(e.topic));
    const ids: string[] = [];
    a.on('hello', (p: { id: string }) => ids.push(p.id));
    await a.connect();
    await a.join('lobby', { name: 'ann' });
    await until(() => ids.length === 1);
    app.leaveRoom(ids[0], 'lobby');
    await until(() => left.length === 1);
    expect(left).toEqual(['lobby']);
    expect(a.joinedTopics).toEqual([]);
  });

  it('reconnects, rejoins its topics with their payload, and sends what waited', async () => {
    const l = new FaultyLink(port);
    links.push(l);
    const a = client({}, await l.port);
    const b = client();
    const rejoined: string[] = [];
    a.on('rejoined', (e) => rejoined.push(e.topic));
    const states: string[] = [];
    a.on('state', (s) => states.push(s));
    const heard: unknown[] = [];
    b.on('shout', (p) => heard.push(p));
    await a.connect();
    await b.connect();
    await a.join('lobby', { name: 'ann' });
    await b.join('lobby', { name: 'bob' });
    // Offline for as long as it takes to queue an event: new connections are refused meanwhile.
    l.refuse(true);
    l.resetAll();
    await until(() => states.includes('reconnecting'));
    a.emit('shout', { text: 'while away' });
    l.refuse(false);
    await until(() => rejoined.includes('lobby'));
    expect(joins.filter((j) => (j.payload as { name: string }).name === 'ann')).toHaveLength(2);
    await until(() => heard.length === 1);
    expect(heard).toEqual([{ text: 'while away' }]);
    expect(states).toEqual(expect.arrayContaining(['open', 'reconnecting']));
  });

  it('rejects what cannot be sent, and checks its arguments', async () => {
    const a = client({ offlineQueueSize: 0 });
    expect(a.emit('shout')).toBe(false); // not connected
    await expect(a.join('')).rejects.toThrow(TypeError);
    expect(() => a.emit('')).toThrow(TypeError);
    expect(() => new EventsClient({ url: 'http://x' })).toThrow(TypeError);
    expect(() => new EventsClient({ url: 'ws://x', answerTimeout: 0 })).toThrow(RangeError);
    await a.connect();
    a.disconnect();
    await expect(a.join('lobby', { name: 'x' })).rejects.toBeInstanceOf(RoomwireClientError);
  });
});
