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
  /** Several roomwire processes acting as one server through Redis. Default: none (this process alone, no Redis needed). */
  cluster?: ClusterOptions;
  /**
   * Serve https and wss on the listening port (TLS 1.2 and 1.3 on OpenSSL, ALPN
   * `http/1.1`). A key or certificate that is not valid rejects `listen`. Default: plain
   * http and ws.
   */
  tls?: TlsOptions;
}

/** PEM material for `createApp({ tls })` and `app.setTls`. */
export interface TlsOptions {
  /** The private key, PEM. */
  key: string | Buffer;
  /** The certificate, PEM, optionally followed by its chain. */
  cert: string | Buffer;
  /** More certificates sent after `cert` (intermediate CAs), PEM. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** The passphrase of an encrypted `key`. */
  passphrase?: string;
}

/** `createApp({ cluster })`: rooms, presence, direct messages, broadcasts and counts shared through one Redis. */
export interface ClusterOptions {
  /** `redis://[:password@]host[:port][/db]`. The host may be a name (resolved once by `listen`). */
  redis: string;
  /** Prefix of every Redis key and channel; servers with the same prefix form one cluster. Default `'roomwire'`. */
  prefix?: string;
  /** This server's name in the cluster, unique. Default: host name, process id and random hex. */
  nodeId?: string;
  /** A server that misses its heartbeats this long counts as gone: the others drop its members from rooms and presence, ms. Default 15000. */
  nodeTimeoutMs?: number;
}

/** `{ local: true }`: this server only, not the whole cluster. */
export interface LocalOption {
  local?: boolean;
}

/** Fields every WebSocket event has. */
export interface WebSocketEventBase {
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
}

/** `onConnect`: before the upgrade is accepted. */
export interface ConnectEvent extends WebSocketEventBase {
  type: 'connect';
  /** Path parameters. */
  params: Record<string, string>;
  /** Query parameters. */
  query: Record<string, string>;
  /** Request headers, lower-case names. */
  headers: Record<string, string>;
  /** The subprotocols the client offered (`Sec-WebSocket-Protocol`), in its order. */
  protocols: string[];
}
/** `onWelcome`: `data` is the welcome about to be sent. */
export interface WelcomeEvent extends WebSocketEventBase {
  type: 'welcome';
  data: Record<string, unknown>;
}
/** `onMessage`: `data` is the frame's text. */
export interface MessageEvent extends WebSocketEventBase {
  type: 'message';
  data: string;
}
/** `onMessageAck`: `data` is the ack about to be sent. */
export interface MessageAckEvent extends WebSocketEventBase {
  type: 'message_ack';
  data: Record<string, unknown>;
}
/** `onPing`: a client's JSON `ping` (not the server's heartbeat); `data` is its text. */
export interface PingEvent extends WebSocketEventBase {
  type: 'ping';
  data: string;
}
/** `onPong`: a client's JSON `pong`; `data` is its text. */
export interface PongEvent extends WebSocketEventBase {
  type: 'pong';
  data: string;
}
/** `onBinaryMessage`: `data` is the message. */
export interface BinaryMessageEvent extends WebSocketEventBase {
  type: 'binary_message';
  data: Buffer;
}
/** `onClose`: once per connection, after it closed. */
export interface CloseEvent extends WebSocketEventBase {
  type: 'close';
  /** The peer's code, the server's own, 1005 for a close frame without one, 1006 when the socket ended without a close. */
  code: number;
  reason: string;
}
/** `onError`: the client broke the protocol; the connection is closed. */
export interface ProtocolErrorEvent extends WebSocketEventBase {
  type: 'error';
  error: string;
  error_type: 'message_too_big' | 'invalid_utf8' | 'protocol_error';
}
/** `onJoinRoom`: a join by the client or by `app.joinRoom`. */
export interface JoinRoomEvent extends WebSocketEventBase {
  type: 'join_room';
  room_id: string;
  /** The member's info the client sent (`presence`), or null. */
  data: { presence: Record<string, unknown> | null };
}
/** `onLeaveRoom`: a client's `leave_room`. */
export interface LeaveRoomEvent extends WebSocketEventBase {
  type: 'leave_room';
  room_id: string;
}
/** `onRoomMessage`: before a fan-out; `data` is the frame's text. */
export interface RoomMessageEvent extends WebSocketEventBase {
  type: 'room_message';
  room_id: string;
  message: string;
  from_client_id: string;
  data: string;
}
/** `onDirectMessage`: before a direct delivery; `data` is the frame's text. */
export interface DirectMessageEvent extends WebSocketEventBase {
  type: 'direct_message';
  /** The target client (for one addressed by connection id, the client that connection belongs to). */
  target_client_id: string;
  /** The target connection, when the sender addressed it by connection id. */
  target_connection_id?: string;
  message: string;
  from_client_id: string;
  data: string;
}
/** The events whose callback failed, as `onServerError` names them. */
export type ServerErrorSource = Exclude<WebSocketEventData, ServerErrorEvent>;
/** `onServerError`: a callback threw, rejected, timed out or answered an invalid result; the failed event's fields come along. */
export type ServerErrorEvent = WebSocketEventBase & Partial<Omit<ConnectEvent & WelcomeEvent & MessageEvent & JoinRoomEvent & RoomMessageEvent & DirectMessageEvent & CloseEvent, keyof WebSocketEventBase | 'type' | 'data'>> & {
  type: 'server_error';
  error: string;
  error_type: 'handler_error' | 'handler_timeout' | 'invalid_result';
  /** `event`: the type of the event whose callback failed; `cause`: what it threw or rejected with. */
  data: { event: string; cause: unknown };
};

