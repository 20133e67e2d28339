// Type tests for types/index.d.ts: this file must compile, and each @ts-expect-error line
// must be an error.
import { createApp, App, HooksError, HttpError, RoomwireError, codes } from 'roomwire';
import type { ClientInfo, PresenceMember, RoomInfo, SendStatus, WebSocketEventData, WebSocketEventResult } from 'roomwire';

const app: App = createApp({ threads: 2, host: '127.0.0.1', logLevel: 'info', callbackTimeoutMs: 1000 });
// @ts-expect-error unknown log level
createApp({ logLevel: 'loud' });
// @ts-expect-error threads is a number
createApp({ threads: '2' });

app.websocket('/chat/{room}', {
  onConnect: (e) => (e.query.token ? undefined : { shouldCancel: true, status: 401, error: 'token required' }),
  onMessage: async (e) => ({ modifiedEvent: { data: String(e.data).trim() } }),
  onClose: (e) => {
    const code: number | undefined = e.code;
    void code;
  },
  acks: false,
});
// @ts-expect-error shouldCancel is a boolean
app.websocket('/x', { onMessage: () => ({ shouldCancel: 'yes' }) });
// @ts-expect-error unknown callback
app.websocket('/x', { onMesage: () => undefined });

app.get('/health', (req, res) => res.json({ ok: true, id: req.params.id, body: req.getBodyAsJson<{ a: number }>().a }));
app.post('/x', async (_req, res) => {
  res.status(201).setHeader('X-A', 1).send(Buffer.from('x'));
});
// @ts-expect-error handler takes (req, res)
app.get('/bad', (req: string) => req);

async function main(): Promise<void> {
  const port: number = await app.listen(0);
  const status: SendStatus | false = app.send('id', 'text');
  const count: number = app.broadcast('/chat', Buffer.from([1]));
  // @ts-expect-error data is a string or bytes
  app.send('id', 42);
  await app.close({ timeoutMs: 100 });
  void port;
  void status;
  void count;
}
void main;

const result: WebSocketEventResult = { shouldCancel: true, error: 'no' };
void result;
const err = new HttpError(400, 'bad');
const status: number = err.status;
const code: 'RW_ERR_LISTEN' = codes.LISTEN;
const isRw = (e: unknown): boolean => e instanceof RoomwireError && e.code === codes.INVALID_ARG;
void status;
void code;
void isRw;

