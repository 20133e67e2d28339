/**
 * The App: validates arguments, owns Promises and hands plain values to the native core.
 */
import { EventEmitter } from 'events';
import { promises as dns } from 'dns';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import { HttpError, RoomwireError, codes, invalidArg, outOfRange } from './errors';
import { Request, Response, pairs } from './http';
import { EventExtras, EventStrings, JoinResult, Kind, NativeApp, NativeEvent, eventAt, native } from './native';
import { WsDispatcher, WsHandler, callbackBits } from './events';
import { NativeCluster, clusterOptions } from './cluster';
import { RoverRoute, roverRoute } from './rover';
import { hooksError, hooksRoute, loadRoutesFile, sharedOptions as hooksSharedOptions } from './hooks';
import { covers, roomApiRoutes, segmentsOf, shadowing } from './routes';
import * as is from './validate';
import type {
  AppOptions, ClientInfo, CloseOptions, CreateRoomOptions, LocalOption, LogLevel, PresenceMember, RoomInfo, RouteHandler,
  EventsWebSocketOptions, HooksWebSocketOptions, LoadRoutesOptions, Middleware, RawWebSocketOptions, SendStatus,
  StaticOptions, TlsOptions, WebSocketOptions,
} from '../types/index';

const logLevels: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];
const sendStatuses: readonly SendStatus[] = ['ok', 'backpressure', 'dropped'];
const maxMs = 2 ** 31 - 1;
const maxBytes = 2 ** 40;

/** Default: 5 s for a callback Promise, long enough for a database round trip. */
const defaultCallbackTimeoutMs = 5000;
/** Default: 5 s for connections to flush and close on `close()`. */
const defaultCloseTimeoutMs = 5000;

interface HttpRoute {
  method: string;
  path: string;
  handler: RouteHandler;
}

/** The members of `o` named in `keys` that are set. */
function pick(o: object, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if ((o as Record<string, unknown>)[k] !== undefined) out[k] = (o as Record<string, unknown>)[k];
  return out;
}

/** Callbacks of RNode's protocol, which a `raw` route never calls. */
const rnodeOnlyCallbacks = ['onWelcome', 'onMessageAck', 'onPing', 'onPong', 'onRoomMessage', 'onDirectMessage'] as const;

/** Every option createApp knows (RNode's `timeout` and `devMode` included). */
const knownOptions = ['threads', 'host', 'logLevel', 'callbackTimeoutMs', 'timeout', 'devMode', 'maxBodySize',
  'maxHeaderSize', 'maxPayload', 'maxBackpressure', 'heartbeatInterval', 'idleTimeout', 'requestTimeout', 'metrics',
  'maxConnections', 'backpressurePolicy', 'maxRoomsPerConnection', 'maxIdLength', 'maxPresenceSize', 'welcomeDelayMs',
  'cluster', 'tls'];

/** Checks AppOptions and returns the native options plus the facade's own. */
function normaliseOptions(options: unknown): { nativeOptions: Record<string, number | NativeCluster | is.NativeTls>; host: string;
  logLevel: LogLevel; callbackTimeoutMs: number; metrics: boolean; devMode: boolean } {
  if (options === undefined) options = {};
  if (!is.isObject(options)) throw invalidArg('options', 'an object', options);
  const o = options as AppOptions;
  if (o.metrics !== undefined && typeof o.metrics !== 'boolean') throw invalidArg('options.metrics', 'a boolean', o.metrics);
  if (o.devMode !== undefined && typeof o.devMode !== 'boolean') throw invalidArg('options.devMode', 'a boolean', o.devMode);
  is.knownKeys('options', o, knownOptions, 'a known option');
  const nativeOptions: Record<string, number | NativeCluster | is.NativeTls> = {};
  if (o.cluster !== undefined) nativeOptions.cluster = clusterOptions(o.cluster);
  if (o.tls !== undefined) nativeOptions.tls = is.tls('options.tls', o.tls);
  if (o.threads !== undefined) nativeOptions.threads = is.integer('options.threads', o.threads, 1, 256);
  if (o.maxBodySize !== undefined) nativeOptions.maxBodySize = is.integer('options.maxBodySize', o.maxBodySize, 0, maxBytes);
  if (o.maxHeaderSize !== undefined) nativeOptions.maxHeaderSize = is.integer('options.maxHeaderSize', o.maxHeaderSize, 1024, 2 ** 24);
  if (o.maxPayload !== undefined) nativeOptions.maxPayload = is.integer('options.maxPayload', o.maxPayload, 1, maxBytes);
  if (o.maxBackpressure !== undefined) nativeOptions.maxBackpressure = is.integer('options.maxBackpressure', o.maxBackpressure, 1, maxBytes);
  if (o.heartbeatInterval !== undefined) nativeOptions.heartbeatInterval = is.integer('options.heartbeatInterval', o.heartbeatInterval, 0, maxMs);
  if (o.idleTimeout !== undefined) nativeOptions.idleTimeout = is.integer('options.idleTimeout', o.idleTimeout, 0, maxMs);
  if (o.requestTimeout !== undefined) nativeOptions.requestTimeout = is.integer('options.requestTimeout', o.requestTimeout, 1, maxMs);
  if (o.maxConnections !== undefined) nativeOptions.maxConnections = is.integer('options.maxConnections', o.maxConnections, 0, 2 ** 31 - 1);
  if (o.maxRoomsPerConnection !== undefined) {
    nativeOptions.maxRoomsPerConnection = is.integer('options.maxRoomsPerConnection', o.maxRoomsPerConnection, 0, 2 ** 31 - 1);
  }
  if (o.welcomeDelayMs !== undefined) nativeOptions.welcomeDelayMs = is.integer('options.welcomeDelayMs', o.welcomeDelayMs, 0, 1000);
  if (o.maxIdLength !== undefined) nativeOptions.maxIdLength = is.integer('options.maxIdLength', o.maxIdLength, 1, 2 ** 20);
  if (o.maxPresenceSize !== undefined) nativeOptions.maxPresenceSize = is.integer('options.maxPresenceSize', o.maxPresenceSize, 0, maxBytes);
  if (o.backpressurePolicy !== undefined) {
    if (o.backpressurePolicy !== 'drop' && o.backpressurePolicy !== 'close') {
      throw invalidArg('options.backpressurePolicy', "'drop' | 'close'", o.backpressurePolicy);
    }
    nativeOptions.closeOnBackpressure = o.backpressurePolicy === 'close' ? 1 : 0;
  }
  const host = o.host === undefined ? '0.0.0.0' : is.string('options.host', o.host);
  const logLevel = o.logLevel === undefined ? 'warn' : o.logLevel;
  if (!logLevels.includes(logLevel)) throw invalidArg('options.logLevel', logLevels.join(' | '), logLevel);
  // RNode's `timeout` is the time a handler may take: callbackTimeoutMs under another name.
  const timeout = is.optionalInteger('options.timeout', o.timeout, 1, maxMs, 0);
  const callbackTimeoutMs = is.optionalInteger('options.callbackTimeoutMs', o.callbackTimeoutMs, 1, maxMs,
    timeout || defaultCallbackTimeoutMs);
  if (timeout && o.callbackTimeoutMs !== undefined && timeout !== callbackTimeoutMs) {
    throw invalidArg('options.timeout', `the same as options.callbackTimeoutMs (${callbackTimeoutMs}), or absent`, timeout);
  }
  // RNode's devMode: on by default when MODE=development, as RNode does.
  const devMode = o.devMode ?? process.env.MODE === 'development';
  return { nativeOptions, host, logLevel, callbackTimeoutMs, metrics: o.metrics === true, devMode };
}

