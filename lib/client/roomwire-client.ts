/**
 * The roomwire client: a WebSocket client for roomwire's (and RNode's) JSON protocol that
 * survives real networks. It reconnects with exponential backoff and full jitter, rejoins
 * every room with its presence, asks each room with history for what it missed (and
 * delivers that exactly once), queues sends while offline, and replaces a connection that
 * stops answering its pings. `EventsClient` speaks to routes with `protocol: 'events'`
 * (topics and named events) with the same connection handling.
 *
 * One file with no imports and no dependencies: it runs in browsers (global WebSocket), in
 * Node 22+ (global WebSocket) and in Node 20 (the `ws` package, loaded when there is no
 * global WebSocket), and its ESM build is served to browsers as it is.
 */

// The timers every runtime has (declared here: the build targets no particular runtime).
declare function setTimeout(handler: () => void, ms: number): unknown;
declare function clearTimeout(id: unknown): void;
declare function setInterval(handler: () => void, ms: number): unknown;
declare function clearInterval(id: unknown): void;

/** WebSocket close codes (RFC 6455 §7.4.1) and the ones this client uses. */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  NO_STATUS: 1005,
  ABNORMAL: 1006,
  INVALID_DATA: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  SERVICE_RESTART: 1012,
  TRY_AGAIN_LATER: 1013,
} as const;

