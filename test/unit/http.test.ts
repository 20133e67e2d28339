import { Request, Response, pairs } from '../../lib/http';
import { HttpError, codes } from '../../lib/errors';

describe('Request', () => {
  describe('#getBodyAsJson', () => {
    it('parses JSON and turns malformed bodies into HttpError 400', () => {
      const ok = new Request('POST', '/', {}, {}, {}, Buffer.from('{"a":[1]}'));
      expect(ok.getBodyAsJson()).toEqual({ a: [1] });
      const bad = new Request('POST', '/', {}, {}, {}, Buffer.from('{'));
      expect(() => bad.getBodyAsJson()).toThrow(HttpError);
      expect(() => bad.getBodyAsJson()).toThrow(expect.objectContaining({ status: 400, code: codes.BAD_JSON_BODY }));
    });
  });
});

describe('HttpError', () => {
  it('takes a 4xx or 5xx status and refuses any other at construction', () => {
    expect(new HttpError(404, 'gone').status).toBe(404);
    expect(new HttpError(599, 'odd').status).toBe(599);
    for (const bad of [99, 200, 399, 600, 1000, 404.5, NaN]) {
      expect(() => new HttpError(bad, 'x')).toThrow(expect.objectContaining({ name: 'RangeError', code: codes.OUT_OF_RANGE }));
    }
  });
});

describe('Response', () => {
  it('sends once, with a default content type', () => {
    const sent: unknown[][] = [];
    const res = new Response((...args) => void sent.push(args));
    res.status(201).setHeader('X-A', 1).json({ ok: true });
    expect(sent).toEqual([[201, ['X-A', '1', 'Content-Type', 'application/json'], '{"ok":true}']]);
    expect(() => res.send('again')).toThrow(expect.objectContaining({ code: codes.RESPONSE_SENT }));
  });

  it('rejects bad statuses and header injection', () => {
    const res = new Response(() => undefined);
    expect(() => res.status(42)).toThrow(RangeError);
    expect(() => res.setHeader('X-A', 'a\r\nSet-Cookie: x')).toThrow(TypeError);
    expect(() => res.setHeader('bad name', 'x')).toThrow(TypeError);
    expect(() => res.send(5 as any)).toThrow(TypeError);
  });
});

describe('pairs', () => {
  it('builds an object from a flat list, last value winning', () => {
    expect(pairs(['a', '1', 'b', '2', 'a', '3'])).toEqual({ a: '3', b: '2' });
    expect(pairs(undefined)).toEqual({});
  });
});
