/**
 * Turns native WebSocket events into WebSocketEventData, runs the registered callback,
 * and hands the verdict back to the core.
 */
import { EventStrings, Kind, NativeApp, NativeEvent } from './native';
import { pairs } from './http';
import { isObject } from './validate';
import type { WebSocketEventBase, WebSocketEventResult, WebSocketOptions } from '../types/index';

/**
 * An event as built here: the common fields and whichever its kind has. Callbacks see it
 * as the member of the EventData union its `type` names.
 */
type EventData = WebSocketEventBase & { type: string } & Record<string, unknown>;

/** Callback bits, in step with callback_bit in native/core/events.hpp. */
export const callbackBits: Record<string, number> = {
  onConnect: 1 << 0,
  onWelcome: 1 << 1,
  onMessage: 1 << 2,
  onMessageAck: 1 << 3,
  onPing: 1 << 4,
  onPong: 1 << 5,
  onBinaryMessage: 1 << 6,
  onClose: 1 << 7,
  onError: 1 << 8,
  onServerError: 1 << 9,
  onJoinRoom: 1 << 10,
  onLeaveRoom: 1 << 11,
  onRoomMessage: 1 << 12,
  onDirectMessage: 1 << 13,
};

const kindInfo: Record<number, { type: string; callback: keyof WebSocketOptions; verdict: boolean }> = {
  [Kind.connect]: { type: 'connect', callback: 'onConnect', verdict: true },
  [Kind.welcome]: { type: 'welcome', callback: 'onWelcome', verdict: true },
  [Kind.message]: { type: 'message', callback: 'onMessage', verdict: true },
  [Kind.messageAck]: { type: 'message_ack', callback: 'onMessageAck', verdict: true },
  [Kind.ping]: { type: 'ping', callback: 'onPing', verdict: true },
  [Kind.pong]: { type: 'pong', callback: 'onPong', verdict: true },
  [Kind.binary]: { type: 'binary_message', callback: 'onBinaryMessage', verdict: false },
  [Kind.close]: { type: 'close', callback: 'onClose', verdict: false },
  [Kind.error]: { type: 'error', callback: 'onError', verdict: false },
  [Kind.serverError]: { type: 'server_error', callback: 'onServerError', verdict: false },
  [Kind.joinRoom]: { type: 'join_room', callback: 'onJoinRoom', verdict: true },
  [Kind.leaveRoom]: { type: 'leave_room', callback: 'onLeaveRoom', verdict: true },
  [Kind.roomMessage]: { type: 'room_message', callback: 'onRoomMessage', verdict: true },
  [Kind.directMessage]: { type: 'direct_message', callback: 'onDirectMessage', verdict: true },
};