/** Where the client is. */
export type ClientState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** The WebSocket constructor the client uses (the browser's, Node's, or `ws`'s). */
export interface WebSocketConstructor {
  new (url: string, protocols?: string | string[], options?: Record<string, unknown>): SocketLike;
}

/** The part of a WebSocket the client relies on. */
export interface SocketLike {
  readonly readyState: number;
  binaryType: string;
  send(data: string | ArrayBufferLike | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  /** `ws` only. */
  on?(event: string, listener: (...args: any[]) => void): unknown;
  /** `ws` only: drop the TCP connection at once. */
  terminate?(): void;
}

/** What every client of this module takes: where, and how it reconnects. */
export interface ConnectionOptions {
  /** `ws://host:port/path` or `wss://…`. */
  url: string;
  /** Sent as `?clientId=`. */
  clientId?: string;
  /** Reconnect after the connection is lost. Default true. */
  autoReconnect?: boolean;
  /** Attempts in a row before giving up (state `closed`, event `reconnect_failed`). Default 10. */
  reconnectAttempts?: number;
  /** Backoff base in ms: attempt n waits a random time in [0, min(cap, base × 2^n)). Default 1000. */
  reconnectDelay?: number;
  /** Backoff cap in ms. Default 30000. */
  reconnectDelayMax?: number;
  /** Close codes after which the client does not reconnect. Default [1008] (policy violation). */
  finalCloseCodes?: number[];
  /** Time (ms) from opening until the connection is ready (RoomwireClient: its `welcome`) before the attempt fails. Default 10000. */
  handshakeTimeout?: number;
  /** Largest incoming message in bytes; a larger one closes with 1009. Default 16 MiB. */
  maxPayload?: number;
  /** Sends waiting while offline; past it a send is refused (the newest, never one already queued). Default 100. */
  offlineQueueSize?: number;
  /** Handshake headers (used where the runtime allows it: the `ws` package; browsers cannot). */
  headers?: Record<string, string>;
  /** Subprotocols offered (`Sec-WebSocket-Protocol`). */
  protocols?: string | string[];
  /** The WebSocket constructor; default the global one, else the `ws` package. */
  WebSocket?: WebSocketConstructor;
}

/** Options of {@link RoomwireClient}; the names of RNode's client where it has one. */
export interface RoomwireClientOptions extends ConnectionOptions {
  /** Sent as `?clientId=`; after the first welcome the server's `client_id` is kept for reconnects. */
  clientId?: string;
  /** The client's own ping period in ms; 0 turns it off. Default 25000. */
  pingInterval?: number;
  /** A ping unanswered this long (ms) marks the connection dead: it is dropped and replaced. Default 10000. */
  pongTimeout?: number;
  /** Time (ms) `send` waits for its `message_ack` (or `message_blocked`) before rejecting. Default 10000. */
  ackTimeout?: number;
  onWelcome?: (welcome: WelcomeFrame) => void;
  onConnect?: (welcome: WelcomeFrame) => void;
  onDisconnect?: (event: DisconnectEvent) => void;
  onReconnect?: (event: ReconnectEvent) => void;
  onRejoined?: (event: RejoinedEvent) => void;
  onRoomMessage?: (message: RoomMessageFrame) => void;
  onDirectMessage?: (message: DirectMessageFrame) => void;
  onMessageBlocked?: (frame: MessageBlockedFrame) => void;
  onMessageAck?: (frame: MessageAckFrame) => void;
  onPresence?: (frame: PresenceFrame) => void;
  onJoinRoom?: (frame: RoomJoinedFrame) => void;
  onLeaveRoom?: (frame: RoomLeftFrame) => void;
  onPong?: (event: { latency: number }) => void;
  /** The server's JSON `ping` (the client answers it by itself). */
  onPing?: (frame: ServerFrame) => void;
  /** Every `error` frame the server sends (also those that reject an operation). */
  onServerError?: (frame: ErrorFrame) => void;
  onBinaryMessage?: (data: Uint8Array) => void;
  onMessage?: (frame: ServerFrame) => void;
  onError?: (error: RoomwireClientError) => void;
}

/** Any frame the server sends. */
export interface ServerFrame {
  type: string;
  timestamp?: string;
  [key: string]: unknown;
}
export interface WelcomeFrame extends ServerFrame {
  type: 'welcome';
  connection_id: string;
  client_id: string;
  path: string;
}
export interface RoomJoinedFrame extends ServerFrame {
  type: 'room_joined';
  room_id: string;
  /** Rooms with history: the room's last offset at the join. */
  offset?: number;
  epoch?: string;
  /** Joins that asked to recover: whether every missed message follows. */
  recovered?: boolean;
}
export interface RoomLeftFrame extends ServerFrame {
  type: 'room_left';
  room_id: string;
}
export interface RoomMessageFrame extends ServerFrame {
  type: 'room_message';
  room_id: string;
  message: string;
  from_client_id?: string;
  offset?: number;
  epoch?: string;
}
export interface DirectMessageFrame extends ServerFrame {
  type: 'direct_message';
  message: string;
  from_client_id?: string;
}
export interface MessageAckFrame extends ServerFrame {
  type: 'message_ack';
  message: string;
}
export interface MessageBlockedFrame extends ServerFrame {
  type: 'message_blocked';
  originalMessage: string;
  reason: string;
}
export interface ErrorFrame extends ServerFrame {
  type: 'error';
  error_type: string;
  error: string;
}
export interface PresenceMember {
  connection_id: string;
  client_id: string;
  user_info: unknown;
  joined_at?: number;
}
export interface PresenceFrame extends ServerFrame {
  type: 'presence';
  event: 'join' | 'leave';
  room_id: string;
  connection_id: string;
  client_id: string;
  user_info: unknown;
}
export interface PresenceStateFrame extends ServerFrame {
  type: 'presence_state';
  room_id: string;
  members: PresenceMember[];
}
export interface DisconnectEvent {
  code: number;
  reason: string;
  /** The client will try again. */
  willReconnect: boolean;
}
export interface ReconnectEvent {
  /** 1 for the first attempt after a loss. */
  attempt: number;
  /** The wait before this attempt, ms. */
  delay: number;
}
export interface RejoinedEvent {
  room_id: string;
  /** true: every message missed while away was delivered; false: reload the room's state. */
  recovered: boolean;
  /** Set when the server refused the rejoin: the client is no longer in the room. */
  error?: RoomwireClientError;
}

/** The client's events: `on(type, handler)`. Any other string is a server frame type. */
export interface ClientEventMap {
  welcome: WelcomeFrame;
  room_joined: RoomJoinedFrame;
  room_left: RoomLeftFrame;
  room_message: RoomMessageFrame;
  direct_message: DirectMessageFrame;
  message_ack: MessageAckFrame;
  message_blocked: MessageBlockedFrame;
  presence: PresenceFrame;
  presence_state: PresenceStateFrame;
  error: RoomwireClientError;
  /** An `error` frame, as sent. */
  server_error: ErrorFrame;
  ping: ServerFrame;
  binary: Uint8Array;
  state: ClientState;
  disconnect: DisconnectEvent;
  reconnecting: ReconnectEvent;
  reconnect_failed: { attempts: number };
  rejoined: RejoinedEvent;
  pong: { latency: number };
}

/** Why an operation failed; `code` is stable. */
export class RoomwireClientError extends Error {
  /**
   * `refused` (upgrade refused: `status` set where the runtime tells it), `timeout`,
   * `closed` (disconnect() or given up), `queue_full`, `blocked` (message_blocked),
   * `server` (an error frame: `errorType`), `socket`, `protocol`, `handler` (a handler threw).
   */
  readonly code: string;
  readonly status?: number;
  readonly errorType?: string;
  constructor(code: string, message: string, extra: { status?: number; errorType?: string } = {}) {
    super(message);
    this.name = 'RoomwireClientError';
    this.code = code;
    if (extra.status !== undefined) this.status = extra.status;
    if (extra.errorType !== undefined) this.errorType = extra.errorType;
  }
}

interface Pending<T> {
  resolve: (value: T) => void;
  reject: (error: RoomwireClientError) => void;
}
interface PendingRoom<T> extends Pending<T> {
  roomId: string;
}
interface PendingAck extends Pending<MessageAckFrame> {
  text: string;
  timer: ReturnType<typeof setTimeout> | undefined;
}
/** A room the client is in (or joining), kept across reconnects. */
interface RoomState {
  presence: Record<string, unknown> | undefined;
  /** The last offset delivered in `epoch` (rooms with history). */
  offset: number | undefined;
  epoch: string | undefined;
}
/** A frame to send; `written` runs when it reaches a socket, `fail` when it never will. */
interface Outgoing {
  data: string | ArrayBufferLike | ArrayBufferView;
  ack?: PendingAck;
  written?: () => void;
  fail?: (error: RoomwireClientError) => void;
}
interface PendingJoin extends PendingRoom<RoomJoinedFrame> {
  presence: Record<string, unknown> | undefined;
}

const OPEN = 1;
const PONG = '{"type":"pong"}';

function defined<T>(value: T | undefined, fallback: T): T {
  return value === undefined ? fallback : value;
}

/** A number option: `fallback` when absent; a RangeError below `min`. */
function numberOption<O extends object>(options: O, name: keyof O & string, fallback: number, min: number): number {
  const v = options[name] as unknown;
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || Number.isNaN(v) || v < min) throw new RangeError(`options.${name} must be a number >= ${min}`);
  return v;
}

/** The `ws` package's constructor once loaded (Node 20 has no global WebSocket). */
let wsModule: WebSocketConstructor | undefined;

/**
 * What the clients of this module share: one WebSocket at a time, opened and reopened
 * with exponential backoff and full jitter, a bounded queue of sends while offline, and
 * handlers registered with `on` that stay across reconnects. A subclass says when a
 * connection is ready (`ready`) and what its frames mean (`text`).
 */
export abstract class ReconnectingClient<Ready> {
  /** The client id sent as `?clientId=` on every attempt. */
  clientId: string | undefined;

  protected readonly base: Required<Pick<ConnectionOptions, 'autoReconnect' | 'reconnectAttempts' | 'reconnectDelay' |
    'reconnectDelayMax' | 'handshakeTimeout' | 'maxPayload' | 'offlineQueueSize'>> & ConnectionOptions;
  private readonly finalCodes: Set<number>;
  protected socket: SocketLike | undefined;
  protected stateValue: ClientState = 'idle';
  private readonly listeners = new Map<string, Set<(value: any) => void>>();
  private readonly queue: Outgoing[] = [];
  private connectWaiter: Pending<Ready> | undefined;
  private attempt = 0;
  private readonly readySockets = new WeakSet<object>();
  /** The value connect() resolved with while the connection is open. */
  protected lastReady: Ready | undefined;
  protected timers: { reconnect?: ReturnType<typeof setTimeout>; ping?: ReturnType<typeof setInterval>;
    pong?: ReturnType<typeof setTimeout>; handshake?: ReturnType<typeof setTimeout> } = {};

  /** Checks the options; connects only on {@link connect}. */
  constructor(options: ConnectionOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    if (typeof options.url !== 'string' || !/^wss?:\/\//.test(options.url)) {
      throw new TypeError(`options.url must be a ws:// or wss:// URL, got ${String(options.url)}`);
    }
    this.base = {
      ...options,
      autoReconnect: defined(options.autoReconnect, true),
      reconnectAttempts: numberOption(options, 'reconnectAttempts', 10, 0),
      reconnectDelay: numberOption(options, 'reconnectDelay', 1000, 1),
      reconnectDelayMax: numberOption(options, 'reconnectDelayMax', 30000, 1),
      handshakeTimeout: numberOption(options, 'handshakeTimeout', 10000, 1),
      maxPayload: numberOption(options, 'maxPayload', 16 * 1024 * 1024, 1),
      offlineQueueSize: numberOption(options, 'offlineQueueSize', 100, 0),
    };
    this.finalCodes = new Set(options.finalCloseCodes ?? [CloseCode.POLICY_VIOLATION]);
    this.clientId = options.clientId;
  }

  /** Where the client is now. */
  get state(): ClientState {
    return this.stateValue;
  }

  /**
   * Opens the connection; resolves once it is ready. Rejects when the upgrade is refused
   * (`code` 'refused', with `status` where the runtime tells it), on `handshakeTimeout`, or
   * when the socket fails. One attempt: reconnection begins only after the first success.
   */
  connect(): Promise<Ready> {
    if (this.stateValue === 'open') return Promise.resolve(this.lastReady as Ready);
    if (this.connectWaiter || this.stateValue === 'connecting') {
      return Promise.reject(new RoomwireClientError('closed', 'connect() is already in progress'));
    }
    return new Promise<Ready>((resolve, reject) => {
      this.connectWaiter = { resolve, reject };
      if (this.stateValue === 'reconnecting') {
        // Try now instead of after the backoff; what the client is in is rejoined as after any reconnect.
        clearTimeout(this.timers.reconnect);
        void this.open();
        return;
      }
      this.attempt = 0;
      this.setState('connecting');
      void this.open();
    });
  }

  /** Closes for good: no reconnect; queued and pending operations reject with 'closed'. */
  disconnect(code: number = CloseCode.NORMAL, reason = 'client disconnect'): void {
    this.clearTimers();
    this.setState('closed');
    const socket = this.socket;
    this.socket = undefined;
    if (socket) {
      this.detach(socket);
      try {
        socket.close(code, reason);
      } catch {
        // already closing
      }
    }
    this.failAll(new RoomwireClientError('closed', 'the client was disconnected'));
    this.forget();
    if (this.connectWaiter) {
      this.connectWaiter.reject(new RoomwireClientError('closed', 'the client was disconnected'));
      this.connectWaiter = undefined;
    }
  }

  /** Removes a handler added with `on`. */
  off(type: string, handler: (value: any) => void): void {
    this.listeners.get(type)?.delete(handler);
  }

  /** Adds a handler; returns the function that removes it. */
  protected listen(type: string, handler: (value: any) => void): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(handler);
    return () => this.off(type, handler);
  }

  // ---- what a subclass says ----

  /** What a text frame means. */
  protected abstract text(socket: SocketLike, data: string): void;
  /** The socket opened (the 101 came): a subclass whose connection is ready then says so. */
  protected opened(_socket: SocketLike): void {}
  /** What the handshake timeout waited for, for its error. */
  protected abstract readonly readyName: string;
  /**
   * Operations waiting on a connection that is gone: `final` when the client gives up
   * (or was disconnected), else only those in flight on the lost connection.
   */
  protected abstract dropPending(error: RoomwireClientError, final: boolean): void;
  /** disconnect(): what the client was in is forgotten. */
  protected abstract forget(): void;
  /** The option callback for event `type`, if any. */
  protected abstract callbackFor(type: string): ((value: any) => void) | undefined;
  /** The connection went (its own timers stop). */
  protected stopped(): void {}

  // ---- the connection ----

  /** The connection is ready: sends wait no more, and connect() resolves after `then`. */
  protected markReady(socket: SocketLike, value: Ready, then: () => void): void {
    clearTimeout(this.timers.handshake);
    this.readySockets.add(socket);
    this.lastReady = value;
    this.attempt = 0;
    this.setState('open');
    then();
    for (const item of this.queue.splice(0)) this.write(socket, item);
    if (this.connectWaiter) {
      const waiter = this.connectWaiter;
      this.connectWaiter = undefined;
      waiter.resolve(value);
    }
  }

  private async constructorFor(): Promise<WebSocketConstructor> {
    if (this.base.WebSocket) return this.base.WebSocket;
    const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (global) return global;
    if (!wsModule) {
      const name = 'ws';
      try {
        const mod = (await import(name)) as { default?: unknown; WebSocket?: unknown };
        wsModule = (mod.WebSocket ?? mod.default ?? mod) as WebSocketConstructor;
      } catch {
        throw new RoomwireClientError('socket', 'no WebSocket in this runtime: install the ws package (Node 20) or pass options.WebSocket');
      }
    }
    return wsModule;
  }

  private url(): string {
    const id = this.clientId;
    if (!id) return this.base.url;
    const u = this.base.url;
    const hash = u.indexOf('#');
    const base = hash < 0 ? u : u.slice(0, hash);
    return `${base}${base.includes('?') ? '&' : '?'}clientId=${encodeURIComponent(id)}`;
  }

  private async open(): Promise<void> {
    let Ctor: WebSocketConstructor;
    try {
      Ctor = await this.constructorFor();
    } catch (err) {
      return this.attemptFailed(err as RoomwireClientError, undefined);
    }
    if (this.stateValue === 'closed') return;
    const usesWs = Ctor === wsModule || (typeof (Ctor as unknown as { Server?: unknown }).Server === 'function');
    const o = this.base;
    let socket: SocketLike;
    let refusedStatus: number | undefined;
    let tooBig = false;
    try {
      socket = usesWs
        ? new Ctor(this.url(), o.protocols, { headers: o.headers, maxPayload: o.maxPayload, handshakeTimeout: o.handshakeTimeout })
        : o.protocols === undefined ? new Ctor(this.url()) : new Ctor(this.url(), o.protocols);
    } catch (err) {
      return this.attemptFailed(new RoomwireClientError('socket', (err as Error).message), undefined);
    }
    this.socket = socket;
    socket.binaryType = 'arraybuffer';
    if (typeof socket.on === 'function') {
      // `ws` tells the status of a refused upgrade.
      socket.on('unexpected-response', (_req: unknown, res: { statusCode?: number; resume?: () => void }) => {
        refusedStatus = res.statusCode;
        res.resume?.();
        this.drop(socket);
        this.attemptFailed(new RoomwireClientError('refused', `upgrade refused with HTTP ${res.statusCode}`, { status: res.statusCode }), undefined);
      });
      socket.on('error', (err: { code?: string; message?: string }) => {
        // `ws` enforces maxPayload itself, then reports the close as 1006: keep its 1009.
        if (err?.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
          tooBig = true;
          this.dispatch('error', new RoomwireClientError('protocol', `a message larger than maxPayload (${o.maxPayload} bytes)`));
        }
      });
    }
    this.timers.handshake = setTimeout(() => {
      this.drop(socket);
      this.attemptFailed(new RoomwireClientError('timeout', `no ${this.readyName} within ${o.handshakeTimeout} ms`), undefined);
    }, o.handshakeTimeout);
    let wasOpen = false;
    socket.onopen = () => {
      wasOpen = true;
      this.opened(socket);
    };
    socket.onerror = () => {
      // Node's own WebSocket (undici) may end a failed handshake with an error and no close.
      if (wasOpen || this.socket !== socket || usesWs) return;
      this.drop(socket);
      this.attemptFailed(new RoomwireClientError('refused', 'the upgrade failed',
        refusedStatus === undefined ? {} : { status: refusedStatus }), undefined);
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      if (!this.readySockets.has(socket)) {
        const refused = !wasOpen;
        this.attemptFailed(refused
          ? new RoomwireClientError('refused', `the upgrade failed (close ${ev.code})`, refusedStatus === undefined ? {} : { status: refusedStatus })
          : new RoomwireClientError('socket', `closed before ${this.readyName} (${ev.code} ${ev.reason})`), ev.code);
        return;
      }
      this.lost(tooBig ? CloseCode.MESSAGE_TOO_BIG : ev.code, ev.reason);
    };
    socket.onmessage = (ev) => this.receive(socket, ev.data);
  }

  /** Forgets a socket and closes it without waiting for its close handshake. */
  protected drop(socket: SocketLike): void {
    if (this.socket === socket) this.socket = undefined;
    this.detach(socket);
    try {
      if (typeof socket.terminate === 'function') socket.terminate();
      else socket.close(CloseCode.NORMAL);
    } catch {
      // already closed
    }
  }

  private detach(socket: SocketLike): void {
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    socket.onerror = () => undefined;
  }

  /** An attempt that never became ready. */
  private attemptFailed(error: RoomwireClientError, closeCode: number | undefined): void {
    clearTimeout(this.timers.handshake);
    if (this.stateValue === 'closed') return;
    if (this.connectWaiter) {
      // The first connect(): the caller decides what next.
      const waiter = this.connectWaiter;
      this.connectWaiter = undefined;
      this.setState('idle');
      this.failAll(error);
      waiter.reject(error);
      return;
    }
    this.dispatch('error', error);
    const final = (error.status !== undefined && error.status >= 400 && error.status < 500) ||
      (closeCode !== undefined && this.finalCodes.has(closeCode));
    this.scheduleReconnect(final);
  }

  /** A ready connection went away. */
  protected lost(code: number, reason: string): void {
    this.stopped();
    this.lastReady = undefined;
    if (this.stateValue === 'closed') return;
    const willReconnect = this.base.autoReconnect && !this.finalCodes.has(code) && this.base.reconnectAttempts > 0;
    this.dispatch('disconnect', { code, reason, willReconnect });
    this.dropPending(new RoomwireClientError('closed', `the connection closed (${code}) before the answer`), false);
    this.attempt = 0;
    this.scheduleReconnect(!willReconnect);
  }

  private scheduleReconnect(final: boolean): void {
    if (final || !this.base.autoReconnect || this.attempt >= this.base.reconnectAttempts) {
      this.setState('closed');
      if (!final && this.base.autoReconnect) this.dispatch('reconnect_failed', { attempts: this.attempt });
      this.failAll(new RoomwireClientError('closed', 'the connection is gone and the client gave up'));
      return;
    }
    this.setState('reconnecting');
    const ceiling = Math.min(this.base.reconnectDelayMax, this.base.reconnectDelay * 2 ** this.attempt);
    const delay = Math.floor(Math.random() * ceiling);
    this.attempt += 1;
    this.dispatch('reconnecting', { attempt: this.attempt, delay });
    this.timers.reconnect = setTimeout(() => {
      if (this.stateValue === 'reconnecting') void this.open();
    }, delay);
  }

  private receive(socket: SocketLike, data: unknown): void {
    if (typeof data !== 'string') {
      const bytes = data instanceof ArrayBuffer ? new Uint8Array(data)
        : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : undefined;
      if (!bytes) return;
      if (bytes.byteLength > this.base.maxPayload) return this.tooBig(socket);
      this.dispatch('binary', bytes);
      return;
    }
    if (data.length > this.base.maxPayload) return this.tooBig(socket);
    this.text(socket, data);
  }

  private tooBig(socket: SocketLike): void {
    this.dispatch('error', new RoomwireClientError('protocol', `a message larger than maxPayload (${this.base.maxPayload} bytes)`));
    try {
      socket.close(CloseCode.MESSAGE_TOO_BIG, 'message too big');
    } catch {
      // closing already
    }
  }

  // ---- sending ----

  /** Sends now when open, else queues (bounded); false (and `fail`) when refused. */
  protected enqueue(item: Outgoing): boolean {
    const refuse = (error: RoomwireClientError): boolean => {
      item.fail?.(error);
      return false;
    };
    if (this.stateValue === 'closed') return refuse(new RoomwireClientError('closed', 'the client is closed'));
    if (this.stateValue === 'idle') return refuse(new RoomwireClientError('closed', 'connect() first'));
    const socket = this.socket;
    if (this.stateValue === 'open' && socket && socket.readyState === OPEN) {
      this.write(socket, item);
      return true;
    }
    if (this.queue.length >= this.base.offlineQueueSize) {
      return refuse(new RoomwireClientError('queue_full', `the offline queue is full (${this.base.offlineQueueSize})`));
    }
    this.queue.push(item);
    return true;
  }

  /** Hands `item` to the socket (its `written` runs first). */
  protected write(socket: SocketLike, item: Outgoing): void {
    item.written?.();
    this.sendNow(socket, item.data);
  }

  protected sendNow(socket: SocketLike, data: string | ArrayBufferLike | ArrayBufferView): void {
    try {
      socket.send(data);
    } catch (err) {
      this.dispatch('error', new RoomwireClientError('socket', (err as Error).message));
    }
  }

  private clearTimers(): void {
    this.stopped();
    clearTimeout(this.timers.reconnect);
    clearTimeout(this.timers.handshake);
  }

  // ---- bookkeeping ----

  private failAll(error: RoomwireClientError): void {
    this.dropPending(error, true);
    for (const item of this.queue.splice(0)) item.fail?.(error);
  }

  private setState(state: ClientState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    this.dispatch('state', state);
  }

  protected dispatch(type: string, value: unknown): void {
    const callback = this.callbackFor(type);
    if (callback) this.call(callback, value, type);
    const set = this.listeners.get(type);
    if (set) for (const handler of [...set]) this.call(handler, value, type);
  }

  protected call(handler: (value: any) => void, value: unknown, type: string): void {
    try {
      handler(value);
    } catch (err) {
      if (type !== 'error') this.dispatch('error', new RoomwireClientError('handler', `a '${type}' handler threw: ${(err as Error)?.message ?? err}`));
    }
  }
}

