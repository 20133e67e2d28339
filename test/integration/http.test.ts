import WebSocket from 'ws';
import { App, HttpError, createApp } from '../../lib';
import { rawHttp, startApp } from '../helpers';

const rawRequest = (port: number, bytes: string) => rawHttp(port, bytes);

describe('HTTP routes', () => {
  let app: App;
  let base: string;
  let port: number;

  beforeAll(async () => {
    const started = await startApp((a) => {
      a.get('/users/{id}/posts/{postId}', (req, res) => res.json({ params: req.params, query: req.query }));
      a.post('/echo', (req, res) => {
        const body = req.getBodyAsJson<{ n: number }>();
        res.status(201).json({ got: body, type: req.headers['content-type'] });
      });
      a.put('/raw', (req, res) => res.setHeader('X-Length', req.body.length).send(req.body));
      a.patch('/text', (req, res) => res.send(`patched ${req.body.toString()}`));
      a.delete('/items/{id}', async (req, res) => {
        await new Promise((r) => setTimeout(r, 5));
        res.status(204).send('');
      });
      a.get('/throws', () => {
        throw new Error('handler bug');
      });
      a.get('/rejects', async () => {
        throw new Error('async handler bug');
      });
      a.get('/teapot', () => {
        throw new HttpError(418, 'short and stout');
      });
      a.get('/silent', () => undefined);
      // An HttpError whose status was changed after construction: still answered (500).
      const tampered = (): HttpError => Object.assign(new HttpError(400, 'x'), { status: 1000 });
      a.get('/bad-status', () => {
        throw tampered();
      });
      a.get('/bad-status-async', async () => {
        throw tampered();
      });
    }, { maxBodySize: 1024, callbackTimeoutMs: 200, logLevel: 'silent' });
    app = started.app;
    port = started.port;
    base = `http://${started.url}`;
  });
  afterAll(() => app.close());

  it('passes path params and decoded query', async () => {
    const r = await fetch(`${base}/users/42/posts/a%20b?sort=new&tag=x%2By`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(await r.json()).toEqual({ params: { id: '42', postId: 'a b' }, query: { sort: 'new', tag: 'x+y' } });
  });

  it('reads a JSON body and sets the status', async () => {
    const r = await fetch(`${base}/echo`, { method: 'POST', body: '{"n":1}', headers: { 'content-type': 'application/json' } });
    expect(r.status).toBe(201);
    expect(await r.json()).toEqual({ got: { n: 1 }, type: 'application/json' });
  });

  it('answers 400 to a malformed JSON body read as JSON', async () => {
    const r = await fetch(`${base}/echo`, { method: 'POST', body: '{"n":' });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: string }).error).toMatch(/Malformed JSON body/);
  });

  it('sends Buffers and headers, and text from PATCH', async () => {
    const body = Buffer.from([0, 1, 2, 200]);
    const r = await fetch(`${base}/raw`, { method: 'PUT', body });
    expect(r.headers.get('x-length')).toBe('4');
    expect(r.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(await r.arrayBuffer())).toEqual(body);
    const t = await fetch(`${base}/text`, { method: 'PATCH', body: 'it' });
    expect(await t.text()).toBe('patched it');
    expect(t.headers.get('content-type')).toBe('text/plain; charset=utf-8');
  });

  it('runs async handlers', async () => {
    const r = await fetch(`${base}/items/7`, { method: 'DELETE' });
    expect(r.status).toBe(204);
  });

  it('answers 404 for unknown routes and methods', async () => {
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/echo`)).status).toBe(404);
  });

  it('answers 413 to a body over maxBodySize', async () => {
    const r = await fetch(`${base}/echo`, { method: 'POST', body: 'x'.repeat(4096) });
    expect(r.status).toBe(413);
  });

  it('answers 500 when a handler throws or rejects, and keeps serving', async () => {
    for (const path of ['/throws', '/rejects']) {
      const r = await fetch(`${base}${path}`);
      expect(r.status).toBe(500);
      expect(await r.json()).toEqual({ error: 'Internal Server Error' });
    }
    expect((await fetch(`${base}/users/1/posts/2`)).status).toBe(200);
  });

  it('answers with the status of a thrown HttpError', async () => {
    const r = await fetch(`${base}/teapot`);
    expect(r.status).toBe(418);
    expect(await r.json()).toEqual({ error: 'short and stout' });
  });

  it('answers HEAD like GET without a body, on a connection kept alive', async () => {
    const get = await fetch(`${base}/users/1/posts/2`);
    const length = (await get.text()).length;
    // Two HEADs and a GET on one connection: a body after a HEAD answer would be read as
    // the start of the next response.
    const raw = await rawRequest(port, 'HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\n' +
      'HEAD /users/1/posts/2 HTTP/1.1\r\nHost: x\r\n\r\n' +
      'GET /users/1/posts/2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const responses = raw.split(/(?=HTTP\/1\.1 )/);
    expect(responses.map((r) => r.slice(0, 12))).toEqual(['HTTP/1.1 404', 'HTTP/1.1 200', 'HTTP/1.1 200']);
    expect(responses[0].endsWith('\r\n\r\n')).toBe(true);
    expect(responses[1].endsWith('\r\n\r\n')).toBe(true);
    expect(responses[1]).toMatch(new RegExp(`content-length: ${length}\r\n`, 'i'));
    expect(responses[2].length).toBeGreaterThan(length);
  });

  it('answers 500 to whatever a handler throws, and keeps serving', async () => {
    for (let i = 0; i < 50; i++) {
      for (const path of ['/bad-status', '/bad-status-async']) {
        const r = await fetch(`${base}${path}`);
        expect(r.status).toBe(500);
        await r.arrayBuffer();
      }
    }
    expect((await fetch(`${base}/users/1/posts/2`)).status).toBe(200);
  });

  it("takes RNode's timeout for a handler's time, and in devMode answers 500 with the error", async () => {
    const { app: dev, url } = await startApp((a) => {
      a.get('/boom', () => {
        throw new Error('kaboom');
      });
      a.get('/slow', () => undefined);
    }, { devMode: true, timeout: 100, logLevel: 'silent' });
    const boom = await fetch(`http://${url}/boom`);
    expect(boom.status).toBe(500);
    expect(await boom.json()).toMatchObject({ error: 'Internal Server Error', message: 'kaboom', stack: expect.stringContaining('kaboom') });
    const t0 = Date.now();
    const slow = await fetch(`http://${url}/slow`);
    expect(slow.status).toBe(500);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(((await slow.json()) as { message: string }).message).toMatch(/within 100 ms/);
    await dev.close();
    // Without devMode the body says nothing about the cause.
    expect(await (await fetch(`${base}/throws`)).json()).toEqual({ error: 'Internal Server Error' });
  });

  it('answers 500 when a handler never responds within callbackTimeoutMs', async () => {
    const r = await fetch(`${base}/silent`);
    expect(r.status).toBe(500);
  });

  it('answers 400 to a malformed request line and 431 to oversized headers', async () => {
    expect(await rawRequest(port, 'GARBAGE\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    const big = `GET /users/1/posts/2 HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`;
    expect(await rawRequest(port, big)).toMatch(/^HTTP\/1\.1 431/);
    expect((await fetch(`${base}/users/1/posts/2`)).status).toBe(200);
  });

  it('keeps a connection alive across requests', async () => {
    const two = 'GET /users/1/posts/2 HTTP/1.1\r\nHost: x\r\n\r\nGET /users/3/posts/4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    const out = await rawRequest(port, two);
    expect(out.match(/HTTP\/1\.1 200/g)).toHaveLength(2);
    expect(out).toContain('"id":"3"');
  });
});

