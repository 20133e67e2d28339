/**
 * RFC 6455 behaviour of the server's own frame reader and writer.
 */
import { App } from '../../lib';
import { RawClient, closePayload } from '../raw-ws';
import { startApp } from '../helpers';

const TEXT = 1;
const BINARY = 2;
const CONT = 0;
const CLOSE = 8;
const PING = 9;
const PONG = 10;

describe('RFC 6455 conformance', () => {
  let app: App;
  let port: number;
  const maxPayload = 8 * 1024 * 1024;

  beforeAll(async () => {
    let echo: App;
    const started = await startApp((a) => {
      echo = a;
      a.websocket('/ws', {
        onWelcome: () => undefined,
        onMessage: (e) => (echo.send(e.connectionId, e.data as string), { shouldCancel: true }),
        onBinaryMessage: (e) => void echo.send(e.connectionId, e.data as Buffer),
      });
    }, { maxPayload });
    app = started.app;
    port = started.port;
  });
  afterAll(() => app.close());

  it('reassembles a 4 MB message sent in 64-byte fragments', async () => {
    const c = await RawClient.open(port);
    const message = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < message.length; i++) message[i] = 97 + (i % 26);
    const frames: Buffer[] = [];
    for (let off = 0; off < message.length; off += 64) {
      const last = off + 64 >= message.length;
      frames.push(encodeChunk(off === 0 ? TEXT : CONT, message.subarray(off, off + 64), last));
    }
    c.write(Buffer.concat(frames));
    const echoed = await readMessage(c, 20000);
    expect(echoed.opcode).toBe(TEXT);
    expect(echoed.payload.equals(message)).toBe(true);
    c.destroy();
  }, 60000);

  it('answers pings interleaved inside a fragmented message', async () => {
    const c = await RawClient.open(port);
    c.send(TEXT, 'hel', { fin: false });
    c.send(PING, 'are you there');
    c.send(CONT, 'lo', { fin: false });
    c.send(PING, 'still');
    c.send(CONT, ' world');
    const pong1 = await c.readFrame();
    expect(pong1).toMatchObject({ opcode: PONG });
    expect(pong1.payload.toString()).toBe('are you there');
    expect((await c.readFrame()).payload.toString()).toBe('still');
    const echo = await c.readFrame();
    expect(echo.opcode).toBe(TEXT);
    expect(echo.payload.toString()).toBe('hello world');
    c.destroy();
  });

  it('accepts UTF-8 sequences split across fragments', async () => {
    const c = await RawClient.open(port);
    const text = Buffer.from('é€𝄞 ok');
    // Split inside the 2-, 3- and 4-byte sequences.
    c.send(TEXT, text.subarray(0, 1), { fin: false });
    c.send(CONT, text.subarray(1, 3), { fin: false });
    c.send(CONT, text.subarray(3, 7), { fin: false });
    c.send(CONT, text.subarray(7));
    const echo = await c.readFrame();
    expect(echo.payload.equals(text)).toBe(true);
    c.destroy();
  });

  it('echoes a valid close code and ends the TCP connection', async () => {
    const c = await RawClient.open(port);
    c.send(CLOSE, closePayload(4321, 'done here'));
    const f = await c.readFrame();
    expect(f.opcode).toBe(CLOSE);
    expect(f.payload.readUInt16BE(0)).toBe(4321);
    await c.tcpClosed();
  });

  it('echoes text and binary unchanged up to maxPayload and closes with 1009 past it', async () => {
    const c = await RawClient.open(port);
    const bin = Buffer.alloc(maxPayload, 0xab);
    c.send(BINARY, bin);
    const echo = await readMessage(c, 20000);
    expect(echo.opcode).toBe(BINARY);
    expect(echo.payload.equals(bin)).toBe(true);
    const text = Buffer.alloc(maxPayload, 0x7a);
    c.send(TEXT, text);
    expect((await readMessage(c, 20000)).payload.equals(text)).toBe(true);
    // The length header alone already says too much: the server refuses without reading on.
    c.send(BINARY, Buffer.alloc(16), { length: BigInt(maxPayload + 1) });
    expect(await c.closeCode(20000)).toBe(1009);
    c.destroy();
  }, 60000);
});

function encodeChunk(opcode: number, payload: Buffer, fin: boolean): Buffer {
  // Same as encodeFrame but fixed mask, for speed across 65,536 frames.
  const head = Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | payload.length, 1, 2, 3, 4]);
  const masked = Buffer.alloc(payload.length);
  const key = [1, 2, 3, 4];
  for (let i = 0; i < payload.length; i++) masked[i] = payload[i] ^ key[i & 3];
  return Buffer.concat([head, masked]);
}

/** Reads frames until a complete message (joining continuation frames). */
async function readMessage(c: RawClient, timeoutMs: number): Promise<{ opcode: number; payload: Buffer }> {
  const first = await c.readFrame(timeoutMs);
  const parts = [first.payload];
  let fin = first.fin;
  while (!fin) {
    const next = await c.readFrame(timeoutMs);
    parts.push(next.payload);
    fin = next.fin;
  }
  return { opcode: first.opcode, payload: Buffer.concat(parts) };
}