/**
 * A roomwire client. Handlers registered with `on` and in the options stay across
 * reconnects; rooms joined are rejoined; sends while offline wait in a bounded queue.
 */
export class RoomwireClient extends ReconnectingClient<WelcomeFrame> {
  /** The connection's id (changes on every reconnect), once welcomed. */
  connectionId: string | undefined;
  /** The last round trip of the client's ping, ms; null before the first. */
  latency: number | null = null;

  private readonly o: Required<Pick<RoomwireClientOptions, 'pingInterval' | 'pongTimeout' | 'ackTimeout'>> & RoomwireClientOptions;
  private readonly rooms = new Map<string, RoomState>();
  private readonly pendingJoins: PendingJoin[] = [];
  private readonly pendingLeaves: Array<PendingRoom<RoomLeftFrame>> = [];
  private readonly pendingPresence: Array<PendingRoom<PresenceMember[]>> = [];
  private readonly pendingAcks: PendingAck[] = [];
  private everWelcomed = false;
  private rejoining = new Set<string>();
  private pingSentAt = 0;
  protected readonly readyName = 'welcome';

  /** Checks the options; connects only on {@link connect}. */
  constructor(options: RoomwireClientOptions) {
    super(options);
    this.o = {
      ...options,
      pingInterval: numberOption(options, 'pingInterval', 25000, 0),
      pongTimeout: numberOption(options, 'pongTimeout', 10000, 1),
      ackTimeout: numberOption(options, 'ackTimeout', 10000, 1),
    };
  }

