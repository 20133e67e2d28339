/**
 * What a route decides at the upgrade, before any frame: the subprotocol (from the client's
 * offer, the route's list and onConnect's choice) and the origins whose pages may connect.
 */
import WebSocket from 'ws';
import { App } from '../../lib';
import type { WebSocketOptions } from '../../types/index';
import { rawHttp, startApp, withTimeout } from '../helpers';

describe('the upgrade: subprotocols and origins', () => {
  let app: App;
  let port: number;
  const sockets: WebSocket[] = [];
  let connects: Array<{ protocols: string[]; origin?: string }> = [];

  async function serve(options: WebSocketOptions = {}): Promise<void> {
    connects = [];
    const { onConnect } = options;
    const started = await startApp((a) => a.websocket('/ws', {
      ...options,
      onConnect: (e) => {
        connects.push({ protocols: e.protocols, origin: e.headers.origin });
        return onConnect ? onConnect(e) : undefined;
      },
    }));
    app = started.app;
    port = started.port;
  }

  /** An upgrade with these extra headers: the response's status and headers (lower-case names). */
  async function upgrade(headers: Record<string, string>, target = '/ws'): Promise<{ status: number; headers: Record<string, string> }> {
    const lines = [`GET ${target} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Upgrade: websocket', 'Connection: Upgrade',
      'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    const text = await rawHttp(port, `${lines.join('\r\n')}\r\n\r\n`, { untilHead: true });
    const [status, ...rest] = text.split('\r\n\r\n')[0].split('\r\n');
    const out: Record<string, string> = {};
    for (const line of rest) {
      const colon = line.indexOf(':');
      out[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    return { status: Number(status.split(' ')[1]), headers: out };
  }

  /** A `ws` client offering `protocols`: the protocol it got. */
  async function open(protocols: string[]): Promise<string> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, protocols);
    sockets.push(ws);
    await withTimeout(new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    }), 5000, 'open');
    return ws.protocol;
  }

  afterEach(async () => {
    for (const ws of sockets.splice(0)) ws.terminate();
    await app?.close({ timeoutMs: 1000 });
  });

  describe('subprotocols', () => {
    it('accepts with the first of the client\'s offer that the route lists, and shows onConnect the offer', async () => {
      await serve({ protocols: ['chat.v2', 'chat.v1'] });
      expect(await open(['chat.v1', 'chat.v2'])).toBe('chat.v1');
      expect(await open(['other', 'chat.v2'])).toBe('chat.v2');
      expect(connects.map((c) => c.protocols)).toEqual([['chat.v1', 'chat.v2'], ['other', 'chat.v2']]);
      // None in common: accepted without one.
      const none = await upgrade({ 'Sec-WebSocket-Protocol': 'x, y' });
      expect(none.status).toBe(101);
      expect(none.headers).not.toHaveProperty('sec-websocket-protocol');
      const plain = await upgrade({});
      expect(plain.status).toBe(101);
      expect(plain.headers).not.toHaveProperty('sec-websocket-protocol');
      expect(connects[3].protocols).toEqual([]);
    });

    it('refuses an upgrade with none in common when the route requires one', async () => {
      await serve({ protocols: ['chat.v1'], requireProtocol: true });
      expect((await upgrade({ 'Sec-WebSocket-Protocol': 'x' })).status).toBe(400);
      expect((await upgrade({})).status).toBe(400);
      expect(await open(['chat.v1'])).toBe('chat.v1');
      // Refused before taking a place when no onConnect could choose one.
      app.websocket('/bare', { protocols: ['chat.v1'], requireProtocol: true });
      expect((await upgrade({ 'Sec-WebSocket-Protocol': 'x' }, '/bare')).status).toBe(400);
      expect((await upgrade({ 'Sec-WebSocket-Protocol': 'x, chat.v1' }, '/bare')).headers['sec-websocket-protocol']).toBe('chat.v1');
    });

    it('takes onConnect\'s choice among the offer, refuses one not offered, and null means none', async () => {
      await serve({
        protocols: ['a'],
        onConnect: (e) => {
          const wanted = e.query.pick;
          return { modifiedEvent: { protocol: wanted === 'none' ? null : wanted } };
        },
      });
      const chosen = await upgrade({ 'Sec-WebSocket-Protocol': 'a, b' });
      expect(chosen.headers['sec-websocket-protocol']).toBe('a');  // no pick: the route's
      const lines = (pick: string) => upgrade({ 'Sec-WebSocket-Protocol': 'a, b' }, `/ws?pick=${pick}`);
      expect((await lines('b')).headers['sec-websocket-protocol']).toBe('b');
      expect((await lines('zzz')).status).toBe(500);
      const none = await lines('none');
      expect(none.status).toBe(101);
      expect(none.headers).not.toHaveProperty('sec-websocket-protocol');
    });

    it('checks the options', async () => {
      await serve();
      for (const protocols of [[], ['has space'], ['a,b'], ['a', 'a'], 'chat', [1]]) {
        expect(() => app.websocket('/p', { protocols } as never)).toThrow(/protocols/);
      }
      expect(() => app.websocket('/p', { requireProtocol: true })).toThrow(/requireProtocol/);
    });
  });

  describe('origins', () => {
    it('refuses a page of another origin with 403 before onConnect; allows listed ones and non-browser clients', async () => {
      await serve({ allowedOrigins: ['https://app.example', 'http://localhost:3000'] });
      expect((await upgrade({ Origin: 'https://evil.example' })).status).toBe(403);
      expect((await upgrade({ Origin: 'https://app.example.evil.example' })).status).toBe(403);
      expect((await upgrade({ Origin: 'null' })).status).toBe(403);
      expect(connects).toHaveLength(0);
      expect((await upgrade({ Origin: 'https://app.example' })).status).toBe(101);
      expect((await upgrade({ Origin: 'HTTP://LOCALHOST:3000' })).status).toBe(101);
      expect((await upgrade({})).status).toBe(101);
      expect(connects.map((c) => c.origin)).toEqual(['https://app.example', 'HTTP://LOCALHOST:3000', undefined]);
    });

    it('requires an Origin when told to', async () => {
      await serve({ allowedOrigins: ['https://app.example'], requireOrigin: true });
      expect((await upgrade({})).status).toBe(403);
      expect((await upgrade({ Origin: 'https://app.example' })).status).toBe(101);
    });

    it('asks a function, before onConnect; a false or throwing answer refuses', async () => {
      const asked: string[] = [];
      await serve({
        allowedOrigins: (origin) => {
          asked.push(origin);
          if (origin === 'https://boom.example') throw new Error('boom');
          return origin.endsWith('.trusted.example');
        },
      });
      expect((await upgrade({ Origin: 'https://a.trusted.example' })).status).toBe(101);
      expect((await upgrade({ Origin: 'https://other.example' })).status).toBe(403);
      expect((await upgrade({ Origin: 'https://boom.example' })).status).toBe(403);
      expect((await upgrade({})).status).toBe(101);  // no Origin: not asked
      expect(asked).toEqual(['https://a.trusted.example', 'https://other.example', 'https://boom.example']);
      expect(connects.map((c) => c.origin)).toEqual(['https://a.trusted.example', undefined]);
    });

    it('checks the options', async () => {
      await serve();
      for (const allowedOrigins of ['https://a.example', ['https://a.example/path'], ['a.example'], [42], ['https://a.example?x']]) {
        expect(() => app.websocket('/o', { allowedOrigins } as never)).toThrow(/allowedOrigins/);
      }
      expect(() => app.websocket('/o', { requireOrigin: 'yes' } as never)).toThrow(/requireOrigin/);
    });
  });
});
