/**
 * Routes with `protocol: 'hooks'`: declarative programs (Worpen's `ws_hooks`) that the
 * core compiles once and runs with no JavaScript, given in code or loaded from a YAML or
 * JSON file (`app.loadRoutes`). This module checks the options, passes the program to
 * the core as JSON, and turns the core's compile errors into errors that name the key,
 * and for a file its line.
 */
import { readFileSync } from 'fs';
import { LineCounter, isMap, parseDocument } from 'yaml';
import { codes, invalidArg, RoomwireError } from './errors';
import * as is from './validate';
import type { HookLimits, HooksWebSocketOptions, LoadRoutesOptions } from '../types/index';

/** Options of a hooks route that are not its program: the route options that need no callback. */
export const sharedOptions = ['maxMessagesPerSecond', 'protocols', 'requireProtocol', 'allowedOrigins', 'requireOrigin',
  'compression', 'compressionThreshold'] as const;

/** The limits' defaults, as the core has them (hooks/hooks.hpp gives the reasons). */
const limitDefaults: Required<HookLimits> = { maxOutput: 1 << 20, maxVariables: 64, maxVariableBytes: 16 << 10, maxSteps: 10_000 };

/** What the binding takes for a hooks route. */
export interface NativeHooks {
  json: string;
  limits: [number, number, number, number];
}

/** An error in a hooks program: `keyPath` names what is wrong; from a file, `file` and `line` too. */
export class HooksError extends RoomwireError {
  readonly keyPath: Array<string | number>;
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  constructor(message: string, keyPath: Array<string | number>, at?: { file: string; line: number; column: number }) {
    super(codes.HOOKS, message);
    this.name = 'HooksError';
    this.keyPath = keyPath;
    if (at) {
      this.file = at.file;
      this.line = at.line;
      this.column = at.column;
    }
  }
}

/** Checks a hooks route's own options; the program as the core takes it. */
export function hooksRoute(options: HooksWebSocketOptions): NativeHooks {
  for (const key of Object.keys(options)) {
    if (key !== 'protocol' && key !== 'hooks' && key !== 'limits' && !(sharedOptions as readonly string[]).includes(key)) {
      throw invalidArg(`options.${key}`,
        "an option of a route with protocol 'hooks' (hooks, limits, or a route option; no callbacks run on it)", key);
    }
  }
  if (typeof options.allowedOrigins === 'function') {
    throw invalidArg('options.allowedOrigins', "a list of origins on a route with protocol 'hooks' (no JavaScript runs for it)",
      options.allowedOrigins);
  }
  if (!is.isObject(options.hooks)) throw invalidArg('options.hooks', 'an object with on_connect, on_message and on_disconnect', options.hooks);
  const limits = { ...limitDefaults };
  if (options.limits !== undefined) {
    if (!is.isObject(options.limits)) throw invalidArg('options.limits', 'an object', options.limits);
    is.knownKeys('options.limits', options.limits, Object.keys(limitDefaults), 'a hooks limit');
    for (const [key, value] of Object.entries(options.limits)) {
      if (value === undefined) continue;
      // 0 turns a limit off; the largest keep the core's sizes in range.
      limits[key as keyof HookLimits] = is.integer(`options.limits.${key}`, value, 0, 0x7fffffff);
    }
  }
  let json: string;
  try {
    json = JSON.stringify(options.hooks);
  } catch (err) {
    throw invalidArg('options.hooks', `an object that JSON can hold (${(err as Error).message})`, options.hooks);
  }
  return { json, limits: [limits.maxOutput, limits.maxVariables, limits.maxVariableBytes, limits.maxSteps] };
}

/** The core's compile error for the program at `prefix` (a key path) as a HooksError. */
export function hooksError(err: unknown, prefix: string): unknown {
  const where = (err as { hookPath?: Array<string | number> }).hookPath;
  if (!Array.isArray(where)) return err;
  return new HooksError(where.length > 0 ? `${prefix}.${(err as Error).message}` : `${prefix}: ${(err as Error).message}`, where);
}

/** One route of a routes file. */
interface FileRoute {
  path: string;
  hooks: unknown;
  limits: unknown;
  /** Where the route is in the document. */
  at: Array<string | number>;
}

