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
  });

  it('returns an App', () => {
    expect(createApp()).toBeInstanceOf(App);
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