/** The event given to a WebSocket callback: narrow it on `type`. */
export type WebSocketEventData = ConnectEvent | WelcomeEvent | MessageEvent | MessageAckEvent | PingEvent | PongEvent
  | BinaryMessageEvent | CloseEvent | ProtocolErrorEvent | ServerErrorEvent | JoinRoomEvent | LeaveRoomEvent
  | RoomMessageEvent | DirectMessageEvent;

/** An HTTP error status, the statuses a refused upgrade may carry. */
export type ErrorStatus = 400 | 401 | 402 | 403 | 404 | 405 | 406 | 407 | 408 | 409 | 410 | 411 | 412 | 413 | 414 | 415 | 416 | 417 | 418 | 419 | 420 | 421 | 422 | 423 | 424 | 425 | 426 | 427 | 428 | 429 | 430 | 431 | 432 | 433 | 434 | 435 | 436 | 437 | 438 | 439 | 440 | 441 | 442 | 443 | 444 | 445 | 446 | 447 | 448 | 449 | 450 | 451 | 452 | 453 | 454 | 455 | 456 | 457 | 458 | 459 | 460 | 461 | 462 | 463 | 464 | 465 | 466 | 467 | 468 | 469 | 470 | 471 | 472 | 473 | 474 | 475 | 476 | 477 | 478 | 479 | 480 | 481 | 482 | 483 | 484 | 485 | 486 | 487 | 488 | 489 | 490 | 491 | 492 | 493 | 494 | 495 | 496 | 497 | 498 | 499 | 500 | 501 | 502 | 503 | 504 | 505 | 506 | 507 | 508 | 509 | 510 | 511 | 512 | 513 | 514 | 515 | 516 | 517 | 518 | 519 | 520 | 521 | 522 | 523 | 524 | 525 | 526 | 527 | 528 | 529 | 530 | 531 | 532 | 533 | 534 | 535 | 536 | 537 | 538 | 539 | 540 | 541 | 542 | 543 | 544 | 545 | 546 | 547 | 548 | 549 | 550 | 551 | 552 | 553 | 554 | 555 | 556 | 557 | 558 | 559 | 560 | 561 | 562 | 563 | 564 | 565 | 566 | 567 | 568 | 569 | 570 | 571 | 572 | 573 | 574 | 575 | 576 | 577 | 578 | 579 | 580 | 581 | 582 | 583 | 584 | 585 | 586 | 587 | 588 | 589 | 590 | 591 | 592 | 593 | 594 | 595 | 596 | 597 | 598 | 599;

