/**
 * permessage-deflate (RFC 7692): the negotiation of every parameter, compressed frames
 * both ways (whole, fragmented, with and without context takeover), the threshold, the
 * shared compression of a room's fan-out, and the limits on what a client may send.
 */
import * as crypto from 'crypto';
import * as zlib from 'zlib';
import WebSocket from 'ws';
import { App } from '../../lib';
import { Frame, RawClient } from '../raw-ws';
import { startApp } from '../helpers';

const TEXT = 1;
const BINARY = 2;
const CONT = 0;
const RSV1 = 4;
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const maxPayload = 64 * 1024;

/** One message compressed alone, as a client without context takeover sends it. */
function deflateAlone(data: Buffer | string, windowBits = 15): Buffer {
  const out = zlib.deflateRawSync(Buffer.from(data), { finishFlush: zlib.constants.Z_SYNC_FLUSH, windowBits });
  return out.subarray(0, out.length - 4);
}

/** A payload from the server, inflated alone with `windowBits`. */
function inflateAlone(payload: Buffer, windowBits = 15): Buffer {
  return zlib.inflateRawSync(Buffer.concat([payload, TAIL]), { finishFlush: zlib.constants.Z_SYNC_FLUSH, windowBits });
}

/** A zlib stream kept across messages: context takeover. */
function streaming(z: zlib.DeflateRaw | zlib.InflateRaw, tail: boolean): (data: Buffer) => Promise<Buffer> {
  return (data) => new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const take = (c: Buffer): void => void chunks.push(c);
    z.on('data', take);
    z.write(tail ? Buffer.concat([data, TAIL]) : data);
    z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      z.off('data', take);
      const out = Buffer.concat(chunks);
      resolve(tail ? out : out.subarray(0, out.length - 4));
    });
  });
}

/** Text that compresses well and is over the default threshold. */
function bigText(seed: string, size = 4000): string {
  return JSON.stringify({ type: 'update', seed, rows: Array.from({ length: size / 40 }, (_, i) => ({ id: i, name: `row ${i}` })) }).slice(0, size);
}

async function upgrade(port: number, path: string, extensions?: string): Promise<{ client: RawClient; head: string; extension: string | undefined }> {
  const { client, status, head } = await RawClient.connect(port, path, extensions === undefined ? {} : { 'Sec-WebSocket-Extensions': extensions });
  if (status !== 101) throw new Error(`upgrade refused with ${status}`);
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith('sec-websocket-extensions:'));
  await client.readFrame();  // the welcome
  return { client, head, extension: line?.slice(line.indexOf(':') + 1).trim() };
}