  /** The rooms the client is in (and rejoins after a reconnect). */
  get joinedRooms(): string[] {
    return [...this.rooms.keys()];
  }

  /**
   * Opens the connection; resolves with the `welcome`. Rejects when the upgrade is refused
   * (`code` 'refused', with `status` where the runtime tells it), on `handshakeTimeout`, or
   * when the socket fails. One attempt: reconnection begins only after a welcome.
   */
  connect(): Promise<WelcomeFrame> {
    return super.connect();
  }

  /**
   * Joins a room; resolves on `room_joined`, rejects on `room_join_error`. The room is
   * rejoined (with `presence`) after every reconnect, asking for what was missed.
   */
  joinRoom(roomId: string, presence?: Record<string, unknown>): Promise<RoomJoinedFrame> {
    if (typeof roomId !== 'string' || roomId === '') return Promise.reject(new TypeError('roomId must be a non-empty string'));
    return new Promise((resolve, reject) => {
      const pending: PendingJoin = { roomId, presence, resolve, reject };
      const frame = JSON.stringify({ type: 'join_room', room_id: roomId, ...(presence ? { presence } : {}) });
      this.enqueue({ data: frame, written: () => this.pendingJoins.push(pending), fail: reject });
    });
  }

  /** Leaves a room; resolves on `room_left`, rejects on `room_leave_error`. */
  leaveRoom(roomId: string): Promise<RoomLeftFrame> {
    return new Promise((resolve, reject) => {
      const frame = JSON.stringify({ type: 'leave_room', room_id: roomId });
      this.enqueue({ data: frame, written: () => this.pendingLeaves.push({ roomId, resolve, reject }), fail: reject });
    });
  }

