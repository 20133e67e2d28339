/**
 * Argument checks shared by the facade. Each throws a TypeError or RangeError with a
 * stable `.code` from errors.ts.
 */
import { invalidArg, outOfRange } from './errors';

/** True for a plain object (not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks a non-empty string. */
export function string(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw invalidArg(name, 'a non-empty string', value);
  return value;
}

/** Checks an integer in [min, max]. */
export function integer(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidArg(name, 'a number', value);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw outOfRange(name, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

/** Checks an optional integer, returning the fallback when absent. */
export function optionalInteger(name: string, value: unknown, min: number, max: number, fallback: number): number {
  return value === undefined ? fallback : integer(name, value, min, max);
}

/** Checks a route path such as `/chat/{room}`. */
export function routePath(name: string, value: unknown): string {
  const path = string(name, value);
  if (!path.startsWith('/')) throw invalidArg(name, "a path starting with '/'", value);
  for (const segment of path.split('/')) {
    if (segment.startsWith('{') && !/^\{[^{}/]+\}$/.test(segment)) {
      throw invalidArg(name, 'a path whose parameters look like {name} or :name', value);
    }
    if (segment.startsWith(':') && !expressParam.test(segment)) {
      throw invalidArg(name, 'a path whose parameters look like {name} or :name', value);
    }
  }
  return canonicalPath(path);
}

/** An Express-style parameter segment: `:name`. */
const expressParam = /^:[A-Za-z_$][\w$]*$/;

/** A route path with Express-style `:name` segments written as `{name}`, the core's form. */
export function canonicalPath(path: string): string {
  if (!path.includes(':')) return path;  // the common case, on every broadcast
  return path.split('/').map((segment) => (expressParam.test(segment) ? `{${segment.slice(1)}}` : segment)).join('/');
}

/** Checks a function. */
export function fn(name: string, value: unknown): (...args: never[]) => unknown {
  if (typeof value !== 'function') throw invalidArg(name, 'a function', value);
  return value as (...args: never[]) => unknown;
}

/** Checks a frame payload: a string or a Buffer/Uint8Array. */
export function payload(name: string, value: unknown): string | Buffer {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw invalidArg(name, 'a string or a Buffer', value);
}

/** The name in `names` nearest to `key` (edit distance at most a third of its length), if any. */
function closest(key: string, names: readonly string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const row = [i];
      for (let j = 1; j <= b.length; j++) {
        row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      }
      prev = row;
    }
    return prev[b.length];
  };
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(key.length / 3)) + 1;
  for (const name of names) {
    const d = distance(key, name);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

/** Checks that `value` has no key outside `known`; the error names the closest known one. */
export function knownKeys(name: string, value: object, known: readonly string[], expected: string): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const near = closest(key, known);
    throw invalidArg(`${name}.${key}`, near ? `${expected} (did you mean '${near}'?)` : expected, key);
  }
}

/** Most subprotocols a route lists: far more than any protocol's versions. */
const maxSubprotocols = 64;

/** Checks a route's subprotocol list: distinct RFC 6455 tokens (no separators or spaces). */
export function subprotocols(name: string, value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > maxSubprotocols) {
    throw invalidArg(name, `an array of 1 to ${maxSubprotocols} subprotocol names`, value);
  }
  for (const p of value) {
    if (typeof p !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(p)) {
      throw invalidArg(name, 'subprotocol names made of token characters (no spaces, commas or quotes)', p);
    }
  }
  if (new Set(value).size !== value.length) throw invalidArg(name, 'distinct subprotocol names', value);
  return value as string[];
}

/** Checks a list of origins (`scheme://host[:port]`); returns them in the lower case browsers send. */
export function origins(name: string, value: unknown): string[] {
  if (!Array.isArray(value)) throw invalidArg(name, 'an array of origins, or a function (origin) => boolean', value);
  return value.map((o) => {
    let url: URL | undefined;
    try {
      url = typeof o === 'string' ? new URL(o) : undefined;
    } catch {
      url = undefined;
    }
    if (!url || url.origin === 'null' || url.origin !== o.replace(/\/$/, '').toLowerCase()) {
      throw invalidArg(name, "origins such as 'https://app.example' or 'http://localhost:3000' (scheme, host, port; no path)", o);
    }
    return url.origin;
  });
}

/** Most messages one room's history keeps: 100,000 frames of a chat room fit in tens of MB. */
export const maxHistorySize = 100_000;

/** Checks a room history option `{ size, ttlMs? }`; returns [size, ttlMs] (ttlMs 0: no expiry). */
export function history(name: string, value: unknown): [number, number] {
  if (!isObject(value)) throw invalidArg(name, 'an object { size, ttlMs? }', value);
  for (const key of Object.keys(value)) {
    if (key !== 'size' && key !== 'ttlMs') throw invalidArg(`${name}.${key}`, 'a history option (size, ttlMs)', key);
  }
  const size = integer(`${name}.size`, value.size, 1, maxHistorySize);
  const ttl = optionalInteger(`${name}.ttlMs`, value.ttlMs, 0, 2 ** 31 - 1, 0);
  return [size, ttl];
}

/** PEM material as the binding takes it: strings, `ca` joined, absent ones empty. */
export interface NativeTls {
  key: string;
  cert: string;
  ca: string;
  passphrase: string;
}

/** One PEM value: a string or a Buffer holding one or more PEM blocks. */
function pem(name: string, value: unknown): string {
  const text = Buffer.isBuffer(value) ? value.toString('utf8') : typeof value === 'string' ? value : undefined;
  if (text === undefined) throw invalidArg(name, 'a PEM string or Buffer', value);
  if (!text.includes('-----BEGIN ')) throw invalidArg(name, 'PEM text (-----BEGIN …)', `${text.slice(0, 20)}…`);
  return text;
}

/** Checks a TLS option `{ key, cert, ca?, passphrase? }` (PEM strings or Buffers; `ca` may be a list). */
export function tls(name: string, value: unknown): NativeTls {
  if (!isObject(value)) throw invalidArg(name, 'an object { key, cert, ca?, passphrase? }', value);
  knownKeys(name, value, ['key', 'cert', 'ca', 'passphrase'], 'a TLS option (key, cert, ca, passphrase)');
  const ca = value.ca === undefined ? [] : Array.isArray(value.ca) ? value.ca : [value.ca];
  return {
    key: pem(`${name}.key`, value.key),
    cert: pem(`${name}.cert`, value.cert),
    ca: ca.map((c, i) => pem(`${name}.ca${Array.isArray(value.ca) ? `[${i}]` : ''}`, c)).join('\n'),
    passphrase: value.passphrase === undefined ? '' : string(`${name}.passphrase`, value.passphrase),
  };
}