/** onConnect behind an origin predicate: a refused or throwing check answers 403 first. */
function originGate(allowed: (origin: string) => boolean, onConnect: WebSocketOptions['onConnect']): NonNullable<WebSocketOptions['onConnect']> {
  return (event) => {
    const origin = event.headers.origin;
    if (origin !== undefined) {
      let ok = false;
      try {
        ok = allowed(origin) === true;
      } catch {
        ok = false;
      }
      if (!ok) return { shouldCancel: true, status: 403, error: 'Origin not allowed' };
    }
    return onConnect ? onConnect(event) : undefined;
  };
}

/** Reads the `{ local }` option of the cluster-wide calls. */
function localOnly(options: unknown): boolean {
  if (options === undefined) return false;
  if (!is.isObject(options)) throw invalidArg('options', 'an object like { local: true }', options);
  is.knownKeys('options', options, ['local'], 'local');
  if (options.local !== undefined && typeof options.local !== 'boolean') throw invalidArg('options.local', 'a boolean', options.local);
  return options.local === true;
}

/** The error for a route that an earlier one would always answer first. */
function routeConflict(route: string, earlier: string): RoomwireError {
  return new RoomwireError(codes.ROUTE_CONFLICT, `${route} could never run: ${earlier} answers every request it would get`);
}

/** Close codes an application may send (RFC 6455 §7.4): 1000, a few registered ones, 3000–4999. */
function closeCode(code: unknown): number {
  const c = is.integer('code', code, 1000, 4999);
  if (c >= 3000 || [1000, 1001, 1008, 1011, 1012, 1013].includes(c)) return c;
  throw outOfRange('code', '1000, 1001, 1008, 1011, 1012, 1013 or 3000-4999', code);
}

/** An HTTP and WebSocket server whose sockets live in the native core. */
export class App extends EventEmitter {
  private readonly nativeApp: NativeApp;
  private readonly host: string;
  private readonly callbackTimeoutMs: number;
  private readonly httpRoutes: HttpRoute[] = [];
  private readonly middleware: Array<{ prefix: string; fn: Middleware }> = [];
  private readonly wsHandlers: WsHandler[] = [];
  private readonly ws: WsDispatcher;
  private boundPort: number | undefined;
  private roomApiPrefix: string | undefined;
  /** RNode's devMode: a failing route's 500 answer carries its error's message and stack. */
  private readonly devMode: boolean;
  private metricsEnabled = false;
  /** A host name is being resolved for listen(). */
  private resolving = false;
  private closing: Promise<void> | undefined;
  private resolveClosed: (() => void) | undefined;
  private level: LogLevel;
  private readonly pendingJoins = new Map<number, (joined: boolean) => void>();
  private nextJoinToken = 1;
  /** The Redis host of the cluster option while it is a name still to resolve. */
  private clusterHostName: string | undefined;
  /** The cluster option is set. */
  private readonly clustered: boolean;
  /** The tls option is set: https and wss. */
  readonly secure: boolean;