  /** Sends a `room_message`; false when refused (offline queue full, or disconnected). */
  sendToRoom(roomId: string, message: string): boolean {
    return this.enqueue({ data: JSON.stringify({ type: 'room_message', room_id: roomId, message }) });
  }

  /** Sends a `direct_message` to every connection of `targetClientId`; false when refused. */
  sendDirectMessage(targetClientId: string, message: string): boolean {
    return this.enqueue({ data: JSON.stringify({ type: 'direct_message', target_client_id: targetClientId, message }) });
  }

  /**
   * Sends a frame: an object with a string `type` as it is, anything else as
   * `{"type":"message","data":…}`; binary (ArrayBuffer, a typed array) as a binary frame.
   * Text resolves on its `message_ack` and rejects on `message_blocked` (or after
   * `ackTimeout`: a route with `acks: false` never answers); binary resolves once handed
   * to the socket.
   */
  send(data: unknown): Promise<MessageAckFrame | void> {
    if (isBinary(data)) {
      return new Promise((resolve, reject) => {
        this.enqueue({ data, written: () => resolve(), fail: reject });
      });
    }
    const typed = typeof data === 'object' && data !== null && typeof (data as { type?: unknown }).type === 'string';
    const text = JSON.stringify(typed ? data : { type: 'message', data });
    return new Promise<MessageAckFrame>((resolve, reject) => {
      const ack: PendingAck = { text, resolve, reject, timer: undefined };
      this.enqueue({ data: text, ack, fail: reject });
    });
  }

  /** The room's members, from `presence_state`; rejects with `room_not_found`. */
  presenceList(roomId: string): Promise<PresenceMember[]> {
    return new Promise((resolve, reject) => {
      this.enqueue({ data: JSON.stringify({ type: 'presence_list', room_id: roomId }),
        written: () => this.pendingPresence.push({ roomId, resolve, reject }), fail: reject });
    });
  }

  /** Adds a handler; returns the function that removes it. Handlers survive reconnects. */
  on<K extends keyof ClientEventMap>(type: K, handler: (value: ClientEventMap[K]) => void): () => void;
  /** Any other frame type (a custom one the app sends). */
  on<T extends string>(type: T extends keyof ClientEventMap ? never : T, handler: (frame: ServerFrame) => void): () => void;
  on(type: string, handler: (value: any) => void): () => void {
    return this.listen(type, handler);
  }

  // ---- frames ----