// Rooms
async function rooms(): Promise<void> {
  const id: string = app.createRoom('lobby', 'General chat', 500, { metadata: { topic: 'x' }, ephemeral: false });
  const info: RoomInfo | null = app.getRoomInfo(id);
  const max: number | null | undefined = info?.maxConnections;
  const all: RoomInfo[] = app.getAllRooms();
  const joined: boolean = await app.joinRoomAsync('conn', id);
  const left: boolean = app.leaveRoom('conn', id);
  const client: ClientInfo | null = app.getClientInfo('conn');
  const latency: number | null | undefined = client?.latency;
  const presence: PresenceMember[] | null = app.getPresence(id);
  const st: SendStatus | false = app.sendRoomMessage(id, 'hi');
  const dm: SendStatus | false = app.sendDirectMessage('bob', 'hi');
  const closed: boolean = app.closeConnection('conn', 4000, 'bye');
  const count: number = app.getWebSocketMessageCount();
  app.enableRoomApi('/websocket').enableRoomApi();
  const sync: boolean = app.joinRoom('conn', id);  // RNode's: synchronous
  // @ts-expect-error joinRoomAsync is asynchronous
  const notYet: boolean = app.joinRoomAsync('conn', id);
  const objects: string[] = app.getUserRooms('conn').map((r) => r.name);
  const ids: string[] = app.getUserRoomIds('conn');
  // @ts-expect-error getUserRooms gives room objects, as RNode's does
  const wrong: string[] = app.getUserRooms('conn');
  const rnodeInfo = client ? [client.id, client.createdAt, client.lastPing, client.roomId] : [];
  void [notYet, objects, ids, wrong, rnodeInfo];
  // @ts-expect-error metadata is an object
  app.createRoom('x', '', 0, { metadata: 'text' });
  app.createRoom('h', '', 0, { history: { size: 500, ttlMs: 60_000 } });
  app.websocket('/topics', { autoCreateRooms: true, history: { size: 50 } });
  app.websocket('/v2', {
    protocols: ['chat.v2', 'chat.v1'],
    requireProtocol: true,
    allowedOrigins: ['https://app.example'],
    requireOrigin: true,
    onConnect: (e) => ({ modifiedEvent: { protocol: e.protocols.includes('chat.v2') ? 'chat.v2' : null } }),
  });
  app.websocket('/fn', { allowedOrigins: (origin) => origin.endsWith('.example') });
  const secure = createApp({ tls: { key: Buffer.from(''), cert: '-----BEGIN CERTIFICATE-----', ca: [Buffer.from(''), 'pem'], passphrase: 'p' } });
  secure.setTls({ key: 'k', cert: 'c' });
  const isSecure: boolean = secure.secure;
  void isSecure;
  // @ts-expect-error tls needs its certificate
  createApp({ tls: { key: 'k' } });
  // @ts-expect-error a passphrase is a string
  secure.setTls({ key: 'k', cert: 'c', passphrase: 1234 });
  // @ts-expect-error secure is read-only
  secure.secure = false;
  app.websocket('/raw', { protocol: 'raw', onMessage: (e) => void app.send(e.connectionId, e.data as string), onClose: () => undefined });
  app.websocket('/rn', { protocol: 'rnode', onWelcome: () => undefined });
  // @ts-expect-error a raw route has no welcome
  app.websocket('/raw2', { protocol: 'raw', onWelcome: () => undefined });
  // @ts-expect-error a raw route has no room_message frames of its own
  app.websocket('/raw3', { protocol: 'raw', onRoomMessage: () => undefined });
  // @ts-expect-error protocol is 'rnode', 'raw', 'events' or 'hooks'
  app.websocket('/raw4', { protocol: 'json' });
  app.websocket('/ev', {
    protocol: 'events',
    connect: (ws) => ws.reply('hello', { id: ws.id }),
    join: { lobby: (_ws, payload) => (payload ? { status: 'ok' } : { status: 'error', reason: 'no payload' }) },
    read: { shout: (ws, payload) => ws.emit('lobby', 'shout', payload) },
    map: { shout: (payload) => payload },
  });
  // @ts-expect-error a join handler answers a status
  app.websocket('/ev2', { protocol: 'events', join: { lobby: () => ({ status: 'maybe' }) } });
  // @ts-expect-error an events route has no onMessage (its events go to read)
  app.websocket('/ev3', { protocol: 'events', onMessage: () => undefined });
  app.websocket('/hk', {
    protocol: 'hooks',
    hooks: {
      on_connect: [{ SetVar: { name: 'room', value: '{{ params.room }}' } }, { WsOp: { command: 'join', channel: '{{ room }}' } }],
      on_message: [
        { If: { condition: "message == 'score'", then: [{ Return: { value: 'ok' } }], else: [{ Return: null }] } },
        { WsOp: { command: 'broadcast', message: '{{ message }}', channel: '{{ room }}' } },
        { Log: { message: '{{ connection_id }}', level: 'debug' } },
      ],
    },
    limits: { maxOutput: 4096, maxSteps: 100 },
    compression: 'shared',
  });
  // @ts-expect-error a hooks route runs no JavaScript callbacks
  app.websocket('/hk2', { protocol: 'hooks', hooks: {}, onMessage: () => undefined });
  // @ts-expect-error a WsOp send needs its message
  app.websocket('/hk3', { protocol: 'hooks', hooks: { on_message: [{ WsOp: { command: 'send' } }] } });
  // @ts-expect-error join takes a channel, not a message
  app.websocket('/hk4', { protocol: 'hooks', hooks: { on_connect: [{ WsOp: { command: 'join', message: 'x' } }] } });
  // @ts-expect-error no such operation
  app.websocket('/hk5', { protocol: 'hooks', hooks: { on_message: [{ SqlOp: { query: 'x' } }] } });
  // @ts-expect-error no such hook
  app.websocket('/hk6', { protocol: 'hooks', hooks: { on_open: [] } });
  // @ts-expect-error allowedOrigins is a list on a hooks route (no JavaScript runs)
  app.websocket('/hk7', { protocol: 'hooks', hooks: {}, allowedOrigins: () => true });
  // @ts-expect-error a Log level is debug, info, warn or error
  app.websocket('/hk8', { protocol: 'hooks', hooks: { on_message: [{ Log: { message: 'x', level: 'loud' } }] } });
  const loaded: number = app.loadRoutes('routes.yaml', { limits: { maxVariables: 8 }, compression: 'shared' });
  void loaded;
  // @ts-expect-error loadRoutes takes a file name
  app.loadRoutes({ path: '/x' });
  // @ts-expect-error no such limit
  app.loadRoutes('routes.yaml', { limits: { maxLoops: 1 } });
  app.websocket('/z1', { compression: 'shared', compressionThreshold: 512 });
  app.websocket('/z2', { compression: 'dedicated' });
  app.websocket('/z3', { compression: false });
  // @ts-expect-error compression is false, 'shared' or 'dedicated'
  app.websocket('/z4', { compression: true });
  // @ts-expect-error compressionThreshold is a number of bytes
  app.websocket('/z5', { compression: 'shared', compressionThreshold: '1k' });
  // @ts-expect-error protocols is a list
  app.websocket('/bad1', { protocols: 'chat.v2' });
  // @ts-expect-error an origin predicate answers a boolean
  app.websocket('/bad2', { allowedOrigins: (origin: string) => origin });
  // @ts-expect-error modifiedEvent.protocol is a string or null
  app.websocket('/bad3', { onConnect: () => ({ modifiedEvent: { protocol: 2 } }) });
  // @ts-expect-error history needs its size
  app.createRoom('h', '', 0, { history: { ttlMs: 1000 } });
  // @ts-expect-error history is an object
  app.websocket('/t', { history: 100 });
  void [max, all, joined, left, latency, presence, st, dm, closed, count, sync];
}
void rooms;
createApp({ metrics: true });
app.websocket('/rooms', {
  autoCreateRooms: true,
  onJoinRoom: (e) => ({ modifiedEvent: { data: { presence: { name: e.client_id } } } }),
  onRoomMessage: (e) => ({ modifiedEvent: { message: (e.message ?? '').trim() } }),
  onDirectMessage: (e) => (e.target_client_id === 'vip' ? { shouldCancel: true, error: 'busy' } : undefined),
  onLeaveRoom: () => undefined,
});

