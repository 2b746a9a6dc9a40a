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

/**
 * Characters the string methods touch while `fn` runs (each call counts what it scans at most),
 * plus one per array push: a measure of work that does not depend on the machine's load.
 */
function workOf(fn: () => void): number {
  let work = 0;
  const proto = String.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const saved = new Map<string, (...a: unknown[]) => unknown>();
  const scanFrom = (self: string, from: unknown) =>
    self.length - Math.min(self.length, Math.max(0, Number(from) || 0));
  const counters: Record<string, (self: string, args: unknown[]) => number> = {
    split: (self) => self.length,
    indexOf: (self, args) => scanFrom(self, args[1]),
    lastIndexOf: (self) => self.length,
    includes: (self, args) => scanFrom(self, args[1]),
    slice: (self) => self.length,
    substring: (self) => self.length,
    replace: (self) => self.length,
    replaceAll: (self) => self.length,
    startsWith: (self) => self.length,
  };
  for (const [name, count] of Object.entries(counters)) {
    const original = proto[name] as (...a: unknown[]) => unknown;
    saved.set(name, original);
    proto[name] = function (this: string, ...args: unknown[]) {
      work += count(this, args);
      return original.apply(this, args);
    };
  }
  const array = Array.prototype as unknown as Record<string | symbol, (...a: unknown[]) => unknown>;
  const arrayCounters: [string | symbol, (self: unknown[], args: unknown[]) => number][] = [
    ['push', (_self, args) => args.length],
    ['concat', (self, args) => self.length + args.length],
    ['slice', (self) => self.length],
    // Spreading and for…of walk the whole array.
    [Symbol.iterator, (self) => self.length],
  ];
  const savedArray = new Map<string | symbol, (...a: unknown[]) => unknown>();
  for (const [name, count] of arrayCounters) {
    const original = array[name] as (...a: unknown[]) => unknown;
    savedArray.set(name, original);
    array[name] = function (this: unknown[], ...args: unknown[]) {
      work += count(this, args);
      return original.apply(this, args);
    };
  }
  try {
    fn();
  } finally {
    for (const [name, original] of saved) proto[name] = original;
    for (const [name, original] of savedArray) array[name] = original;
  }
  return work;
}

describe('decodeUrlEncoded does work linear in its input', () => {
  const bodies: [string, (n: number) => string][] = [
    ['only separators', (n) => '&'.repeat(n)],
    ['empty names and values', (n) => '=&'.repeat(n / 2)],
    ['one-letter fields', (n) => 'a&'.repeat(n / 2)],
    ['one name repeated', (n) => 'k=1&'.repeat(n / 4)],
    [
      'distinct names',
      (n) => Array.from({ length: n / 8 }, (_, i) => `k${i % 10000}=v&`.padEnd(8, 'x')).join(''),
    ],
    ['escapes', (n) => 'a=%41+&'.repeat(n / 7)],
  ];
  it.each(bodies)(
    '%s: a 16 KiB body costs a few touches per byte, and twice as much costs twice as much',
    (_name, body) => {
      const small = body(16 * 1024);
      const large = body(32 * 1024);
      const w1 = workOf(() => decodeUrlEncoded(small));
      const w2 = workOf(() => decodeUrlEncoded(large));
      expect(w1).toBeGreaterThan(0);
      expect(w1 / small.length).toBeLessThan(12);
      // Twice the input: about twice the work (quadratic would be four times).
      expect(w2 / w1).toBeLessThan(1.5 * (large.length / small.length));
    },
  );
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