  protected text(socket: SocketLike, data: string): void {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(data) as ServerFrame;
    } catch {
      this.dispatch('error', new RoomwireClientError('protocol', 'a text frame that is not JSON'));
      return;
    }
    if (typeof frame !== 'object' || frame === null || typeof frame.type !== 'string') return;
    this.handle(socket, frame);
  }

  private handle(socket: SocketLike, frame: ServerFrame): void {
    switch (frame.type) {
      case 'welcome':
        return this.onWelcome(socket, frame as WelcomeFrame);
      case 'room_joined':
        this.onRoomJoined(frame as RoomJoinedFrame);
        break;
      case 'room_left': {
        const f = frame as RoomLeftFrame;
        this.rooms.delete(f.room_id);
        takeFor(this.pendingLeaves, f.room_id)?.resolve(f);
        break;
      }
      case 'room_message': {
        const f = frame as RoomMessageFrame;
        if (!this.fresh(f)) return;  // replayed earlier, or a duplicate across a reconnect
        break;
      }
      case 'presence_state': {
        const f = frame as PresenceStateFrame;
        takeFor(this.pendingPresence, f.room_id)?.resolve(f.members);
        break;
      }
      case 'message_ack':
        // The ack of this client's own answer to the server's ping is nobody's send.
        if ((frame as MessageAckFrame).message !== PONG) this.settleAck(frame as MessageAckFrame, undefined);
        break;
      case 'message_blocked':
        this.settleAck(undefined, frame as MessageBlockedFrame);
        break;
      case 'ping':
        // The server's application heartbeat: answer, it times its latency by this.
        this.sendNow(socket, PONG);
        break;
      case 'pong':
        if (this.pingSentAt !== 0) {
          this.latency = Date.now() - this.pingSentAt;
          this.pingSentAt = 0;
          clearTimeout(this.timers.pong);
          this.dispatch('pong', { latency: this.latency });
        }
        break;
      case 'error':
        // As `server_error` (the frame); as `error` (a RoomwireClientError) unless it
        // answered a pending operation, which it rejects instead.
        this.onErrorFrame(frame as ErrorFrame);
        this.dispatch('server_error', frame);
        if (this.o.onMessage) this.call(this.o.onMessage, frame, frame.type);
        return;
      default:
        break;
    }
    this.dispatch(frame.type, frame);
    if (this.o.onMessage) this.call(this.o.onMessage, frame, frame.type);
  }

  private onWelcome(socket: SocketLike, welcome: WelcomeFrame): void {
    this.connectionId = welcome.connection_id;
    this.clientId = welcome.client_id;
    const reconnected = this.everWelcomed;
    this.everWelcomed = true;
    this.markReady(socket, welcome, () => {
      this.startHeartbeat(socket);
      this.dispatch('welcome', welcome);
      if (this.o.onConnect) this.call(this.o.onConnect, welcome, 'welcome');
      // Rooms first (each asking for what it missed), then what waited while offline: the
      // server handles a connection's frames in order.
      if (!reconnected) return;
      for (const [roomId, room] of this.rooms) {
        if (this.pendingJoins.some((p) => p.roomId === roomId)) continue;
        this.rejoining.add(roomId);
        const since = room.epoch !== undefined && room.offset !== undefined ? { offset: room.offset, epoch: room.epoch } : undefined;
        this.sendNow(socket, JSON.stringify({ type: 'join_room', room_id: roomId,
          ...(room.presence ? { presence: room.presence } : {}), ...(since ? { since } : {}) }));
      }
    });
  }

  private onRoomJoined(frame: RoomJoinedFrame): void {
    const roomId = frame.room_id;
    if (this.rejoining.delete(roomId)) {
      const recovered = frame.recovered === true;
      const room = this.rooms.get(roomId);
      if (room && !recovered) {
        room.offset = undefined;
        room.epoch = undefined;
      }
      this.adoptPosition(roomId, frame);
      takeFor(this.rejoinWaiters, roomId)?.resolve(frame);
      this.dispatch('rejoined', { room_id: roomId, recovered });
      return;
    }
    const pending = takeFor(this.pendingJoins, roomId);
    if (pending) {
      const known = this.rooms.get(roomId);
      this.rooms.set(roomId, { presence: pending.presence, offset: known?.offset, epoch: known?.epoch });
      this.adoptPosition(roomId, frame);
      return pending.resolve(frame);
    }
    // Joined by the app (app.joinRoom, REST): kept and rejoined like the client's own.
    if (!this.rooms.has(roomId)) this.rooms.set(roomId, { presence: undefined, offset: undefined, epoch: undefined });
    this.adoptPosition(roomId, frame);
  }

  /** Takes the room's position in its history from room_joined. */
  private adoptPosition(roomId: string, frame: RoomJoinedFrame): void {
    const room = this.rooms.get(roomId);
    if (!room || typeof frame.offset !== 'number' || typeof frame.epoch !== 'string') return;
    if (room.epoch !== frame.epoch || room.offset === undefined) {
      room.epoch = frame.epoch;
      room.offset = frame.offset;
    }
  }

  /** A room message seen for the first time (rooms with history are de-duplicated by offset). */
  private fresh(frame: RoomMessageFrame): boolean {
    const room = this.rooms.get(frame.room_id);
    if (!room || typeof frame.offset !== 'number' || typeof frame.epoch !== 'string') return true;
    if (room.epoch === frame.epoch && room.offset !== undefined && frame.offset <= room.offset) return false;
    room.epoch = frame.epoch;
    room.offset = frame.offset;
    return true;
  }

  private onErrorFrame(frame: ErrorFrame): void {
    const error = new RoomwireClientError('server', frame.error, { errorType: frame.error_type });
    if (frame.error_type === 'room_join_error') {
      // Rejoins went first after the welcome: their answers come first.
      const [roomId] = this.rejoining;
      if (roomId !== undefined) {
        // A rejoin the server refused (the room is gone, full, or onJoinRoom said no).
        this.rejoining.delete(roomId);
        this.rooms.delete(roomId);
        takeFor(this.rejoinWaiters, roomId)?.reject(error);
        this.dispatch('rejoined', { room_id: roomId, recovered: false, error });
        return this.dispatch('error', error);
      }
      const pending = this.pendingJoins.shift();
      if (pending) return pending.reject(error);
    } else if (frame.error_type === 'room_leave_error') {
      const pending = this.pendingLeaves.shift();
      if (pending) return pending.reject(error);
    } else if (frame.error_type === 'room_not_found') {
      const pending = this.pendingPresence.shift();
      if (pending) return pending.reject(error);
    }
    this.dispatch('error', error);
  }

  private settleAck(ack: MessageAckFrame | undefined, blocked: MessageBlockedFrame | undefined): void {
    const text = ack ? ack.message : blocked!.originalMessage;
    // The frame whose text it carries; else the oldest (onMessage may have replaced the text).
    let index = this.pendingAcks.findIndex((p) => p.text === text);
    if (index < 0) index = 0;
    const pending = this.pendingAcks[index];
    if (!pending) return;
    this.pendingAcks.splice(index, 1);
    clearTimeout(pending.timer);
    if (ack) pending.resolve(ack);
    else pending.reject(new RoomwireClientError('blocked', blocked!.reason));
  }

  // ---- sending ----

  protected write(socket: SocketLike, item: Outgoing): void {
    if (item.ack) {
      const ack = item.ack;
      this.pendingAcks.push(ack);
      ack.timer = setTimeout(() => {
        const i = this.pendingAcks.indexOf(ack);
        if (i >= 0) this.pendingAcks.splice(i, 1);
        ack.reject(new RoomwireClientError('timeout', `no message_ack within ${this.o.ackTimeout} ms`));
      }, this.o.ackTimeout);
    }
    super.write(socket, item);
  }

  // ---- heartbeat ----

  private startHeartbeat(socket: SocketLike): void {
    this.stopped();
    if (this.o.pingInterval === 0) return;
    this.timers.ping = setInterval(() => {
      if (this.socket !== socket || this.pingSentAt !== 0) return;
      this.pingSentAt = Date.now();
      this.sendNow(socket, JSON.stringify({ type: 'ping' }));
      this.timers.pong = setTimeout(() => {
        // No answer: the link is dead (or the server is). Replace the connection.
        this.drop(socket);
        this.lost(CloseCode.ABNORMAL, `no pong within ${this.o.pongTimeout} ms`);
      }, this.o.pongTimeout);
    }, this.o.pingInterval);
  }

  protected stopped(): void {
    clearInterval(this.timers.ping);
    clearTimeout(this.timers.pong);
    this.pingSentAt = 0;
  }

  // ---- bookkeeping ----

  protected dropPending(error: RoomwireClientError, final: boolean): void {
    // Joins and leaves in flight are re-sent as part of the rejoin (joins) or dropped (leaves).
    for (const p of this.pendingLeaves.splice(0)) {
      this.rooms.delete(p.roomId);
      p.resolve({ type: 'room_left', room_id: p.roomId });
    }
    for (const p of this.pendingJoins.splice(0)) {
      // Rejoined with the others once back; the promise resolves on that room_joined.
      if (!this.rooms.has(p.roomId)) this.rooms.set(p.roomId, { presence: p.presence, offset: undefined, epoch: undefined });
      this.rejoinWaiters.push(p);
    }
    for (const p of this.pendingPresence.splice(0)) p.reject(error);
    for (const p of this.pendingAcks.splice(0)) {
      clearTimeout(p.timer);
      p.reject(error);
    }
    this.rejoining.clear();
    if (final) for (const p of this.rejoinWaiters.splice(0)) p.reject(error);
  }

  private rejoinWaiters: PendingJoin[] = [];

  protected forget(): void {
    this.rooms.clear();
    this.everWelcomed = false;
  }

  protected callbackFor(type: string): ((value: any) => void) | undefined {
    const o = this.o;
    switch (type) {
      case 'welcome': return o.onWelcome;
      case 'state': return undefined;
      case 'disconnect': return o.onDisconnect;
      case 'reconnecting': return o.onReconnect;
      case 'rejoined': return o.onRejoined;
      case 'room_message': return o.onRoomMessage;
      case 'direct_message': return o.onDirectMessage;
      case 'message_blocked': return o.onMessageBlocked;
      case 'message_ack': return o.onMessageAck;
      case 'presence': return o.onPresence;
      case 'room_joined': return o.onJoinRoom;
      case 'room_left': return o.onLeaveRoom;
      case 'pong': return o.onPong;
      case 'ping': return o.onPing;
      case 'server_error': return o.onServerError;
      case 'binary': return o.onBinaryMessage;
      case 'error': return o.onError;
      default: return undefined;
    }
  }
}