/** What any cancellable callback may return. */
export interface CancelResult {
  /** Cancel the event (see docs/protocol.md for what each callback's cancel means). */
  shouldCancel?: boolean;
  /** Told to the client when cancelling (`message_blocked` reason, or the refusal body). */
  error?: string;
}
/** `onConnect`'s result. */
export interface ConnectResult extends CancelResult {
  /** HTTP status of the refusal. Default 403. */
  status?: ErrorStatus;
  modifiedEvent?: {
    /** The client id the connection gets instead (at most `maxIdLength` bytes). */
    client_id?: string;
    /** Kept on the connection; `getClientInfo` reports it. */
    metadata?: Record<string, unknown>;
    /**
     * The subprotocol to accept with, instead of the route's pick: one of `event.protocols`
     * (another refuses the upgrade with 500), or null for none.
     */
    protocol?: string | null;
  };
}
/** `onWelcome`'s and `onMessageAck`'s result: `modifiedEvent` is the object sent instead. */
export interface ReplacementResult extends CancelResult {
  modifiedEvent?: Record<string, unknown>;
}
/** `onMessage`'s result. */
export interface MessageResult extends CancelResult {
  /** `data` replaces the frame (a string, or an object sent as its JSON). */
  modifiedEvent?: { data?: string | Record<string, unknown> };
}
/** `onJoinRoom`'s result. */
export interface JoinRoomResult extends CancelResult {
  /** `data.presence` replaces the member's info (null: none). */
  modifiedEvent?: { data?: { presence?: Record<string, unknown> | null } };
}
/** `onRoomMessage`'s and `onDirectMessage`'s result. */
export interface DeliveryResult extends CancelResult {
  /** `message` is delivered instead. */
  modifiedEvent?: { message?: string };
}

/** Any callback's result, as the core reads it. */
export interface WebSocketEventResult extends CancelResult {
  modifiedEvent?: Record<string, unknown>;
  status?: ErrorStatus;
}

/** A callback's return value: its result type, nothing, or a Promise of either. */
export type CallbackResult<R = WebSocketEventResult> = R | void | undefined | Promise<R | void | undefined>;

/** A WebSocket callback for event `E` answering `R`. */
export type WebSocketCallback<E extends WebSocketEventData = WebSocketEventData, R = WebSocketEventResult> = (event: E) => CallbackResult<R>;
/** A callback whose result is ignored. */
export type WebSocketListener<E extends WebSocketEventData = WebSocketEventData> = (event: E) => void | Promise<void>;

