import { describe, expect, it } from 'vitest';
import { describeValue, MAX_DESCRIBED_LENGTH } from './describe-value.js';

/** An array nested `depth` levels deep, built without recursion. */
function nestedArray(depth: number): unknown {
  let v: unknown = [];
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

describe('describeValue', () => {
  it.each([
    ['maybe', '"maybe"'],
    ['', '""'],
    ['say "hi"\n', '"say \\"hi\\"\\n"'],
    [12, '12'],
    [-1.5, '-1.5'],
    [true, 'true'],
    [null, 'null'],
    [[1, 'x'], '[1,"x"]'],
    [{ a: 1, b: [true] }, '{"a":1,"b":[true]}'],
  ])('renders %j as JSON does: %s', (v, shown) => {
    expect(describeValue(v)).toBe(shown);
    expect(describeValue(v)).toBe(JSON.stringify(v));
  });

  it.each([
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [Number.NEGATIVE_INFINITY, '-Infinity'],
    [undefined, 'undefined'],
    [12n, '12n'],
    [() => 1, 'a function'],
    [Symbol('s'), 'a symbol'],
    [new Date('nonsense'), 'Invalid Date'],
    [new Date(Date.UTC(2026, 0, 2)), '"2026-01-02T00:00:00.000Z"'],
    [[undefined, Number.NaN], '[undefined,NaN]'],
  ])('names what JSON cannot spell: %s', (v, shown) => {
    expect(describeValue(v)).toBe(shown);
  });

  it('shows three levels of nesting, then […] / {…}', () => {
    expect(describeValue([[[[1]]]])).toBe('[[[[…]]]]');
    expect(describeValue({ a: { b: { c: { d: 1 } } } })).toBe('{"a":{"b":{"c":{…}}}}');
  });

  it.each([10_000, 1_000_000])('describes an array nested %i deep in a few characters', (depth) => {
    expect(describeValue(nestedArray(depth))).toBe('[[[[…]]]]');
  });

  it('caps long values and never copies all of a huge one', () => {
    const long = describeValue('x'.repeat(10_000_000));
    expect(long).toBe(`"${'x'.repeat(MAX_DESCRIBED_LENGTH - 1)}…`);
    const many = describeValue(Array.from({ length: 1_000_000 }, (_, i) => i));
    expect(many.length).toBe(MAX_DESCRIBED_LENGTH + 1);
    expect(many.startsWith('[0,1,2,3,')).toBe(true);
    expect(many.endsWith('…')).toBe(true);
    const wide = describeValue(
      Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i])),
    );
    expect(wide.length).toBe(MAX_DESCRIBED_LENGTH + 1);
  });

  it('survives a getter that throws', () => {
    const hostile = {
      get boom() {
        throw new Error('no');
      },
    };
    expect(describeValue(hostile)).toBe('a value of type object');
  });
});
