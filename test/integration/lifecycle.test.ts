import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { createApp } from '../../lib';
import { connect, sleep, startApp, until } from '../helpers';

/** Runs the fixture in a child process; resolves with its exit code, time and JSON lines. */
function runChild(mode: string, timeoutMs = 15000): Promise<{ code: number | null; ms: number; lines: any[] }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [path.join(__dirname, '..', 'fixtures', 'serve-then-close.js'), mode], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child did not exit within ${timeoutMs} ms; output: ${out}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, ms: Date.now() - started, lines: out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) });
    });
  });
}

describe('App lifecycle', () => {
  describe('#close', () => {
    it('lets the process exit by itself with code 0', async () => {
      const r = await runChild('close');
      expect(r.code).toBe(0);
      expect(r.lines).toContainEqual({ closed: true });
      expect(r.lines).toContainEqual({ clientClose: 1001 });
      expect(r.lines).toContainEqual({ onClose: 1001 });
    });

    it('closes connections with 1001, fires onClose, and is idempotent', async () => {
      const closes: number[] = [];
      const { app, url } = await startApp((a) => a.websocket('/chat', { onClose: (e) => void closes.push(e.code!) }));
      const { client } = await connect(`ws://${url}/chat`);
      const first = app.close();
      const second = app.close();
      await Promise.all([first, second]);
      expect(await client.closed).toBe(1001);
      expect(closes).toEqual([1001]);
      expect(app.listening).toBe(false);
      await app.close();
    });

    it('resolves at once when never listening', async () => {
      await createApp().close();
    });

    it('keeps its sockets out of child processes (close-on-exec): close() frees the port', async () => {
      /** Sockets a child spawned now holds, read from /proc while it sleeps. */
      const socketsOfChild = async (): Promise<number> => {
        const child = spawn('sleep', ['30'], { stdio: 'ignore' });
        try {
          await until(() => fs.existsSync(`/proc/${child.pid}/fd`));
          await sleep(50);  // past the exec
          return fs.readdirSync(`/proc/${child.pid}/fd`)
            .filter((fd) => { try { return fs.readlinkSync(`/proc/${child.pid}/fd/${fd}`).startsWith('socket:'); } catch { return false; } })
            .length;
        } finally {
          child.kill('SIGKILL');
        }
      };
      const baseline = await socketsOfChild();
      const { app, port, url } = await startApp((a) => a.websocket('/ws'));
      const { client } = await connect(`ws://${url}/ws`);
      const child = spawn('sleep', ['30'], { stdio: 'ignore' });
      try {
        expect(await socketsOfChild()).toBe(baseline);
        await app.close();
        await client.closed;
        // The child still runs: the port must be free all the same.
        await expect(app.listen(port, '127.0.0.1')).resolves.toBe(port);
        await app.close();
      } finally {
        child.kill('SIGKILL');
      }
    });

    it('can listen again after closing', async () => {
      const { app } = await startApp((a) => a.get('/x', (_req, res) => res.json(1)));
      await app.close();
      const port = await app.listen(0, '127.0.0.1');
      expect((await fetch(`http://127.0.0.1:${port}/x`)).status).toBe(200);
      await app.close();
    });
  });

  describe('#listen', () => {
    it('rejects on a port in use with a clear error, and leaves no thread behind', async () => {
      const r = await runChild('taken-port');
      expect(r.code).toBe(0);
      expect(r.lines[0]).toMatchObject({ code: 'RW_ERR_LISTEN', syscallCode: 'EADDRINUSE' });
      expect(r.lines[0].message).toMatch(/listen 127\.0\.0\.1:\d+: Address already in use/);
    });

    it('resolves host names, and calls a callback the Express way', async () => {
      const app = createApp({ threads: 1 });
      app.get('/x', (_req, res) => res.json(1));
      const port = await app.listen(0, 'localhost');
      expect((await fetch(`http://localhost:${port}/x`)).status).toBe(200);
      await app.close();
      // listen(port, host, callback) and listen(port, callback): the callback runs once listening.
      const called = await new Promise<unknown[]>((resolve) => void app.listen(0, '127.0.0.1', (...args: unknown[]) => resolve(args)));
      expect(called).toEqual([]);
      expect(app.port).toBeGreaterThan(0);
      const taken = app.port!;
      const other = createApp({ threads: 1, host: '127.0.0.1' });
      // A failure reaches the callback as its error; the Promise rejects too, and is handled.
      const err = await new Promise<Error | undefined>((resolve) => void other.listen(taken, '127.0.0.1', resolve).catch(() => undefined));
      expect(err).toMatchObject({ code: 'RW_ERR_LISTEN', syscallCode: 'EADDRINUSE' });
      await app.close();
      const viaCallback = await new Promise<number | undefined>((resolve) => void other.listen(0, () => resolve(other.port)));
      expect(viaCallback).toBeGreaterThan(0);
      await other.close();
      const bad = await createApp().listen(0, 'no-such-host.invalid').catch((e: Error & { code?: string }) => e);
      expect(bad).toMatchObject({ code: 'RW_ERR_LISTEN' });
      await expect(createApp().listen(0, '127.0.0.1', 'nope' as any)).rejects.toThrow(TypeError);
    });

    it('rejects a second listen while listening', async () => {
      const { app } = await startApp(() => undefined);
      await expect(app.listen(0)).rejects.toMatchObject({ code: 'RW_ERR_ALREADY_LISTENING' });
      await app.close();
    });

    it('resolves with the bound port and reports it', async () => {
      const app = createApp({ threads: 1 });
      const listening = new Promise((resolve) => app.once('listening', resolve));
      const port = await app.listen(0, '127.0.0.1');
      expect(port).toBeGreaterThan(0);
      expect(app.port).toBe(port);
      expect(await listening).toBe(port);
      await app.close();
      expect(app.port).toBeUndefined();
    });

    it('counts open connections', async () => {
      const { app, url } = await startApp((a) => a.websocket('/c'));
      const a = await connect(`ws://${url}/c`);
      const b = await connect(`ws://${url}/c`);
      expect(app.getWebSocketConnections()).toBe(2);
      a.client.close();
      await until(() => app.getWebSocketConnections() === 1);
      b.client.close();
      await app.close();
    });
  });
});