/** Options of `app.websocket(path, options)`. Only the callbacks given are ever called. */
export interface WebSocketOptions {
  /** Before the upgrade: cancel refuses it (`status`, default 403); `modifiedEvent.client_id` / `.metadata` are stored. */
  onConnect?: WebSocketCallback<ConnectEvent, ConnectResult>;
  /** Before `welcome` is sent: cancel sends none; `modifiedEvent` is the object sent. */
  onWelcome?: WebSocketCallback<WelcomeEvent, ReplacementResult>;
  /** Every client text frame, before dispatch: cancel drops it; `modifiedEvent.data` replaces it. */
  onMessage?: WebSocketCallback<MessageEvent, MessageResult>;
  /** Before `message_ack` is sent: cancel sends none; `modifiedEvent` is the ack sent. */
  onMessageAck?: WebSocketCallback<MessageAckEvent, ReplacementResult>;
  /** A client JSON `ping`: cancel sends no `pong`. */
  onPing?: WebSocketCallback<PingEvent, CancelResult>;
  /** A client JSON `pong` (heartbeat answer): cancel sends no ack. */
  onPong?: WebSocketCallback<PongEvent, CancelResult>;
  /** A client binary frame; `data` is a Buffer. */
  onBinaryMessage?: WebSocketListener<BinaryMessageEvent>;
  /** After the connection closed (`code`, `reason`); never cancellable. */
  onClose?: WebSocketListener<CloseEvent>;
  /** A protocol error on the connection (oversize, bad UTF-8, bad frame). */
  onError?: WebSocketListener<ProtocolErrorEvent>;
  /** A callback threw, rejected, timed out or returned an invalid result. */
  onServerError?: WebSocketListener<ServerErrorEvent>;
  /** A join (client `join_room` or `app.joinRoom`); `data.presence` is the member's info. Cancel refuses it (`room_join_error`); `modifiedEvent.data.presence` replaces the info. */
  onJoinRoom?: WebSocketCallback<JoinRoomEvent, JoinRoomResult>;
  /** A client's `leave_room`: cancel refuses it (`room_leave_error`). */
  onLeaveRoom?: WebSocketCallback<LeaveRoomEvent, CancelResult>;
  /** Before a room fan-out (`room_id`, `message`): cancel blocks it (`message_blocked`); `modifiedEvent.message` is delivered instead. */
  onRoomMessage?: WebSocketCallback<RoomMessageEvent, DeliveryResult>;
  /** Before a direct delivery (`target_client_id`, plus `target_connection_id` when addressed by connection id; `message`): cancel blocks it; `modifiedEvent.message` is delivered instead. */
  onDirectMessage?: WebSocketCallback<DirectMessageEvent, DeliveryResult>;
  /** A `join_room` for an unknown id creates that room (ephemeral: deleted when empty). Default false. */
  autoCreateRooms?: boolean;
  /** The history of the rooms `autoCreateRooms` creates (see {@link CreateRoomOptions.history}); not with the cluster option. */
  history?: HistoryOptions;
  /**
   * Frames per second per connection (token bucket, burst = the rate); 0 = no limit (default).
   * Frames over it get `error` `rate_limited`; more refusals within 5 s than the rate closes with 1008.
   */
  maxMessagesPerSecond?: number;
  /** Send `message_ack` for frames without a built-in meaning. Default true. */
  acks?: boolean;
  /**
   * Subprotocols this route speaks, e.g. `['chat.v2', 'chat.v1']`: the upgrade is accepted
   * with the first one in the client's offer that is listed here (`onConnect` may choose
   * another with `modifiedEvent.protocol`); with none in common, without a subprotocol.
   */
  protocols?: string[];
  /** Refuse (400) an upgrade with no subprotocol in common. Default false. */
  requireProtocol?: boolean;
  /**
   * The defence against cross-site WebSocket hijacking: the origins (`https://app.example`)
   * whose pages may open this route, or a function deciding. An upgrade whose `Origin` is
   * not allowed gets 403 before `onConnect` runs. An upgrade without `Origin` (not from a
   * browser) is allowed unless `requireOrigin`. Default: any origin.
   */
  allowedOrigins?: string[] | ((origin: string) => boolean);
  /** Refuse (403) an upgrade without an `Origin` header. Default false. */
  requireOrigin?: boolean;
  /**
   * permessage-deflate (RFC 7692) for clients that offer it. `'shared'`: each message is
   * compressed alone, once per I/O thread, and the same bytes go to every member of a room
   * (no memory per connection). `'dedicated'`: a sliding window per connection both ways,
   * for better ratios on similar messages, at about 300 KB per connection once it
   * compresses. Default false.
   */
  compression?: false | 'shared' | 'dedicated';
  /** Messages smaller than this many bytes go uncompressed. Default 1024. */
  compressionThreshold?: number;
  /**
   * What a text frame means: `'rnode'` (default), RNode's JSON protocol (welcome, acks,
   * rooms, presence, direct messages, the JSON heartbeat). See RawWebSocketOptions for `'raw'`.
   */
  protocol?: 'rnode';
}

/**
 * A route with `protocol: 'raw'`: nothing added to the frames (no welcome, acks or JSON
 * heartbeat); each text frame goes to `onMessage` as it is, and its result is not waited
 * for (an echo server is `app.send` in onMessage). The callbacks of RNode's frames are
 * refused.
 */
export type RawWebSocketOptions = Omit<WebSocketOptions, 'protocol' | 'onWelcome' | 'onMessageAck' | 'onPing' |
  'onPong' | 'onRoomMessage' | 'onDirectMessage'> & {
  protocol: 'raw';
  onWelcome?: never;
  onMessageAck?: never;
  onPing?: never;
  onPong?: never;
  onRoomMessage?: never;
  onDirectMessage?: never;
};

/** The connection an events route's handlers act on. */
export interface EventSocket {
  /** The connection id. */
  readonly id: string;
  /** Sends `{"type":"event","event","payload"}` to this connection. */
  reply(event: string, payload?: unknown): void;
  /**
   * Sends `{"type":"event","event","payload","topic"}` to every member of `topic` (this
   * connection too when it is one), on every server of a cluster; false when the topic is
   * unknown on this server.
   */
  emit(topic: string, event: string, payload?: unknown): boolean;
  /** Sends `{"type":"event","event","payload"}` to another connection, on whichever server of a cluster holds it. */
  sendTo(connectionId: string, event: string, payload?: unknown): void;
}

/** What a join or leave handler answers (nothing means ok). */
export type TopicAnswer = { status: 'ok' } | { status: 'error'; reason?: string } | undefined | void;

/**
 * A route with `protocol: 'events'` (Rover's model): clients join and leave topics
 * (rooms) and send named events; handlers are named by topic and event. Joins of topics
 * without a join handler and events without a read handler are answered by the core
 * (`unknown_topic`, `unknown_event`) without calling JavaScript.
 */