let lastMs = -1;
let lastIso = '';
/** The ISO timestamp of `ms`, computed once per millisecond however many events share it. */
function isoTime(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

/** One `app.websocket()` registration. */
export interface WsHandler {
  id: number;
  /** `id` as events carry it (handlerId), made once. */
  idText: string;
  path: string;
  options: WebSocketOptions;
}

type Logger = (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;

/** Runs WebSocket callbacks for one app. */
export class WsDispatcher {
  /** Ids of events going on unchanged, gathered while a batch is dispatched. */
  private plain: number[] = [];
  /** Ids of events cancelled with nothing else said (an echo's verdict), gathered likewise. */
  private cancelled: number[] = [];
  /** The other verdicts gathered meanwhile: [id, cancel, error, status, modified, clientId, protocol]... */
  private gathered: unknown[] = [];
  private gathering = false;

  constructor(
    private readonly nativeApp: () => NativeApp | undefined,
    private readonly handlers: WsHandler[],
    private readonly timeoutMs: () => number,
    private readonly log: Logger,
  ) {}

  /** Gathers the verdicts of synchronous callbacks until `endBatch`. */
  beginBatch(): void {
    this.gathering = true;
  }

  /** Hands every gathered verdict to the core in one call. */
  endBatch(): void {
    this.gathering = false;
    if (this.gathered.length === 0 && this.plain.length === 0 && this.cancelled.length === 0) return;
    const plain = Float64Array.from(this.plain);
    const cancelled = Float64Array.from(this.cancelled);
    const verdicts = this.gathered;
    this.plain = [];
    this.cancelled = [];
    this.gathered = [];
    this.nativeApp()?.completeMany(plain, verdicts, cancelled);
  }

  /**
   * Handles event `i` of a batch: builds the callback's event object once, straight from
   * the columns (`extra` holds its rare fields), runs the callback and completes it.
   */
  handle(nums: Float64Array, strs: EventStrings, extra: Partial<NativeEvent> | undefined, i: number): void {
    const kind = nums[4 * i];
    const id = nums[4 * i + 1];
    const handler = this.handlers[nums[4 * i + 2]];
    const info = kindInfo[kind];
    if (!handler || !info) return;
    const connectionId = (strs[4 * i] as string | undefined) ?? '';
    const clientId = (strs[4 * i + 1] as string | undefined) ?? '';
    const raw = strs[4 * i + 3];
    const data: EventData = {
      type: info.type,
      connectionId,
      connection_id: connectionId,
      client_id: clientId,
      path: (strs[4 * i + 2] as string | undefined) ?? '',
      handlerId: handler.idText,
      timestamp: isoTime(nums[4 * i + 3]),
    };
    switch (kind) {
      case Kind.connect: {
        data.params = pairs(extra?.params);
        data.query = pairs(extra?.query);
        const headers = pairs(extra?.headers);
        data.headers = headers;
        const offer = headers['sec-websocket-protocol'];
        data.protocols = offer === undefined ? [] : offer.split(',').map((p: string) => p.trim()).filter((p: string) => p !== '');
        break;
      }
      case Kind.welcome:
      case Kind.messageAck:
        // Parsed here, not on first read: an accessor that parses lazily costs V8 about 7
        // times a small ack's JSON.parse (bench/RESULTS.md).
        data.data = JSON.parse(raw as string) as Record<string, unknown>;
        break;
      case Kind.close:
        data.code = extra?.code;
        data.reason = extra?.reason ?? '';
        break;
      case Kind.error:
      case Kind.serverError:
        data.error = extra?.reason ?? '';
        data.error_type = extra?.errorType ?? '';
        break;
      case Kind.joinRoom:
        data.room_id = extra?.roomId;
        data.data = { presence: raw === undefined ? null : JSON.parse(raw as string) };
        break;
      case Kind.leaveRoom:
        data.room_id = extra?.roomId;
        // An events route's leave carries the client's payload.
        if (raw !== undefined) data.data = { payload: JSON.parse(raw as string) };
        break;
      case Kind.roomMessage:
        data.room_id = extra?.roomId;
        data.message = extra?.message;
        data.from_client_id = clientId;
        data.data = raw;
        break;
      case Kind.directMessage:
        data.target_client_id = extra?.target;
        if (extra?.targetConnection !== undefined) data.target_connection_id = extra.targetConnection;
        data.message = extra?.message;
        data.from_client_id = clientId;
        data.data = raw;
        break;
      default:
        data.data = raw;
    }
    const callback = handler.options[info.callback] as ((e: EventData) => unknown) | undefined;
    // A room message that onMessage and onRoomMessage both see comes once: both run here.
    if (kind === Kind.message && extra?.roomId !== undefined && id !== 0) {
      return this.runRoomChain(id, handler, data, callback, extra.roomId, extra.message, raw);
    }
    // A verdict is awaited only for events the core asked one for (id 0: none, as on raw routes).
    if (info.verdict && id !== 0) this.runWithVerdict(id, kind, handler, data, callback);
    else this.runFireAndForget(handler, data, callback);
  }

  /**
   * onMessage, then onRoomMessage, for one event: a cancel by onMessage answers for both; a
   * frame onMessage replaced goes back to the core (status 1) to be handled anew; otherwise
   * onRoomMessage's verdict is the event's. The room event is built from the frame's own
   * fields, whatever onMessage did to its event.
   */
  private runRoomChain(id: number, handler: WsHandler, data: EventData,
    onMessage: ((e: EventData) => unknown) | undefined, roomId: string, message: string | undefined,
    raw: string | Buffer | undefined): void {
    const room: EventData = {
      type: 'room_message',
      connectionId: data.connectionId,
      connection_id: data.connection_id,
      client_id: data.client_id,
      path: data.path,
      handlerId: data.handlerId,
      timestamp: data.timestamp,
      room_id: roomId,
      message,
      from_client_id: data.client_id,
      data: raw,
    };
    this.runWithVerdict(id, Kind.message, handler, data, onMessage, (result) => {
      let verdict: ResolvedVerdict;
      try {
        verdict = decodeResult(Kind.message, result);
      } catch (err) {
        return this.fail(id, Kind.message, handler, data, 'handler error', err, 'invalid_result');
      }
      if (verdict.cancel) return this.complete(id, verdict);
      if (verdict.modified !== undefined) return this.complete(id, { ...verdict, status: 1 });
      this.runWithVerdict(id, Kind.roomMessage, handler, room, handler.options.onRoomMessage as ((e: EventData) => unknown) | undefined);
    });
  }

  /** Runs `callback`; its result goes to `then`, by default settling the event with it. */
  private runWithVerdict(id: number, kind: number, handler: WsHandler, data: EventData,
    callback: ((e: EventData) => unknown) | undefined,
    then: (result: unknown) => void = (result) => this.settle(id, kind, handler, data, result)): void {
    if (!callback) return then(undefined);
    let result: unknown;
    try {
      result = callback(data);
    } catch (err) {
      return this.fail(id, kind, handler, data, 'handler error', err);
    }
    if (!isThenable(result)) return then(result);
    let done = false;
    const ms = this.timeoutMs();
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      this.fail(id, kind, handler, data, 'handler timeout', new Error(`${data.type} callback did not settle within ${ms} ms`));
    }, ms);
    // The listening server keeps the process alive; a pending callback alone must not.
    timer.unref();
    result.then(
      (value) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        then(value);
      },
      (err) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.fail(id, kind, handler, data, 'handler error', err);
      },
    );
  }

  private runFireAndForget(handler: WsHandler, data: EventData,
    callback: ((e: EventData) => unknown) | undefined): void {
    if (!callback) return;
    try {
      const result = callback(data);
      if (isThenable(result)) result.then(undefined, (err) => this.reportServerError(handler, data, 'handler_error', err));
    } catch (err) {
      if (data.type !== 'server_error') this.reportServerError(handler, data, 'handler_error', err);
      else this.log('error', `onServerError threw: ${errorMessage(err)}`);
    }
  }

  /** Applies a callback's result: validates it, then completes the event. */
  private settle(id: number, kind: number, handler: WsHandler, data: EventData, result: unknown): void {
    let verdict: ResolvedVerdict;
    try {
      verdict = decodeResult(kind, result);
    } catch (err) {
      return this.fail(id, kind, handler, data, 'handler error', err, 'invalid_result');
    }
    this.complete(id, verdict);
  }

  private complete(id: number, v: ResolvedVerdict | undefined): void {
    if (this.gathering) {
      const bare = !v || (v.error === undefined && v.status === 0 && v.modified === undefined &&
        v.clientId === undefined && v.protocol === undefined);
      if (bare && !v?.cancel) this.plain.push(id);
      else if (bare) this.cancelled.push(id);
      else this.gathered.push(id, v.cancel, v.error, v.status, v.modified, v.clientId, v.protocol);
      return;
    }
    const app = this.nativeApp();
    if (!app) return;
    if (!v) app.complete(id, false, undefined, 0, undefined, undefined, undefined);
    else app.complete(id, v.cancel, v.error, v.status, v.modified, v.clientId, v.protocol);
  }

  /** A callback threw, rejected, timed out or answered nonsense: cancel and report. */
  private fail(id: number, kind: number, handler: WsHandler, data: EventData, reason: string, err: unknown,
    errorType = reason === 'handler timeout' ? 'handler_timeout' : 'handler_error'): void {
    this.complete(id, { cancel: true, error: reason, status: kind === Kind.connect ? 500 : 0 });
    this.reportServerError(handler, data, errorType, err);
  }

  private reportServerError(handler: WsHandler, source: EventData, errorType: string, err: unknown): void {
    const message = `${source.type} callback failed: ${errorMessage(err)}`;
    const callback = handler.options.onServerError;
    if (!callback) {
      this.log('error', `${message} (path ${handler.path}, connection ${source.connectionId})`);
      return;
    }
    const data: EventData = {
      ...source,
      type: 'server_error',
      error: message,
      error_type: errorType,
      data: { event: source.type, cause: err },
    };
    process.nextTick(() => this.runFireAndForget(handler, data, callback as (e: EventData) => unknown));
  }
}

