// eslint-disable-next-line @typescript-eslint/no-require-imports
const parsePrometheus = require('parse-prometheus-text-format') as (text: string) => Array<{
  name: string; type: string; metrics: Array<{ value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string }>;
}>;
import { App } from '../../lib';
import { Client, connect, startApp, until } from '../helpers';

async function call(base: string, method: string, path: string, body?: string): Promise<{ status: number; json: any }> {
  const r = await fetch(`${base}${path}`, { method, body, headers: body ? { 'content-type': 'application/json' } : {} });
  return { status: r.status, json: await r.json() };
}

describe('REST room API', () => {
  let app: App;
  let base: string;
  let ws: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    const started = await startApp((a) => a.websocket('/ws').enableRoomApi('/websocket').get('/websocket/custom', (_q, res) => res.json({ js: true })));
    app = started.app;
    base = `http://${started.url}/websocket`;
    ws = `ws://${started.url}/ws`;
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await app.close();
  });

  it('creates, lists, describes and deletes rooms', async () => {
    const created = await call(base, 'POST', '/rooms', JSON.stringify({ name: 'Ops', description: 'on call', maxConnections: 3 }));
    expect(created.status).toBe(201);
    expect(created.json).toEqual({ success: true, roomId: expect.stringMatching(/^room_[0-9a-f]{32}$/) });
    const id = created.json.roomId;
    const list = await call(base, 'GET', '/rooms');
    expect(list.json.success).toBe(true);
    expect(list.json.count).toBe(list.json.rooms.length);
    expect(list.json.rooms.map((r: any) => r.id)).toContain(id);
    const one = await call(base, 'GET', `/rooms/${id}`);
    expect(one.json).toMatchObject({ success: true, room: { id, name: 'Ops', description: 'on call', maxConnections: 3, connectionsCount: 0 } });
    expect((await call(base, 'DELETE', `/rooms/${id}`)).json).toEqual({ success: true });
    expect(await call(base, 'GET', `/rooms/${id}`)).toEqual({ status: 404, json: { success: false, error: 'Room not found' } });
    expect((await call(base, 'DELETE', `/rooms/${id}`)).status).toBe(404);
  });

  it('lists rooms a page at a time: limit, cursor, total, nextCursor', async () => {
    const before = app.getAllRooms().map((r) => r.id);
    const made: string[] = [];
    for (let i = 0; i < 1005; i++) made.push(app.createRoom(`page-${i}`));
    const all = [...before, ...made];
    // Without a limit, the first 1,000 rooms and the cursor of the rest.
    const first = await call(base, 'GET', '/rooms');
    expect(first.json).toMatchObject({ success: true, count: 1000, total: all.length });
    expect(typeof first.json.nextCursor).toBe('string');
    const walked: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 200; page++) {
      const r = await call(base, 'GET', `/rooms?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status).toBe(200);
      expect(r.json.count).toBe(r.json.rooms.length);
      expect(r.json.count).toBeLessThanOrEqual(100);
      walked.push(...r.json.rooms.map((x: any) => x.id));
      cursor = r.json.nextCursor;
      if (cursor === null) break;
    }
    expect(walked).toEqual(all);
    for (const bad of ['limit=0', 'limit=1001', 'limit=ten', 'cursor=x1', 'cursor=']) {
      expect((await call(base, 'GET', `/rooms?${bad}`)).status).toBe(400);
    }
    for (const id of made) app.deleteRoom(id);
  });

  it('rejects bad bodies with 400 and changes nothing', async () => {
    const before = app.getAllRooms().length;
    for (const body of ['{"name":', '[1]', '{}', '{"name":""}', '{"name":5}', '{"name":"x","maxConnections":-1}',
      '{"name":"x","maxConnections":"many"}', '{"name":"x","description":7}', '{"name":"x","metadata":[]}']) {
      const r = await call(base, 'POST', '/rooms', body);
      expect(r.status).toBe(400);
      expect(r.json.success).toBe(false);
      expect(typeof r.json.error).toBe('string');
    }
    expect(app.getAllRooms().length).toBe(before);
  });

  it('joins, messages and leaves through the API, and reports clients', async () => {
    const id = app.createRoom('api');
    const { client, welcome } = await connect(ws);
    clients.push(client);
    const conn = welcome.connection_id;
    expect((await call(base, 'POST', `/rooms/${id}/join`, JSON.stringify({ connectionId: conn }))).json).toEqual({ success: true });
    expect(await client.next()).toMatchObject({ type: 'room_joined', room_id: id });
    expect((await call(base, 'POST', `/rooms/${id}/join`, JSON.stringify({ connectionId: conn }))).status).toBe(409);
    expect((await call(base, 'POST', `/rooms/${id}/message`, JSON.stringify({ message: 'from REST' }))).json).toEqual({ success: true });
    expect(await client.next()).toMatchObject({ type: 'room_message', room_id: id, message: 'from REST' });
    const info = await call(base, 'GET', `/clients/${conn}`);
    expect(info.json).toMatchObject({ success: true, client: { connectionId: conn, rooms: [id] } });
    expect((await call(base, 'GET', `/clients/${conn}/rooms`)).json).toEqual({ success: true, rooms: [id], count: 1 });
    expect((await call(base, 'POST', `/rooms/${id}/leave`, JSON.stringify({ connectionId: conn }))).json).toEqual({ success: true });
    expect(await client.next()).toMatchObject({ type: 'room_left', room_id: id });
    expect((await call(base, 'POST', `/rooms/${id}/leave`, JSON.stringify({ connectionId: conn }))).status).toBe(404);
  });

  it('answers 404 and 400 for unknown targets and bad bodies', async () => {
    const id = app.createRoom('x');
    expect((await call(base, 'POST', '/rooms/room_nope/message', '{"message":"x"}')).status).toBe(404);
    expect((await call(base, 'POST', '/rooms/room_nope/join', '{"connectionId":"c"}')).status).toBe(404);
    expect((await call(base, 'POST', `/rooms/${id}/join`, '{"connectionId":"nobody"}')).json).toEqual({ success: false, error: 'Connection not found' });
    expect((await call(base, 'POST', `/rooms/${id}/join`, '{}')).status).toBe(400);
    expect((await call(base, 'POST', `/rooms/${id}/message`, '{"message":5}')).status).toBe(400);
    expect((await call(base, 'POST', `/rooms/${id}/message`, 'not json')).status).toBe(400);
    expect((await call(base, 'GET', '/clients/nobody')).status).toBe(404);
    expect((await call(base, 'GET', '/clients/nobody/rooms')).status).toBe(404);
  });

  it('leaves other paths under the prefix to JavaScript routes', async () => {
    expect((await call(base, 'GET', '/custom')).json).toEqual({ js: true });
  });
});

describe('metrics', () => {
  it('serves Prometheus text that a text-format parser reads, with the documented series', async () => {
    const { app, url } = await startApp((a) => a.websocket('/ws', { onMessage: () => undefined }), { metrics: true });
    const room = app.createRoom('m');
    const { client, welcome } = await connect(`ws://${url}/ws`);
    await app.joinRoom(welcome.connection_id, room);
    await client.nextOfType('room_joined');
    client.send({ type: 'room_message', room_id: room, message: 'hi' });
    await client.nextOfType('room_message');
    client.send('garbage');
    await client.nextOfType('error');
    const r = await fetch(`http://${url}/metrics`);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parsePrometheus(await r.text());
    const get = (name: string) => families.find((f) => f.name === name)!;
    const labelled = (name: string, key: string, value: string) =>
      Number(get(name).metrics.find((m) => m.labels?.[key] === value)!.value);
    expect(Number(get('roomwire_connections_active').metrics[0].value)).toBe(1);
    expect(Number(get('roomwire_connections_total').metrics[0].value)).toBe(1);
    expect(Number(get('roomwire_rooms').metrics[0].value)).toBe(1);
    expect(Number(get('roomwire_room_members').metrics[0].value)).toBe(1);
    expect(labelled('roomwire_messages_received_total', 'type', 'room_message')).toBe(1);
    expect(labelled('roomwire_messages_received_total', 'type', 'invalid')).toBe(1);
    expect(labelled('roomwire_messages_sent_total', 'type', 'welcome')).toBe(1);
    expect(labelled('roomwire_messages_sent_total', 'type', 'room_message')).toBe(1);
    expect(labelled('roomwire_errors_total', 'type', 'invalid_format')).toBe(1);
    expect(labelled('roomwire_dropped_messages_total', 'reason', 'backpressure')).toBe(0);
    expect(Number(get('roomwire_bytes_received_total').metrics[0].value)).toBeGreaterThan(0);
    const histogram = get('roomwire_callback_duration_seconds');
    expect(histogram.type).toBe('HISTOGRAM');
    expect(Number(histogram.metrics[0].count)).toBe(2); // two frames went through onMessage
    client.close();
    await app.close();
  });

  it('is not served unless enabled', async () => {
    const { app, url } = await startApp(() => undefined);
    expect((await fetch(`http://${url}/metrics`)).status).toBe(404);
    await app.close();
  });
});