describe('permessage-deflate', () => {
  let app: App;
  let port: number;

  beforeAll(async () => {
    let a!: App;
    const echo = {
      onMessage: (e: { connectionId: string; data: unknown }) => (a.send(e.connectionId, e.data as string), { shouldCancel: true }),
      onBinaryMessage: (e: { connectionId: string; data: unknown }) => void a.send(e.connectionId, e.data as Buffer),
    };
    const started = await startApp((x) => {
      a = x;
      x.websocket('/shared', { compression: 'shared', ...echo });
      x.websocket('/dedicated', { compression: 'dedicated', ...echo });
      x.websocket('/plain', { ...echo });
      x.websocket('/off', { compression: false, ...echo });
      x.websocket('/all', { compression: 'shared', compressionThreshold: 0, ...echo });
      x.websocket('/room', { compression: 'shared', autoCreateRooms: true });
    }, { maxPayload });
    app = started.app;
    port = started.port;
  });
  afterAll(() => app.close());

  describe('negotiation', () => {
    it.each([
      ['/shared', 'permessage-deflate', 'permessage-deflate; server_no_context_takeover; client_no_context_takeover'],
      ['/dedicated', 'permessage-deflate', 'permessage-deflate'],
      ['/dedicated', 'permessage-deflate; client_no_context_takeover', 'permessage-deflate; client_no_context_takeover'],
      ['/dedicated', 'permessage-deflate; server_no_context_takeover', 'permessage-deflate; server_no_context_takeover'],
      ['/dedicated', 'permessage-deflate; server_max_window_bits=10', 'permessage-deflate; server_max_window_bits=10'],
      ['/dedicated', 'permessage-deflate; server_max_window_bits="12"', 'permessage-deflate; server_max_window_bits=12'],
      ['/shared', 'permessage-deflate; client_max_window_bits', 'permessage-deflate; server_no_context_takeover; client_no_context_takeover'],
      ['/shared', 'permessage-deflate; client_max_window_bits=9', 'permessage-deflate; server_no_context_takeover; client_no_context_takeover'],
      // The first acceptable offer wins; the declined ones before it are skipped.
      ['/dedicated', 'permessage-deflate; unknown_param, permessage-deflate; server_max_window_bits=11', 'permessage-deflate; server_max_window_bits=11'],
      ['/dedicated', 'x-webkit-deflate-frame, permessage-deflate', 'permessage-deflate'],
    ])('%s answers the offer "%s" with "%s"', async (path, offer, answer) => {
      const { client, extension } = await upgrade(port, path, offer);
      expect(extension).toBe(answer);
      client.destroy();
    });

    it.each([
      'permessage-deflate; unknown_param',
      'permessage-deflate; server_no_context_takeover; server_no_context_takeover',
      'permessage-deflate; server_no_context_takeover=1',
      'permessage-deflate; server_max_window_bits',
      'permessage-deflate; server_max_window_bits=16',
      'permessage-deflate; server_max_window_bits=08',
      'permessage-deflate; server_max_window_bits=8',
      'permessage-deflate; client_max_window_bits=7',
      'x-webkit-deflate-frame',
    ])('declines the offer "%s" and accepts the connection uncompressed', async (offer) => {
      const { client, extension } = await upgrade(port, '/dedicated', offer);
      expect(extension).toBeUndefined();
      const text = bigText('plain');
      client.send(TEXT, text);
      const f = await client.readFrame();
      expect(f.rsv).toBe(0);
      expect(f.payload.toString()).toBe(text);
      client.destroy();
    });

    it.each(['/plain', '/off'])('a route %s without compression answers no extension, and fails RSV1 with 1002', async (path) => {
      const { client, extension } = await upgrade(port, path, 'permessage-deflate');
      expect(extension).toBeUndefined();
      client.send(TEXT, deflateAlone('hello'), { rsv: RSV1 });
      expect(await client.closeCode()).toBe(1002);
      client.destroy();
    });
  });

  describe('frames', () => {
    it('inflates a compressed text and a compressed binary message', async () => {
      const { client } = await upgrade(port, '/shared', 'permessage-deflate');
      const text = bigText('in');
      client.send(TEXT, deflateAlone(text), { rsv: RSV1 });
      const echoed = await client.readFrame();
      expect(echoed.rsv).toBe(RSV1);
      expect(inflateAlone(echoed.payload).toString()).toBe(text);
      const bytes = Buffer.alloc(3000, 7);
      client.send(BINARY, deflateAlone(bytes), { rsv: RSV1 });
      const back = await client.readFrame();
      expect(back.opcode).toBe(BINARY);
      expect(inflateAlone(back.payload).equals(bytes)).toBe(true);
      client.destroy();
    });

    it('inflates a compressed message sent in fragments (RSV1 on the first only), with an uncompressed one between messages', async () => {
      const { client } = await upgrade(port, '/shared', 'permessage-deflate');
      const text = bigText('fragments');
      const packed = deflateAlone(text);
      const cut = [0, 5, Math.floor(packed.length / 2), packed.length];
      for (let i = 0; i < 3; i++) {
        client.send(i === 0 ? TEXT : CONT, packed.subarray(cut[i], cut[i + 1]), { fin: i === 2, rsv: i === 0 ? RSV1 : 0 });
      }
      client.send(TEXT, 'short and plain');
      const first = await client.readFrame();
      expect(inflateAlone(first.payload).toString()).toBe(text);
      const second = await client.readFrame();
      expect(second.rsv).toBe(0);
      expect(second.payload.toString()).toBe('short and plain');
      client.destroy();
    });

    it('a client stream that ends with a final block is read, and the next message too', async () => {
      const { client } = await upgrade(port, '/shared', 'permessage-deflate');
      const text = bigText('final');
      client.send(TEXT, zlib.deflateRawSync(Buffer.from(text)), { rsv: RSV1 });  // BFINAL set, no flush tail
      client.send(TEXT, deflateAlone(text), { rsv: RSV1 });
      expect(inflateAlone((await client.readFrame()).payload).toString()).toBe(text);
      expect(inflateAlone((await client.readFrame()).payload).toString()).toBe(text);
      client.destroy();
    });

    it('sends messages under the threshold uncompressed, and compresses the rest', async () => {
      const { client } = await upgrade(port, '/shared', 'permessage-deflate');
      const small = 'x'.repeat(1023);
      const large = 'x'.repeat(1024);
      client.send(TEXT, small);
      client.send(TEXT, large);
      const a = await client.readFrame();
      const b = await client.readFrame();
      expect([a.rsv, a.payload.toString()]).toEqual([0, small]);
      expect(b.rsv).toBe(RSV1);
      expect(b.payload.length).toBeLessThan(100);
      expect(inflateAlone(b.payload).toString()).toBe(large);
      client.destroy();
    });

    it('with compressionThreshold 0 even a short message is compressed when that makes it smaller, and sent as it is otherwise', async () => {
      const { client } = await upgrade(port, '/all', 'permessage-deflate');
      client.send(TEXT, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');
      client.send(TEXT, 'q7');
      const a = await client.readFrame();
      expect(a.rsv).toBe(RSV1);
      expect(inflateAlone(a.payload).toString()).toBe('a'.repeat(40));
      const b = await client.readFrame();
      expect([b.rsv, b.payload.toString()]).toEqual([0, 'q7']);
      client.destroy();
    });

    it('shared: every message is compressed alone (server_no_context_takeover)', async () => {
      const { client } = await upgrade(port, '/shared', 'permessage-deflate');
      const text = bigText('alone');
      client.send(TEXT, text);
      client.send(TEXT, text);
      const a = await client.readFrame();
      const b = await client.readFrame();
      expect(b.payload.equals(a.payload)).toBe(true);
      expect(inflateAlone(b.payload).toString()).toBe(text);
      client.destroy();
    });

    it('dedicated: context takeover both ways (the second identical message is a back-reference)', async () => {
      const { client } = await upgrade(port, '/dedicated', 'permessage-deflate');
      const deflate = streaming(zlib.createDeflateRaw(), false);
      const inflate = streaming(zlib.createInflateRaw(), true);
      const text = bigText('takeover');
      for (let i = 0; i < 2; i++) client.send(TEXT, await deflate(Buffer.from(text)), { rsv: RSV1 });
      const a = await client.readFrame();
      const b = await client.readFrame();
      expect([a.rsv, b.rsv]).toEqual([RSV1, RSV1]);
      expect(b.payload.length).toBeLessThan(a.payload.length / 4);
      expect((await inflate(a.payload)).toString()).toBe(text);
      expect((await inflate(b.payload)).toString()).toBe(text);
      // Alone, the second cannot be inflated: it refers to the first.
      expect(() => inflateAlone(b.payload)).toThrow();
      client.destroy();
    });

    it('server_max_window_bits bounds how far back the server refers', async () => {
      // 3000 random bytes twice: the repeat is a reference 3000 bytes back, which a
      // 1,024-byte window cannot make, so the message compresses to about twice the size.
      const chunk = crypto.randomBytes(3000);
      const bytes = Buffer.concat([chunk, chunk]);
      const sizes: number[] = [];
      for (const offer of ['permessage-deflate; server_max_window_bits=10', 'permessage-deflate']) {
        const { client } = await upgrade(port, '/dedicated', offer);
        client.send(BINARY, bytes);
        const f = await client.readFrame();
        expect(inflateAlone(f.payload).equals(bytes)).toBe(true);
        sizes.push(f.payload.length);
        client.destroy();
      }
      expect(sizes[0]).toBeGreaterThan(5500);
      expect(sizes[1]).toBeLessThan(3500);
    });
  });

  describe('bad input', () => {
    it('a decompression bomb closes with 1009', async () => {
      const { client } = await upgrade(port, '/shared', 'permessage-deflate');
      const bomb = deflateAlone(Buffer.alloc(64 * 1024 * 1024));  // 64 MiB of zeros in ~64 KiB
      expect(bomb.length).toBeLessThan(maxPayload);
      client.send(BINARY, bomb, { rsv: RSV1 });
      expect(await client.closeCode()).toBe(1009);
      client.destroy();
    });

    it('a message inflating to exactly maxPayload is taken', async () => {
      const { client } = await upgrade(port, '/shared', 'permessage-deflate');
      const bytes = Buffer.alloc(maxPayload, 1);
      client.send(BINARY, deflateAlone(bytes), { rsv: RSV1 });
      const f = await client.readFrame();
      expect(inflateAlone(f.payload).equals(bytes)).toBe(true);
      client.destroy();
    });

    it.each([
      ['data that is not deflate', () => Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00]), TEXT, {}, 1007],
      ['text that inflates to invalid UTF-8', () => deflateAlone(Buffer.from([0x68, 0xc3, 0x28])), TEXT, {}, 1007],
      ['RSV1 on a continuation frame', () => deflateAlone('x'), CONT, {}, 1002],
      ['RSV2', () => Buffer.from('x'), TEXT, { rsv: 2 }, 1002],
      ['RSV1 on a ping', () => Buffer.from('x'), 9, {}, 1002],
    ] as Array<[string, () => Buffer, number, { rsv?: number }, number]>)('%s closes the connection', async (_name, payload, opcode, o, code) => {
      const { client } = await upgrade(port, '/shared', 'permessage-deflate');
      if (opcode === CONT) client.send(TEXT, deflateAlone('start'), { fin: false, rsv: RSV1 });
      client.send(opcode, payload(), { rsv: o.rsv ?? RSV1 });
      expect(await client.closeCode()).toBe(code);
      client.destroy();
    });
  });

  it('a room message is compressed once per thread: members get the same bytes, a member without deflate the message as it is', async () => {
    const members: Array<{ client: RawClient; compressed: boolean }> = [];
    for (let i = 0; i < 6; i++) {
      const compressed = i !== 5;
      const { client } = await upgrade(port, '/room', compressed ? 'permessage-deflate' : undefined);
      client.send(TEXT, JSON.stringify({ type: 'join_room', room_id: 'deflated' }));
      let f: Frame;
      do f = await client.readFrame(); while (!JSON.parse(readText(f)).type.startsWith('room_joined'));
      members.push({ client, compressed });
    }
    const message = bigText('fan-out');
    app.sendRoomMessage('deflated', message);
    const seen: Buffer[] = [];
    for (const m of members) {
      let f: Frame;
      let body: { type: string; message?: string };
      do {
        f = await m.client.readFrame();
        body = JSON.parse(readText(f));
      } while (body.type !== 'room_message');
      expect(body.message).toBe(message);
      expect(f.rsv).toBe(m.compressed ? RSV1 : 0);
      if (m.compressed) seen.push(f.payload);
      m.client.destroy();
    }
    for (const p of seen) expect(p.equals(seen[0])).toBe(true);
  });

  // In the manner of Autobahn's groups 12 and 13: many messages of varied sizes and
  // content, echoed, under each combination of parameters a client may ask for.
  it.each([
    ['shared', {}],
    ['shared', { serverMaxWindowBits: 9, clientMaxWindowBits: 9 }],
    ['dedicated', {}],
    ['dedicated', { serverNoContextTakeover: true }],
    ['dedicated', { clientNoContextTakeover: true }],
    ['dedicated', { serverNoContextTakeover: true, clientNoContextTakeover: true }],
    ['dedicated', { serverMaxWindowBits: 9 }],
    ['dedicated', { serverMaxWindowBits: 12, clientMaxWindowBits: 10 }],
  ] as Array<[string, Record<string, unknown>]>)('echoes 60 varied messages exactly on a %s route with client options %j', async (mode, params) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/${mode}`, { perMessageDeflate: { threshold: 0, ...params } });
    const got: Array<{ data: Buffer; binary: boolean }> = [];
    ws.on('message', (d: Buffer, binary: boolean) => got.push({ data: d, binary }));
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    const sent: Array<{ data: Buffer; binary: boolean }> = [];
    let seed = 1;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    for (let i = 0; i < 60; i++) {
      const size = [0, 1, 125, 126, 1023, 1024, 4096, 20000][rand(8)];
      const binary = i % 2 === 1;
      const data = binary ? crypto.randomBytes(size)
        : Buffer.from(Array.from({ length: size }, () => 'ab cd éf\u{1F600}'[rand(8)]).join('').slice(0, size));
      sent.push({ data, binary });
      ws.send(data, { binary });
    }
    const deadline = Date.now() + 10000;
    while (got.length < sent.length + 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const echoes = got.slice(1);  // after the welcome
    expect(echoes.length).toBe(sent.length);
    echoes.forEach((e, i) => {
      expect(e.binary).toBe(sent[i].binary);
      expect(e.data.equals(sent[i].data)).toBe(true);
    });
    ws.close();
  });

  it.each(['shared', 'dedicated'])('ws with perMessageDeflate talks to a %s route', async (mode) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/${mode}`, { perMessageDeflate: true });
    const got: string[] = [];
    ws.on('message', (d) => got.push(d.toString()));
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    expect(ws.extensions).toContain('permessage-deflate');
    const texts = [bigText('a'), 'small', bigText('b'), bigText('a')];
    for (const t of texts) ws.send(t);
    const deadline = Date.now() + 5000;
    while (got.length < texts.length + 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(got.slice(1)).toEqual(texts);  // after the welcome
    ws.close();
  });
});

/** A frame's text, inflated when it is compressed. */
function readText(f: Frame): string {
  return (f.rsv === RSV1 ? inflateAlone(f.payload) : f.payload).toString();
}
