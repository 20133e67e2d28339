/**
 * https and wss: the handshake on the I/O threads (ALPN, the certificate chain), frames
 * both ways through TLS (large, compressed, fanned out), handshakes that never finish or
 * are not TLS at all, bad material at listen, and certificates replaced while serving.
 */
import * as crypto from 'crypto';
import * as https from 'https';
import * as net from 'net';
import * as tls from 'tls';
import WebSocket from 'ws';
import { App, RoomwireError, createApp } from '../../lib';
import { TestCerts, makeCerts } from '../tls-certs';

let certs: TestCerts;
beforeAll(() => {
  certs = makeCerts();
});

/** GET over https without verifying (the test CA is not trusted); resolves status and body. */
function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path, rejectUnauthorized: false, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

/** A TLS connection's negotiated details. */
function handshake(port: number, options: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost', ...options }, () => resolve(s));
    s.once('error', reject);
    setTimeout(() => reject(new Error('handshake timed out')), 5000).unref();
  });
}

/** Opens a wss client that queues what it receives. */
async function wss(port: number, path = '/ws', options: WebSocket.ClientOptions = {}): Promise<{ ws: WebSocket; next: () => Promise<string> }> {
  const ws = new WebSocket(`wss://127.0.0.1:${port}${path}`, { rejectUnauthorized: false, ...options });
  const queue: string[] = [];
  const waiters: Array<() => void> = [];
  ws.on('message', (d) => {
    queue.push(d.toString());
    waiters.splice(0).forEach((w) => w());
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const next = async (): Promise<string> => {
    const deadline = Date.now() + 5000;
    while (queue.length === 0) {
      if (Date.now() > deadline) throw new Error('no message within 5 s');
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 100);
      });
    }
    return queue.shift()!;
  };
  return { ws, next };
}

/** Resolves when the raw socket is closed by the server, or rejects after `ms`. */
function closedWithin(socket: net.Socket, ms: number): Promise<Buffer> {
  const got: Buffer[] = [];
  socket.on('data', (d) => got.push(d));
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`still open after ${ms} ms`)), ms);
    socket.once('close', () => {
      clearTimeout(t);
      resolve(Buffer.concat(got));
    });
    socket.on('error', () => undefined);
  });
}

describe('TLS', () => {
  let app: App;
  let port: number;

  beforeAll(async () => {
    app = createApp({ threads: 2, requestTimeout: 800, tls: { key: certs.leafKey, cert: certs.leafCert, ca: certs.caCert } });
    app.get('/hello', (_req, res) => res.json({ hello: 'tls' }));
    app.websocket('/ws', {
      onMessage: (e) => (app.send(e.connectionId, `echo:${e.data as string}`), { shouldCancel: true }),
      onBinaryMessage: (e) => void app.send(e.connectionId, e.data as Buffer),
    });
    app.websocket('/room', { autoCreateRooms: true, compression: 'shared' });
    port = await app.listen(0, '127.0.0.1');
  });
  afterAll(() => app.close());

  it('serves https, naming http/1.1 by ALPN and sending the chain', async () => {
    expect(app.secure).toBe(true);
    expect(await get(port, '/hello')).toEqual({ status: 200, body: '{"hello":"tls"}' });
    const s = await handshake(port, { ALPNProtocols: ['h2', 'http/1.1'] });
    expect(s.alpnProtocol).toBe('http/1.1');
    const leaf = s.getPeerCertificate(true);
    expect(leaf.subject.CN).toBe('localhost');
    expect(leaf.issuer.CN).toBe('roomwire test CA');
    // The CA given as `ca` came after the leaf: the client can verify the chain with it.
    expect(leaf.issuerCertificate?.subject.CN).toBe('roomwire test CA');
    s.destroy();
    const h2only = await handshake(port, { ALPNProtocols: ['h2'] });
    expect(h2only.alpnProtocol).toBe(false);
    h2only.destroy();
    const verified = await handshake(port, { rejectUnauthorized: true, ca: certs.caCert });
    expect(verified.authorized).toBe(true);
    verified.destroy();
  });

  it('carries WebSocket frames both ways, small and large', async () => {
    const { ws, next } = await wss(port);
    expect(JSON.parse(await next()).type).toBe('welcome');
    ws.send('hello');
    expect(await next()).toBe('echo:hello');
    const big = crypto.randomBytes(3 * 1024 * 1024).toString('base64');  // ~4 MB: hundreds of records
    ws.send(big);
    expect(await next()).toBe(`echo:${big}`);
    const bytes = crypto.randomBytes(200000);
    const back = new Promise<Buffer>((resolve) => ws.once('message', (d: Buffer) => resolve(d)));
    ws.send(bytes);
    expect((await back).equals(bytes)).toBe(true);
    ws.close();
  });

  it('fans a compressed room message out over wss', async () => {
    const members = await Promise.all([0, 1, 2, 3].map(() => wss(port, '/room', { perMessageDeflate: true })));
    for (const m of members) {
      await m.next();  // welcome
      m.ws.send(JSON.stringify({ type: 'join_room', room_id: 'secure' }));
      let t: string;
      do t = JSON.parse(await m.next()).type; while (t !== 'room_joined');
    }
    const text = 'compressible '.repeat(400);
    app.sendRoomMessage('secure', text);
    for (const m of members) {
      let body: { type: string; message?: string };
      do body = JSON.parse(await m.next()); while (body.type !== 'room_message');
      expect(body.message).toBe(text);
      expect(m.ws.extensions).toContain('permessage-deflate');
      m.ws.close();
    }
  });

  it('drops a connection that never starts its handshake, once requestTimeout passes', async () => {
    const s = net.connect(port, '127.0.0.1');
    await closedWithin(s, 5000);
  });

  it('drops a handshake that stalls midway, once requestTimeout passes', async () => {
    const s = net.connect(port, '127.0.0.1', () => s.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00])));
    await closedWithin(s, 5000);
  });

  it('drops garbage and plain HTTP on the TLS port without answering them, and serves on', async () => {
    const garbage = net.connect(port, '127.0.0.1', () => garbage.write(crypto.randomBytes(4096)));
    const plain = net.connect(port, '127.0.0.1', () => plain.write('GET /hello HTTP/1.1\r\nHost: x\r\n\r\n'));
    const [g, p] = await Promise.all([closedWithin(garbage, 5000), closedWithin(plain, 5000)]);
    expect(g.toString('latin1')).not.toContain('HTTP/1.1');
    expect(p.toString('latin1')).not.toContain('HTTP/1.1');
    expect((await get(port, '/hello')).status).toBe(200);
  });
});

