/**
 * Routes with `protocol: 'hooks'` (declarative programs the core runs), with real clients:
 * Worpen's echo, multi-room chat, game server and notification hub from examples/hooks,
 * the same served while the server's JavaScript thread is blocked, programs given in code,
 * the limits, and the errors (in code: the key; in a routes file: the line too).
 */
import { fork } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, HooksError } from '../../lib';
import type { HooksWebSocketOptions } from '../../types/index';
import { Client, refusedUpgrade, startApp, withTimeout } from '../helpers';

async function open(url: string): Promise<Client> {
  const c = new Client(url);
  await c.opened();
  return c;
}
const text = async (c: Client, ms = 5000): Promise<string> => String((await c.nextFrame(ms)).data);

describe('examples/hooks (Worpen echo, multi-room chat, game server, notification hub)', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createHooksApp } = require('../../examples/hooks/server.js') as { createHooksApp: (o?: object) => App };
  let app: App;
  let base: string;

  beforeAll(async () => {
    app = createHooksApp({ threads: 2 });
    base = `ws://127.0.0.1:${await app.listen(0, '127.0.0.1')}`;
  });
  afterAll(() => app.close());

  it('echoes', async () => {
    const c = await open(`${base}/ws/echo`);
    c.send('hello');
    c.send('héllo {{ message }}');
    expect(await text(c)).toBe('Echo: hello');
    expect(await text(c)).toBe('Echo: héllo {{ message }}');
    c.close();
  });

  it('chats in rooms named by the path', async () => {
    const a = await open(`${base}/ws/chat/lobby`);
    expect(await text(a)).toBe('Joined room: lobby');
    const aId = (await text(a)).replace(/ joined$/, '');
    const b = await open(`${base}/ws/chat/lobby`);
    const other = await open(`${base}/ws/chat/other`);
    expect(await text(b)).toBe('Joined room: lobby');
    const bJoined = await text(b);
    expect(await text(a)).toBe(bJoined);
    expect(await text(other)).toBe('Joined room: other');
    await text(other);
    b.send('hi lobby');
    expect(await text(a)).toBe('hi lobby');
    expect(await text(b)).toBe('hi lobby');
    a.close();
    expect(await text(b)).toBe(`${aId} left`);
    await other.expectSilence(100);
    b.close();
    other.close();
  });

  it('keeps a score per player and tells the game', async () => {
    const p1 = await open(`${base}/ws/game`);
    const id1 = (await text(p1)).replace('Game started! Player ID: ', '');
    const p2 = await open(`${base}/ws/game`);
    await text(p2);
    p1.send('score');
    expect(await text(p1)).toBe('Score: 1');
    expect(await text(p1)).toBe(`${id1} scored! Total: 1`);
    expect(await text(p2)).toBe(`${id1} scored! Total: 1`);
    p1.send('miss');
    p1.send('score');
    expect(await text(p1)).toBe('Score: 2');
    expect(await text(p2)).toBe(`${id1} scored! Total: 2`);
    p2.send('score');
    expect(await text(p2)).toBe('Score: 1'); // its own variables
    p1.close();
    p2.close();
  });

  it('subscribes and publishes notifications', async () => {
    const reader = await open(`${base}/ws/notifications?user_id=ann`);
    const writer = await open(`${base}/ws/notifications?user_id=bob`);
    reader.send('subscribe:news');
    expect(await text(reader)).toBe('Subscribed to news');
    writer.send('publish:news:meeting at 10:30');
    expect(JSON.parse(await text(reader))).toEqual({ topic: 'news', from: 'bob', text: 'meeting at 10:30' });
    writer.send('publish:sports:no one listens');
    writer.send('hello?');
    expect(await text(writer)).toBe('Invalid command');
    await reader.expectSilence(100);
    reader.close();
    writer.close();
  });
});

