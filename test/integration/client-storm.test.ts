/**
 * 1,000 clients dropped at once come back spread over the backoff window, not in one
 * burst (full jitter), and all of them rejoin. The figures (`bench/reconnect-storm.js`)
 * are in bench/RESULTS.md; this checks the properties.
 */
import { App } from '../../lib';
import { RoomwireClient } from '../../lib/client/roomwire-client';
import { startApp, until } from '../helpers';

describe('a reconnect storm', () => {
  let app: App;
  const clients: RoomwireClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.disconnect();
    await app?.close({ timeoutMs: 2000 });
  });

  it('spreads 1,000 reconnects over the window and rejoins every client', async () => {
    const count = 1000;
    const window = 1000;  // ms: the first attempt waits uniformly in [0, window)
    let welcomes = 0;
    const started = await startApp((a) => a.websocket('/ws', { onConnect: () => { welcomes += 1; return undefined; } }));
    app = started.app;
    const room = app.createRoom('storm');
    for (let i = 0; i < count; i += 100) {
      const batch = [];
      for (let j = 0; j < 100; j += 1) {
        const c = new RoomwireClient({ url: `ws://${started.url}/ws`, reconnectDelay: window, reconnectDelayMax: window, pingInterval: 0 });
        clients.push(c);
        batch.push(c.connect().then(() => c.joinRoom(room)));
      }
      await Promise.all(batch);
    }
    const delays: number[] = [];
    let rejoined = 0;
    for (const c of clients) {
      c.on('reconnecting', (e) => delays.push(e.delay));
      c.on('rejoined', () => { rejoined += 1; });
    }
    welcomes = 0;
    for (const c of clients) app.closeConnection(c.connectionId!, 1012, 'restart');
    await until(() => rejoined === count, 20000, 'every client rejoined');
    expect(welcomes).toBe(count);
    expect(app.getRoomInfo(room)!.connectionsCount).toBe(count);
    // One first attempt each, uniform over the window: no tenth of it holds more than twice
    // its share, and the attempts reach into both its first and its last tenth.
    expect(delays).toHaveLength(count);
    const tenths = new Array(10).fill(0);
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(window);
      tenths[Math.floor(d / (window / 10))] += 1;
    }
    expect(Math.max(...tenths)).toBeLessThanOrEqual((2 * count) / 10);
    expect(Math.min(...tenths)).toBeGreaterThan(0);
  });
});