describe('TLS material', () => {
  const listen = (tlsOptions: Parameters<typeof createApp>[0]): Promise<number> => {
    const a = createApp({ threads: 1, ...tlsOptions });
    return a.listen(0, '127.0.0.1').finally(() => a.close());
  };

  it.each([
    ['a key that does not match the certificate', () => ({ key: certs.otherKey, cert: certs.leafCert }), /tls\.key does not match tls\.cert/],
    ['an encrypted key without its passphrase', () => ({ key: certs.encryptedKey, cert: certs.leafCert }), /no tls\.passphrase given/],
    ['a wrong passphrase', () => ({ key: certs.encryptedKey, cert: certs.leafCert, passphrase: 'wrong' }), /passphrase is wrong/],
    ['a certificate that does not parse', () => ({ key: certs.leafKey, cert: '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n' }), /tls\.cert: no PEM certificate found/],
  ])('rejects listen for %s with RW_ERR_TLS', async (_name, material, message) => {
    const err = await listen({ tls: material() }).then(() => undefined, (e: RoomwireError) => e);
    expect(err).toBeInstanceOf(RoomwireError);
    expect(err?.code).toBe('RW_ERR_TLS');
    expect(err?.message).toMatch(message);
  });

  it('takes an encrypted key with its passphrase, and PEM in Buffers', async () => {
    const port = await new Promise<number>((resolve, reject) => {
      const a = createApp({ threads: 1, tls: { key: Buffer.from(certs.encryptedKey), cert: Buffer.from(certs.leafCert), passphrase: certs.passphrase } });
      a.get('/', (_req, res) => res.send('ok'));
      a.listen(0, '127.0.0.1').then(async (p) => {
        try {
          expect(await get(p, '/')).toEqual({ status: 200, body: 'ok' });
          resolve(p);
        } catch (e) {
          reject(e);
        } finally {
          await a.close();
        }
      }, reject);
    });
    expect(port).toBeGreaterThan(0);
  });

  it('checks the option before any native code runs', () => {
    expect(() => createApp({ tls: { key: 'x', cert: certs.leafCert } })).toThrow(/options\.tls\.key.*PEM/);
    expect(() => createApp({ tls: { key: certs.leafKey } as never })).toThrow(/options\.tls\.cert/);
    expect(() => createApp({ tls: { key: certs.leafKey, cert: certs.leafCert, pfx: 'x' } as never })).toThrow(/options\.tls\.pfx/);
    expect(() => createApp({ tls: { key: certs.leafKey, cert: certs.leafCert, passphrase: 7 } as never })).toThrow(/passphrase/);
    expect(() => createApp().setTls({ key: certs.leafKey, cert: certs.leafCert })).toThrow(/created without the tls option/);
  });

  it('setTls renews the certificate for new connections; open ones stay up; bad material is refused and the current kept', async () => {
    const a = createApp({ threads: 2, tls: { key: certs.leafKey, cert: certs.leafCert } });
    a.websocket('/ws', { onMessage: (e) => (a.send(e.connectionId, `echo:${e.data as string}`), { shouldCancel: true }) });
    const port = await a.listen(0, '127.0.0.1');
    try {
      const fingerprint = async (): Promise<string> => {
        const s = await handshake(port);
        const f = s.getPeerCertificate().fingerprint256;
        s.destroy();
        return f;
      };
      const before = await fingerprint();
      const open = await wss(port);
      await open.next();
      a.setTls({ key: certs.otherKey, cert: certs.otherCert });
      const after = await fingerprint();
      expect(after).not.toBe(before);
      expect(after).toBe(new crypto.X509Certificate(certs.otherCert).fingerprint256);
      open.ws.send('still here');
      expect(await open.next()).toBe('echo:still here');
      let err: unknown;
      try {
        a.setTls({ key: certs.leafKey, cert: certs.otherCert });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RoomwireError);
      expect((err as RoomwireError).code).toBe('RW_ERR_TLS');
      expect(await fingerprint()).toBe(after);
      open.ws.close();
    } finally {
      await a.close();
    }
  });
});
