/**
 * Routes with `protocol: 'events'` (Rover's model): named handlers for topics and events,
 * turned into the callbacks the core calls. The core answers unknown topics and events
 * itself; what reaches JavaScript here always has its handler.
 */
import { invalidArg } from './errors';
import * as is from './validate';
import type { EventSocket, EventsWebSocketOptions, WebSocketOptions } from '../types/index';

/** What a join or leave handler may answer. */
type TopicAnswer = { status: 'ok' } | { status: 'error'; reason?: string } | undefined | void;

/** What the app gives this module to act with. */
export interface RoverHost {
  send(connectionId: string, frame: string): unknown;
  /** The frame to a connection on any server of a cluster. */
  sendAnywhere(connectionId: string, frame: string): unknown;
  /** The frame to every member of `topic`, on every server of a cluster; false for a topic unknown here. */
  roomBroadcast(topic: string, frame: string): boolean;
}

/** The native side of an events route. */
export interface RoverRoute {
  /** RNode-style callbacks the dispatcher runs (onWelcome is `connect`, onClose `disconnect`, ...). */
  callbacks: WebSocketOptions;
  joinTopics: string[];
  leaveTopics: string[];
  readEvents: string[];
}

const handlerGroups = ['join', 'leave', 'read', 'map'] as const;

/** Options of an events route that are not Rover's own: the route options every protocol takes. */
const sharedOptions = ['protocol', 'onConnect', 'onError', 'onServerError', 'onBinaryMessage', 'maxMessagesPerSecond',
  'protocols', 'requireProtocol', 'allowedOrigins', 'requireOrigin', 'compression', 'compressionThreshold'];

/** A named group of handlers: an object whose values are functions. */
function group(name: string, value: unknown): Record<string, (...args: never[]) => unknown> {
  if (value === undefined) return {};
  if (!is.isObject(value)) throw invalidArg(`options.${name}`, 'an object of handlers by name', value);
  for (const [key, fn] of Object.entries(value)) is.fn(`options.${name}.${key}`, fn);
  return value as Record<string, (...args: never[]) => unknown>;
}

/** Checks an events route's options and builds its callbacks. */
export function roverRoute(options: EventsWebSocketOptions, host: RoverHost): RoverRoute {
  for (const key of Object.keys(options)) {
    if (!sharedOptions.includes(key) && !(handlerGroups as readonly string[]).includes(key) && key !== 'connect' &&
      key !== 'disconnect') {
      throw invalidArg(`options.${key}`, "an option of a route with protocol 'events' (connect, disconnect, join, leave, read, map, or a route option)", key);
    }
  }
  if (options.connect !== undefined) is.fn('options.connect', options.connect);
  if (options.disconnect !== undefined) is.fn('options.disconnect', options.disconnect);
  const join = group('join', options.join);
  const leave = group('leave', options.leave);
  const read = group('read', options.read);
  const map = group('map', options.map);

  /** An outgoing event frame; `map` (once per event, whoever receives it) shapes the payload. */
  const frame = (ws: EventSocket, event: string, payload: unknown, topic?: string): string => {
    is.string('event', event);
    const shape = map[event] as ((p: unknown, s: EventSocket) => unknown) | undefined;
    const body: Record<string, unknown> = { type: 'event', event, payload: shape ? shape(payload, ws) : payload };
    if (topic !== undefined) body.topic = topic;
    return JSON.stringify(body);
  };
  const socket = (id: string): EventSocket => {
    const ws: EventSocket = {
      id,
      reply: (event, payload) => void host.send(id, frame(ws, event, payload)),
      emit: (topic, event, payload) => host.roomBroadcast(is.string('topic', topic), frame(ws, event, payload, topic)),
      sendTo: (connectionId, event, payload) => void host.sendAnywhere(is.string('connectionId', connectionId), frame(ws, event, payload)),
    };
    return ws;
  };
  /** A join or leave handler's answer as a verdict: an error cancels with its reason. */
  const verdict = async (answer: Promise<TopicAnswer> | TopicAnswer, what: string) => {
    const a = await answer;
    if (a === undefined || a === null) return undefined;
    if (typeof a !== 'object' || (a.status !== 'ok' && a.status !== 'error')) {
      throw new TypeError(`a ${what} handler answers { status: 'ok' } or { status: 'error', reason }`);
    }
    return a.status === 'error' ? { shouldCancel: true as const, error: String(a.reason ?? `${what} refused`) } : undefined;
  };

  const callbacks: WebSocketOptions = {};
  for (const key of ['onConnect', 'onError', 'onServerError', 'onBinaryMessage'] as const) {
    if (options[key] !== undefined) (callbacks as Record<string, unknown>)[key] = options[key];
  }
  const { connect, disconnect } = options;
  // Told, not asked (the core waits for none of these): what they return is only checked
  // for a rejection, which reaches onServerError.
  if (connect) callbacks.onWelcome = ((e: { connectionId: string }) => connect(socket(e.connectionId))) as WebSocketOptions['onWelcome'];
  if (disconnect) {
    callbacks.onClose = ((e: { connectionId: string; code: number; reason: string }) =>
      disconnect(socket(e.connectionId), e.code, e.reason)) as WebSocketOptions['onClose'];
  }
  if (Object.keys(join).length > 0) {
    callbacks.onJoinRoom = (e) => verdict(
      (join[e.room_id] as (ws: EventSocket, p: unknown) => TopicAnswer)(socket(e.connectionId), e.data.presence), 'join');
  }
  if (Object.keys(leave).length > 0) {
    callbacks.onLeaveRoom = (e) => verdict(
      (leave[e.room_id] as (ws: EventSocket, p: unknown) => TopicAnswer)(socket(e.connectionId),
        (e as { data?: { payload?: unknown } }).data?.payload ?? null), 'leave');
  }
  if (Object.keys(read).length > 0) {
    callbacks.onMessage = ((e: { connectionId: string; data: unknown }) => {
      const f = JSON.parse(e.data as string) as { event: string; payload?: unknown };
      return (read[f.event] as (ws: EventSocket, p: unknown) => unknown)(socket(e.connectionId), f.payload ?? null);
    }) as WebSocketOptions['onMessage'];
  }
  return { callbacks, joinTopics: Object.keys(join), leaveTopics: Object.keys(leave), readEvents: Object.keys(read) };
}
