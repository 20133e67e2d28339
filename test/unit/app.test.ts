import { App, createApp, codes } from '../../lib';

describe('createApp', () => {
  it('rejects options of the wrong type with TypeError and a stable code', () => {
    expect(() => createApp('x' as any)).toThrow(TypeError);
    expect(() => createApp({ threads: 'two' } as any)).toThrow(expect.objectContaining({ code: codes.INVALID_ARG }));
    expect(() => createApp({ logLevel: 'loud' } as any)).toThrow(expect.objectContaining({ code: codes.INVALID_ARG }));
    expect(() => createApp({ nope: 1 } as any)).toThrow(/options\.nope/);
  });

  it('rejects out-of-range limits with RangeError', () => {
    expect(() => createApp({ threads: 0 })).toThrow(RangeError);
    expect(() => createApp({ threads: 1.5 })).toThrow(expect.objectContaining({ code: codes.OUT_OF_RANGE }));
    expect(() => createApp({ callbackTimeoutMs: -1 })).toThrow(RangeError);
    expect(() => createApp({ maxPayload: 0 })).toThrow(RangeError);
  });

  it('checks the limit options', () => {
    expect(() => createApp({ backpressurePolicy: 'block' as any })).toThrow(/backpressurePolicy/);
    expect(() => createApp({ maxConnections: -1 })).toThrow(RangeError);
    expect(() => createApp().websocket('/x', { maxMessagesPerSecond: -5 })).toThrow(RangeError);
    expect(() => createApp().websocket('/x', { maxMessagesPerSecond: 'x' as any })).toThrow(TypeError);
    expect(() => createApp().websocket('/x', { compression: true as any })).toThrow(/options\.compression.*'shared' or 'dedicated'/);
    expect(() => createApp().websocket('/x', { compression: 'gzip' as any })).toThrow(TypeError);
    expect(() => createApp().websocket('/x', { compression: 'shared', compressionThreshold: -1 })).toThrow(RangeError);
    expect(() => createApp().websocket('/x', { compression: 'shared', compressionThreshold: 1.5 })).toThrow(/compressionThreshold/);
    createApp().websocket('/x', { compression: 'dedicated', compressionThreshold: 0 });
  });

  it("takes RNode's options, and names the closest option for a misspelt one", () => {
    expect(() => createApp({ treads: 2 } as any)).toThrow(/options\.treads.*did you mean 'threads'/);
    expect(() => createApp({ callbackTimeout: 10 } as any)).toThrow(/did you mean 'callbackTimeoutMs'/);
    expect(() => createApp({ zzzzzz: 1 } as any)).not.toThrow(/did you mean/);
    expect(() => createApp({ zzzzzz: 1 } as any)).toThrow(TypeError);
    createApp({ timeout: 30000, devMode: true });
    createApp({ timeout: 300, callbackTimeoutMs: 300 });
    expect(() => createApp({ timeout: 300, callbackTimeoutMs: 200 })).toThrow(TypeError);
    expect(() => createApp({ timeout: 0 })).toThrow(RangeError);
    expect(() => createApp({ devMode: 'yes' } as any)).toThrow(TypeError);
  });

  it('returns an App', () => {
    expect(createApp()).toBeInstanceOf(App);
  });

  it('checks the cluster option', () => {
    createApp({ cluster: { redis: 'redis://127.0.0.1:6379' } });
    createApp({ cluster: { redis: 'redis://:secret@redis.internal:6380/2', prefix: 'chat', nodeId: 'web-1', nodeTimeoutMs: 5000 } });
    expect(() => createApp({ cluster: 'redis://127.0.0.1' } as any)).toThrow(TypeError);
    expect(() => createApp({ cluster: {} } as any)).toThrow(/options\.cluster\.redis/);
    expect(() => createApp({ cluster: { redis: 'http://127.0.0.1' } })).toThrow(/redis:\/\//);
    expect(() => createApp({ cluster: { redis: 'not a url' } })).toThrow(TypeError);
    expect(() => createApp({ cluster: { redis: 'redis://127.0.0.1/x' } })).toThrow(RangeError);
    expect(() => createApp({ cluster: { redis: 'redis://user:pw@127.0.0.1' } })).toThrow(/password only/);
    expect(() => createApp({ cluster: { redis: 'redis://127.0.0.1', prefix: 'a*' } })).toThrow(/options\.cluster\.prefix/);
    expect(() => createApp({ cluster: { redis: 'redis://127.0.0.1', prefix: '' } })).toThrow(TypeError);
    expect(() => createApp({ cluster: { redis: 'redis://127.0.0.1', nodeId: 'a\nb' } })).toThrow(/nodeId/);
    expect(() => createApp({ cluster: { redis: 'redis://127.0.0.1', nodeTimeoutMs: 10 } })).toThrow(RangeError);
    expect(() => createApp({ cluster: { redis: 'redis://127.0.0.1', nodeTimeout: 10 } } as any)).toThrow(/did you mean 'nodeTimeoutMs'/);
  });

  it('takes { local } on the cluster-wide calls, and nothing else', () => {
    const app = createApp({ threads: 1 });
    expect(app.getWebSocketConnections({ local: true })).toBe(0);
    expect(app.broadcast('/x', 'hi', { local: false })).toBe(0);
    expect(() => app.getWebSocketConnections({ local: 'yes' } as any)).toThrow(TypeError);
    expect(() => app.broadcast('/x', 'hi', { locally: true } as any)).toThrow(/did you mean 'local'/);
    expect(app.isClusterConnected()).toBe(false);
  });

  it('creates a room with a given id once', () => {
    const app = createApp({ threads: 1 });
    expect(app.createRoom('Lobby', '', 0, { id: 'lobby' })).toBe('lobby');
    expect(() => app.createRoom('Lobby again', '', 0, { id: 'lobby' })).toThrow(expect.objectContaining({ code: codes.ROOM_EXISTS }));
    expect(() => app.createRoom('x', '', 0, { id: '' })).toThrow(TypeError);
    expect(app.getRoomInfo('lobby')?.name).toBe('Lobby');
  });
});

describe('App', () => {
  const app = createApp({ threads: 1 });

  describe('#websocket', () => {
    it('rejects bad paths, callbacks and unknown options', () => {
      expect(() => app.websocket('chat')).toThrow(TypeError);
      expect(() => app.websocket('/a/{')).toThrow(TypeError);
      expect(() => app.websocket('/a', { onMessage: 'x' } as any)).toThrow(/options\.onMessage/);
      expect(() => app.websocket('/a', { onMesage: () => undefined } as any)).toThrow(/options\.onMesage/);
      expect(() => app.websocket('/a', { acks: 'no' } as any)).toThrow(/options\.acks/);
    });
  });

  describe('route conflicts', () => {
    const conflict = expect.objectContaining({ code: codes.ROUTE_CONFLICT });

    it('refuses a route an earlier one always answers first', () => {
      const app = createApp();
      app.get('/users/{id}', () => undefined);
      expect(() => app.get('/users/{name}', () => undefined)).toThrow(conflict);
      expect(() => app.get('/users/me', () => undefined)).toThrow(/GET \/users\/me could never run: GET \/users\/\{id\}/);
      expect(() => app.get('/users/', () => undefined)).not.toThrow();  // another shape
      app.post('/users/{id}', () => undefined);  // another method
      app.get('/users/{id}/posts', () => undefined);
      app.get('/teams/me/users/{u}', () => undefined);  // the specific one first, then the generic
      app.get('/teams/{t}/users/{u}', () => undefined);
      expect(() => app.get('/teams/you/users/{u}', () => undefined)).toThrow(conflict);
      expect(() => app.get('/teams/{x}/users/{y}', () => undefined)).toThrow(conflict);
      app.websocket('/ws');
      expect(() => app.websocket('/ws')).toThrow(conflict);
      expect(() => app.websocket('//ws/')).toThrow(conflict);
      app.get('/ws', () => undefined);  // plain GET beside the upgrade
    });

    it('refuses routes the built-in endpoints answer, in either order', () => {
      expect(() => createApp({ metrics: true }).get('/metrics', () => undefined)).toThrow(conflict);
      createApp().get('/metrics', () => undefined);
      const app = createApp().enableRoomApi('/api');
      expect(() => app.get('/api/rooms', () => undefined)).toThrow(conflict);
      expect(() => app.delete('/api/rooms/{id}', () => undefined)).toThrow(conflict);
      expect(() => app.post('/api/rooms/lobby/join', () => undefined)).toThrow(conflict);
      app.get('/api/rooms/{id}/stats', () => undefined);  // not an API endpoint: JavaScript's
      app.get('/api/health', () => undefined);
      const later = createApp().get('/api/clients/{id}', () => undefined);
      expect(() => later.enableRoomApi('/api')).toThrow(conflict);
    });
  });

  describe('#get', () => {
    it('rejects a missing handler', () => {
      expect(() => app.get('/x', undefined as any)).toThrow(expect.objectContaining({ code: codes.INVALID_ARG }));
    });
  });

  describe('#listen', () => {
    it('rejects a bad port with a RangeError', async () => {
      await expect(app.listen(70000)).rejects.toBeInstanceOf(RangeError);
      await expect(app.listen('80' as any)).rejects.toBeInstanceOf(TypeError);
    });
  });

  describe('#send', () => {
    it('validates arguments and returns false when not listening', () => {
      expect(() => app.send('', 'x')).toThrow(TypeError);
      expect(() => app.send('id', 42 as any)).toThrow(/string or a Buffer/);
      expect(app.send('id', 'x')).toBe(false);
      expect(app.broadcast('/x', 'x')).toBe(0);
    });
  });

  describe('#close', () => {
    it('rejects bad options', async () => {
      await expect(app.close({ timeoutMs: -5 })).rejects.toBeInstanceOf(RangeError);
    });
  });

  describe('#setLogLevel', () => {
    it('accepts known levels only', () => {
      expect(() => app.setLogLevel('warn')).not.toThrow();
      expect(() => app.setLogLevel('chatty' as any)).toThrow(TypeError);
    });
  });
});