  /** Use {@link createApp}. */
  constructor(options?: AppOptions) {
    super();
    const o = normaliseOptions(options);
    this.host = o.host;
    this.callbackTimeoutMs = o.callbackTimeoutMs;
    this.level = o.logLevel;
    this.devMode = o.devMode;
    const binding = native();
    binding.setLogLevel(o.logLevel);
    this.nativeApp = new binding.App(o.nativeOptions);
    const cluster = o.nativeOptions.cluster as NativeCluster | undefined;
    if (cluster !== undefined && net.isIP(cluster.host) === 0) this.clusterHostName = cluster.host;
    this.clustered = cluster !== undefined;
    this.secure = o.nativeOptions.tls !== undefined;
    if (o.metrics) this.nativeApp.enableMetrics();
    this.metricsEnabled = o.metrics;
    this.ws = new WsDispatcher(() => (this.boundPort === undefined ? undefined : this.nativeApp), this.wsHandlers,
      () => this.callbackTimeoutMs, (level, message) => this.log(level, message));
  }

  /** The bound port while listening. */
  get port(): number | undefined {
    return this.boundPort;
  }

  /** Whether the server is listening. */
  get listening(): boolean {
    return this.boundPort !== undefined && this.closing === undefined;
  }

  /** Registers a GET route. */
  get(path: string, handler: RouteHandler): this {
    return this.route('GET', path, handler);
  }

  /** Registers a POST route. */
  post(path: string, handler: RouteHandler): this {
    return this.route('POST', path, handler);
  }

  /** Registers a PUT route. */
  put(path: string, handler: RouteHandler): this {
    return this.route('PUT', path, handler);
  }

  /** Registers a PATCH route. */
  patch(path: string, handler: RouteHandler): this {
    return this.route('PATCH', path, handler);
  }

  /** Registers a DELETE route. */
  delete(path: string, handler: RouteHandler): this {
    return this.route('DELETE', path, handler);
  }

  private route(method: string, written: string, handler: RouteHandler): this {
    const path = is.routePath('path', written);
    is.fn('handler', handler);
    const earlier = shadowing(this.builtinRoutes(), method, path) ?? shadowing(this.httpRoutes, method, path);
    if (earlier) throw routeConflict(`${method} ${path}`, `${earlier.method} ${earlier.path}`);
    const id = this.httpRoutes.length;
    this.nativeApp.addHttpRoute(method, path, id);
    this.httpRoutes.push({ method, path, handler });
    return this;
  }

  /**
   * Serves the files under `dir` at `prefix`, natively (no JavaScript per request): GET and
   * HEAD, content types, ETag / Last-Modified with 304, single byte ranges (206, 416), a
   * directory's index. A path naming no file goes on to the JavaScript routes; no path
   * leaves `dir` (`..`, encoded separators and symbolic links pointing outside are refused).
   */
  static(prefix: string, dir: string, options: StaticOptions = {}): this {
    if (is.routePath('prefix', prefix).includes('{')) throw invalidArg('prefix', 'a path without parameters', prefix);
    is.string('dir', dir);
    if (!is.isObject(options)) throw invalidArg('options', 'an object', options);
    is.knownKeys('options', options, ['index', 'maxAge', 'etag', 'lastModified', 'dotfiles'], 'a static option');
    const index = options.index === undefined ? 'index.html' : options.index;
    if (index !== false && (typeof index !== 'string' || index.length === 0 || /[/\\]/.test(index))) {
      throw invalidArg('options.index', 'a file name or false', index);
    }
    const maxAge = is.optionalInteger('options.maxAge', options.maxAge, 0, 10 * 365 * 24 * 3600, 0);
    for (const key of ['etag', 'lastModified'] as const) {
      if (options[key] !== undefined && typeof options[key] !== 'boolean') throw invalidArg(`options.${key}`, 'a boolean', options[key]);
    }
    if (options.dotfiles !== undefined && options.dotfiles !== 'ignore' && options.dotfiles !== 'allow') {
      throw invalidArg('options.dotfiles', "'ignore' | 'allow'", options.dotfiles);
    }
    let root: string;
    try {
      root = fs.realpathSync(dir);
      if (!fs.statSync(root).isDirectory()) throw new Error('not a directory');
    } catch (cause) {
      throw new RoomwireError(codes.STATIC_DIR, `app.static: ${dir} is not a readable directory (${(cause as Error).message})`, { cause });
    }
    this.nativeApp.addStatic(prefix, root, index === false ? '' : index, maxAge, options.etag !== false,
      options.lastModified !== false, options.dotfiles === 'allow');
    return this;
  }

  /**
   * Runs `fn(req, res, next)` before the JavaScript route handlers (of paths under
   * `prefix`, default all), in the order registered. `next()` goes on, `next(err)` and a
   * throw or rejection answer through the error path (HttpError's status, else 500); a
   * middleware that answers and does not call `next` ends the request. Static files and
   * built-in endpoints are served by the core and do not pass through it.
   */
  use(prefixOrFn: string | Middleware, fn?: Middleware): this {
    const prefix = typeof prefixOrFn === 'string' ? is.routePath('prefix', prefixOrFn) : '/';
    const handler = typeof prefixOrFn === 'string' ? fn : prefixOrFn;
    if (prefix.includes('{')) throw invalidArg('prefix', 'a path without parameters', prefix);
    is.fn('middleware', handler);
    this.middleware.push({ prefix: prefix.length > 1 ? prefix.replace(/\/+$/, '') : prefix, fn: handler as Middleware });
    return this;
  }

