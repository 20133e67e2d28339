/**
 * A catalogue of malformed input at the HTTP, handshake, frame and JSON levels. Each gets
 * its documented answer or close code; afterwards the server and a bystander connection
 * still work, and a second pass over the whole catalogue does not grow memory.
 */
import { App } from '../../lib';
import { RawClient, closePayload, encodeFrame } from '../raw-ws';
import { Client, connect, rawHttp, startApp, until } from '../helpers';

type Case = { name: string; run: () => Promise<void> };

let app: App;
let port: number;
let bystander: Client;

/** Raw bytes on a fresh TCP connection; resolves with the response head (or '' when closed). */
const http = (bytes: string | Buffer) => rawHttp(port, bytes, { untilHead: true });

const status = (response: string) => Number(response.split(' ')[1]);

function httpCase(name: string, bytes: string, expected: number): Case {
  return { name: `HTTP: ${name} -> ${expected}`, run: async () => expect(status(await http(bytes))).toBe(expected) };
}

function upgrade(headers: Record<string, string>, path = '/ws'): Promise<{ client: RawClient; status: number; head: string }> {
  return RawClient.connect(port, path, headers);
}

function frameCase(name: string, bytes: () => Buffer, expected: number): Case {
  return {
    name: `frame: ${name} -> close ${expected}`,
    run: async () => {
      const c = await RawClient.open(port);
      c.write(bytes());
      expect(await c.closeCode()).toBe(expected);
      c.destroy();
    },
  };
}

function jsonCase(name: string, frame: string, errorType: string): Case {
  return {
    name: `JSON: ${name} -> ${errorType}`,
    run: async () => {
      const c = await RawClient.open(port);
      c.send(1, frame);
      const reply = JSON.parse((await c.readFrame()).payload.toString());
      expect(reply).toMatchObject({ type: 'error', error_type: errorType });
      // The connection stays open and usable.
      c.send(1, '{"type":"ping"}');
      expect(JSON.parse((await c.readFrame()).payload.toString()).type).toBe('pong');
      c.destroy();
    },
  };
}

const ws = (s: string) => s; // marks a WebSocket text payload in the table below

