import * as net from 'net';
import { App } from '../../lib';
import type { WebSocketEventData } from '../../types/index';
import { RawClient } from '../raw-ws';
import { connect, refusedUpgrade, sleep, startApp, until } from '../helpers';

describe('limits and timeouts', () => {
  let app: App | undefined;
  afterEach(async () => {
    await app?.close({ timeoutMs: 1000 });
    app = undefined;
  });

  it('refuses upgrades past maxConnections with 503, and accepts again once one leaves', async () => {
    const s = await startApp((a) => a.websocket('/ws'), { maxConnections: 2 });
    app = s.app;
    const a = await connect(`ws://${s.url}/ws`);
    const b = await connect(`ws://${s.url}/ws`);
    const refused = await refusedUpgrade(`ws://${s.url}/ws`);
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body)).toEqual({ error: 'Too many connections' });
    a.client.close();
    await until(() => app!.getWebSocketConnections() === 1);
    const c = await connect(`ws://${s.url}/ws`);
    b.client.close();
    c.client.close();
  });

  it('closes a peer silent past idleTimeout with 1001 and cleans it up', async () => {
    const closes: WebSocketEventData[] = [];
    const s = await startApp((a) => a.websocket('/ws', { onClose: (e) => void closes.push(e) }),
      { idleTimeout: 300, heartbeatInterval: 0, requestTimeout: 500 });
    app = s.app;
    const room = app.createRoom('r');
    const raw = await RawClient.open(s.port);
    // Put it in a room through the REST-free API path: the join is what must be cleaned up.
    const started = Date.now();
    expect(await raw.closeCode(3000)).toBe(1001);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    await until(() => closes.length === 1, 3000);
    expect(closes[0].code).toBe(1001);
    expect(app.getWebSocketConnections()).toBe(0);
    expect(app.getRoomInfo(room)!.connectionsCount).toBe(0);
    raw.destroy();
  });

  it('keeps a peer that answers protocol pings, and records its latency', async () => {
    const s = await startApp((a) => a.websocket('/ws'), { idleTimeout: 400, heartbeatInterval: 100 });
    app = s.app;
    const { client, welcome } = await connect(`ws://${s.url}/ws`);
    let pings = 0;
    client.ws.on('ping', () => pings++);
    // The ws client answers protocol pings by itself and JSON pings here.
    client.ws.on('message', (d) => {
      if (JSON.parse(String(d)).type === 'ping') client.send({ type: 'pong' });
    });
    await sleep(1200);
    expect(client.closeCode).toBeUndefined();
    expect(pings).toBeGreaterThanOrEqual(3);
    expect(app.getClientInfo(welcome.connection_id)!.latency).toEqual(expect.any(Number));
    client.close();
  });

  it('drops a slowloris upgrade that never finishes its headers', async () => {
    const s = await startApp((a) => a.websocket('/ws'), { requestTimeout: 300 });
    app = s.app;
    const sock = net.connect(s.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n');
    const t0 = Date.now();
    await new Promise<void>((resolve) => sock.once('close', () => resolve()));
    expect(Date.now() - t0).toBeLessThan(3000);
    const ok = await connect(`ws://${s.url}/ws`);
    ok.client.close();
  });

  it('rate-limits a connection with rate_limited, then closes persistent abuse with 1008', async () => {
    const s = await startApp((a) => a.websocket('/ws', { maxMessagesPerSecond: 10 }), { metrics: true });
    app = s.app;
    const { client } = await connect(`ws://${s.url}/ws`);
    for (let i = 0; i < 15; i++) client.send({ type: 'm', i });
    const replies: string[] = [];
    for (let i = 0; i < 15; i++) {
      const m = await client.next();
      replies.push(m.type === 'error' ? m.error_type : m.type);
    }
    expect(replies.filter((r) => r === 'message_ack')).toHaveLength(10);
    expect(replies.filter((r) => r === 'rate_limited')).toHaveLength(5);
    for (let i = 0; i < 50; i++) client.send({ type: 'flood', i });
    expect(await client.closed).toBe(1008);
    const metrics = await (await fetch(`http://${s.url}/metrics`)).text();
    expect(metrics).toMatch(/roomwire_dropped_messages_total\{reason="rate_limited"\} [1-9]/);
    // Other connections are unaffected.
    const other = await connect(`ws://${s.url}/ws`);
    other.client.send({ type: 'x' });
    expect((await other.client.next()).type).toBe('message_ack');
    other.client.close();
  });

  it('answers every frame taken before a rate-limit close, in frame order, then closes', async () => {
    // Each connection sends 20 frames in one burst at 5 per second: 5 are taken and acked,
    // the next 5 get rate_limited, the 11th refusal closes with 1008. Nothing taken is lost.
    const s = await startApp((a) => a.websocket('/ws', { maxMessagesPerSecond: 5 }));
    app = s.app;
    const clients = await Promise.all(Array.from({ length: 20 }, () => connect(`ws://${s.url}/ws`)));
    const received = clients.map(() => [] as string[]);
    clients.forEach(({ client }, n) => {
      client.ws.on('message', (d) => {
        const m = JSON.parse(String(d));
        received[n].push(m.type === 'message_ack' ? `ack:${JSON.parse(m.message).i}` : m.error_type ?? m.type);
      });
      for (let i = 0; i < 20; i++) client.send({ type: 'm', i });
    });
    const codes = await Promise.all(clients.map(({ client }) => client.closed));
    expect(codes.every((c) => c === 1008)).toBe(true);
    const expected = ['ack:0', 'ack:1', 'ack:2', 'ack:3', 'ack:4', ...new Array(5).fill('rate_limited')];
    for (const r of received) expect(r).toEqual(expected);
  });

  it('lets a well-behaved client keep sending at the rate forever', async () => {
    const s = await startApp((a) => a.websocket('/ws', { maxMessagesPerSecond: 50 }));
    app = s.app;
    const { client } = await connect(`ws://${s.url}/ws`);
    for (let i = 0; i < 40; i++) {
      client.send({ type: 'steady', i });
      expect((await client.next()).type).toBe('message_ack');
      await sleep(25);
    }
    client.close();
  });
});