function takeFor<T extends { roomId: string }>(list: T[], roomId: string): T | undefined {
  const i = list.findIndex((p) => p.roomId === roomId);
  return i < 0 ? undefined : list.splice(i, 1)[0];
}

function isBinary(data: unknown): data is ArrayBufferLike | ArrayBufferView {
  return data instanceof ArrayBuffer || ArrayBuffer.isView(data) ||
    (typeof SharedArrayBuffer !== 'undefined' && data instanceof SharedArrayBuffer);
}

// ---- the events protocol (a route with protocol: 'events') ----

/** Options of {@link EventsClient}. */
export interface EventsClientOptions extends ConnectionOptions {
  /** Time (ms) a join or leave waits for its answer before rejecting. Default 10000. */
  answerTimeout?: number;
  onConnect?: () => void;
  onDisconnect?: (event: DisconnectEvent) => void;
  onReconnect?: (event: ReconnectEvent) => void;
  onError?: (error: RoomwireClientError) => void;
}

/** An event the server sent: to this connection, or to a topic (`topic` set). */
export interface EventFrame {
  type: 'event';
  event: string;
  payload: unknown;
  topic?: string;
}

/** An `error` frame of the events protocol. */
export interface EventsErrorFrame {
  type: 'error';
  /** unknown_topic, unknown_event, not_joined, leave_error, invalid_format, rate_limited. */
  error_type: string;
  message: string;
  topic?: string;
  event?: string;
}

/** The events client's own events (`on(name, handler)`); any other name is a server event. */
export interface EventsClientEventMap {
  /** Open (again, after a reconnect: topics are being rejoined). */
  connect: undefined;
  disconnect: DisconnectEvent;
  reconnecting: ReconnectEvent;
  reconnect_failed: { attempts: number };
  /** A topic rejoined after a reconnect, or (`error` set) refused. */
  rejoined: { topic: string; error?: RoomwireClientError };
  /** The server removed this connection from a topic (a `leave_ack` it did not ask for). */
  left: { topic: string };
  state: ClientState;
  error: RoomwireClientError;
  /** Every `error` frame, as sent. */
  server_error: EventsErrorFrame;
  binary: Uint8Array;
}

const eventsClientEvents = ['connect', 'disconnect', 'reconnecting', 'reconnect_failed', 'rejoined', 'left', 'state',
  'error', 'server_error', 'binary'];

interface PendingTopic extends Pending<void> {
  topic: string;
  payload: unknown;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * A client for routes with `protocol: 'events'` (Rover's model): joins topics, sends named
 * events, and receives them by name. It reconnects like {@link RoomwireClient} (backoff
 * with jitter, a bounded offline queue) and rejoins its topics with the payload it joined
 * them with. Server events are handled with `on(eventName, (payload, frame) => …)`; the
 * names in {@link EventsClientEventMap} are the client's own (use `onEvent` for a server
 * event that has one of them).
 */
export class EventsClient extends ReconnectingClient<void> {
  private readonly answerTimeout: number;
  private readonly eo: EventsClientOptions;
  private readonly topics = new Map<string, unknown>();
  private readonly pendingJoins: PendingTopic[] = [];
  private readonly pendingLeaves: PendingTopic[] = [];
  private readonly rejoinWaiters: PendingTopic[] = [];
  private readonly rejoining = new Set<string>();
  private readonly handlers = new Map<string, Set<(payload: any, frame: EventFrame) => void>>();
  private readonly anyHandlers = new Set<(event: string, payload: any, frame: EventFrame) => void>();
  private everOpen = false;
  protected readonly readyName = 'open';

  /** Checks the options; connects only on {@link connect}. */
  constructor(options: EventsClientOptions) {
    super(options);
    this.eo = options;
    this.answerTimeout = numberOption(options, 'answerTimeout', 10000, 1);
  }

  /** The topics the client is in (and rejoins after a reconnect). */
  get joinedTopics(): string[] {
    return [...this.topics.keys()];
  }

  /**
   * Joins a topic; resolves on `join_ack`, rejects on `join_error` (`errorType`
   * 'join_error', the handler's reason as the message) or an `unknown_topic` error. The
   * topic is rejoined with `payload` after every reconnect.
   */
  join(topic: string, payload?: unknown): Promise<void> {
    if (typeof topic !== 'string' || topic === '') return Promise.reject(new TypeError('topic must be a non-empty string'));
    return this.ask(this.pendingJoins, { type: 'join', topic, payload: payload ?? null }, topic, payload);
  }

  /** Leaves a topic; resolves on `leave_ack`, rejects on a `not_joined` or `leave_error` error. */
  leave(topic: string, payload?: unknown): Promise<void> {
    if (typeof topic !== 'string' || topic === '') return Promise.reject(new TypeError('topic must be a non-empty string'));
    return this.ask(this.pendingLeaves, { type: 'leave', topic, payload: payload ?? null }, topic, payload);
  }

  /** Sends an event; false when refused (offline queue full, or disconnected). */
  emit(event: string, payload?: unknown): boolean {
    if (typeof event !== 'string' || event === '') throw new TypeError('event must be a non-empty string');
    return this.enqueue({ data: JSON.stringify({ type: 'event', event, payload: payload ?? null }) });
  }