/** The keys a route of a routes file may have. */
const routeKeys = ['name', 'description', 'path', 'route_type', 'ws_hooks', 'limits'];

/**
 * Reads a routes file (YAML, or JSON which YAML reads too): one route, a list of routes,
 * or `{ routes: [...] }`, each `{ name?, description?, path, route_type?: 'WebSocket',
 * ws_hooks, limits? }`. `register(path, hooks, limits)` adds each; an error names the
 * file, line and key.
 */
export function loadRoutesFile(file: string, options: LoadRoutesOptions,
  register: (path: string, hooks: unknown, limits: unknown) => void): number {
  if (!is.isObject(options)) throw invalidArg('options', 'an object', options);
  is.string('file', file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new RoomwireError(codes.HOOKS, `cannot read the routes file ${file}: ${(err as Error).message}`, { cause: err });
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const position = (offset: number) => {
    const p = lines.linePos(offset);
    return { file, line: p.line, column: p.col };
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const at = position(e.pos[0]);
    throw new HooksError(`${file}:${at.line}:${at.column}: ${e.message.split('\n')[0]}`, [], at);
  }
  /** The line of the deepest node of `keys` the document has. */
  const locate = (keys: Array<string | number>) => {
    for (let n = keys.length; n >= 0; n--) {
      const node = doc.getIn(keys.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node && node.range) return position(node.range[0]);
      // A key whose value is a plain scalar: the pair's key node has the place.
      const parent = n > 0 ? doc.getIn(keys.slice(0, n - 1), true) : undefined;
      if (isMap(parent)) {
        const pair = parent.items.find((p) => (p.key as { value?: unknown })?.value === keys[n - 1]);
        const k = pair?.key as { range?: [number, number, number] } | undefined;
        if (k?.range) return position(k.range[0]);
      }
    }
    return position(0);
  };
  const fail = (keys: Array<string | number>, message: string): never => {
    const at = locate(keys);
    const where = keys.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('').replace(/^\./, '');
    throw new HooksError(`${file}:${at.line}:${at.column}: ${where ? `${where}: ` : ''}${message}`, keys, at);
  };

  const root = doc.toJS() as unknown;
  let list: unknown[];
  let base: Array<string | number> = [];
  if (Array.isArray(root)) {
    list = root;
  } else if (is.isObject(root) && 'routes' in root) {
    if (!Array.isArray(root.routes)) fail(['routes'], 'a list of routes');
    list = root.routes as unknown[];
    base = ['routes'];
  } else if (is.isObject(root)) {
    list = [root];
    base = [];
  } else {
    return fail([], 'a routes file holds a route, a list of routes, or { routes: [...] }');
  }
  const routes: FileRoute[] = [];
  list.forEach((r, i) => {
    const at = Array.isArray(root) || base.length > 0 ? [...base, i] : [];
    if (!is.isObject(r)) fail(at, 'a route is an object with path and ws_hooks');
    const route = r as Record<string, unknown>;
    for (const key of Object.keys(route)) {
      if (!routeKeys.includes(key)) fail([...at, key], `not a route field (${routeKeys.join(', ')})`);
    }
    if (route.route_type !== undefined && String(route.route_type).toLowerCase() !== 'websocket') {
      fail([...at, 'route_type'], "only WebSocket routes are loaded (route_type: 'WebSocket')");
    }
    if (typeof route.path !== 'string') fail([...at, 'path'], 'a route needs a path, a string');
    if (route.ws_hooks === undefined) fail(at, 'a route needs ws_hooks');
    routes.push({ path: route.path as string, hooks: route.ws_hooks, limits: route.limits ?? options.limits, at });
  });
  for (const route of routes) {
    try {
      register(route.path, route.hooks, route.limits);
    } catch (err) {
      if (err instanceof HooksError) fail([...route.at, 'ws_hooks', ...err.keyPath], err.message.replace(/^options\.hooks(\.[^:]*)?: /, ''));
      const name = (err as { message?: string }).message ?? String(err);
      const field = /options\.limits/.test(name) ? 'limits' : /options\.hooks/.test(name) ? 'ws_hooks' : 'path';
      fail([...route.at, field], name);
    }
  }
  return routes.length;
}