describe("Express-style ':param' segments", () => {
  it('are parameters like {param}, for HTTP and WebSocket routes and broadcast', async () => {
    const connects: Array<Record<string, string>> = [];
    const { app, port } = await startApp((a) => {
      a.get('/items/:id/parts/:part', (req, res) => res.json(req.params));
      a.websocket('/room/:name', { onConnect: (e) => void connects.push(e.params) });
    });
    try {
      const r = await fetch(`http://127.0.0.1:${port}/items/7/parts/x%20y`);
      expect(await r.json()).toEqual({ id: '7', part: 'x y' });
      const ws = new WebSocket(`ws://127.0.0.1:${port}/room/lobby`);
      const frames: string[] = [];
      ws.on('message', (d) => frames.push(String(d)));
      await new Promise((resolve) => ws.once('open', resolve));
      expect(connects).toEqual([{ name: 'lobby' }]);
      expect(app.broadcast('/room/:name', 'to all', { local: true })).toBe(1);
      const deadline = Date.now() + 5000;
      while (!frames.includes('to all') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(frames).toContain('to all');
      ws.close();
      // The two forms are one route: registering both is a conflict.
      expect(() => app.get('/items/{x}/parts/{y}', (_req, res) => res.send(''))).toThrow(/could never run/);
    } finally {
      await app.close();
    }
  });

  it('must be names', () => {
    expect(() => createApp().get('/a/:', (_req, res) => res.send(''))).toThrow(/\{name\} or :name/);
    expect(() => createApp().get('/a/:1x', (_req, res) => res.send(''))).toThrow(/\{name\} or :name/);
    expect(() => createApp().static('/files/:id', '.')).toThrow(/without parameters/);
  });
});

describe('app.use middleware', () => {
  let app: App;
  let base: string;
  const seen: string[] = [];

  beforeAll(async () => {
    const started = await startApp((a) => {
      a.use((req, _res, next) => {
        seen.push(`all ${req.path}`);
        next();
      });
      a.use('/admin', async (req, res, next) => {
        await new Promise((r) => setTimeout(r, 5));
        if (req.headers.authorization !== 'Bearer ok') return res.status(401).json({ error: 'login' });
        next();
      });
      a.use('/boom', () => {
        throw new HttpError(418, 'teapot in middleware');
      });
      a.use('/reject', async () => {
        throw new Error('async middleware bug');
      });
      a.use('/next-error', (_req, _res, next) => next(new HttpError(409, 'conflict via next')));
      a.use('/twice', (_req, _res, next) => {
        next();
        next();
      });
      a.get('/admin/panel', (_req, res) => res.json({ panel: true }));
      a.get('/boom', (_req, res) => res.json({ reached: true }));
      a.get('/reject', (_req, res) => res.json({ reached: true }));
      a.get('/next-error', (_req, res) => res.json({ reached: true }));
      a.get('/twice', (_req, res) => res.json({ once: true }));
      a.get('/administrator', (_req, res) => res.json({ open: true }));
    }, { logLevel: 'silent' });
    app = started.app;
    base = `http://${started.url}`;
  });
  afterAll(() => app.close());

  it('runs in order, per prefix, async-aware, and may answer itself', async () => {
    expect((await fetch(`${base}/admin/panel`)).status).toBe(401);
    const ok = await fetch(`${base}/admin/panel`, { headers: { authorization: 'Bearer ok' } });
    expect(await ok.json()).toEqual({ panel: true });
    // A prefix covers whole segments: /administrator is not under /admin.
    expect(await (await fetch(`${base}/administrator`)).json()).toEqual({ open: true });
    expect(seen).toEqual(['all /admin/panel', 'all /admin/panel', 'all /administrator']);
  });

  it('sends throws, rejections and next(err) to the error path, and ignores a second next()', async () => {
    const boom = await fetch(`${base}/boom`);
    expect(boom.status).toBe(418);
    expect(await boom.json()).toEqual({ error: 'teapot in middleware' });
    const reject = await fetch(`${base}/reject`);
    expect(reject.status).toBe(500);
    expect(await reject.json()).toEqual({ error: 'Internal Server Error' });
    expect((await fetch(`${base}/next-error`)).status).toBe(409);
    expect(await (await fetch(`${base}/twice`)).json()).toEqual({ once: true });
  });

  it('checks its arguments', () => {
    expect(() => app.use('nope' as any, () => undefined)).toThrow(TypeError);
    expect(() => app.use('/x/{id}', () => undefined)).toThrow(TypeError);
    expect(() => app.use('/x', 5 as any)).toThrow(TypeError);
  });
});