export interface EventsWebSocketOptions extends Pick<WebSocketOptions, 'onConnect' | 'onError' | 'onServerError' |
  'onBinaryMessage' | 'maxMessagesPerSecond' | 'protocols' | 'requireProtocol' | 'allowedOrigins' | 'requireOrigin' |
  'compression' | 'compressionThreshold'> {
  protocol: 'events';
  /** The connection is open. */
  connect?: (ws: EventSocket) => unknown;
  /** The connection closed (`code`, `reason` as onClose has them). */
  disconnect?: (ws: EventSocket, code: number, reason: string) => unknown;
  /** Join handlers by topic: the join succeeds (`join_ack`) unless one answers `{ status: 'error', reason }` (`join_error`). */
  join?: Record<string, (ws: EventSocket, payload: unknown) => TopicAnswer | Promise<TopicAnswer>>;
  /** Leave handlers by topic (a topic without one is left at once). */
  leave?: Record<string, (ws: EventSocket, payload: unknown) => TopicAnswer | Promise<TopicAnswer>>;
  /** Event handlers by event name; nothing waits for them. */
  read?: Record<string, (ws: EventSocket, payload: unknown) => unknown>;
  /** Outgoing transforms by event name: the payload sent instead, computed once per event sent. */
  map?: Record<string, (payload: unknown, ws: EventSocket) => unknown>;
}

/**
 * A template: text with `{{ expression }}` parts. Names: `connection_id`, `client_id`,
 * `message` (on_message), `path`, `code` and `reason` (on_disconnect), `params.<name>`,
 * `query.<name>`, and the connection's variables. Operators `== != < <= > >= + - * / %`,
 * `and or not` (`&& || !`); filters `contains startsWith endsWith split first last length
 * upper lower trim join json default`, as `value | name` or `value | name(args)`.
 */
export type HookTemplate = string;

/** One operation of a hook. */
export type HookOp =
  | { WsOp: { command: 'send'; message: HookTemplate } }
  | { WsOp: { command: 'broadcast'; message: HookTemplate; channel?: HookTemplate } }
  | { WsOp: { command: 'join' | 'leave'; channel: HookTemplate } }
  | { SetVar: { name: string; value: HookTemplate | number | boolean } }
  | { If: { condition: string; then: HookOp[]; else?: HookOp[] } }
  | { Log: { message: HookTemplate; level?: 'debug' | 'info' | 'warn' | 'error' } }
  | { Return: { value?: HookTemplate } | null };

/** A hooks route's program (Worpen's `ws_hooks`). */
export interface WsHooks {
  /** Runs when the connection opens. */
  on_connect?: HookOp[];
  /** Runs for each text message (`message`). */
  on_message?: HookOp[];
  /** Runs once the connection has closed (`code`, `reason`); it has left its channels. */
  on_disconnect?: HookOp[];
}

/** What one run of a hook may use; 0 turns a limit off. */
export interface HookLimits {
  /** Bytes per rendered template or built string. Default 1 MiB. */
  maxOutput?: number;
  /** Distinct SetVar names in the route's hooks. Default 64. */
  maxVariables?: number;
  /** Bytes of variable values per connection. Default 16 KiB. */
  maxVariableBytes?: number;
  /** Operations and expression steps per run. Default 10,000. */
  maxSteps?: number;
}

/**
 * A route with `protocol: 'hooks'`: a declarative program compiled when the route is
 * registered and run by the core, with no JavaScript. Channels are rooms (auto-created,
 * gone when empty); frames are text as the program renders it. Compile errors throw
 * HooksError naming the key.
 */
export interface HooksWebSocketOptions extends Pick<WebSocketOptions, 'maxMessagesPerSecond' | 'protocols' |
  'requireProtocol' | 'requireOrigin' | 'compression' | 'compressionThreshold'> {
  protocol: 'hooks';
  hooks: WsHooks;
  limits?: HookLimits;
  /** Origins allowed to open the route (a list: no JavaScript runs for a hooks route). */
  allowedOrigins?: string[];
  onConnect?: never;
  onMessage?: never;
  onClose?: never;
}

/** One route of a routes file (`app.loadRoutes`), in the seed's shape. */
export interface HooksRoute {
  name?: string;
  description?: string;
  path: string;
  route_type?: 'WebSocket';
  ws_hooks: WsHooks;
  limits?: HookLimits;
}

