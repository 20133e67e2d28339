import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, codes, createApp } from '../../lib';
import { rawHttp, startApp } from '../helpers';

describe('app.static', () => {
  let app: App;
  let base: string;
  let port: number;
  let tmp: string;
  const bin = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'roomwire-static-'));
    const root = path.join(tmp, 'public');
    fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(root, 'index.html'), '<h1>home</h1>');
    fs.writeFileSync(path.join(root, 'app.js'), 'console.log(1);');
    fs.writeFileSync(path.join(root, 'data.bin'), bin);
    fs.writeFileSync(path.join(root, 'sub', 'index.html'), '<h1>sub</h1>');
    fs.writeFileSync(path.join(root, '.secret'), 'hidden');
    fs.writeFileSync(path.join(tmp, 'outside.txt'), 'outside');
    fs.symlinkSync(path.join(tmp, 'outside.txt'), path.join(root, 'link-out'));
    fs.symlinkSync(path.join(root, 'app.js'), path.join(root, 'link-in.js'));
    fs.mkdirSync(path.join(tmp, 'dots'));
    fs.writeFileSync(path.join(tmp, 'dots', '.well'), 'known');
    const started = await startApp((a) => a
      .static('/static', root, { maxAge: 60 })
      .static('/dots', path.join(tmp, 'dots'), { dotfiles: 'allow', index: false })
      .get('/static/fallthrough', (_req, res) => res.json({ js: true })));
    app = started.app;
    port = started.port;
    base = `http://${started.url}`;
  });
  afterAll(async () => {
    await app.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('serves files with their content type, validators and cache policy', async () => {
    const r = await fetch(`${base}/static/app.js`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(r.headers.get('cache-control')).toBe('public, max-age=60');
    expect(r.headers.get('accept-ranges')).toBe('bytes');
    expect(r.headers.get('etag')).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    expect(new Date(r.headers.get('last-modified')!).getTime()).toBeGreaterThan(0);
    expect(await r.text()).toBe('console.log(1);');
    const data = await fetch(`${base}/static/data.bin`);
    expect(data.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(await data.arrayBuffer())).toEqual(bin);
  });

  it("serves a directory's index, and falls through to JavaScript for what it lacks", async () => {
    expect(await (await fetch(`${base}/static/`)).text()).toBe('<h1>home</h1>');
    expect(await (await fetch(`${base}/static`)).text()).toBe('<h1>home</h1>');
    expect(await (await fetch(`${base}/static/sub`)).text()).toBe('<h1>sub</h1>');
    expect(await (await fetch(`${base}/static/fallthrough`)).json()).toEqual({ js: true });
    expect((await fetch(`${base}/static/missing.css`)).status).toBe(404);
    expect((await fetch(`${base}/dots/`)).status).toBe(404);  // index: false
  });

  it('answers 304 when the client holds the current copy', async () => {
    const first = await fetch(`${base}/static/app.js`);
    const etag = first.headers.get('etag')!;
    const lastModified = first.headers.get('last-modified')!;
    const byTag = await fetch(`${base}/static/app.js`, { headers: { 'if-none-match': etag } });
    expect(byTag.status).toBe(304);
    expect(await byTag.text()).toBe('');
    expect((await fetch(`${base}/static/app.js`, { headers: { 'if-none-match': '"other"' } })).status).toBe(200);
    expect((await fetch(`${base}/static/app.js`, { headers: { 'if-modified-since': lastModified } })).status).toBe(304);
    expect((await fetch(`${base}/static/app.js`, { headers: { 'if-modified-since': 'Thu, 01 Jan 1970 00:00:00 GMT' } })).status).toBe(200);
  });

  it('serves single byte ranges, 416 outside the file, the whole file for several', async () => {
    const range = async (spec: string, extra: Record<string, string> = {}) => {
      const r = await fetch(`${base}/static/data.bin`, { headers: { range: spec, ...extra } });
      return { status: r.status, contentRange: r.headers.get('content-range'), body: Buffer.from(await r.arrayBuffer()) };
    };
    expect(await range('bytes=10-19')).toEqual({ status: 206, contentRange: 'bytes 10-19/1000', body: bin.subarray(10, 20) });
    expect(await range('bytes=-5')).toEqual({ status: 206, contentRange: 'bytes 995-999/1000', body: bin.subarray(995) });
    expect(await range('bytes=990-')).toEqual({ status: 206, contentRange: 'bytes 990-999/1000', body: bin.subarray(990) });
    expect(await range('bytes=990-5000')).toMatchObject({ status: 206, contentRange: 'bytes 990-999/1000' });
    expect(await range('bytes=2000-')).toMatchObject({ status: 416, contentRange: 'bytes */1000' });
    expect(await range('bytes=0-1,5-6')).toMatchObject({ status: 200, body: bin });
    expect(await range('bytes=0-9', { 'if-range': '"stale"' })).toMatchObject({ status: 200, body: bin });
  });

  it('never serves a path outside its directory', async () => {
    for (const target of ['/static/../outside.txt', '/static/%2e%2e/outside.txt', '/static/..%2Foutside.txt',
      '/static/sub/..%2F..%2Foutside.txt', '/static/sub/%2E%2E/%2E%2E/outside.txt', '/static/link-out',
      '/static/.secret', '/static/%2esecret', '/static/..%5Coutside.txt', '/static/app.js%00.txt']) {
      const raw = await rawHttp(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect({ target, status: raw.slice(0, 12) }).toMatchObject({ target, status: expect.stringMatching(/HTTP\/1\.1 (404|400)/) });
      expect(raw).not.toContain('outside');
      expect(raw).not.toContain('hidden');
    }
    // A symbolic link that stays inside is served; dotfiles where allowed.
    expect(await (await fetch(`${base}/static/link-in.js`)).text()).toBe('console.log(1);');
    expect(await (await fetch(`${base}/dots/.well`)).text()).toBe('known');
  });

  it('answers HEAD with the headers and no body', async () => {
    const raw = await rawHttp(port, 'HEAD /static/data.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(raw).toMatch(/^HTTP\/1\.1 200/);
    expect(raw).toMatch(/content-length: 1000\r\n/i);
    expect(raw.endsWith('\r\n\r\n')).toBe(true);
  });

  it('checks its arguments', () => {
    const a = createApp();
    expect(() => a.static('/s', path.join(tmp, 'nope'))).toThrow(expect.objectContaining({ code: codes.STATIC_DIR }));
    expect(() => a.static('/s', path.join(tmp, 'outside.txt'))).toThrow(expect.objectContaining({ code: codes.STATIC_DIR }));
    expect(() => a.static('/s/{x}', tmp)).toThrow(TypeError);
    expect(() => a.static('/s', tmp, { maxage: 1 } as any)).toThrow(/did you mean 'maxAge'/);
    expect(() => a.static('/s', tmp, { index: '../x' })).toThrow(TypeError);
    expect(() => a.static('/s', tmp, { dotfiles: 'deny' } as any)).toThrow(TypeError);
  });
});
