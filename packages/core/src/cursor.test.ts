import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from './cursor.js';

const raw = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
const invalid = { ok: false, issues: [{ field: 'cursor', message: 'is not a valid cursor' }] };

describe('encodeCursor / decodeCursor', () => {
  it.each([
    { sentDatetime: '2026-11-25T13:38:21.123456Z', id: '1' },
    { sentDatetime: '2024-02-29T23:59:59.999999Z', id: '9223372036854775807' },
    { sentDatetime: '0001-01-01T00:00:00.000000Z', id: '42' },
  ])('round-trips $sentDatetime / $id', (pos) => {
    const cursor = encodeCursor(pos);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual({ ok: true, value: pos });
  });

  it('is opaque: the same position always gives the same cursor', () => {
    const pos = { sentDatetime: '2026-01-01T00:00:00.000001Z', id: '5' };
    expect(encodeCursor(pos)).toBe(encodeCursor({ ...pos }));
    expect(encodeCursor(pos)).toBe('MjAyNi0wMS0wMVQwMDowMDowMC4wMDAwMDFafDU');
  });

  it.each([
    ['empty', ''],
    ['not base64url', 'abc+/='],
    ['spaces', 'abc def'],
    ['too long', 'A'.repeat(201)],
    ['garbage', raw('hello world')],
    ['no id', raw('2026-01-01T00:00:00.000000Z')],
    ['empty id', raw('2026-01-01T00:00:00.000000Z|')],
    ['an extra part', raw('2026-01-01T00:00:00.000000Z|1|2')],
    ['id 0', raw('2026-01-01T00:00:00.000000Z|0')],
    ['negative id', raw('2026-01-01T00:00:00.000000Z|-1')],
    ['leading zero', raw('2026-01-01T00:00:00.000000Z|01')],
    ['id not a number', raw('2026-01-01T00:00:00.000000Z|abc')],
    ['id above bigint', raw('2026-01-01T00:00:00.000000Z|9223372036854775808')],
    ['id of 20 digits', raw('2026-01-01T00:00:00.000000Z|10000000000000000000')],
    ['milliseconds only', raw('2026-01-01T00:00:00.000Z|1')],
    ['no Z', raw('2026-01-01T00:00:00.000000|1')],
    ['an offset', raw('2026-01-01T00:00:00.000000+01:00|1')],
    ['a date only', raw('2026-01-01|1')],
    ['February 30', raw('2026-02-30T00:00:00.000000Z|1')],
    ['month 13', raw('2026-13-01T00:00:00.000000Z|1')],
    ['hour 24', raw('2026-01-01T24:00:00.000000Z|1')],
    ['second 60', raw('2026-01-01T23:59:60.000000Z|1')],
    ['year 0', raw('0000-01-01T00:00:00.000000Z|1')],
  ])('rejects %s', (_name, cursor) => {
    expect(decodeCursor(cursor)).toEqual(invalid);
  });
});