interface ResolvedVerdict {
  cancel: boolean;
  error?: string;
  status: number;
  modified?: string;
  clientId?: string;
  /** onConnect: the subprotocol chosen ('' for none). */
  protocol?: string;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Checks a WebSocketEventResult and encodes what the core needs for this event kind. */
export function decodeResult(kind: number, result: unknown): ResolvedVerdict {
  if (result === undefined || result === null) return { cancel: false, status: 0 };
  if (!isObject(result)) throw new TypeError(`callback result must be an object or undefined, got ${typeof result}`);
  const r = result as WebSocketEventResult;
  if (r.shouldCancel !== undefined && typeof r.shouldCancel !== 'boolean') {
    throw new TypeError('result.shouldCancel must be a boolean');
  }
  if (r.error !== undefined && typeof r.error !== 'string') throw new TypeError('result.error must be a string');
  if (r.status !== undefined && (!Number.isInteger(r.status) || r.status < 400 || r.status > 599)) {
    throw new RangeError('result.status must be an integer from 400 to 599');
  }
  if (r.modifiedEvent !== undefined && !isObject(r.modifiedEvent)) throw new TypeError('result.modifiedEvent must be an object');
  const verdict: ResolvedVerdict = { cancel: r.shouldCancel === true, error: r.error, status: r.status ?? 0 };
  const mod = r.modifiedEvent as Record<string, unknown> | undefined;
  if (verdict.cancel || !mod) return verdict;
  switch (kind) {
    case Kind.connect:
      if (mod.client_id !== undefined) {
        if (typeof mod.client_id !== 'string' || mod.client_id.length === 0) {
          throw new TypeError('modifiedEvent.client_id must be a non-empty string');
        }
        verdict.clientId = mod.client_id;
      }
      if (mod.metadata !== undefined) verdict.modified = JSON.stringify(mod.metadata);
      if (mod.protocol !== undefined) {
        if (mod.protocol !== null && typeof mod.protocol !== 'string') {
          throw new TypeError('modifiedEvent.protocol must be a string (one the client offered) or null');
        }
        verdict.protocol = mod.protocol ?? '';
      }
      break;
    case Kind.welcome:
    case Kind.messageAck:
      verdict.modified = JSON.stringify(mod);
      break;
    case Kind.message: {
      const d = mod.data;
      if (typeof d === 'string') verdict.modified = d;
      else if (isObject(d)) verdict.modified = JSON.stringify(d);
      else if (d !== undefined) throw new TypeError('modifiedEvent.data must be a string or an object');
      break;
    }
    case Kind.joinRoom: {
      const d = mod.data;
      if (d === undefined) break;
      if (!isObject(d)) throw new TypeError('modifiedEvent.data must be an object');
      const presence = (d as Record<string, unknown>).presence;
      if (presence !== undefined && presence !== null && !isObject(presence)) {
        throw new TypeError('modifiedEvent.data.presence must be an object or null');
      }
      if (presence !== undefined) verdict.modified = JSON.stringify(presence);
      break;
    }
    case Kind.roomMessage:
    case Kind.directMessage:
      if (mod.message !== undefined) {
        if (typeof mod.message !== 'string') throw new TypeError('modifiedEvent.message must be a string');
        verdict.modified = mod.message;
      }
      break;
    default:
      break;
  }
  return verdict;
}