  /** The endpoints the core answers before any JavaScript route. */
  private builtinRoutes(): Array<{ method: string; path: string }> {
    const routes = this.roomApiPrefix === undefined ? [] : roomApiRoutes(this.roomApiPrefix);
    if (this.metricsEnabled) routes.push({ method: 'GET', path: '/metrics' });
    return routes;
  }

  /** Accepts WebSocket upgrades on `path`; only the callbacks given are ever called. */
  websocket(path: string, given: WebSocketOptions | RawWebSocketOptions | EventsWebSocketOptions | HooksWebSocketOptions = {}): this {
    const protocol = is.isObject(given) ? (given as { protocol?: unknown }).protocol : undefined;
    // A hooks route: its program goes to the core, which runs it without JavaScript.
    const hooks = protocol === 'hooks' ? hooksRoute(given as HooksWebSocketOptions) : undefined;
    // An events route: Rover's handlers become the callbacks the core calls.
    let rover: RoverRoute | undefined;
    if (protocol === 'events') {
      rover = roverRoute(given as EventsWebSocketOptions, {
        send: (id, frame) => this.send(id, frame),
        sendAnywhere: (id, frame) => this.boundPort !== undefined && this.nativeApp.sendAnywhere(id, frame),
        roomBroadcast: (topic, frame) => this.boundPort !== undefined && this.nativeApp.roomBroadcast(topic, frame),
      });
    }
    // One shape inside: a raw route's options are checked below against its protocol.
    const options = rover
      ? { ...rover.callbacks, ...pick(given, ['maxMessagesPerSecond', 'protocols', 'requireProtocol', 'allowedOrigins',
        'requireOrigin', 'compression', 'compressionThreshold']), autoCreateRooms: true } as WebSocketOptions
      : hooks
        ? { ...pick(given, [...hooksSharedOptions]), autoCreateRooms: true } as WebSocketOptions
        : given as WebSocketOptions;
    path = is.routePath('path', path);
    const earlier = shadowing(this.wsHandlers.map((h) => ({ method: 'WS', path: h.path })), 'WS', path);
    if (earlier) throw routeConflict(`websocket ${path}`, `websocket ${earlier.path}`);
    if (!is.isObject(options)) throw invalidArg('options', 'an object', options);
    let mask = 0;
    for (const [key, value] of Object.entries(options)) {
      if (key === 'acks' || key === 'autoCreateRooms') {
        if (typeof value !== 'boolean') throw invalidArg(`options.${key}`, 'a boolean', value);
      } else if (key === 'maxMessagesPerSecond') {
        is.integer('options.maxMessagesPerSecond', value, 0, 1_000_000);
      } else if (key === 'history') {
        if (value === undefined) continue;
        this.checkHistoryAllowed('options.history');
        is.history('options.history', value);
      } else if (key === 'protocols') {
        if (value !== undefined) is.subprotocols('options.protocols', value);
      } else if (key === 'allowedOrigins') {
        if (value !== undefined && typeof value !== 'function') is.origins('options.allowedOrigins', value);
      } else if (key === 'protocol') {
        if (value !== undefined && value !== 'rnode' && value !== 'raw') {
          throw invalidArg('options.protocol', "'rnode', 'raw', 'events' or 'hooks'", value);
        }
      } else if (key === 'compression') {
        if (value !== undefined && value !== false && value !== 'shared' && value !== 'dedicated') {
          throw invalidArg('options.compression', "false, 'shared' or 'dedicated'", value);
        }
      } else if (key === 'compressionThreshold') {
        if (value !== undefined) is.integer('options.compressionThreshold', value, 0, 0x7fffffff);
      } else if (key === 'requireProtocol' || key === 'requireOrigin') {
        if (value !== undefined && typeof value !== 'boolean') throw invalidArg(`options.${key}`, 'a boolean', value);
      } else if (key in callbackBits) {
        if (value === undefined) continue;
        is.fn(`options.${key}`, value);
        mask |= callbackBits[key];
      } else {
        throw invalidArg(`options.${key}`, 'a WebSocket option', key);
      }
    }
    if (protocol === 'raw') {
      // These belong to RNode's protocol: on a raw route nothing would ever call them.
      for (const key of rnodeOnlyCallbacks) {
        if (options[key] !== undefined) throw invalidArg(`options.${key}`, "absent on a route with protocol 'raw' (it has no such frames)", key);
      }
    }
    const id = this.wsHandlers.length;
    const [historySize, historyTtl] = options.history === undefined ? [0, 0] : is.history('options.history', options.history);
    const protocols = options.protocols === undefined ? [] : is.subprotocols('options.protocols', options.protocols);
    if (options.requireProtocol === true && protocols.length === 0) {
      throw invalidArg('options.requireProtocol', 'used with options.protocols', true);
    }
    const stored: WebSocketOptions = { ...options };
    let origins: string[] | null = null;
    if (typeof options.allowedOrigins === 'function') {
      // Decided in JavaScript, before the app's onConnect (which runs only for an allowed origin).
      stored.onConnect = originGate(options.allowedOrigins as (origin: string) => boolean,
        options.onConnect as WebSocketOptions['onConnect']);
      mask |= callbackBits.onConnect;
    } else if (options.allowedOrigins !== undefined) {
      origins = is.origins('options.allowedOrigins', options.allowedOrigins);
    }
    try {
      this.nativeApp.addWsRoute(path, id, mask, options.acks !== false, options.autoCreateRooms === true,
        (options.maxMessagesPerSecond as number | undefined) ?? 0, historySize, historyTtl, protocols,
        options.requireProtocol === true, origins, options.requireOrigin === true,
        options.compression === 'dedicated' ? 2 : options.compression === 'shared' ? 1 : 0,
        (options.compressionThreshold as number | undefined) ?? 1024,
        protocol === 'raw' ? 1 : protocol === 'events' ? 2 : protocol === 'hooks' ? 3 : 0,
        rover?.joinTopics ?? [], rover?.leaveTopics ?? [], rover?.readEvents ?? [], hooks?.json, ...(hooks?.limits ?? []));
    } catch (err) {
      throw hooksError(err, 'options.hooks');
    }
    this.wsHandlers.push({ id, idText: String(id), path, options: stored });
    return this;
  }

