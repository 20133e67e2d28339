// Type definitions for roomwire. Hand-written; checked by test/types.
/// <reference types="node" />
import { EventEmitter } from 'events';

/** Log verbosity of the native core and the facade. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** Options of {@link createApp}. Every limit has a documented default. */
export interface AppOptions {
  /** I/O threads of the native core. Default: the machine's hardware threads. */
  threads?: number;
  /** Address `listen` binds when none is given. Default `'0.0.0.0'`. */
  host?: string;
  /** Default `'warn'`. */
  logLevel?: LogLevel;
  /** How long a callback's Promise may stay pending before it counts as a cancel. Default 5000 ms. */
  callbackTimeoutMs?: number;
  /** RNode's name for `callbackTimeoutMs` (the time a handler may take), ms. Give one of the two, or the same value. */
  timeout?: number;
  /** RNode's development mode: a failing HTTP handler's 500 answer carries its error's `message` and `stack`. Default: `process.env.MODE === 'development'`, as in RNode. */
  devMode?: boolean;
  /** Largest HTTP request body; larger gets 413. Default 1 MiB. */
  maxBodySize?: number;
  /** Largest HTTP header block; larger gets 431. Default 16 KiB. */
  maxHeaderSize?: number;
  /** Largest WebSocket message; larger closes the connection with 1009. Default 16 MiB. */
  maxPayload?: number;
  /** Unsent bytes per connection past which sends report `'backpressure'` then `'dropped'`. Default 1 MiB. */
  maxBackpressure?: number;
  /** Interval of the heartbeat: a protocol ping and a JSON `ping`, ms; 0 disables. Default 30000. */
  heartbeatInterval?: number;
  /** A connection silent this long (no frame, no pong) is closed with 1001, ms; 0 disables. Default 120000. */
  idleTimeout?: number;
  /** Time allowed for an HTTP request or a WebSocket handshake, ms. Default 10000. */
  requestTimeout?: number;
  /** Serve Prometheus text at `GET /metrics`. Default false. */
  metrics?: boolean;
  /** Cap on open WebSocket connections (upgrades awaiting `onConnect` count); upgrades past it get 503. Default 0 (no cap: the fd limit bounds it). */
  maxConnections?: number;
  /** Pause between the 101 and the `welcome`, ms: a client that installs its message handler once the socket opens (RNode's client does) needs the 101 to arrive alone. Default 10; 0 sends the welcome at once. */
  welcomeDelayMs?: number;
  /** Rooms one connection may be in; a join past it gets `room_join_error`. Default 256; 0 disables. */
  maxRoomsPerConnection?: number;
  /** Longest room id or client id, in bytes: a longer `clientId` gets 400 at the upgrade, a longer `room_id` `room_join_error`. Default 256. */
  maxIdLength?: number;
  /** Largest `presence` object of a `join_room`, in bytes of JSON; larger gets `room_join_error`. Default 4096; 0 disables. */
  maxPresenceSize?: number;
  /** A connection past `maxBackpressure`: drop its frames (counted), or close it with 1013. Default `'drop'`. */
  backpressurePolicy?: 'drop' | 'close';
}

/** The event given to every WebSocket callback. */
export interface WebSocketEventData {
  /** `connect`, `welcome`, `message`, `message_ack`, `ping`, `pong`, `binary_message`, `close`, `error`, `server_error`. */
  type: string;
  connectionId: string;
  /** The same as `connectionId`, under RNode's runtime name. */
  connection_id: string;
  client_id: string;
  /** The request path of the connection (e.g. `/chat/lobby`). */
  path: string;
  /** Identifies the `app.websocket()` registration. */
  handlerId: string;
  /** RFC 3339 UTC. */
  timestamp: string;
  /**
   * Per event: the frame text (`message`, `ping`, `pong`), a Buffer (`binary_message`), the object
   * about to be sent (`welcome`, `message_ack`), `{ event, cause }` (`server_error`).
   */
  data?: unknown;
  room_id?: string;
  /** A direct message's target client (for one addressed by connection id, the client that connection belongs to). */
  target_client_id?: string;
  /** A direct message's target connection, when the sender addressed it by connection id. */
  target_connection_id?: string;
  from_client_id?: string;
  message?: string;
  error?: string;
  error_type?: string;
  /** Close code (`close`): the peer's, the server's own, 1005 for a close frame without one, 1006 when the socket ended without a close. */
  code?: number;
  /** Close reason (`close`). */
  reason?: string;
  /** Path parameters (`connect`). */
  params?: Record<string, string>;
  /** Query parameters (`connect`). */
  query?: Record<string, string>;
  /** Request headers, lower-case names (`connect`). */
  headers?: Record<string, string>;
}

/** What a callback may return, or resolve to. */
export interface WebSocketEventResult {
  /** Cancel the event (see docs/protocol.md for what each callback's cancel means). */
  shouldCancel?: boolean;
  /** Replacement values; meaning depends on the callback. */
  modifiedEvent?: Partial<WebSocketEventData> & Record<string, unknown>;
  /** Told to the client when cancelling (`message_blocked` reason, or the refusal body). */
  error?: string;
  /** HTTP status of a refused upgrade (`onConnect`), 400–599. Default 403. */
  status?: number;
}