/** Options applied to every route of `app.loadRoutes`' file (a route's own `limits` win). */
export type LoadRoutesOptions = Omit<HooksWebSocketOptions, 'protocol' | 'hooks'>;

/** An error in a hooks program: the key path, and for a routes file its place. */
export declare class HooksError extends RoomwireError {
  readonly keyPath: Array<string | number>;
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
}

/** Options of `app.createRoom`. */
export interface CreateRoomOptions {
  /** Free JSON metadata reported by getRoomInfo. */
  metadata?: Record<string, unknown>;
  /** Delete the room when its last member leaves. Default false. */
  ephemeral?: boolean;
  /** The room's id instead of `room_<32 hex>`: servers of a cluster that each create `'lobby'` at start share one room. */
  id?: string;
  /**
   * Keep the room's recent messages so a client that reconnects gets what it missed: each
   * `room_message` then carries the room's `offset` and `epoch`, and a `join_room` with
   * `since` replays what followed. Kept in this process's memory, or with the cluster
   * option in Redis (recovery then works through any server).
   */
  history?: HistoryOptions;
}

/** How much of a room's past its history keeps. */
export interface HistoryOptions {
  /** Messages kept, the newest (1 to 100,000). Memory: up to `size` × the message's frame. */
  size: number;
  /** Messages older than this are forgotten; 0 or absent: kept until pushed out by `size`. */
  ttlMs?: number;
}

