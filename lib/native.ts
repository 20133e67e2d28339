/**
 * Loads the compiled addon. `ROOMWIRE_ADDON` may name another build of it (used to test
 * the node-gyp build); otherwise the cmake-js output under build/Release is used.
 */
import type { NativeTls } from './validate';
import * as fs from 'fs';
import * as path from 'path';
import { RoomwireError, codes } from './errors';

/** A raw event as the binding delivers it (see native/core/events.hpp). */
export interface NativeEvent {
  kind: number;
  id: number;
  route: number;
  time: number;
  connectionId?: string;
  clientId?: string;
  path?: string;
  data?: string | Buffer;
  code?: number;
  reason?: string;
  errorType?: string;
  method?: string;
  roomId?: string;
  target?: string;
  targetConnection?: string;
  message?: string;
  params?: string[];
  query?: string[];
  headers?: string[];
}

/** The binding's App object: plain values in and out. */
export interface NativeApp {
  addWsRoute(pattern: string, handlerId: number, callbacks: number, acks: boolean, autoCreateRooms: boolean,
    maxMessagesPerSecond: number, historySize: number, historyTtlMs: number, protocols: string[],
    requireProtocol: boolean, allowedOrigins: string[] | null, requireOrigin: boolean,
    compression: number, compressionThreshold: number, protocol: number, joinTopics: string[], leaveTopics: string[],
    readEvents: string[], hooksJson?: string, maxOutput?: number, maxVariables?: number, maxVariableBytes?: number,
    maxSteps?: number): void;
  /** The frame as it is to every member of `roomId`, on every server of a cluster; false for a room unknown here. */
  roomBroadcast(roomId: string, frame: string): boolean;
  /** A text frame to a connection here, else (in a live cluster) published to the server holding it. */
  sendAnywhere(connectionId: string, frame: string): 'ok' | 'backpressure' | 'dropped' | 'published' | null;
  addHttpRoute(method: string, pattern: string, routeId: number): void;
  addStatic(prefix: string, root: string, index: string, maxAge: number, etag: boolean, lastModified: boolean,
    dotfiles: boolean): void;
  /**
   * Starts serving; `dispatch` gets each batch of events as flat columns: per event,
   * [kind, id, route, time] in `nums`, [connectionId, clientId, path, data] in `strs`
   * (holes where absent), and its other fields as an object in `extras` (undefined when no
   * event of the batch has any). See eventAt().
   */
  listen(host: string, port: number,
    dispatch: (nums: Float64Array, strs: EventStrings, extras: EventExtras) => void): number;
  close(timeoutMs: number): boolean;
  closed(): void;
  complete(id: number, cancel: boolean, error: string | undefined, status: number,
    modified: string | undefined, clientId: string | undefined, protocol: string | undefined): void;
  /**
   * complete() for many events: `plainIds` go on unchanged (no cancel, nothing modified);
   * `cancelledIds` are cancelled with nothing else said; `verdicts` holds the others as
   * [id, cancel, error, status, modified, clientId, protocol] repeated.
   */
  completeMany(plainIds: Float64Array, verdicts: unknown[], cancelledIds?: Float64Array): void;
  reply(id: number, status: number, headers: string[], body: string | Buffer): void;
  send(connectionId: string, data: string | Buffer): number;
  broadcast(path: string, data: string | Buffer, localOnly: boolean): number;
  connectionCount(localOnly: boolean): number;
  clusterLive(): boolean;
  setClusterHost(address: string): void;
  /** Replaces the TLS material of new connections; throws (keeping the old) when it is not valid. */
  setTls(tls: NativeTls): void;
  createRoom(name: string, description: string, maxConnections: number, metadata: string, ephemeral: boolean, id: string,
    historySize: number, historyTtlMs: number): string;
  deleteRoom(id: string): boolean;
  sendRoomMessage(roomId: string, message: string): number;
  sendDirectMessage(target: string, message: string): number;
  /** What a join would meet now, before onJoinRoom (a JoinResult). */
  checkJoin(connectionId: string, roomId: string): number;
  roomInfo(id: string): string | null;
  allRooms(): string;
  joinRoom(connectionId: string, roomId: string, token: number): boolean;
  leaveRoom(connectionId: string, roomId: string): boolean;
  clientInfo(connectionId: string): string | null;
  userRooms(connectionId: string): string[] | null;
  presence(roomId: string): string | null;
  closeConnection(connectionId: string, code: number, reason: string): boolean;
  messageCount(): number;
  enableRoomApi(prefix: string): void;
  enableMetrics(): void;
  /**
   * bench/ only, not part of the API: emits `count` message events for `handlerId` from a
   * native thread, at most `window` unanswered, through the same verdict path as frames.
   */
  /** Only in a bench build (ROOMWIRE_BENCH_HOOKS): bench/dispatch.js's event source. */
  benchDispatch?(count: number, handlerId: number, window: number): boolean;
}

