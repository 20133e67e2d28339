/**
 * The chat demo in headless Chromium (Debian's build, driven by playwright-core), on the
 * browser build of roomwire/client: two people chat through a room, see each other's
 * presence, send a direct message and see a leave — on one server, and each on their own
 * server of a cluster; a page whose connection dropped comes back with what it missed.
 */
import { Browser, Page, chromium } from 'playwright-core';
import type { App } from '../../types/index';
import { RedisServer } from '../redis';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createChatApp, selfSignedTls } = require('../../examples/chat/server.js') as {
  createChatApp: (o?: object) => App;
  selfSignedTls: () => { key: Buffer; cert: Buffer };
};

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Flags for a closed network and a root user (see the machine notes): no sandbox, no
// background traffic, no first-run work.
const args = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

/** Opens the page at `base`, connects as `name` and waits to be listed in the room. */
async function visitAs(browser: Browser, base: string, name: string): Promise<Page> {
  // The TLS run's certificate is self-signed: accepted as a user accepts it once.
  const page = await browser.newPage({ ignoreHTTPSErrors: base.startsWith('https:') });
  page.setDefaultTimeout(10000);
  await page.goto(base);
  await page.fill('#name', name);
  await page.click('#connect');
  await page.waitForSelector(`#members li[data-client-id="${name}"]`);
  return page;
}

/** One demo server (with `options`) and a browser for a describe block; its `base` URL. */
function demoServer(options: object): { app: () => App; browser: () => Browser; base: () => string } {
  let app: App;
  let browser: Browser;
  let base: string;
  beforeAll(async () => {
    app = createChatApp({ threads: 2, ...options });
    const port = await app.listen(0, '127.0.0.1');
    base = `${app.secure ? 'https' : 'http'}://127.0.0.1:${port}`;
    browser = await chromium.launch({ executablePath, args, headless: true, timeout: 30000 });
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });
  return { app: () => app, browser: () => browser, base: () => base };
}

describe('chat demo in a browser', () => {
  const demo = demoServer({});
  let app: App;
  let browser: Browser;
  let base: string;
  beforeAll(() => {
    [app, browser, base] = [demo.app(), demo.browser(), demo.base()];
  });

  const visit = (name: string): Promise<Page> => visitAs(browser, base, name);

  it('lets two people chat in a room, see presence, message directly and see a leave', async () => {
    const alice = await visit('alice');
    const bob = await visit('bob');
    await alice.waitForSelector('#members li[data-client-id="bob"]');
    await bob.waitForSelector('#members li[data-client-id="alice"]');
    await alice.waitForSelector('#log li.sys:has-text("bob joined")');

    await alice.fill('#text', 'hello bob');
    await alice.press('#text', 'Enter');
    await bob.waitForSelector('#log li:has-text("hello bob")');
    expect(await bob.textContent('#log li:has-text("hello bob") .from')).toBe('alice');

    await bob.selectOption('#to', 'alice');
    await bob.fill('#text', '  psst  ');
    await bob.click('#send');
    await alice.waitForSelector('#log li.dm:has-text("psst")');

    // Rooms come from the REST room API; the Lobby shows both members.
    await alice.waitForSelector('#rooms li.active:has-text("Lobby")');
    await alice.screenshot({ path: `${process.env.SCREENSHOT_DIR ?? '/tmp'}/roomwire-chat.png` });

    await bob.close();
    await alice.waitForSelector('#log li.sys:has-text("bob left")');
    await alice.waitForSelector('#members li[data-client-id="bob"]', { state: 'detached' });
    await alice.close();
  }, 60000);

  it('brings a page whose connection dropped back into its room with the messages it missed, once each', async () => {
    const alice = await visit('carol');
    const bob = await visit('dave');
    const context = bob.context();
    const daveId = (app.getPresence('lobby') ?? []).find((m) => m.client_id === 'dave')!.connection_id;
    // Offline, then the server drops the connection: the page cannot come back until online.
    await context.setOffline(true);
    app.closeConnection(daveId, 1001, 'restart');
    await bob.waitForSelector('#status:has-text("reconnecting")');
    for (const text of ['missed one', 'missed two', 'missed three']) {
      await alice.fill('#text', text);
      await alice.press('#text', 'Enter');
      await alice.waitForSelector(`#log li:has-text("${text}")`);
    }
    await context.setOffline(false);
    await bob.waitForSelector('#status:has-text("connected as dave")', { timeout: 15000 });
    await alice.fill('#text', 'live again');
    await alice.press('#text', 'Enter');
    await bob.waitForSelector('#log li:has-text("live again")');
    const log = await bob.$$eval('#log li', (items) => items.map((li) => li.textContent ?? ''));
    for (const text of ['missed one', 'missed two', 'missed three', 'live again']) {
      expect(log.filter((l) => l.endsWith(text))).toHaveLength(1);
    }
    // In order, and nothing said to be missing.
    const order = ['missed one', 'missed two', 'missed three', 'live again'].map((t) => log.findIndex((l) => l.endsWith(t)));
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(log.some((l) => l.includes('may be missing'))).toBe(false);
    expect(await bob.$$eval('#members li', (items) => items.map((li) => li.dataset.clientId))).toContain('carol');
    await alice.close();
    await bob.close();
  }, 60000);

  it('refuses a bad name at the handshake and keeps serving', async () => {
    const page = await browser.newPage();
    await page.goto(base);
    await page.fill('#name', 'bad!name');
    await page.click('#connect');
    await page.waitForSelector('#status:has-text("disconnected")');
    const health = await (await fetch(`${base}/health`)).json();
    expect(health).toMatchObject({ ok: true, rooms: 3 });
    await page.close();
  }, 30000);
});

