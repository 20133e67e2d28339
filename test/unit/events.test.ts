import { decodeResult } from '../../lib/events';
import { Kind, toEvents } from '../../lib/native';

describe('decodeResult', () => {
  it('treats undefined and null as proceed', () => {
    expect(decodeResult(Kind.message, undefined)).toEqual({ cancel: false, status: 0 });
    expect(decodeResult(Kind.message, null)).toEqual({ cancel: false, status: 0 });
  });

  it('keeps cancel, error and status', () => {
    expect(decodeResult(Kind.connect, { shouldCancel: true, error: 'no', status: 401 }))
      .toEqual({ cancel: true, error: 'no', status: 401 });
  });

  it('encodes modifiedEvent per event kind', () => {
    expect(decodeResult(Kind.message, { modifiedEvent: { data: 'text' } }).modified).toBe('text');
    expect(decodeResult(Kind.message, { modifiedEvent: { data: { type: 'x' } } }).modified).toBe('{"type":"x"}');
    expect(decodeResult(Kind.welcome, { modifiedEvent: { type: 'welcome', a: 1 } }).modified).toBe('{"type":"welcome","a":1}');
    expect(decodeResult(Kind.connect, { modifiedEvent: { client_id: 'u1', metadata: { role: 'admin' } } }))
      .toMatchObject({ clientId: 'u1', modified: '{"role":"admin"}' });
    expect(decodeResult(Kind.ping, { modifiedEvent: { data: 'ignored' } }).modified).toBeUndefined();
  });

  it('rejects malformed results with a clear message', () => {
    expect(() => decodeResult(Kind.message, 42)).toThrow(/must be an object/);
    expect(() => decodeResult(Kind.message, { shouldCancel: 1 })).toThrow(/shouldCancel must be a boolean/);
    expect(() => decodeResult(Kind.message, { error: 5 })).toThrow(/error must be a string/);
    expect(() => decodeResult(Kind.connect, { status: 200 })).toThrow(/status must be an integer from 400 to 599/);
    expect(() => decodeResult(Kind.message, { modifiedEvent: 'x' })).toThrow(/modifiedEvent must be an object/);
    expect(() => decodeResult(Kind.message, { modifiedEvent: { data: 5 } })).toThrow(/data must be a string or an object/);
    expect(() => decodeResult(Kind.connect, { modifiedEvent: { client_id: '' } })).toThrow(/client_id/);
  });
});

describe('toEvents', () => {
  it('rebuilds a batch from its flat columns, holes as absent fields and extras merged', () => {
    const nums = new Float64Array([Kind.message, 7, 0, 1000, Kind.close, 8, 1, 2000]);
    const strs: Array<string | undefined> = new Array(8);
    strs[0] = 'c1';
    strs[1] = 'alice';
    strs[2] = '/chat';
    strs[3] = '{"type":"x"}';
    strs[4] = 'c2';
    strs[6] = '/chat';
    const extras = [undefined, { code: 1001, reason: 'bye' }];
    const [message, close] = toEvents(nums, strs, extras);
    expect(message).toEqual({ kind: Kind.message, id: 7, route: 0, time: 1000, connectionId: 'c1', clientId: 'alice',
      path: '/chat', data: '{"type":"x"}' });
    expect(close).toMatchObject({ kind: Kind.close, id: 8, route: 1, time: 2000, connectionId: 'c2', path: '/chat',
      code: 1001, reason: 'bye' });
    expect(close.clientId).toBeUndefined();
    expect(close.data).toBeUndefined();
    expect(toEvents(new Float64Array(0), [], undefined)).toEqual([]);
  });
});