describe('hooks run without JavaScript', () => {
  it('serves echo and chat while the server process blocks its JavaScript thread', async () => {
    const child = fork(path.join(__dirname, '..', 'fixtures', 'hooks-blocked.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const messages: Array<Record<string, number | boolean>> = [];
    const nextMessage = () => withTimeout(new Promise<Record<string, number | boolean>>((resolve) => {
      const take = () => (messages.length > 0 ? resolve(messages.shift()!) : setTimeout(take, 5));
      take();
    }), 10000, 'child message');
    child.on('message', (m: Record<string, number | boolean>) => messages.push(m));
    try {
      const { port } = await nextMessage();
      const echo = await open(`ws://127.0.0.1:${port}/ws/echo`);
      const a = await open(`ws://127.0.0.1:${port}/ws/chat/blocked`);
      await text(a);
      await text(a);
      child.send({ block: 3000 });
      expect(await nextMessage()).toEqual({ blocking: true });
      // Connected, joined, echoed and chatted while JavaScript cannot run.
      const b = await open(`ws://127.0.0.1:${port}/ws/chat/blocked`);
      expect(await text(b)).toBe('Joined room: blocked');
      await text(b);
      await text(a);
      echo.send('while blocked');
      b.send('to the room');
      expect(await text(echo)).toBe('Echo: while blocked');
      expect(await text(a)).toBe('to the room');
      const answeredAt = Date.now();
      const { unblocked } = await nextMessage();
      expect(answeredAt).toBeLessThan(unblocked as number);
      for (const c of [echo, a, b]) c.close();
      child.send({ close: true });
      await withTimeout(new Promise((r) => child.once('exit', r)), 10000, 'child exit');
    } finally {
      child.kill();
    }
  });
});

describe("protocol: 'hooks' in code", () => {
  let app: App;
  let base: string;

  beforeAll(async () => {
    let url: string;
    ({ app, url } = await startApp((a) => {
      a.websocket('/hello/:name', {
        protocol: 'hooks',
        hooks: {
          on_connect: [
            { SetVar: { name: 'count', value: 0 } },
            { Return: { value: 'Welcome {{ params.name }} ({{ query.lang | default("en") }})' } },
            { WsOp: { command: 'send', message: 'never sent' } },
          ],
          on_message: [
            { If: { condition: 'message | length > 10', then: [{ Return: { value: 'Message too long' } }] } },
            { SetVar: { name: 'count', value: '{{ count + 1 }}' } },
            { If: { condition: "message == 'all'", then: [{ WsOp: { command: 'broadcast', message: '{{ params.name }} to all' } }],
              else: [{ WsOp: { command: 'send', message: '#{{ count }} {{ message | upper }}' } }] } },
          ],
        },
      });
      a.websocket('/tight', {
        protocol: 'hooks',
        hooks: { on_message: [{ WsOp: { command: 'send', message: 'Echo: {{ message }}' } }] },
        limits: { maxOutput: 32 },
      });
      a.websocket('/chat', {}); // an RNode route beside them
    }));
    base = `ws://${url}`;
  });
  afterAll(() => app.close());

  it('runs Return, If, variables, params and query per connection', async () => {
    const ann = await open(`${base}/hello/ann?lang=fr`);
    const bob = await open(`${base}/hello/bob`);
    expect(await text(ann)).toBe('Welcome ann (fr)');
    expect(await text(bob)).toBe('Welcome bob (en)');
    ann.send('hi');
    ann.send('this one is far too long');
    ann.send('again');
    expect(await text(ann)).toBe('#1 HI');
    expect(await text(ann)).toBe('Message too long');
    expect(await text(ann)).toBe('#2 AGAIN');
    bob.send('x');
    expect(await text(bob)).toBe('#1 X');
    ann.close();
    bob.close();
  });

  it('broadcasts without a channel to every connection of the route, whatever its parameters', async () => {
    const [a, b] = [await open(`${base}/hello/a`), await open(`${base}/hello/b`)];
    const rnode = await open(`${base}/chat`);
    await text(a);
    await text(b);
    await rnode.next(); // its welcome
    a.send('all');
    expect(await text(a)).toBe('a to all');
    expect(await text(b)).toBe('a to all');
    await rnode.expectSilence(100);
    a.close();
    b.close();
    rnode.close();
  });

  it('stops a run over its limit and keeps the connection', async () => {
    const c = await open(`${base}/tight`);
    c.send('x'.repeat(40));
    c.send('short');
    expect(await text(c)).toBe('Echo: short');
    c.ws.send(Buffer.from([1, 2, 3])); // binary frames have no hook: dropped
    c.send('still here');
    expect(await text(c)).toBe('Echo: still here');
    c.close();
  });
});

describe('hooks errors', () => {
  let app: App;
  let dir: string;
  beforeEach(() => {
    app = new App({ threads: 1 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roomwire-hooks-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, body: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, body);
    return file;
  };
  const thrown = (f: () => unknown): HooksError => {
    try {
      f();
    } catch (err) {
      return err as HooksError;
    }
    throw new Error('nothing thrown');
  };

  it('names the key of a program given in code', () => {
    const err = thrown(() => app.websocket('/x', { protocol: 'hooks',
      hooks: { on_message: [{ If: { condition: 'true', then: [{ WsOp: { command: 'send', message: '{{ mesage }}' } }] } }] } }));
    expect(err).toBeInstanceOf(HooksError);
    expect(err.code).toBe('RW_ERR_HOOKS');
    expect(err.keyPath).toEqual(['on_message', 0, 'If', 'then', 0, 'WsOp', 'message']);
    expect(err.message).toBe("options.hooks.on_message[0].If.then[0].WsOp.message: unknown name 'mesage' " +
      "(not a built-in name, and no SetVar sets it) in '{{ mesage }}'");
    expect(thrown(() => app.websocket('/x', { protocol: 'hooks', hooks: { on_message: [{ SqlOp: {} }] } } as never)).message)
      .toMatch(/on_message\[0\]\.SqlOp: unknown operation/);
    expect(thrown(() => app.websocket('/x', { protocol: 'hooks', hooks: { on_connect: [{ WsOp: { command: 'join' } }] } } as never)).message)
      .toMatch(/on_connect\[0\]\.WsOp: needs 'channel'/);
    // Nothing was registered by the failures.
    app.websocket('/x', { protocol: 'hooks', hooks: {} });
  });

  it('checks the options', () => {
    const hooks = { on_message: [] };
    expect(() => app.websocket('/y', { protocol: 'hooks', hooks, onMessage: () => undefined } as never)).toThrow(/options\.onMessage.*no callbacks/);
    expect(() => app.websocket('/y', { protocol: 'hooks' } as never)).toThrow(/options\.hooks/);
    expect(() => app.websocket('/y', { protocol: 'hooks', hooks, limits: { maxSteps: -1 } })).toThrow(/options\.limits\.maxSteps/);
    expect(() => app.websocket('/y', { protocol: 'hooks', hooks, limits: { maxLoops: 1 } } as never)).toThrow(/maxLoops/);
    expect(() => app.websocket('/y', { protocol: 'hooks', hooks, allowedOrigins: () => true } as never)).toThrow(/allowedOrigins/);
    expect(() => app.websocket('/y', { protocol: 'hooks', hooks, history: { size: 1 } } as never)).toThrow(/options\.history/);
    const vars = { on_connect: [{ SetVar: { name: 'a', value: '1' } }, { SetVar: { name: 'b', value: '2' } }] };
    expect(() => app.websocket('/y', { protocol: 'hooks', hooks: vars, limits: { maxVariables: 1 } } as HooksWebSocketOptions))
      .toThrow(/maxVariables is 1/);
  });

  it('names the file, line and key of a routes file, and adds none of its routes', async () => {
    const file = write('routes.yaml', [
      'routes:',
      '  - path: /good',
      '    ws_hooks:',
      '      on_message:',
      '        - WsOp: { command: send, message: "ok" }',
      '  - path: /bad',
      '    ws_hooks:',
      '      on_message:',
      '        - Log:',
      '            message: "fine"',
      '        - WsOp:',
      '            command: "send"',
      '            message: "{{ message | shout }}"',
      '',
    ].join('\n'));
    const err = thrown(() => app.loadRoutes(file));
    expect(err).toBeInstanceOf(HooksError);
    expect(err.file).toBe(file);
    expect(err.line).toBe(13);
    expect(err.message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:13:\\d+: ` +
      'routes\\[1\\]\\.ws_hooks\\.on_message\\[1\\]\\.WsOp\\.message: unknown filter \'shout\''));
    // /good was not added: the file as a whole failed.
    const port = await app.listen(0, '127.0.0.1');
    expect((await refusedUpgrade(`ws://127.0.0.1:${port}/good`)).status).toBe(404);
    await app.close();
  });

  it('reports YAML syntax, unknown fields and other route types with their lines', () => {
    expect(thrown(() => app.loadRoutes(write('a.yaml', 'path: /a\nws_hooks:\n  on_message: [\n'))).message).toMatch(/a\.yaml:\d+:\d+: /);
    const unknown = thrown(() => app.loadRoutes(write('b.yaml', 'path: /b\nmethod: GET\nws_hooks: {}\n')));
    expect(unknown.line).toBe(2);
    expect(unknown.message).toMatch(/method: not a route field/);
    expect(thrown(() => app.loadRoutes(write('c.yaml', 'path: /c\nroute_type: Http\nws_hooks: {}\n'))).message)
      .toMatch(/c\.yaml:2:\d+: route_type: only WebSocket routes/);
    const json = thrown(() => app.loadRoutes(write('d.json', '{\n  "path": "/d",\n  "ws_hooks": {\n    "on_conect": []\n  }\n}\n')));
    expect(json.line).toBe(4);
    expect(json.message).toMatch(/ws_hooks\.on_conect: unknown hook/);
    expect(thrown(() => app.loadRoutes(path.join(dir, 'missing.yaml'))).message).toMatch(/cannot read the routes file/);
    expect(app.loadRoutes(write('e.yaml', '- path: /e1\n  ws_hooks: {}\n- path: /e2\n  ws_hooks: {}\n'))).toBe(2);
  });
});