// Limits
createApp({ maxConnections: 10000, backpressurePolicy: 'close', idleTimeout: 60000, heartbeatInterval: 15000 });
// @ts-expect-error 'drop' | 'close'
createApp({ backpressurePolicy: 'block' });
app.websocket('/limited', { maxMessagesPerSecond: 20 });
// @ts-expect-error a number
app.websocket('/limited', { maxMessagesPerSecond: 'many' });

// Limits, listen's callback, direct-message targets, route conflicts
createApp({ maxRoomsPerConnection: 64, maxIdLength: 128, maxPresenceSize: 2048, welcomeDelayMs: 0 });
// @ts-expect-error the option is maxRoomsPerConnection
createApp({ maxRoomPerConnection: 64 });
// @ts-expect-error welcomeDelayMs is a number of milliseconds
createApp({ welcomeDelayMs: '10ms' });
void app.listen(0, 'localhost', (e?: Error) => void e);
void app.listen(0, () => undefined);
// @ts-expect-error the callback comes after the host
void app.listen(0, () => undefined, 'localhost');
app.websocket('/dm', {
  onDirectMessage: (e) => {
    const target: string | undefined = e.target_connection_id ?? e.target_client_id;
    return target === 'vip' ? { shouldCancel: true } : undefined;
  },
});
const conflict: 'RW_ERR_ROUTE_CONFLICT' = codes.ROUTE_CONFLICT;
void conflict;

