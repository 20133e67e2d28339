/**
 * A raw WebSocket client over a TCP socket, for tests that must send what a correct client
 * never would: any opcode, RSV bits, unmasked frames, lying lengths, split UTF-8.
 */
import * as crypto from 'crypto';
import * as net from 'net';

export interface Frame {
  fin: boolean;
  /** The RSV bits, 0-7 (4: RSV1, a compressed message under permessage-deflate). */
  rsv: number;
  opcode: number;
  payload: Buffer;
}

export interface FrameOptions {
  fin?: boolean;
  rsv?: number;
  mask?: boolean;
  /** Write this in the length field instead of the payload's length. */
  length?: bigint;
}

/** Encodes one client frame. */
export function encodeFrame(opcode: number, payload: Buffer | string, o: FrameOptions = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const fin = o.fin ?? true;
  const mask = o.mask ?? true;
  const length = o.length ?? BigInt(data.length);
  const head: number[] = [(fin ? 0x80 : 0) | ((o.rsv ?? 0) << 4) | opcode];
  const m = mask ? 0x80 : 0;
  const ext: Buffer[] = [];
  if (length < 126n) {
    head.push(m | Number(length));
  } else if (length < 65536n) {
    head.push(m | 126);
    const b = Buffer.alloc(2);
    b.writeUInt16BE(Number(length));
    ext.push(b);
  } else {
    head.push(m | 127);
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(length);
    ext.push(b);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), ...ext, data]);
  const key = crypto.randomBytes(4);
  const masked = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) masked[i] = data[i] ^ key[i & 3];
  return Buffer.concat([Buffer.from(head), ...ext, key, masked]);
}

/** A client connection speaking raw frames. */
export class RawClient {
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  ended = false;
  readonly endedPromise: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    this.endedPromise = new Promise((resolve) => {
      socket.on('close', () => {
        this.ended = true;
        this.wake();
        resolve();
      });
    });
    socket.on('error', () => undefined);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async waitFor<T>(take: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = take();
      if (v !== undefined) return v;
      if (this.ended) throw new Error(`${what}: connection ended`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: timed out`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Connects and sends an upgrade request; resolves with the response head. */
  static async connect(port: number, path: string, headers: Record<string, string> = {}, timeoutMs = 5000):
    Promise<{ client: RawClient; status: number; head: string }> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    const client = new RawClient(socket);
    const all: Record<string, string> = {
      Host: `127.0.0.1:${port}`, Upgrade: 'websocket', Connection: 'Upgrade',
      'Sec-WebSocket-Key': crypto.randomBytes(16).toString('base64'), 'Sec-WebSocket-Version': '13', ...headers,
    };
    const lines = Object.entries(all).filter(([, v]) => v !== '').map(([k, v]) => `${k}: ${v}`);
    socket.write(`GET ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
    const head = await client.waitFor(() => {
      const end = client.buf.indexOf('\r\n\r\n');
      if (end < 0) return undefined;
      const text = client.buf.subarray(0, end).toString('latin1');
      client.buf = client.buf.subarray(end + 4);
      return text;
    }, timeoutMs, 'upgrade response');
    return { client, status: Number(head.split(' ')[1]), head };
  }

  /** Connects, upgrades, and consumes the welcome frame. */
  static async open(port: number, path = '/ws'): Promise<RawClient> {
    const { client, status } = await RawClient.connect(port, path);
    if (status !== 101) throw new Error(`upgrade refused with ${status}`);
    await client.readFrame();
    return client;
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  send(opcode: number, payload: Buffer | string, o?: FrameOptions): void {
    this.write(encodeFrame(opcode, payload, o));
  }

  /** The next frame from the server. */
  readFrame(timeoutMs = 5000): Promise<Frame> {
    return this.waitFor(() => {
      const b = this.buf;
      if (b.length < 2) return undefined;
      let len = b[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return undefined;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return undefined;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      if (b.length < off + len) return undefined;
      const frame = { fin: (b[0] & 0x80) !== 0, rsv: (b[0] >> 4) & 7, opcode: b[0] & 0x0f, payload: Buffer.from(b.subarray(off, off + len)) };
      this.buf = b.subarray(off + len);
      return frame;
    }, timeoutMs, 'frame');
  }

  /** Reads frames until a close frame; resolves with its code (1005 when it has none). */
  async closeCode(timeoutMs = 5000): Promise<number> {
    for (;;) {
      const f = await this.readFrame(timeoutMs);
      if (f.opcode === 8) return f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
    }
  }

  /** Resolves when the server has closed the TCP connection. */
  async tcpClosed(timeoutMs = 5000): Promise<void> {
    await Promise.race([this.endedPromise, new Promise((_, reject) => setTimeout(() => reject(new Error('TCP still open')), timeoutMs))]);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A close frame payload. */
export function closePayload(code: number, reason = ''): Buffer {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code);
  b.write(reason, 2);
  return b;
}
