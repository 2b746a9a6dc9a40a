import { describe, expect, it } from 'vitest';
import { isMessageId, isTxid, MAX_MESSAGE_ID, MAX_TXID, parseId } from './ids.js';

describe('message ids', () => {
  it.each(['1', '42', String(MAX_MESSAGE_ID)])('%s is an id', (s) => {
    expect(isMessageId(s)).toBe(true);
  });

  it.each([
    '',
    '0',
    '01',
    '-1',
    '+1',
    '1.0',
    ' 1',
    '1e3',
    String(MAX_MESSAGE_ID + 1n),
    '1'.repeat(20),
  ])('%j is not an id', (s) => {
    expect(isMessageId(s)).toBe(false);
  });

  it.each(['0', '3', String(MAX_TXID)])('%s is a transaction id', (s) => {
    expect(isTxid(s)).toBe(true);
  });

  it.each(['', '00', '01', '-1', String(MAX_TXID + 1n), '1'.repeat(21)])(
    '%j is not a transaction id',
    (s) => {
      expect(isTxid(s)).toBe(false);
    },
  );
});

describe('parseId', () => {
  it.each([
    [7, '7'],
    ['7', '7'],
    [' 9223372036854775807 ', '9223372036854775807'],
    [Number.MAX_SAFE_INTEGER, String(Number.MAX_SAFE_INTEGER)],
  ])('accepts %j as %s', (v, id) => {
    expect(parseId('up_to', v)).toEqual({ ok: true, value: id });
  });

  it.each([
    [0, '0'],
    [-2, '-2'],
    [1.5, '1.5'],
    [Number.MAX_SAFE_INTEGER + 1, '9007199254740992'],
    ['9223372036854775808', '"9223372036854775808"'],
    ['007', '"007"'],
    ['abc', '"abc"'],
    [true, 'true'],
    [null, 'null'],
    [undefined, 'undefined'],
    [{ id: 1 }, '{"id":1}'],
  ])('rejects %j, quoting it', (v, shown) => {
    expect(parseId('ids[3]', v)).toEqual({
      ok: false,
      issues: [
        {
          field: 'ids[3]',
          message: `must be a positive whole number (a message id); got ${shown}`,
        },
      ],
    });
  });
});