// One event type per callback, one result type per callback
app.websocket('/typed', {
  onConnect: (e) => {
    const h: string | undefined = e.headers['user-agent'];
    const p: Record<string, string> = e.params;
    void h;
    void p;
    return { modifiedEvent: { client_id: 'c', metadata: { role: 'admin' } } };
  },
  onMessage: (e) => {
    const text: string = e.data;
    return text.startsWith('{') ? { modifiedEvent: { data: { wrapped: text } } } : undefined;
  },
  onBinaryMessage: (e) => {
    const bytes: Buffer = e.data;
    void bytes;
  },
  onClose: (e) => {
    const code: number = e.code;
    const reason: string = e.reason;
    void code;
    void reason;
  },
  onJoinRoom: (e) => ({ modifiedEvent: { data: { presence: { room: e.room_id, was: e.data.presence } } } }),
  onRoomMessage: (e) => ({ modifiedEvent: { message: `${e.room_id}: ${e.message}` } }),
  onError: (e) => {
    const t: 'message_too_big' | 'invalid_utf8' | 'protocol_error' = e.error_type;
    void t;
  },
  onServerError: (e) => {
    const failed: string = e.data.event;
    void failed;
  },
});
// @ts-expect-error a refusal's status is an error status, not 200
app.websocket('/x', { onConnect: () => ({ shouldCancel: true, status: 200 }) });
// @ts-expect-error onMessage's replacement data is a string or an object
app.websocket('/x', { onMessage: () => ({ modifiedEvent: { data: 12 } }) });
// @ts-expect-error onRoomMessage replaces the message, not data
app.websocket('/x', { onRoomMessage: () => ({ modifiedEvent: { data: 'x' } }) });
// @ts-expect-error onPing cannot modify anything
app.websocket('/x', { onPing: () => ({ modifiedEvent: { data: 'x' } }) });
// @ts-expect-error onMessage's data is a string, not a Buffer
app.websocket('/x', { onMessage: (e) => void (e.data as Buffer) });
// @ts-expect-error onClose has no room_id
app.websocket('/x', { onClose: (e) => void e.room_id });
// @ts-expect-error onConnect cannot return a room's presence
app.websocket('/x', { onConnect: () => ({ modifiedEvent: { data: { presence: {} } } }) });
const narrow = (e: WebSocketEventData): string => (e.type === 'close' ? String(e.code) : e.type === 'room_message' ? e.room_id : e.type);
void narrow;

// App events, errors
app.on('listening', (port: number) => void port);
app.once('close', () => undefined);
// @ts-expect-error no such event
app.on('listen', () => undefined);
// @ts-expect-error 'listening' passes the port, a number
app.on('listening', (port: string) => void port);
const rwErr = new RoomwireError(codes.LISTEN, 'listen failed', { cause: new Error('x') });
const sys: string | undefined = rwErr.syscallCode;
void sys;
// @ts-expect-error RoomwireError takes a code and a message
void new RoomwireError('only a message');
const hooksFailure = (err: unknown): string => (err instanceof HooksError ? `${err.file ?? ''}:${err.line ?? 0} ${err.keyPath.join('.')}` : '');
void hooksFailure;
const hooksCode: 'RW_ERR_HOOKS' = codes.HOOKS;
void hooksCode;

// Static files and middleware
app.static('/public', './public', { maxAge: 3600, index: false, dotfiles: 'allow' });
// @ts-expect-error dotfiles is 'ignore' or 'allow'
app.static('/public', './public', { dotfiles: 'deny' });
app.use(async (req, res, next) => {
  if (!req.headers.authorization) return res.status(401).json({ error: 'login' });
  next();
});
app.use('/admin', (_req, _res, next) => next(new HttpError(403, 'no')));
// @ts-expect-error middleware takes (req, res, next)
app.use('/admin', (req: number) => void req);

// The design sketch's own example compiles: a modified event may spread the event.
app.websocket('/sketch', {
  onConnect: (e) => (e.query.token ? undefined : { shouldCancel: true, status: 401, error: 'token required' }),
  onRoomMessage: (e) => ({ modifiedEvent: { ...e, message: e.message.trim() } }),
});

// Cluster
createApp({ cluster: { redis: 'redis://127.0.0.1:6379/0', prefix: 'chat', nodeId: 'web-1', nodeTimeoutMs: 15000 } });
// @ts-expect-error the cluster option needs the Redis URL
createApp({ cluster: { prefix: 'chat' } });
// @ts-expect-error nodeTimeoutMs is a number of ms
createApp({ cluster: { redis: 'redis://127.0.0.1', nodeTimeoutMs: '15s' } });
const everywhere: number = app.getWebSocketConnections();
const here: number = app.getWebSocketConnections({ local: true });
void everywhere, here;
app.broadcast('/chat', 'hi', { local: true });
// @ts-expect-error local is a boolean
app.broadcast('/chat', 'hi', { local: 'yes' });
const live: boolean = app.isClusterConnected();
void live;
app.createRoom('Lobby', '', 0, { id: 'lobby' });
// @ts-expect-error a room id is a string
app.createRoom('Lobby', '', 0, { id: 1 });
