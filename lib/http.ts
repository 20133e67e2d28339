/**
 * The request and response objects given to HTTP route handlers.
 */
import { HttpError, RoomwireError, codes, invalidArg } from './errors';
import { integer, isObject } from './validate';

/** Turns the binding's flat [k, v, k, v] list into an object (a repeated key keeps its last value). */
export function pairs(flat: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (flat) for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]] = flat[i + 1];
  return out;
}

/** An incoming HTTP request. */
export class Request {
  /** Upper-case method, e.g. `GET`. */
  readonly method: string;
  /** Decoded path without the query. */
  readonly path: string;
  /** Values of the route's `{param}` segments. */
  readonly params: Record<string, string>;
  /** Decoded query parameters. */
  readonly query: Record<string, string>;
  /** Headers with lower-case names. */
  readonly headers: Record<string, string>;
  /** The raw body. */
  readonly body: Buffer;

  constructor(method: string, path: string, params: Record<string, string>, query: Record<string, string>,
    headers: Record<string, string>, body: Buffer) {
    this.method = method;
    this.path = path;
    this.params = params;
    this.query = query;
    this.headers = headers;
    this.body = body;
  }

  /** Parses the body as JSON; a malformed body becomes a 400 answer if not caught. */
  getBodyAsJson<T = unknown>(): T {
    try {
      return JSON.parse(this.body.toString('utf8')) as T;
    } catch (err) {
      throw new HttpError(400, `Malformed JSON body: ${(err as Error).message}`, codes.BAD_JSON_BODY);
    }
  }
}

/** The answer to one request; `json` or `send` sends it, once. */
export class Response {
  private statusCode = 200;
  private readonly headerList: string[] = [];
  private done = false;

  constructor(private readonly deliver: (status: number, headers: string[], body: string | Buffer) => void) {}

  /** Whether the response has been sent. */
  get sent(): boolean {
    return this.done;
  }

  /** Sets the status code (100–999). */
  status(code: number): this {
    this.statusCode = integer('status', code, 100, 999);
    return this;
  }

  /** Sets a response header. */
  setHeader(name: string, value: string | number): this {
    if (typeof name !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw invalidArg('header name', 'a token', name);
    const text = String(value);
    if (/[\r\n\0]/.test(text)) throw invalidArg('header value', 'a value without CR, LF or NUL', value);
    this.headerList.push(name, text);
    return this;
  }

  /** Sends `value` as JSON (`application/json`). */
  json(value: unknown): void {
    let body: string;
    try {
      body = JSON.stringify(value) ?? 'null';
    } catch (err) {
      throw invalidArg('json body', 'a JSON-serialisable value', isObject(value) ? 'an object that cannot be serialised: ' + (err as Error).message : value);
    }
    this.finish(body, 'application/json');
  }

  /** Sends text (`text/plain; charset=utf-8` by default) or a Buffer (`application/octet-stream`). */
  send(body: string | Buffer): void {
    if (typeof body === 'string') this.finish(body, 'text/plain; charset=utf-8');
    else if (Buffer.isBuffer(body)) this.finish(body, 'application/octet-stream');
    else throw invalidArg('body', 'a string or a Buffer', body);
  }

  private finish(body: string | Buffer, contentType: string): void {
    if (this.done) throw new RoomwireError(codes.RESPONSE_SENT, 'response already sent');
    this.done = true;
    const headers = this.headerList;
    let hasType = false;
    for (let i = 0; i < headers.length; i += 2) if (headers[i].toLowerCase() === 'content-type') hasType = true;
    if (!hasType) headers.push('Content-Type', contentType);
    this.deliver(this.statusCode, headers, body);
  }
}