  /**
   * Adds the hooks routes of a YAML or JSON file: one route, a list, or `{ routes }`, each
   * `{ path, ws_hooks, name?, description?, route_type?: 'WebSocket', limits? }`. Each is
   * compiled now; an error (HooksError, `RW_ERR_HOOKS`) names the file, line and key, and
   * no route of the file is added. Returns how many routes were added.
   */
  loadRoutes(file: string, options: LoadRoutesOptions = {}): number {
    const staged: Array<{ path: string; options: HooksWebSocketOptions }> = [];
    const shared = pick(options as Record<string, unknown>, [...hooksSharedOptions]);
    // Every route is checked (compiled on a scratch app) before any is added here.
    const scratch = new App({});
    const count = loadRoutesFile(file, options, (path, hooks, limits) => {
      const route = { ...shared, protocol: 'hooks', hooks, limits } as HooksWebSocketOptions;
      scratch.websocket(path, route);
      staged.push({ path, options: route });
    });
    for (const route of staged) {
      const earlier = shadowing(this.wsHandlers.map((h) => ({ method: 'WS', path: h.path })), 'WS', is.routePath('path', route.path));
      if (earlier) throw routeConflict(`websocket ${route.path} (${file})`, `websocket ${earlier.path}`);
    }
    for (const route of staged) this.websocket(route.path, route.options);
    return count;
  }

  /**
   * Binds and starts the native threads; resolves with the bound port. `host` may be an
   * address or a name (resolved with dns.lookup); `callback`, when given, is called once
   * listening, or with the error (the Promise rejects too).
   */
  listen(port?: number, host?: string, callback?: (err?: Error) => void): Promise<number>;
  listen(port: number, callback: (err?: Error) => void): Promise<number>;
  listen(port = 0, hostOrCallback?: string | ((err?: Error) => void), callback?: (err?: Error) => void): Promise<number> {
    let host: string | undefined;
    if (typeof hostOrCallback === 'function') callback = hostOrCallback;
    else host = hostOrCallback;
    let started: Promise<number>;
    try {
      if (callback !== undefined) is.fn('callback', callback);
      is.integer('port', port, 0, 65535);
      const h = host === undefined ? this.host : is.string('host', host);
      if (this.boundPort !== undefined || this.resolving) {
        throw new RoomwireError(codes.ALREADY_LISTENING, this.boundPort !== undefined
          ? `already listening on port ${this.boundPort}` : 'already starting to listen');
      }
      const stack = new Error();
      if (this.clusterHostName !== undefined) {
        started = this.resolveCluster(this.clusterHostName, stack).then(() =>
          (net.isIP(h) !== 0 ? this.bind(h, port, stack) : this.resolveThenBind(h, port, stack)));
      } else {
        started = net.isIP(h) !== 0 ? Promise.resolve(this.bind(h, port, stack)) : this.resolveThenBind(h, port, stack);
      }
    } catch (err) {
      started = Promise.reject(err);
    }
    if (typeof callback === 'function') {
      const cb = callback;
      started.then(() => cb(), (err: Error) => cb(err));
    }
    return started;
  }

  /** Resolves the cluster's Redis host name once (the core connects to an address: no lookup blocks its threads). */
  private async resolveCluster(host: string, stack: Error): Promise<void> {
    this.resolving = true;
    try {
      const { address } = await dns.lookup(host);
      this.nativeApp.setClusterHost(address);
      this.clusterHostName = undefined;
    } catch (cause) {
      throw withStack(new RoomwireError(codes.LISTEN, `cluster: cannot resolve the Redis host ${host} (${(cause as Error).message})`,
        { cause }), stack);
    } finally {
      this.resolving = false;
    }
  }

  private async resolveThenBind(host: string, port: number, stack: Error): Promise<number> {
    this.resolving = true;
    let address: string;
    try {
      ({ address } = await dns.lookup(host));
    } catch (cause) {
      throw withStack(new RoomwireError(codes.LISTEN, `listen ${host}:${port}: cannot resolve ${host} (${(cause as Error).message})`,
        { cause }), stack);
    } finally {
      this.resolving = false;
    }
    if (this.boundPort !== undefined) {
      throw new RoomwireError(codes.ALREADY_LISTENING, `already listening on port ${this.boundPort}`);
    }
    return this.bind(address, port, stack);
  }

  /** Binds `address` (an IP literal) at once; throws RoomwireError LISTEN on failure. */
  private bind(address: string, port: number, stack: Error): number {
    try {
      this.boundPort = this.nativeApp.listen(address, port, (nums, strs, extras) => this.onBatch(nums, strs, extras));
    } catch (cause) {
      if ((cause as { tls?: boolean }).tls) throw withStack(new RoomwireError(codes.TLS, (cause as Error).message, { cause }), stack);
      const errno = (cause as { errno?: number }).errno;
      const name = errnoName(errno);
      const err = new RoomwireError(codes.LISTEN, `${(cause as Error).message}${name ? ` (${name})` : ''}`, { cause });
      (err as RoomwireError & { syscallCode?: string }).syscallCode = name;
      throw withStack(err, stack);
    }
    this.closing = undefined;
    const bound = this.boundPort;
    process.nextTick(() => this.emit('listening', bound));
    return bound;
  }

