/**
 * Test helpers: a roomwire app on an ephemeral loopback port, and a `ws` client whose
 * every wait is bounded in time.
 */
import * as net from 'net';
import WebSocket from 'ws';
import { App, createApp } from '../lib';
import type { AppOptions } from '../types/index';

/** Creates an app, lets `setup` register routes, listens on 127.0.0.1:`port` (default 0: any free port). */
export async function startApp(setup: (app: App) => void, options: AppOptions = {}, listenPort = 0): Promise<{ app: App; port: number; url: string }> {
  const app = createApp({ threads: 2, ...options });
  setup(app);
  const port = await app.listen(listenPort, '127.0.0.1');
  return { app, port, url: `127.0.0.1:${port}` };
}

/** One received frame. */
export interface Frame {
  data: string | Buffer;
  binary: boolean;
}

/** A WebSocket client that queues what it receives. */
export class Client {
  readonly ws: WebSocket;
  private readonly frames: Frame[] = [];
  private waiters: Array<() => void> = [];
  closeCode: number | undefined;
  closed: Promise<number>;

  /** `options`: ws's client options (wss to a self-signed server: `{ rejectUnauthorized: false }`). */
  constructor(url: string, protocols?: string[], options?: WebSocket.ClientOptions) {
    this.ws = new WebSocket(url, protocols, options);
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.frames.push({ data: isBinary ? data : data.toString('utf8'), binary: isBinary });
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code: number) => {
        this.closeCode = code;
        this.wake();
        resolve(code);
      });
    });
    this.ws.on('error', () => this.wake());
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves once the socket is open. */
  opened(timeoutMs = 5000): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN) return Promise.resolve();
    return withTimeout(new Promise<void>((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    }), timeoutMs, 'open');
  }

  /** The next frame, waiting at most `timeoutMs`. */
  async nextFrame(timeoutMs = 5000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0 || this.closeCode !== undefined) throw new Error(`no frame within ${timeoutMs} ms (close code ${this.closeCode})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.frames.shift()!;
  }

  /** The next text frame parsed as JSON. */
  async next(timeoutMs = 5000): Promise<Record<string, any>> {
    const f = await this.nextFrame(timeoutMs);
    if (f.binary) throw new Error('expected a text frame');
    return JSON.parse(f.data as string);
  }

  /** The next JSON message of `type`, skipping others (e.g. heartbeat pings). */
  async nextOfType(type: string, timeoutMs = 5000): Promise<Record<string, any>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = await this.next(Math.max(1, deadline - Date.now()));
      if (m.type === type) return m;
    }
  }

  /** Asserts that nothing arrives for `ms`. */
  async expectSilence(ms = 150): Promise<void> {
    await sleep(ms);
    if (this.frames.length > 0) throw new Error(`unexpected frame: ${String(this.frames[0].data)}`);
  }

  send(data: string | Buffer | Record<string, unknown>): void {
    this.ws.send(typeof data === 'object' && !Buffer.isBuffer(data) ? JSON.stringify(data) : data);
  }

  close(): void {
    this.ws.close();
  }
}

/** Opens a client and consumes its `welcome`. */
export async function connect(url: string, options?: WebSocket.ClientOptions): Promise<{ client: Client; welcome: Record<string, any> }> {
  const client = new Client(url, undefined, options);
  await client.opened();
  const welcome = await client.next();
  return { client, welcome };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects when `p` does not settle within `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
    }),
  ]);
}

/** Polls `check` every 10 ms until it holds, at most `ms`. */
export async function until(check: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${ms} ms`);
    await sleep(10);
  }
}

/** An upgrade refused by the server: its status and body. */
export function refusedUpgrade(url: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  return withTimeout(new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('open', () => {
      ws.close();
      reject(new Error('upgrade was accepted'));
    });
    ws.on('error', () => undefined);
  }), timeoutMs, 'refused upgrade');
}

/**
 * Raw bytes on a fresh TCP connection to 127.0.0.1:`port`; resolves with what came back
 * once the server closes, the time runs out, or (with `untilHead`) a response head is in.
 */
export function rawHttp(port: number, bytes: string | Buffer, o: { untilHead?: boolean; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let out = '';
    const done = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(out);
    };
    const timer = setTimeout(done, o.timeoutMs ?? 3000);
    sock.on('data', (d) => {
      out += d.toString('latin1');
      if (o.untilHead && out.includes('\r\n\r\n')) done();
    });
    sock.on('close', done);
    sock.on('error', (e) => (out ? done() : reject(e)));
    sock.write(bytes);
  });
}

/**
 * How many times a race-prone scenario runs in one test: 1 normally, more under
 * scripts/contention.sh (ROOMWIRE_REPEAT), where a rare interleaving must show up.
 */
export const repeats = Math.max(1, Number(process.env.ROOMWIRE_REPEAT ?? 1) || 1);
