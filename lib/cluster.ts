/**
 * The `cluster` option: several roomwire processes acting as one server through Redis.
 * This module checks the option and turns it into the plain values the core takes; the
 * core's cluster bus does the rest (docs/protocol.md, "Cluster").
 */
import * as os from 'os';
import { randomBytes } from 'crypto';
import { invalidArg, outOfRange } from './errors';
import * as is from './validate';

/** What the core takes for a cluster. */
export interface NativeCluster {
  host: string;
  port: number;
  password?: string;
  db: number;
  prefix: string;
  nodeId: string;
  nodeTimeoutMs: number;
}

/** Default: 15 s without a heartbeat and a server counts as gone — its members leave the others' rooms and presence. */
const defaultNodeTimeoutMs = 15000;

/** Default key and channel prefix: one Redis may serve several clusters under different prefixes. */
const defaultPrefix = 'roomwire';

/** Characters a Redis glob pattern gives meaning to: a prefix with one would hear other prefixes' rooms. */
const globChars = /[*?[\]\\]/;

/** Checks `options.cluster` and returns what the core takes. */
export function clusterOptions(value: unknown): NativeCluster {
  if (!is.isObject(value)) throw invalidArg('options.cluster', "an object like { redis: 'redis://127.0.0.1:6379' }", value);
  is.knownKeys('options.cluster', value, ['redis', 'prefix', 'nodeId', 'nodeTimeoutMs'], 'a cluster option');
  const url = is.string('options.cluster.redis', value.redis);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidArg('options.cluster.redis', "a URL like 'redis://127.0.0.1:6379/0'", url);
  }
  if (parsed.protocol !== 'redis:') throw invalidArg('options.cluster.redis', "a redis:// URL (TLS to Redis is not supported)", url);
  if (parsed.username !== '' && parsed.username !== 'default') {
    throw invalidArg('options.cluster.redis', 'a URL with a password only (redis://:password@host:port)', url);
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  const port = parsed.port === '' ? 6379 : Number(parsed.port);
  const dbText = parsed.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0 || db > 2 ** 31 - 1) throw outOfRange('options.cluster.redis', 'a database number 0 or more', url);
  const out: NativeCluster = { host, port, db, prefix: defaultPrefix, nodeId: '', nodeTimeoutMs: defaultNodeTimeoutMs };
  if (parsed.password !== '') out.password = decodeURIComponent(parsed.password);
  if (value.prefix !== undefined) {
    const prefix = is.string('options.cluster.prefix', value.prefix);
    if (prefix === '' || globChars.test(prefix) || /\s/.test(prefix)) {
      throw invalidArg('options.cluster.prefix', 'a non-empty name without spaces or * ? [ ] \\', prefix);
    }
    out.prefix = prefix;
  }
  if (value.nodeId !== undefined) {
    const nodeId = is.string('options.cluster.nodeId', value.nodeId);
    if (nodeId === '' || Buffer.byteLength(nodeId) > 128 || /[\n\0]/.test(nodeId)) {
      throw invalidArg('options.cluster.nodeId', 'a non-empty name of at most 128 bytes, without newline or NUL', nodeId);
    }
    out.nodeId = nodeId;
  } else {
    out.nodeId = `${os.hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  }
  out.nodeTimeoutMs = is.optionalInteger('options.cluster.nodeTimeoutMs', value.nodeTimeoutMs, 1000, 600000, defaultNodeTimeoutMs);
  return out;
}
