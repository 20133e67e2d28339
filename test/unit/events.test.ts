import { decodeResult } from '../../lib/events';
import { Kind } from '../../lib/native';

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