describe('chat demo over https and wss (npm run demo -- --tls)', () => {
  const demo = demoServer({ tls: selfSignedTls() });

  it('serves the page over https and chats over wss', async () => {
    const alice = await visitAs(demo.browser(), demo.base(), 'erin');
    const bob = await visitAs(demo.browser(), demo.base(), 'frank');
    expect(await alice.evaluate(() => location.protocol)).toBe('https:');
    await alice.fill('#text', 'over tls');
    await alice.press('#text', 'Enter');
    await bob.waitForSelector('#log li:has-text("over tls")');
    await alice.close();
    await bob.close();
  }, 60000);
});

describe('chat demo across two servers of a cluster', () => {
  let redis: RedisServer;
  let apps: App[] = [];
  let browser: Browser;
  let bases: string[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start();
    apps = [1, 2].map((n) => createChatApp({ threads: 1, cluster: { redis: redis.url, prefix: 'chat', nodeId: `web${n}` } }));
    const ports = await Promise.all(apps.map((a) => a.listen(0, '127.0.0.1')));
    bases = ports.map((p) => `http://127.0.0.1:${p}`);
    for (let i = 0; i < 500 && !apps.every((a) => a.isClusterConnected()); ++i) await new Promise((r) => setTimeout(r, 10));
    browser = await chromium.launch({ executablePath, args, headless: true, timeout: 30000 });
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all(apps.map((a) => a.close()));
    await redis?.kill();
  });

  it('lets two people on different servers chat, see presence, message directly and see a leave', async () => {
    const alice = await visitAs(browser, bases[0], 'alice');
    const bob = await visitAs(browser, bases[1], 'bob');
    await alice.waitForSelector('#members li[data-client-id="bob"]');
    await bob.waitForSelector('#members li[data-client-id="alice"]');

    await alice.fill('#text', 'hello from server 1');
    await alice.press('#text', 'Enter');
    await bob.waitForSelector('#log li:has-text("hello from server 1")');

    await bob.selectOption('#to', 'alice');
    await bob.fill('#text', 'psst across');
    await bob.click('#send');
    await alice.waitForSelector('#log li.dm:has-text("psst across")');
    // Both servers list the same three rooms.
    await bob.waitForSelector('#rooms li.active:has-text("Lobby")');
    expect(apps[0].getAllRooms().map((r) => r.id)).toEqual(['lobby', 'random', 'help']);
    expect(apps[1].getAllRooms().map((r) => r.id)).toEqual(['lobby', 'random', 'help']);

    await bob.close();
    await alice.waitForSelector('#log li.sys:has-text("bob left")');
    await alice.waitForSelector('#members li[data-client-id="bob"]', { state: 'detached' });
    await alice.close();
  }, 60000);
});