  /** Adds a handler for one of the client's own events; returns the function that removes it. */
  on<K extends keyof EventsClientEventMap>(type: K, handler: (value: EventsClientEventMap[K]) => void): () => void;
  /** Adds a handler for a server event by name. */
  on<T extends string>(event: T extends keyof EventsClientEventMap ? never : T, handler: (payload: any, frame: EventFrame) => void): () => void;
  on(name: string, handler: (...args: any[]) => void): () => void {
    if (eventsClientEvents.includes(name)) return this.listen(name, handler);
    let set = this.handlers.get(name);
    if (!set) this.handlers.set(name, (set = new Set()));
    set.add(handler);
    return () => void this.handlers.get(name)?.delete(handler);
  }

  /** Adds a handler for every server event; returns the function that removes it. */
  onEvent(handler: (event: string, payload: any, frame: EventFrame) => void): () => void {
    this.anyHandlers.add(handler);
    return () => void this.anyHandlers.delete(handler);
  }

  private ask(list: PendingTopic[], frame: Record<string, unknown>, topic: string, payload: unknown): Promise<void> {
    return new Promise((resolve, reject) => {
      const pending: PendingTopic = { topic, payload, resolve, reject, timer: undefined };
      this.enqueue({
        data: JSON.stringify(frame),
        written: () => {
          list.push(pending);
          pending.timer = setTimeout(() => {
            const i = list.indexOf(pending);
            if (i >= 0) list.splice(i, 1);
            reject(new RoomwireClientError('timeout', `no answer to ${String(frame.type)} ${topic} within ${this.answerTimeout} ms`));
          }, this.answerTimeout);
        },
        fail: reject,
      });
    });
  }

  protected opened(socket: SocketLike): void {
    const reconnected = this.everOpen;
    this.everOpen = true;
    this.markReady(socket, undefined, () => {
      // Topics first: the server answers a connection's frames in order.
      if (reconnected) {
        for (const [topic, payload] of this.topics) {
          if (this.pendingJoins.some((p) => p.topic === topic)) continue;
          this.rejoining.add(topic);
          this.sendNow(socket, JSON.stringify({ type: 'join', topic, payload: payload ?? null }));
        }
      }
      this.dispatch('connect', undefined);
    });
  }

  protected text(_socket: SocketLike, data: string): void {
    let frame: { type?: unknown; topic?: unknown; [key: string]: unknown };
    try {
      frame = JSON.parse(data);
    } catch {
      this.dispatch('error', new RoomwireClientError('protocol', 'a text frame that is not JSON'));
      return;
    }
    if (typeof frame !== 'object' || frame === null) return;
    const topic = typeof frame.topic === 'string' ? frame.topic : undefined;
    switch (frame.type) {
      case 'event':
        return this.onServerEvent(frame as unknown as EventFrame);
      case 'join_ack':
        if (topic !== undefined) this.joined(topic, undefined);
        return;
      case 'join_error':
        if (topic !== undefined) this.joined(topic, new RoomwireClientError('server', String(frame.reason ?? 'join refused'), { errorType: 'join_error' }));
        return;
      case 'leave_ack':
        if (topic === undefined) return;
        this.topics.delete(topic);
        if (!settle(this.pendingLeaves, topic)) this.dispatch('left', { topic });
        return;
      case 'error':
        return this.onErrorFrame(frame as unknown as EventsErrorFrame);
      default:
        return;
    }
  }

  private onServerEvent(frame: EventFrame): void {
    if (typeof frame.event !== 'string') return;
    for (const handler of [...this.anyHandlers]) this.call(() => handler(frame.event, frame.payload, frame), undefined, frame.event);
    const set = this.handlers.get(frame.event);
    if (set) for (const handler of [...set]) this.call(() => handler(frame.payload, frame), undefined, frame.event);
  }

  /** A join's answer: the pending join's, a rejoin's, or one the app made (kept and rejoined). */
  private joined(topic: string, error: RoomwireClientError | undefined): void {
    if (this.rejoining.delete(topic)) {
      if (error) this.topics.delete(topic);
      settle(this.rejoinWaiters, topic, error);
      this.dispatch('rejoined', error ? { topic, error } : { topic });
      if (error) this.dispatch('error', error);
      return;
    }
    const i = this.pendingJoins.findIndex((p) => p.topic === topic);
    if (i >= 0 && !error) this.topics.set(topic, this.pendingJoins[i].payload);
    if (i < 0 && !error) this.topics.set(topic, null);
    if (!settle(this.pendingJoins, topic, error) && error) this.dispatch('error', error);
  }

  private onErrorFrame(frame: EventsErrorFrame): void {
    this.dispatch('server_error', frame);
    const error = new RoomwireClientError('server', frame.message ?? frame.error_type, { errorType: frame.error_type });
    const topic = frame.topic;
    if (topic !== undefined && frame.error_type === 'unknown_topic') {
      if (this.rejoining.has(topic)) return this.joined(topic, error);
      if (settle(this.pendingJoins, topic, error)) return;
    } else if (topic !== undefined && (frame.error_type === 'not_joined' || frame.error_type === 'leave_error')) {
      if (frame.error_type === 'not_joined') this.topics.delete(topic);
      if (settle(this.pendingLeaves, topic, error)) return;
    }
    this.dispatch('error', error);
  }

  protected dropPending(error: RoomwireClientError, final: boolean): void {
    // A leave in flight: the connection that was in the topic is gone, so it is left.
    for (const p of this.pendingLeaves.splice(0)) {
      clearTimeout(p.timer);
      this.topics.delete(p.topic);
      p.resolve();
    }
    for (const p of this.pendingJoins.splice(0)) {
      clearTimeout(p.timer);
      // Joined with the rejoins once back; the promise settles on that answer.
      if (!final) {
        this.topics.set(p.topic, p.payload);
        this.rejoinWaiters.push(p);
      } else {
        p.reject(error);
      }
    }
    this.rejoining.clear();
    if (final) for (const p of this.rejoinWaiters.splice(0)) p.reject(error);
  }

  protected forget(): void {
    this.topics.clear();
    this.everOpen = false;
  }

  protected callbackFor(type: string): ((value: any) => void) | undefined {
    switch (type) {
      case 'connect': return this.eo.onConnect;
      case 'disconnect': return this.eo.onDisconnect;
      case 'reconnecting': return this.eo.onReconnect;
      case 'error': return this.eo.onError;
      default: return undefined;
    }
  }
}

/** Settles the first pending operation of `topic` (rejects with `error` when given); whether there was one. */
function settle(list: PendingTopic[], topic: string, error?: RoomwireClientError): boolean {
  const i = list.findIndex((p) => p.topic === topic);
  if (i < 0) return false;
  const [p] = list.splice(i, 1);
  clearTimeout(p.timer);
  if (error) p.reject(error);
  else p.resolve();
  return true;
}
