import { ChildProcessWithoutNullStreams, spawn } from 'child_process';
import * as path from 'path';
import WebSocket from 'ws';
import { App } from '../../lib';
import type { CloseEvent } from '../../types/index';
import { startApp, until, withTimeout } from '../helpers';

/** Starts the never-reading client; resolves with its connection id once it is in the room. */
function slowClient(port: number, room: string): Promise<{ child: ChildProcessWithoutNullStreams; id: string }> {
  const child = spawn('python3', [path.join(__dirname, '..', 'fixtures', 'slow_client.py'), String(port), '/ws', room]);
  return withTimeout(new Promise((resolve, reject) => {
    // Its first line, which a busy machine may hand over in pieces.
    let said = '';
    const onData = (d: Buffer): void => {
      said += String(d);
      if (!said.includes('\n')) return;
      child.stdout.off('data', onData);
      const m = /^joined (\S+)/.exec(said);
      if (m) resolve({ child, id: m[1] });
      else reject(new Error(`slow client said ${said}`));
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => reject(new Error(`slow client exited with ${code}`)));
  }), 10000, 'slow client');
}

/** Opens `n` ws clients in `room`, each counting room messages. */
async function members(url: string, room: string, n: number): Promise<{ sockets: WebSocket[]; counts: number[] }> {
  const counts = new Array<number>(n).fill(0);
  const sockets: WebSocket[] = [];
  for (let start = 0; start < n; start += 100) {
    const batch = await Promise.all(Array.from({ length: Math.min(100, n - start) }, (_, k) => new Promise<WebSocket>((resolve, reject) => {
      const i = start + k;
      const ws = new WebSocket(url);
      ws.on('message', (d) => {
        const text = String(d);
        if (text.startsWith('{"type":"welcome"')) ws.send(JSON.stringify({ type: 'join_room', room_id: room }));
        else if (text.startsWith('{"type":"room_joined"')) resolve(ws);
        else if (text.startsWith('{"type":"room_message"')) counts[i]++;
      });
      ws.on('error', reject);
    })));
    sockets.push(...batch);
  }
  return { sockets, counts };
}

describe('backpressure', () => {
  let app: App;
  let slow: ChildProcessWithoutNullStreams | undefined;
  let sockets: WebSocket[] = [];
  afterEach(async () => {
    slow?.kill();
    for (const s of sockets) s.terminate();
    await app.close({ timeoutMs: 1000 });
  });

  const messages = 300;
  const payload = 'x'.repeat(1000);

  for (const policy of ['drop', 'close'] as const) {
    it(`keeps 999 members fed while one stops reading, and ${policy === 'drop' ? 'drops its frames' : 'closes it with 1013'}`, async () => {
      const closes: CloseEvent[] = [];
      const s = await startApp((a) => a.websocket('/ws', { acks: false, onClose: (e) => void closes.push(e) }),
        { maxBackpressure: 64 * 1024, backpressurePolicy: policy, requestTimeout: 500, heartbeatInterval: 0, metrics: true });
      app = s.app;
      const room = app.createRoom('crowd');
      const fast = await members(`ws://${s.url}/ws`, room, 999);
      sockets = fast.sockets;
      const lagging = await slowClient(s.port, room);
      slow = lagging.child;
      expect(app.getRoomInfo(room)!.connectionsCount).toBe(1000);

      // First fill the kernel buffers between the server and the slow member, until the
      // server's own queue for it reports backpressure.
      const chunk = 'y'.repeat(64 * 1024);
      let full = false;
      const over = () => app.getClientInfo(lagging.id)!.bufferedAmount >= 64 * 1024;
      for (let i = 0; i < 400 && !full; i++) {
        app.send(lagging.id, chunk);
        await new Promise((r) => setTimeout(r, 5));
        // Full once the queue stays over the limit: the kernel's buffers (which grow up to
        // tcp_wmem's maximum) take no more.
        if (over()) {
          await new Promise((r) => setTimeout(r, 200));
          full = over();
        }
      }
      expect(full).toBe(true);

      let maxBuffered = 0;
      const statuses = new Set<string>();
      // The publisher goes at the pace of the healthy members (this one process reads all 999
      // of them); the slow member never reads, so its queue alone overflows.
      for (let i = 0; i < messages; i += 10) {
        for (let k = 0; k < 10; k++) statuses.add(String(app.sendRoomMessage(room, payload)));
        const info = app.getClientInfo(lagging.id);
        if (info) maxBuffered = Math.max(maxBuffered, info.bufferedAmount);
        await until(() => fast.counts.every((c) => c >= i + 10), 10000, `the healthy members to get message ${i + 10}`);
      }
      expect(fast.counts.every((c) => c === messages)).toBe(true);
      // Memory stays bounded: the slow member's queue never passes the limit by more than the
      // frame that crossed it.
      expect(maxBuffered).toBeLessThanOrEqual(2 * 64 * 1024 + 100);
      expect([...statuses]).toContain('dropped');
      const metrics = await (await fetch(`http://${s.url}/metrics`)).text();
      const dropped = Number(/roomwire_dropped_messages_total\{reason="backpressure"\} (\d+)/.exec(metrics)![1]);
      expect(dropped).toBeGreaterThan(0);
      if (policy === 'close') {
        await until(() => closes.some((c) => c.connectionId === lagging.id), 5000, 'the slow member to be closed');
        expect(closes.find((c) => c.connectionId === lagging.id)!.code).toBe(1013);
        expect(app.getRoomInfo(room)!.connectionsCount).toBe(999);
      } else {
        expect(app.getClientInfo(lagging.id)).not.toBeNull();
        expect(closes).toHaveLength(0);
      }
    }, 90000);
  }
});