const cases: Case[] = [
  httpCase('garbage request line', 'GARBAGE\r\n\r\n', 400),
  httpCase('unknown HTTP version', 'GET / HTTP/9.9\r\nHost: x\r\n\r\n', 400),
  httpCase('header without a colon', 'GET / HTTP/1.1\r\nHost: x\r\nBadHeader\r\n\r\n', 400),
  httpCase('oversized headers', `GET / HTTP/1.1\r\nHost: x\r\nX-A: ${'a'.repeat(20000)}\r\n\r\n`, 431),
  httpCase('declared body over the limit', 'POST /api/rooms HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n', 413),
  httpCase('non-numeric Content-Length', 'POST /api/rooms HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', 400),
  httpCase('bad chunk size', 'POST /api/rooms HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400),
  httpCase('invalid percent-encoding in the target', 'GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n', 400),
  httpCase('NUL in a header value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n', 400),
  httpCase('REST body that is not JSON', 'POST /api/rooms HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello', 400),
  httpCase('REST body that is an array', 'POST /api/rooms HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n[1]', 400),
  httpCase('REST join with a numeric connectionId', 'POST /api/rooms/room_x/join HTTP/1.1\r\nHost: x\r\nContent-Length: 18\r\n\r\n{"connectionId":5}', 400),
  {
    name: 'handshake: no Sec-WebSocket-Key -> 400',
    run: async () => expect((await upgrade({ 'Sec-WebSocket-Key': '' })).status).toBe(400),
  },
  {
    name: 'handshake: unsupported version -> 426 naming 13',
    run: async () => {
      const r = await upgrade({ 'Sec-WebSocket-Version': '12' });
      expect(r.status).toBe(426);
      expect(r.head).toMatch(/Sec-WebSocket-Version: 13/i);
    },
  },
  { name: 'handshake: unknown path -> 404', run: async () => expect((await upgrade({}, '/nowhere')).status).toBe(404) },
  {
    name: 'handshake: no Connection: Upgrade -> 404 (a plain request)',
    run: async () => expect((await upgrade({ Connection: 'keep-alive' })).status).toBe(404),
  },
  frameCase('unmasked client frame', () => encodeFrame(1, 'hi', { mask: false }), 1002),
  frameCase('reserved data opcode 3', () => encodeFrame(3, 'x'), 1002),
  frameCase('reserved control opcode 0xB', () => encodeFrame(0xb, 'x'), 1002),
  frameCase('RSV1 without an extension', () => encodeFrame(1, 'x', { rsv: 4 }), 1002),
  frameCase('fragmented control frame', () => encodeFrame(9, 'x', { fin: false }), 1002),
  frameCase('control frame over 125 bytes', () => encodeFrame(9, Buffer.alloc(126)), 1002),
  frameCase('continuation without a start', () => encodeFrame(0, 'x'), 1002),
  frameCase('new message inside a fragmented one', () => Buffer.concat([encodeFrame(1, 'a', { fin: false }), encodeFrame(1, 'b')]), 1002),
  frameCase('invalid close code 999', () => encodeFrame(8, closePayload(999)), 1002),
  frameCase('reserved close code 1005', () => encodeFrame(8, closePayload(1005)), 1002),
  frameCase('close payload of one byte', () => encodeFrame(8, Buffer.from([3])), 1002),
  frameCase('invalid UTF-8 in a text frame', () => encodeFrame(1, Buffer.from([0xff, 0xfe])), 1007),
  // A close frame whose reason is not UTF-8 fails the connection as a protocol error.
  frameCase('invalid UTF-8 in a close reason', () => encodeFrame(8, Buffer.concat([closePayload(1000), Buffer.from([0xc3, 0x28])])), 1002),
  frameCase('length far over maxPayload', () => encodeFrame(2, Buffer.alloc(4), { length: 2n ** 62n }), 1009),
  {
    name: 'frame: truncated frame then end of stream -> connection closed, nothing else',
    run: async () => {
      const c = await RawClient.open(port);
      c.write(encodeFrame(1, 'hello world').subarray(0, 5));
      c.socket.end();
      await c.tcpClosed();
    },
  },
  jsonCase('not JSON', ws('{"type":'), 'invalid_format'),
  jsonCase('an array', ws('[1,2]'), 'invalid_format'),
  jsonCase('null', ws('null'), 'invalid_format'),
  jsonCase('a number', ws('42'), 'invalid_format'),
  jsonCase('no type', ws('{"room_id":"x"}'), 'invalid_format'),
  jsonCase('a numeric type', ws('{"type":7}'), 'invalid_format'),
  {
    name: 'JSON: a number too large for a double -> acknowledged with the text as received',
    run: async () => {
      const c = await RawClient.open(port);
      const text = '{"type":"x","n":1e999999,"m":-1e999999,"i":123456789012345678901234567890}';
      c.send(1, text);
      expect(JSON.parse((await c.readFrame()).payload.toString())).toMatchObject({ type: 'message_ack', message: text });
      c.destroy();
    },
  },
  jsonCase('nesting 10,000 deep', ws(`{"type":"x","d":${'['.repeat(10000)}${']'.repeat(10000)}}`), 'invalid_format'),
  jsonCase('room_id of the wrong type', ws('{"type":"join_room","room_id":5}'), 'room_join_error'),
  jsonCase('join of an unknown room', ws('{"type":"join_room","room_id":"room_nope"}'), 'room_join_error'),
  jsonCase('message to a room it is not in', ws('{"type":"room_message","room_id":"room_nope","message":"x"}'), 'not_in_room'),
  jsonCase('room_message without a message', ws('{"type":"room_message","room_id":"r"}'), 'invalid_format'),
  jsonCase('direct_message without a target', ws('{"type":"direct_message","message":"x"}'), 'invalid_format'),
  jsonCase('direct_message to nobody', ws('{"type":"direct_message","target_client_id":"ghost","message":"x"}'), 'client_not_found'),
  jsonCase('presence_list without room_id', ws('{"type":"presence_list"}'), 'room_not_found'),
  jsonCase('leave of a room it is not in', ws('{"type":"leave_room","room_id":"room_nope"}'), 'room_leave_error'),
  {
    name: 'JSON: thousands of joins -> each answered, all cleaned up on close',
    run: async () => {
      const ids = Array.from({ length: 2000 }, (_, i) => app.createRoom(`bulk-${i}`));
      const c = await RawClient.open(port);
      c.write(Buffer.concat(ids.map((id) => encodeFrame(1, JSON.stringify({ type: 'join_room', room_id: id })))));
      for (let i = 0; i < ids.length; i++) expect(JSON.parse((await c.readFrame()).payload.toString()).type).toBe('room_joined');
      c.destroy();
      await until(() => ids.every((id) => app.getRoomInfo(id)!.connectionsCount === 0), 10000, 'bulk rooms to empty');
      for (const id of ids) app.deleteRoom(id);
    },
  },
];

describe('malformed input catalogue', () => {
  beforeAll(async () => {
    const started = await startApp((a) => a.websocket('/ws').enableRoomApi('/api'), { maxBodySize: 4096, logLevel: 'silent', maxRoomsPerConnection: 0 });
    app = started.app;
    port = started.port;
    bystander = (await connect(`ws://${started.url}/ws`)).client;
  });
  afterAll(async () => {
    bystander.close();
    await app.close();
  });

  for (const c of cases) {
    it(c.name, async () => {
      await c.run();
      // The server and the other connection keep working.
      bystander.send({ type: 'ping' });
      expect((await bystander.nextOfType('pong')).type).toBe('pong');
    });
  }

  it('does not grow memory over a second pass of the whole catalogue', async () => {
    const rss = () => process.memoryUsage().rss;
    for (const c of cases) await c.run();
    global.gc?.();
    const before = rss();
    for (const c of cases) await c.run();
    global.gc?.();
    const growth = rss() - before;
    expect(growth).toBeLessThan(32 * 1024 * 1024);
    expect(app.getWebSocketConnections()).toBe(1);
  }, 120000);
});