/** A room as reported by getRoomInfo, getAllRooms and the REST API. */
export interface RoomInfo {
  /** Rooms that keep a history: its bounds, last offset and epoch. */
  history?: { size: number; ttlMs: number; offset: number; epoch: string };
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
  /** RNode's name for `connectionId`. */
  id: string;
  clientId: string;
  path: string;
  handlerId: string;
  connectedAt: string;
  /** RNode's name for `connectedAt`. */
  createdAt: string;
  /** When the client was last heard from (any frame, pongs included), RFC 3339. */
  lastPing: string;
  /** RNode's single room: the first of `rooms`, or null. */
  roomId: string | null;
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
/** `app.use` middleware: call `next()` to go on, `next(err)` to answer through the error path. */
export type Middleware = (req: Request, res: Response, next: (err?: unknown) => void) => void | Promise<void>;

/** Options of `app.static(prefix, dir, options)`. */
export interface StaticOptions {
  /** The file a directory serves; false: none. Default `'index.html'`. */
  index?: string | false;
  /** `Cache-Control: public, max-age=` this many seconds. Default 0 (revalidate with ETag / Last-Modified). */
  maxAge?: number;
  /** Send an ETag and answer `If-None-Match` with 304. Default true. */
  etag?: boolean;
  /** Send Last-Modified and answer `If-Modified-Since` with 304. Default true. */
  lastModified?: boolean;
  /** Names starting with `.`: `'ignore'` (as if absent) or `'allow'`. Default `'ignore'`. */
  dotfiles?: 'ignore' | 'allow';
}

/** The events an App emits, with their listeners. */
export interface AppEvents {
  /** Listening on `port`. */
  listening: (port: number) => void;
  /** Stopped: every connection closed, the threads joined. */
  close: () => void;
}

export declare class App extends EventEmitter {
  on<E extends keyof AppEvents>(event: E, listener: AppEvents[E]): this;
  once<E extends keyof AppEvents>(event: E, listener: AppEvents[E]): this;
  off<E extends keyof AppEvents>(event: E, listener: AppEvents[E]): this;
  addListener<E extends keyof AppEvents>(event: E, listener: AppEvents[E]): this;
  removeListener<E extends keyof AppEvents>(event: E, listener: AppEvents[E]): this;
  /** The bound port while listening, else undefined. */
  readonly port: number | undefined;
  /** Whether the server is listening. */
  readonly listening: boolean;
  get(path: string, handler: RouteHandler): this;
  post(path: string, handler: RouteHandler): this;
  put(path: string, handler: RouteHandler): this;
  patch(path: string, handler: RouteHandler): this;
  delete(path: string, handler: RouteHandler): this;
  /**
   * Serves the files under `dir` at `prefix` natively: content types, ETag / Last-Modified
   * with 304, single byte ranges, a directory's index; nothing outside `dir`. A path naming
   * no file goes on to the JavaScript routes. Throws RoomwireError `RW_ERR_STATIC_DIR` when
   * `dir` is not a readable directory.
   */
  static(prefix: string, dir: string, options?: StaticOptions): this;
  /**
   * Middleware for the JavaScript HTTP routes (of paths under `prefix`, default all), run
   * in the order registered before the route's handler; async-aware. Static files and
   * built-in endpoints are served by the core without it.
   */
  use(middleware: Middleware): this;
  use(prefix: string, middleware: Middleware): this;
  /** Accepts WebSocket upgrades on `path` (which may contain `{param}` segments). */
  websocket(path: string, options?: WebSocketOptions | RawWebSocketOptions | EventsWebSocketOptions | HooksWebSocketOptions): this;
  /**
   * Adds the hooks routes of a YAML or JSON file: one route, a list of routes, or
   * `{ routes: [...] }`, each shaped as {@link HooksRoute}. Every route is compiled first;
   * an error throws HooksError (`RW_ERR_HOOKS`) naming the file, line and key, and then no
   * route of the file is added. Returns how many routes were added.
   */
  loadRoutes(file: string, options?: LoadRoutesOptions): number;
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
  /** One raw frame to every connection on a path (the registered pattern or the actual path), on every server of a cluster unless `{ local: true }`; returns how many on this server. */
  broadcast(path: string, data: string | Buffer | Uint8Array, options?: LocalOption): number;
  /** Whether the cluster option is set and this server is connected to Redis and in step now. */
  isClusterConnected(): boolean;
  /** Whether the app serves https and wss (created with `tls`). */
  readonly secure: boolean;
  /**
   * Replaces the certificate and key of an app created with `tls` (a renewal): connections
   * made from now on use the new ones, open connections keep theirs. Throws a
   * RoomwireError (`RW_ERR_TLS`), keeping the old ones, when the new ones are not valid.
   */
  setTls(options: TlsOptions): void;
  /** Creates a room; returns its id: `options.id`, or `room_<32 hex>`. A taken id throws RoomwireError `RW_ERR_ROOM_EXISTS`. */
  createRoom(name: string, description?: string, maxConnections?: number, options?: CreateRoomOptions): string;
  /** Deletes a room (members get `room_left`); false when unknown. */
  deleteRoom(roomId: string): boolean;
  /** The `room_message` envelope to every member; false for an unknown room. */
  sendRoomMessage(roomId: string, message: string): SendStatus | false;
  getRoomInfo(roomId: string): RoomInfo | null;
  getAllRooms(): RoomInfo[];
  /**
   * As RNode's: false at once when the join cannot happen (unknown connection or room, full,
   * already a member, a limit), else true and the join goes ahead in order with the
   * connection's frames, through `onJoinRoom` (which may still refuse it).
   */
  joinRoom(connectionId: string, roomId: string): boolean;
  /** The join with its final outcome: resolves true once joined, false when refused (by `onJoinRoom` too) or unknown. */
  joinRoomAsync(connectionId: string, roomId: string): Promise<boolean>;
  /** Removes a connection from a room (it gets `room_left`); false if it was not in it. */
  leaveRoom(connectionId: string, roomId: string): boolean;
  getClientInfo(connectionId: string): ClientInfo | null;
  /** The rooms of a connection, as RNode returns them: room objects (empty when unknown). */
  getUserRooms(connectionId: string): RoomInfo[];
  /** Room ids of a connection (empty when unknown). */
  getUserRoomIds(connectionId: string): string[];
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
  /** Open WebSocket connections of the whole cluster (others' counts at most ~100 ms old), or of this server with `{ local: true }`. */
  getWebSocketConnections(options?: LocalOption): number;
  /** Changes the log level at run time. */
  setLogLevel(level: LogLevel): void;
}

/** Creates an app. */
export declare function createApp(options?: AppOptions): App;

/** Thrown for failures that are not argument errors; `code` is stable. */
export declare class RoomwireError extends Error {
  /** A stable identifier such as `RW_ERR_LISTEN` (see `codes`). */
  readonly code: string;
  /** For a failed `listen`: the system error's name, such as `EADDRINUSE`. */
  readonly syscallCode?: string;
  constructor(code: string, message: string, options?: { cause?: unknown });
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
  readonly STATIC_DIR: 'RW_ERR_STATIC_DIR';
  readonly ROOM_EXISTS: 'RW_ERR_ROOM_EXISTS';
  readonly TLS: 'RW_ERR_TLS';
  readonly HOOKS: 'RW_ERR_HOOKS';
};