describe('registry bookkeeping', () => {
  it('holds exactly what is connected after 10,000 connect/join/leave/close cycles', async () => {
    const { app, url, port } = await startApp((a) => a.websocket('/ws'), { metrics: true });
    const rooms = [app.createRoom('a'), app.createRoom('b'), app.createRoom('c')];
    const total = 10000;
    const parallel = 50;
    let done = 0;
    // Each cycle: a handshake, two joins, one leave, then an abrupt close.
    const cycle = (i: number) => new Promise<void>((resolve, reject) => {
      const c = new Client(`ws://${url}/ws`);
      const timer = setTimeout(() => reject(new Error(`cycle ${i} timed out`)), 10000);
      (async () => {
        await c.opened();
        await c.next();
        const r1 = rooms[i % 3];
        const r2 = rooms[(i + 1) % 3];
        c.send({ type: 'join_room', room_id: r1 });
        c.send({ type: 'join_room', room_id: r2 });
        c.send({ type: 'leave_room', room_id: r1 });
        await c.nextOfType('room_left');
        c.ws.terminate();
        await c.closed;
      })().then(() => { clearTimeout(timer); resolve(); }, (e) => { clearTimeout(timer); reject(e); });
    });
    const workers = Array.from({ length: parallel }, async (_, w) => {
      for (let i = w; i < total; i += parallel) {
        await cycle(i);
        done++;
      }
    });
    await Promise.all(workers);
    expect(done).toBe(total);
    // One connection stays: the registry must hold exactly it.
    const { client, welcome } = await connect(`ws://${url}/ws`);
    await app.joinRoom(welcome.connection_id, rooms[0]);
    await client.nextOfType('room_joined');
    await until(() => app.getWebSocketConnections() === 1, 10000, 'connections to settle');
    await until(() => app.getAllRooms().reduce((n, r) => n + r.connectionsCount, 0) === 1, 10000, 'memberships to settle');
    expect(app.getAllRooms().map((r) => r.connectionsCount)).toEqual([1, 0, 0]);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/^roomwire_room_members 1$/m);
    expect(metrics).toMatch(/^roomwire_connections_active 1$/m);
    expect(metrics).toMatch(new RegExp(`^roomwire_connections_total ${total + 1}$`, 'm'));
    client.close();
    await app.close();
  }, 180000);
});