/** A callback's return value. */
export type CallbackResult = WebSocketEventResult | void | undefined | Promise<WebSocketEventResult | void | undefined>;

/** A WebSocket callback. */
export type WebSocketCallback = (event: WebSocketEventData) => CallbackResult;
/** A callback whose result is ignored. */
export type WebSocketListener = (event: WebSocketEventData) => void | Promise<void>;

/** Options of `app.websocket(path, options)`. Only the callbacks given are ever called. */
export interface WebSocketOptions {
  /** Before the upgrade: cancel refuses it (`status`, default 403); `modifiedEvent.client_id` / `.metadata` are stored. */
  onConnect?: WebSocketCallback;
  /** Before `welcome` is sent: cancel sends none; `modifiedEvent` is the object sent. */
  onWelcome?: WebSocketCallback;
  /** Every client text frame, before dispatch: cancel drops it; `modifiedEvent.data` replaces it. */
  onMessage?: WebSocketCallback;
  /** Before `message_ack` is sent: cancel sends none; `modifiedEvent` is the ack sent. */
  onMessageAck?: WebSocketCallback;
  /** A client JSON `ping`: cancel sends no `pong`. */
  onPing?: WebSocketCallback;
  /** A client JSON `pong` (heartbeat answer): cancel sends no ack. */
  onPong?: WebSocketCallback;
  /** A client binary frame; `data` is a Buffer. */
  onBinaryMessage?: WebSocketListener;
  /** After the connection closed (`code`, `reason`); never cancellable. */
  onClose?: WebSocketListener;
  /** A protocol error on the connection (oversize, bad UTF-8, bad frame). */
  onError?: WebSocketListener;
  /** A callback threw, rejected, timed out or returned an invalid result. */
  onServerError?: WebSocketListener;
  /** A join (client `join_room` or `app.joinRoom`); `data.presence` is the member's info. Cancel refuses it (`room_join_error`); `modifiedEvent.data.presence` replaces the info. */
  onJoinRoom?: WebSocketCallback;
  /** A client's `leave_room`: cancel refuses it (`room_leave_error`). */
  onLeaveRoom?: WebSocketCallback;
  /** Before a room fan-out (`room_id`, `message`): cancel blocks it (`message_blocked`); `modifiedEvent.message` is delivered instead. */
  onRoomMessage?: WebSocketCallback;
  /** Before a direct delivery (`target_client_id`, plus `target_connection_id` when addressed by connection id; `message`): cancel blocks it; `modifiedEvent.message` is delivered instead. */
  onDirectMessage?: WebSocketCallback;
  /** A `join_room` for an unknown id creates that room (ephemeral: deleted when empty). Default false. */
  autoCreateRooms?: boolean;
  /**
   * Frames per second per connection (token bucket, burst = the rate); 0 = no limit (default).
   * Frames over it get `error` `rate_limited`; more refusals within 5 s than the rate closes with 1008.
   */
  maxMessagesPerSecond?: number;
  /** Send `message_ack` for frames without a built-in meaning. Default true. */
  acks?: boolean;
}

/** Options of `app.createRoom`. */
export interface CreateRoomOptions {
  /** Free JSON metadata reported by getRoomInfo. */
  metadata?: Record<string, unknown>;
  /** Delete the room when its last member leaves. Default false. */
  ephemeral?: boolean;
}

/** A room as reported by getRoomInfo, getAllRooms and the REST API. */
export interface RoomInfo {
  id: string;
  name: string;
  description: string;
  /** null: unlimited. */
  maxConnections: number | null;
  /** Connection ids of the members. */
  connections: string[];
  connectionsCount: number;
  metadata: Record<string, unknown>;
  /** RFC 3339 UTC. */
  createdAt: string;
  ephemeral: boolean;
}

/** One member of a room. */
export interface PresenceMember {
  connection_id: string;
  client_id: string;
  /** The `presence` object given when joining, or null. */
  user_info: Record<string, unknown> | null;
  joined_at: string;
}

/** A connection as reported by getClientInfo and the REST API. */
export interface ClientInfo {
  connectionId: string;
  clientId: string;
  path: string;
  handlerId: string;
  connectedAt: string;
  /** Last measured heartbeat round trip in ms, or null. */
  latency: number | null;
  /** Bytes queued and not yet written. */
  bufferedAmount: number;
  /** What onConnect stored as `modifiedEvent.metadata`, or null. */
  metadata: unknown;
  rooms: string[];
}

/** The delivery status of a send. */
export type SendStatus = 'ok' | 'backpressure' | 'dropped';

/** An incoming HTTP request. */
export interface Request {
  readonly method: string;
  readonly path: string;
  readonly params: Record<string, string>;
  readonly query: Record<string, string>;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  /** Parses the body; malformed JSON answers 400 unless caught. */
  getBodyAsJson<T = unknown>(): T;
}

