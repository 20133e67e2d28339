/**
 * Errors thrown by roomwire. Every error carries a stable `code` string.
 */

/** Stable error codes. */
export const codes = {
  INVALID_ARG: 'RW_ERR_INVALID_ARG',
  OUT_OF_RANGE: 'RW_ERR_OUT_OF_RANGE',
  LISTEN: 'RW_ERR_LISTEN',
  ALREADY_LISTENING: 'RW_ERR_ALREADY_LISTENING',
  RESPONSE_SENT: 'RW_ERR_RESPONSE_SENT',
  BAD_JSON_BODY: 'RW_ERR_BAD_JSON_BODY',
  NATIVE_LOAD: 'RW_ERR_NATIVE_LOAD',
  ROUTE_CONFLICT: 'RW_ERR_ROUTE_CONFLICT',
  STATIC_DIR: 'RW_ERR_STATIC_DIR',
  ROOM_EXISTS: 'RW_ERR_ROOM_EXISTS',
  TLS: 'RW_ERR_TLS',
  HOOKS: 'RW_ERR_HOOKS',
} as const;

/** A roomwire error that is neither a TypeError nor a RangeError. */
export class RoomwireError extends Error {
  /** A stable identifier such as `RW_ERR_LISTEN`. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RoomwireError';
    this.code = code;
  }
}

/** An HTTP error a route handler may throw: the dispatcher answers with its status. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  /** `status` is an error status, an integer from 400 to 599 (RangeError otherwise). */
  constructor(status: number, message: string, code = 'RW_ERR_HTTP') {
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw outOfRange('status', 'an integer from 400 to 599', status);
    }
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return typeof value;
}

/** A TypeError for an argument of the wrong type. */
export function invalidArg(name: string, expected: string, actual: unknown): TypeError {
  const err = new TypeError(`Expected ${name} to be ${expected}, got ${describe(actual)}`);
  (err as TypeError & { code: string }).code = codes.INVALID_ARG;
  return err;
}

/** A RangeError for a value outside its allowed range. */
export function outOfRange(name: string, expected: string, actual: unknown): RangeError {
  const err = new RangeError(`Expected ${name} to be ${expected}, got ${describe(actual)}`);
  (err as RangeError & { code: string }).code = codes.OUT_OF_RANGE;
  return err;
}
