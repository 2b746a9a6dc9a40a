import { describe, expect, it } from 'vitest';
import { decodeUrlEncoded, parseQueryString } from './url-encoded.js';

const QUERY_ISSUES = (q: object) =>
  Object.getOwnPropertySymbols(q).flatMap((s) => (q as Record<symbol, unknown>)[s] as object[]);

describe('decodeUrlEncoded', () => {
  it('decodes names and values, + as a space, repeated names as arrays in order', () => {
    const r = decodeUrlEncoded('a=1&b=caf%C3%A9+ok&a=2&&c&a=3&=empty');
    expect(r).toEqual({
      ok: true,
      value: { a: ['1', '2', '3'], b: 'café ok', c: '', '': 'empty' },
    });
    if (r.ok) expect(Object.getPrototypeOf(r.value)).toBeNull();
  });

  it('keeps names every object has as plain fields', () => {
    const r = decodeUrlEncoded('__proto__=x&constructor=y&toString=z');
    expect(r.ok && Object.entries(r.value)).toEqual([
      ['__proto__', 'x'],
      ['constructor', 'y'],
      ['toString', 'z'],
    ]);
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('refuses a %-escape that is malformed or not UTF-8, naming the field', () => {
    for (const [text, field] of [
      ['sender=%FF', 'sender'],
      ['a=1&sender=%C0%AF', 'sender'],
      ['message_content=%ED%A0%80', 'message_content'],
      ['x=100%', 'x'],
      ['x=%zz', 'x'],
      ['x=%4', 'x'],
      ['na%FFme=1', 'na%FFme'],
    ] as const) {
      const r = decodeUrlEncoded(text);
      expect(r.ok, text).toBe(false);
      if (!r.ok) {
        expect(
          r.issues.map((i) => i.field),
          text,
        ).toEqual([field]);
        expect(r.issues[0]?.message, text).toMatch(/not valid URL encoding/);
      }
    }
  });

  it('takes many fields and many repeats of one name', () => {
    const many = Array.from({ length: 20_000 }, (_, i) => `k${i}=${i}`).join('&');
    const r = decodeUrlEncoded(many);
    expect(r.ok && Object.keys(r.value).length).toBe(20_000);
    const repeated = decodeUrlEncoded('k=1&'.repeat(20_000));
    expect(repeated.ok && repeated.value.k).toHaveLength(20_000);
  });
});

describe('parseQueryString', () => {
  it('returns the parameters of a good query string, with nothing aside', () => {
    const q = parseQueryString('sender=bob&recipient=alice');
    expect({ ...q }).toEqual({ sender: 'bob', recipient: 'alice' });
    expect(QUERY_ISSUES(q)).toEqual([]);
  });

  it('keeps the issues of a bad one aside, never throwing (the router calls it unguarded)', () => {
    const q = parseQueryString('sender=bob?recipient=alice&limit=%FF');
    expect(QUERY_ISSUES(q).map((i) => (i as { field: string }).field)).toEqual(['limit']);
    const joined = parseQueryString('sender=bob?recipient=alice?is_read=false');
    expect(QUERY_ISSUES(joined)).toEqual([
      {
        field: 'sender',
        message:
          'contains "?recipient=": query parameters are joined with "&", e.g. ?sender=bob&recipient=alice',
      },
    ]);
  });

  it('takes an escaped ? as part of a value', () => {
    const q = parseQueryString('sender=bob%3Frecipient%3Dalice');
    expect({ ...q }).toEqual({ sender: 'bob?recipient=alice' });
    expect(QUERY_ISSUES(q)).toEqual([]);
  });
});