/** The answer to an HTTP request. */
export interface Response {
  readonly sent: boolean;
  status(code: number): this;
  setHeader(name: string, value: string | number): this;
  json(value: unknown): void;
  send(body: string | Buffer): void;
}

/** An HTTP route handler; may be async. */
export type RouteHandler = (req: Request, res: Response) => void | Promise<void>;

/** Options of `app.close()`. */
export interface CloseOptions {
  /** How long connections get to flush and close before they are cut. Default 5000 ms. */
  timeoutMs?: number;
}

/** An HTTP and WebSocket server whose sockets live in the native core. */
export declare class App extends EventEmitter {
  /** The bound port while listening, else undefined. */
  readonly port: number | undefined;
  /** Whether the server is listening. */
  readonly listening: boolean;
  get(path: string, handler: RouteHandler): this;
  post(path: string, handler: RouteHandler): this;
  put(path: string, handler: RouteHandler): this;
  patch(path: string, handler: RouteHandler): this;
  delete(path: string, handler: RouteHandler): this;
  /** Accepts WebSocket upgrades on `path` (which may contain `{param}` segments). */
  websocket(path: string, options?: WebSocketOptions): this;
  /**
   * Binds and starts the native threads; resolves with the bound port. `host` may be an
   * address or a name (resolved with dns.lookup). `callback`, when given, is called once
   * listening, or with the error (the Promise rejects too).
   */
  listen(port?: number, host?: string, callback?: (err?: Error) => void): Promise<number>;
  listen(port: number, callback: (err?: Error) => void): Promise<number>;
  /** Stops accepting, closes connections with 1001, joins the threads. */
  close(options?: CloseOptions): Promise<void>;
  /** One raw frame (text for a string, binary for a Buffer) to one connection; false if unknown. */
  send(connectionId: string, data: string | Buffer | Uint8Array): SendStatus | false;
  /** One raw frame to every connection on a path (the registered pattern or the actual path); returns how many. */
  broadcast(path: string, data: string | Buffer | Uint8Array): number;
  /** Creates a room; returns `room_<32 hex>`. */
  createRoom(name: string, description?: string, maxConnections?: number, options?: CreateRoomOptions): string;
  /** Deletes a room (members get `room_left`); false when unknown. */
  deleteRoom(roomId: string): boolean;
  /** The `room_message` envelope to every member; false for an unknown room. */
  sendRoomMessage(roomId: string, message: string): SendStatus | false;
  getRoomInfo(roomId: string): RoomInfo | null;
  getAllRooms(): RoomInfo[];
  /** Joins through `onJoinRoom`, in order with the connection's frames; false when refused or unknown. */
  joinRoom(connectionId: string, roomId: string): Promise<boolean>;
  /** Removes a connection from a room (it gets `room_left`); false if it was not in it. */
  leaveRoom(connectionId: string, roomId: string): boolean;
  getClientInfo(connectionId: string): ClientInfo | null;
  /** Room ids of a connection (empty when unknown). */
  getUserRooms(connectionId: string): string[];
  /** Members of a room, or null for an unknown room. */
  getPresence(roomId: string): PresenceMember[] | null;
  /** A `direct_message` to a connection id, or to every connection of a client id; false if none. */
  sendDirectMessage(clientOrConnectionId: string, message: string): SendStatus | false;
  /**
   * Closes a connection (code 1000, 1001, 1008, 1011–1013 or 3000–4999) once the frames it
   * already sent are handled and what is queued for it is written; false when unknown.
   */
  closeConnection(connectionId: string, code?: number, reason?: string): boolean;
  /** Client frames received since listen. */
  getWebSocketMessageCount(): number;
  /** Serves the REST room API under `prefix` (default `/websocket`). */
  enableRoomApi(prefix?: string): this;
  /** Open WebSocket connections. */
  getWebSocketConnections(): number;
  /** Changes the log level at run time. */
  setLogLevel(level: LogLevel): void;
}

/** Creates an app. */
export declare function createApp(options?: AppOptions): App;

/** Thrown for failures that are not argument errors; `code` is stable. */
export declare class RoomwireError extends Error {
  readonly code: string;
}

/**
 * Throw from an HTTP handler to answer with `status` and `{ error: message }`. Anything
 * else a handler throws or rejects with is answered 500.
 */
export declare class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  /** @throws RangeError unless `status` is an integer from 400 to 599. */
  constructor(status: number, message: string, code?: string);
}

/** Stable error codes. */
export declare const codes: {
  readonly INVALID_ARG: 'RW_ERR_INVALID_ARG';
  readonly OUT_OF_RANGE: 'RW_ERR_OUT_OF_RANGE';
  readonly LISTEN: 'RW_ERR_LISTEN';
  readonly ALREADY_LISTENING: 'RW_ERR_ALREADY_LISTENING';
  readonly RESPONSE_SENT: 'RW_ERR_RESPONSE_SENT';
  readonly BAD_JSON_BODY: 'RW_ERR_BAD_JSON_BODY';
  readonly NATIVE_LOAD: 'RW_ERR_NATIVE_LOAD';
  readonly ROUTE_CONFLICT: 'RW_ERR_ROUTE_CONFLICT';
};