/** The binding module. */
export interface NativeBinding {
  App: new (options: Record<string, number | object>) => NativeApp;
  setLogLevel(level: string): void;
}

/** Event kinds, in step with event_kind in native/core/events.hpp. */
export const Kind = {
  connect: 0,
  welcome: 1,
  message: 2,
  messageAck: 3,
  ping: 4,
  pong: 5,
  binary: 6,
  close: 7,
  error: 8,
  serverError: 9,
  httpRequest: 10,
  stopped: 11,
  joinRoom: 12,
  leaveRoom: 13,
  roomMessage: 14,
  directMessage: 15,
  opResult: 16,
} as const;

/** The outcome of a join, in step with join_result in native/core/room_registry.hpp. */
export const JoinResult = {
  ok: 0,
  unknownRoom: 1,
  full: 2,
  alreadyMember: 3,
  tooManyRooms: 4,
  idTooLong: 5,
  rejected: 6,
  unknownConnection: 7,
} as const;

let binding: NativeBinding | undefined;

/** Returns the loaded binding, loading it on first use. */
export function native(): NativeBinding {
  if (binding) return binding;
  // From dist/lib/ (the package) or lib/ (tests run from source), the package root holds
  // build/ or prebuilds/: node-gyp-build's rules pick a build there, then a prebuild.
  const roots = [path.join(__dirname, '..', '..'), path.join(__dirname, '..')];
  const isOurs = (r: string): boolean => {
    try {
      return (JSON.parse(fs.readFileSync(path.join(r, 'package.json'), 'utf8')) as { name?: string }).name === 'roomwire';
    } catch {
      return false;
    }
  };
  const root = roots.find(isOurs) ?? roots[0];
  let file = process.env.ROOMWIRE_ADDON;
  if (file === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      file = (require('node-gyp-build') as { resolve(dir: string): string }).resolve(root);
    } catch {
      file = path.join(root, 'build', 'Release', 'roomwire.node');
    }
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    binding = require(file) as NativeBinding;
  } catch (cause) {
    throw new RoomwireError(codes.NATIVE_LOAD,
      `roomwire: cannot load the native addon at ${file}; build it with \`npm run build:native\``, { cause });
  }
  return binding;
}

/** The flat columns `listen`'s dispatch receives for one batch (see NativeApp.listen). */
export type EventStrings = Array<string | Buffer | undefined>;
/** The rare fields of a batch's events, by position; undefined when no event has any. */
export type EventExtras = Array<Partial<NativeEvent> | undefined> | undefined;

/**
 * Event `i` of a batch as one object. WebSocket events skip this: the dispatcher builds
 * each callback's event straight from the columns; HTTP requests and join results use it.
 */
export function eventAt(nums: Float64Array, strs: EventStrings, extras: EventExtras, i: number): NativeEvent {
  const ev: NativeEvent = {
    kind: nums[4 * i],
    id: nums[4 * i + 1],
    route: nums[4 * i + 2],
    time: nums[4 * i + 3],
    connectionId: strs[4 * i] as string | undefined,
    clientId: strs[4 * i + 1] as string | undefined,
    path: strs[4 * i + 2] as string | undefined,
    data: strs[4 * i + 3],
  };
  const extra = extras?.[i];
  if (extra !== undefined) Object.assign(ev, extra);
  return ev;
}
