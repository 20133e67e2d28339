import { WsDispatcher, decodeResult } from '../../lib/events';
import { Kind, NativeApp, eventAt } from '../../lib/native';

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

describe('eventAt', () => {
  it('rebuilds one event from the flat columns, holes as absent fields and extras merged', () => {
    const nums = new Float64Array([Kind.message, 7, 0, 1000, Kind.close, 8, 1, 2000]);
    const strs: Array<string | undefined> = new Array(8);
    strs[0] = 'c1';
    strs[1] = 'alice';
    strs[2] = '/chat';
    strs[3] = '{"type":"x"}';
    strs[4] = 'c2';
    strs[6] = '/chat';
    const extras = [undefined, { code: 1001, reason: 'bye' }];
    expect(eventAt(nums, strs, extras, 0)).toEqual({ kind: Kind.message, id: 7, route: 0, time: 1000, connectionId: 'c1',
      clientId: 'alice', path: '/chat', data: '{"type":"x"}' });
    const close = eventAt(nums, strs, extras, 1);
    expect(close).toMatchObject({ kind: Kind.close, id: 8, route: 1, time: 2000, connectionId: 'c2', path: '/chat',
      code: 1001, reason: 'bye' });
    expect(close.clientId).toBeUndefined();
    expect(close.data).toBeUndefined();
  });
});

describe('WsDispatcher', () => {
  /** A dispatcher over one route whose verdicts are recorded instead of sent. */
  function dispatcher(options: Record<string, unknown>) {
    const completed: unknown[][] = [];
    const app = {
      complete: (...args: unknown[]) => completed.push(args),
      completeMany: (plain: Float64Array, verdicts: unknown[], cancelled: Float64Array) =>
        completed.push([...plain], verdicts, [...cancelled]),
    } as unknown as NativeApp;
    const ws = new WsDispatcher(() => app, [{ id: 3, idText: '3', path: '/chat', options }], () => 1000, () => undefined);
    return { ws, completed };
  }

  it('builds each event straight from the columns, with its kind\'s fields', () => {
    const seen: Array<Record<string, unknown>> = [];
    const { ws, completed } = dispatcher({
      onMessageAck: (e: Record<string, unknown>) => void seen.push(e),
      onClose: (e: Record<string, unknown>) => void seen.push(e),
    });
    const nums = new Float64Array([Kind.messageAck, 5, 0, Date.UTC(2026, 0, 2), Kind.close, 0, 0, Date.UTC(2026, 0, 2)]);
    const strs = ['c1', 'alice', '/chat', '{"type":"message_ack","message_id":"m1"}', 'c1', undefined, '/chat', undefined];
    ws.beginBatch();
    ws.handle(nums, strs, undefined, 0);
    ws.handle(nums, strs, { code: 1000, reason: 'done' }, 1);
    ws.endBatch();
    expect(seen[0]).toEqual({ type: 'message_ack', connectionId: 'c1', connection_id: 'c1', client_id: 'alice', path: '/chat',
      handlerId: '3', timestamp: '2026-01-02T00:00:00.000Z', data: { type: 'message_ack', message_id: 'm1' } });
    expect(seen[1]).toMatchObject({ type: 'close', connectionId: 'c1', client_id: '', code: 1000, reason: 'done' });
    // One call for the batch: the ack went on unchanged; the close awaited no verdict.
    expect(completed).toEqual([[5], [], []]);
  });

  it('sorts a batch\'s verdicts into unchanged, silently cancelled and the rest', () => {
    const results: unknown[] = [undefined, { shouldCancel: true }, { shouldCancel: true, error: 'no' }, { modifiedEvent: { data: 'x' } }];
    let at = 0;
    const { ws, completed } = dispatcher({ onMessage: () => results[at++] });
    const nums = new Float64Array([1, 2, 3, 4].flatMap((id) => [Kind.message, id, 0, 0]));
    const strs = [1, 2, 3, 4].flatMap((id) => [`c${id}`, undefined, '/chat', 'text']);
    ws.beginBatch();
    for (let i = 0; i < 4; i++) ws.handle(nums, strs, undefined, i);
    ws.endBatch();
    expect(completed).toEqual([[1], [3, true, 'no', 0, undefined, undefined, undefined, 4, false, undefined, 0, 'x', undefined, undefined], [2]]);
  });

  it('gives onRoomMessage the frame as it came, whatever onMessage did to its own event', () => {
    let room: Record<string, unknown> | undefined;
    const { ws, completed } = dispatcher({
      onMessage: (e: Record<string, unknown>) => {
        e.data = 'changed';
        e.client_id = 'mallory';
      },
      onRoomMessage: (e: Record<string, unknown>) => {
        room = e;
        return { shouldCancel: true };
      },
    });
    const frame = '{"type":"room_message","room_id":"r1","message":"hi"}';
    ws.handle(new Float64Array([Kind.message, 9, 0, 0]), ['c1', 'alice', '/chat', frame], { roomId: 'r1', message: 'hi' }, 0);
    expect(room).toMatchObject({ type: 'room_message', room_id: 'r1', message: 'hi', from_client_id: 'alice',
      client_id: 'alice', data: frame });
    expect(completed).toEqual([[9, true, undefined, 0, undefined, undefined, undefined]]);
  });
});
