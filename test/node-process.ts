/**
 * A roomwire server in a child process of its own (test/fixtures/cluster-node.js), driven
 * over IPC: for the tests that kill a server (SIGKILL) and start it again, with or without
 * the cluster option.
 */
import { ChildProcess, fork } from 'child_process';
import * as http from 'http';
import * as path from 'path';
import { sleep, withTimeout } from './helpers';

const fixture = path.join(__dirname, 'fixtures', 'cluster-node.js');

/** One server: a child process driven over IPC. */
export class Node {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  exited: Promise<void>;

  private constructor(readonly proc: ChildProcess, readonly port: number) {
    proc.on('message', (m: { id?: number; result?: unknown; error?: string }) => {
      const w = m.id === undefined ? undefined : this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id!);
      if (m.error !== undefined) w.reject(new Error(m.error));
      else w.resolve(m.result);
    });
    this.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
  }

  /**
   * Starts a server; with `cluster`, resolves once it is in step with the cluster. `app`:
   * more createApp options.
   */
  static async start(cluster?: Record<string, unknown>, threads = 2, app: Record<string, unknown> = {}): Promise<Node> {
    const proc = fork(fixture, [JSON.stringify({ cluster, threads, app })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const port = await withTimeout(new Promise<number>((resolve, reject) => {
      proc.once('message', (m: { port: number }) => resolve(m.port));
      proc.once('exit', (code) => reject(new Error(`cluster node exited with ${code}`)));
    }), 10000, 'cluster node start');
    const node = new Node(proc, port);
    if (cluster) await node.untilLive();
    return node;
  }

  url(route = '/chat', clientId?: string): string {
    return `ws://127.0.0.1:${this.port}${route}${clientId ? `?clientId=${clientId}` : ''}`;
  }

  call(op: string, ...args: unknown[]): Promise<any> {
    const id = this.nextId++;
    return withTimeout(new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.proc.send({ id, op, args });
    }), 10000, `node ${op}`);
  }

  /** Polls until `check(await call(op))` holds, at most `ms`. */
  async until(op: string, args: unknown[], check: (v: any) => boolean, ms = 5000): Promise<any> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await this.call(op, ...args);
      if (check(v)) return v;
      if (Date.now() > deadline) throw new Error(`${op}(${JSON.stringify(args)}) still ${JSON.stringify(v)} after ${ms} ms`);
      await sleep(20);
    }
  }

  untilLive(ms = 10000): Promise<boolean> {
    return this.until('isClusterConnected', [], (v) => v === true, ms);
  }

  metrics(): Promise<string> {
    return new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: this.port, path: '/metrics' }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(body));
      }).on('error', reject);
    });
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    try {
      await this.call('close', { timeoutMs: 1000 });
    } catch {
      // already gone
    }
    this.proc.disconnect();
    await withTimeout(this.exited, 5000, 'node exit');
  }

  async kill(): Promise<void> {
    this.proc.kill('SIGKILL');
    await this.exited;
  }
}

