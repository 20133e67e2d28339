/**
 * Route conflicts found at registration: a route that an earlier one (or a built-in
 * endpoint) always answers first could never run, so registering it is an error.
 */

/** A route pattern's segments: a literal, or null for a `{param}`. */
export type Segments = Array<string | null>;

/** Splits a pattern as the native router does: empty segments do not count. */
export function segmentsOf(pattern: string): Segments {
  return pattern.split('/').filter((s) => s.length > 0).map((s) => (s.startsWith('{') ? null : s));
}

/** Whether every path `inner` matches is matched by `outer` too. */
export function covers(outer: Segments, inner: Segments): boolean {
  if (outer.length !== inner.length) return false;
  return outer.every((seg, i) => seg === null || seg === inner[i]);
}

/** The built-in endpoints of the REST room API under `prefix` (see native/core/room_api.cpp). */
export function roomApiRoutes(prefix: string): Array<{ method: string; path: string }> {
  const p = prefix.replace(/\/+$/, '');
  return [
    { method: 'GET', path: `${p}/rooms` },
    { method: 'POST', path: `${p}/rooms` },
    { method: 'GET', path: `${p}/rooms/{roomId}` },
    { method: 'DELETE', path: `${p}/rooms/{roomId}` },
    { method: 'POST', path: `${p}/rooms/{roomId}/message` },
    { method: 'POST', path: `${p}/rooms/{roomId}/join` },
    { method: 'POST', path: `${p}/rooms/{roomId}/leave` },
    { method: 'GET', path: `${p}/clients/{connectionId}` },
    { method: 'GET', path: `${p}/clients/{connectionId}/rooms` },
  ];
}

/**
 * The first of `earlier` that leaves no path for a `method` route on `path`: one that
 * covers it, or undefined.
 */
export function shadowing<T extends { method: string; path: string }>(earlier: readonly T[], method: string,
  path: string): T | undefined {
  const inner = segmentsOf(path);
  return earlier.find((r) => r.method === method && covers(segmentsOf(r.path), inner));
}