  /** Stops accepting, closes connections with 1001 within the deadline, joins the threads. */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.closing) return this.closing;
    if (!is.isObject(options)) return Promise.reject(invalidArg('options', 'an object', options));
    let timeoutMs: number;
    try {
      timeoutMs = is.optionalInteger('options.timeoutMs', options.timeoutMs, 0, maxMs, defaultCloseTimeoutMs);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.boundPort === undefined) return Promise.resolve();
    this.closing = new Promise<void>((resolve) => {
      this.resolveClosed = resolve;
    });
    this.nativeApp.close(timeoutMs);
    return this.closing;
  }

  /** One raw frame to one connection; false when the connection is unknown. */
  send(connectionId: string, data: string | Buffer | Uint8Array): SendStatus | false {
    is.string('connectionId', connectionId);
    const payload = is.payload('data', data);
    if (this.boundPort === undefined) return false;
    const status = this.nativeApp.send(connectionId, payload);
    return status < 0 ? false : sendStatuses[status];
  }

  /**
   * One raw frame to every connection on `path` (a route pattern or a request path), on
   * every server of the cluster unless `{ local: true }`; returns how many connections of
   * this server it went to.
   */
  broadcast(path: string, data: string | Buffer | Uint8Array, options?: LocalOption): number {
    is.string('path', path);
    const payload = is.payload('data', data);
    const local = localOnly(options);
    if (this.boundPort === undefined) return 0;
    return this.nativeApp.broadcast(is.canonicalPath(path), payload, local);
  }

  /**
   * Replaces the certificate and key of an app created with `tls` (a renewal): connections
   * made from now on use them, open ones keep theirs. Throws, keeping the old ones, when
   * the new ones are not valid (a key that does not match the certificate, a wrong passphrase).
   */
  setTls(options: TlsOptions): void {
    if (!this.secure) throw new RoomwireError(codes.TLS, 'setTls: this app was created without the tls option');
    const material = is.tls('options', options);
    try {
      this.nativeApp.setTls(material);
    } catch (cause) {
      throw new RoomwireError(codes.TLS, `setTls: ${(cause as Error).message}`, { cause });
    }
  }

  /** Whether the cluster option is set and this server is connected to Redis and in step with the others now. */
  isClusterConnected(): boolean {
    return this.boundPort !== undefined && this.nativeApp.clusterLive();
  }

  /**
   * Creates a room and returns its id: `options.id`, or `room_<32 hex>`. It lasts until
   * deleteRoom unless ephemeral. An id already taken (in a cluster: known to this server)
   * throws RoomwireError ROOM_EXISTS.
   */
  createRoom(name: string, description = '', maxConnections = 0, options: CreateRoomOptions = {}): string {
    is.string('name', name);
    if (typeof description !== 'string') throw invalidArg('description', 'a string', description);
    is.integer('maxConnections', maxConnections, 0, 2 ** 31 - 1);
    if (!is.isObject(options)) throw invalidArg('options', 'an object', options);
    is.knownKeys('options', options, ['metadata', 'ephemeral', 'id', 'history'], 'a room option');
    let history: [number, number] = [0, 0];
    if (options.history !== undefined) history = is.history('options.history', options.history);
    let id = '';
    if (options.id !== undefined) {
      id = is.string('options.id', options.id);
      if (id === '' || id.includes('\0')) throw invalidArg('options.id', 'a non-empty room id without NUL', id);
    }
    if (options.metadata !== undefined && !is.isObject(options.metadata)) {
      throw invalidArg('options.metadata', 'an object', options.metadata);
    }
    if (options.ephemeral !== undefined && typeof options.ephemeral !== 'boolean') {
      throw invalidArg('options.ephemeral', 'a boolean', options.ephemeral);
    }
    let metadata: string;
    try {
      metadata = JSON.stringify(options.metadata ?? {});
    } catch (err) {
      throw invalidArg('options.metadata', 'a JSON-serialisable object', (err as Error).message);
    }
    const created = this.nativeApp.createRoom(name, description, maxConnections, metadata, options.ephemeral === true, id,
      history[0], history[1]);
    if (created === '') throw new RoomwireError(codes.ROOM_EXISTS, `a room with id '${id}' exists already`);
    return created;
  }

  /**
   * A route's auto-created rooms come and go with their members on each server; with the
   * cluster option only rooms made by createRoom keep a history (in Redis).
   */
  private checkHistoryAllowed(name: string): void {
    if (this.clustered) {
      throw invalidArg(name, 'createRoom(..., { history }) with the cluster option: auto-created rooms keep no history in a cluster', 'cluster');
    }
  }

  /** Deletes a room; its members get `room_left`. False when unknown. */
  deleteRoom(roomId: string): boolean {
    return this.nativeApp.deleteRoom(is.string('roomId', roomId));
  }

  /** Sends the `room_message` envelope (no `from_client_id`) to every member; false for an unknown room. */
  sendRoomMessage(roomId: string, message: string): SendStatus | false {
    is.string('roomId', roomId);
    if (typeof message !== 'string') throw invalidArg('message', 'a string', message);
    const status = this.nativeApp.sendRoomMessage(roomId, message);
    return status < 0 ? false : sendStatuses[status];
  }

  /** A room's details, or null when unknown. */
  getRoomInfo(roomId: string): RoomInfo | null {
    const text = this.nativeApp.roomInfo(is.string('roomId', roomId));
    return text === null ? null : (JSON.parse(text) as RoomInfo);
  }

  /** Every room, oldest first. */
  getAllRooms(): RoomInfo[] {
    return JSON.parse(this.nativeApp.allRooms()) as RoomInfo[];
  }

  /**
   * Joins a connection to a room, as RNode's joinRoom does: false at once when the join
   * cannot happen (unknown connection or room, a full room, already a member, a limit),
   * else true, and the join goes ahead in order with the connection's frames and through
   * `onJoinRoom` (which may still refuse it: the client then gets `room_join_error`).
   * {@link joinRoomAsync} tells the final outcome.
   */
  joinRoom(connectionId: string, roomId: string): boolean {
    is.string('connectionId', connectionId);
    is.string('roomId', roomId);
    if (this.boundPort === undefined) return false;
    if (this.nativeApp.checkJoin(connectionId, roomId) !== JoinResult.ok) return false;
    this.startJoin(connectionId, roomId, () => undefined);
    return true;
  }

  /**
   * Joins a connection to a room, in order with its frames and through `onJoinRoom`;
   * resolves true once joined, false for an unknown connection or room, a full room, a
   * member already in it, a limit, or a join cancelled by the callback.
   */
  joinRoomAsync(connectionId: string, roomId: string): Promise<boolean> {
    try {
      is.string('connectionId', connectionId);
      is.string('roomId', roomId);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.boundPort === undefined) return Promise.resolve(false);
    return new Promise((resolve) => this.startJoin(connectionId, roomId, resolve));
  }

  /** Hands a join to the core; `done` gets its outcome. */
  private startJoin(connectionId: string, roomId: string, done: (joined: boolean) => void): void {
    const token = this.nextJoinToken++;
    this.pendingJoins.set(token, done);
    if (!this.nativeApp.joinRoom(connectionId, roomId, token)) {
      this.pendingJoins.delete(token);
      done(false);
    }
  }

  /** Removes a connection from a room (the client gets `room_left`); false if it was not in it. */
  leaveRoom(connectionId: string, roomId: string): boolean {
    return this.nativeApp.leaveRoom(is.string('connectionId', connectionId), is.string('roomId', roomId));
  }

  /** A connection's details, or null when unknown. */
  getClientInfo(connectionId: string): ClientInfo | null {
    const text = this.nativeApp.clientInfo(is.string('connectionId', connectionId));
    return text === null ? null : (JSON.parse(text) as ClientInfo);
  }

  /** The rooms a connection is in, as RNode returns them: room objects (empty for an unknown connection). */
  getUserRooms(connectionId: string): RoomInfo[] {
    return this.getUserRoomIds(connectionId).map((id) => this.getRoomInfo(id)).filter((r): r is RoomInfo => r !== null);
  }

  /** The ids of the rooms a connection is in (empty for an unknown connection). */
  getUserRoomIds(connectionId: string): string[] {
    return this.nativeApp.userRooms(is.string('connectionId', connectionId)) ?? [];
  }

  /** The members of a room with their presence info, or null for an unknown room. */
  getPresence(roomId: string): PresenceMember[] | null {
    const text = this.nativeApp.presence(is.string('roomId', roomId));
    return text === null ? null : (JSON.parse(text) as PresenceMember[]);
  }

  /** A `direct_message` (no `from_client_id`) to a connection id, or to every connection of a client id. */
  sendDirectMessage(clientOrConnectionId: string, message: string): SendStatus | false {
    is.string('clientOrConnectionId', clientOrConnectionId);
    if (typeof message !== 'string') throw invalidArg('message', 'a string', message);
    const status = this.nativeApp.sendDirectMessage(clientOrConnectionId, message);
    return status < 0 ? false : sendStatuses[status];
  }

  /** Closes a connection after what is queued for it; false when unknown. */
  closeConnection(connectionId: string, code = 1000, reason = ''): boolean {
    is.string('connectionId', connectionId);
    closeCode(code);
    if (typeof reason !== 'string') throw invalidArg('reason', 'a string', reason);
    if (Buffer.byteLength(reason) > 123) throw outOfRange('reason', 'at most 123 bytes of UTF-8', reason);
    return this.nativeApp.closeConnection(connectionId, code, reason);
  }

  /** Client frames received since listen. */
  getWebSocketMessageCount(): number {
    return this.nativeApp.messageCount();
  }

  /** Serves the REST room API under `prefix`, natively (no JavaScript per request). */
  enableRoomApi(prefix = '/websocket'): this {
    if (is.routePath('prefix', prefix).includes('{')) throw invalidArg('prefix', 'a path without parameters', prefix);
    // A route registered before and served by the API from now on could never run.
    for (const api of roomApiRoutes(prefix)) {
      const hidden = this.httpRoutes.find((r) => r.method === api.method && covers(segmentsOf(api.path), segmentsOf(r.path)));
      if (hidden) throw routeConflict(`${hidden.method} ${hidden.path}`, `the room API's ${api.method} ${api.path}`);
    }
    this.roomApiPrefix = prefix;
    this.nativeApp.enableRoomApi(prefix);
    return this;
  }

  /**
   * Open WebSocket connections: of the whole cluster (the other servers' counts are at most
   * ~100 ms old), or of this server with `{ local: true }` or without a cluster.
   */
  getWebSocketConnections(options?: LocalOption): number {
    return this.nativeApp.connectionCount(localOnly(options));
  }

  /** Changes the log level of the core and the facade. */
  setLogLevel(level: LogLevel): void {
    if (!logLevels.includes(level)) throw invalidArg('level', logLevels.join(' | '), level);
    native().setLogLevel(level);
    this.level = level;
  }

  private log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void {
    if (logLevels.indexOf(level) < logLevels.indexOf(this.level)) return;
    console.error(`roomwire ${level}: ${message}`);
  }

  /** One batch of native events, as flat columns (see NativeApp.listen). */
  private onBatch(nums: Float64Array, strs: EventStrings, extras: EventExtras): void {
    this.ws.beginBatch();
    const n = nums.length / 4;
    for (let i = 0; i < n; i++) {
      try {
        const kind = nums[4 * i];
        if (kind === Kind.httpRequest) this.onHttp(eventAt(nums, strs, extras, i));
        else if (kind === Kind.stopped) this.onStopped();
        else if (kind === Kind.opResult) this.onJoinResult(eventAt(nums, strs, extras, i));
        else this.ws.handle(nums, strs, extras?.[i], i);
      } catch (err) {
        // A fault in the dispatcher itself: never let it take the loop down.
        this.log('error', `event dispatch failed: ${(err as Error).stack ?? String(err)}`);
      }
    }
    this.ws.endBatch();
  }

  private onJoinResult(ev: NativeEvent): void {
    const resolve = this.pendingJoins.get(ev.id);
    this.pendingJoins.delete(ev.id);
    resolve?.(ev.code === JoinResult.ok);
  }

  private onStopped(): void {
    for (const resolve of this.pendingJoins.values()) resolve(false);
    this.pendingJoins.clear();
    this.nativeApp.closed();
    this.boundPort = undefined;
    const resolve = this.resolveClosed;
    this.resolveClosed = undefined;
    this.closing = undefined;
    process.nextTick(() => this.emit('close'));
    resolve?.();
  }

  private onHttp(ev: NativeEvent): void {
    const route = this.httpRoutes[ev.route];
    const app = this.nativeApp;
    const id = ev.id;
    const res = new Response((status, headers, body) => {
      if (this.boundPort !== undefined) app.reply(id, status, headers, body);
    });
    const req = new Request(ev.method ?? 'GET', ev.path ?? '/', pairs(ev.params), pairs(ev.query), pairs(ev.headers),
      (ev.data as Buffer | undefined) ?? Buffer.alloc(0));
    // Never throws: whatever a handler threw or rejected with, the request is answered.
    const failWith = (err: unknown): void => {
      if (res.sent) {
        this.log('error', `${req.method} ${req.path} failed after responding: ${String(err)}`);
        return;
      }
      try {
        if (err instanceof HttpError && Number.isInteger(err.status) && err.status >= 400 && err.status <= 599) {
          res.status(err.status).json({ error: String(err.message) });
          return;
        }
      } catch (inner) {
        err = inner;
      }
      this.log('error', `${req.method} ${req.path} handler failed: ${(err as Error)?.stack ?? String(err)}`);
      if (res.sent) return;
      if (this.devMode) {
        const e = err as { message?: unknown; stack?: unknown } | undefined;
        res.status(500).json({ error: 'Internal Server Error', message: String(e?.message ?? err), stack: String(e?.stack ?? '') });
      } else {
        res.status(500).json({ error: 'Internal Server Error' });
      }
    };
    // The middleware whose prefix covers the path, in order, then the route's handler.
    const chain = this.middleware.filter((m) => m.prefix === '/' || req.path === m.prefix || req.path.startsWith(`${m.prefix}/`));
    let at = 0;
    const step = (err?: unknown): void => {
      if (err !== undefined && err !== null) return failWith(err);  // next(err)
      if (res.sent) return;
      const mw = chain[at++];
      let called = false;
      const next = (e?: unknown): void => {
        if (called) return;  // a second next() is ignored
        called = true;
        step(e);
      };
      let result: unknown;
      try {
        result = mw ? mw.fn(req, res, next) : route.handler(req, res);
      } catch (e) {
        return failWith(e);
      }
      if (result && typeof (result as Promise<void>).then === 'function') (result as Promise<void>).then(undefined, failWith);
    };
    step();
    // Not answered by the time the synchronous part returned: bound the wait.
    if (!res.sent) {
      const timer = setTimeout(() => {
        if (!res.sent) failWith(new Error(`handler did not respond within ${this.callbackTimeoutMs} ms`));
      }, this.callbackTimeoutMs);
      timer.unref();
    }
  }
}

/** Gives `err` the stack of the caller's frame (`stack`, made where the call began). */
function withStack<E extends Error>(err: E, stack: Error): E {
  err.stack = `${err.name}: ${err.message}${stack.stack?.slice(stack.stack.indexOf('\n')) ?? ''}`;
  return err;
}

function errnoName(errno: number | undefined): string | undefined {
  if (errno === undefined) return undefined;
  for (const [name, value] of Object.entries(os.constants.errno)) if (value === errno) return name;
  return undefined;
}

/** Creates an app. */
export function createApp(options?: AppOptions): App {
  return new App(options);
}
