import { describe, expect, it } from 'vitest';
import { encodeCursor } from '../cursor.js';
import { ValidationError } from '../errors.js';
import { LIST_PARAMETERS, type ListQuery, validateListOptions } from './list-query.js';

function queryOf(input: unknown): ListQuery {
  const r = validateListOptions(input);
  if (!r.ok) throw new Error(`expected acceptance, got ${JSON.stringify(r.issues)}`);
  return r.value;
}

function issuesOf(input: unknown) {
  const r = validateListOptions(input);
  if (r.ok) throw new Error(`expected a rejection, got ${JSON.stringify(r.value)}`);
  return r.issues;
}

const badInstant = (field: string, v: unknown) => ({
  field,
  message: `must be an ISO-8601 date or date-time (e.g. 2026-01-31T12:00:00Z); got ${JSON.stringify(v)}`,
});

describe('validateListOptions', () => {
  it.each([[undefined], [null], [{}]])('treats %j as "no filter, default limit 100"', (input) => {
    expect(queryOf(input)).toEqual({ limit: 100 });
  });

  it.each([
    ['a string', 'sender=bob', 'string'],
    ['a number', 5, 'number'],
    ['an array', [['sender', 'bob']], 'array'],
  ])('rejects %s', (_name, input, type) => {
    expect(issuesOf(input)).toEqual([
      { field: 'query', message: `must be an object, got ${type}` },
    ]);
  });

  it('lists the accepted parameters', () => {
    expect([...LIST_PARAMETERS]).toEqual([
      'sender',
      'recipient',
      'is_read',
      'since',
      'until',
      'limit',
      'cursor',
      'with',
      'conversation',
      'q',
      'order',
    ]);
  });

  it('maps every parameter to the query', () => {
    const cursor = encodeCursor({ sentDatetime: '2026-01-02T03:04:05.678901Z', id: '42' });
    expect(
      queryOf({
        sender: ' Bob ',
        recipient: 'Alice',
        is_read: 'false',
        since: '2026-01-01',
        until: '2026-02-01T00:00:00Z',
        limit: '20',
        cursor,
      }),
    ).toEqual({
      sender: 'Bob',
      recipient: 'Alice',
      isRead: false,
      since: '2026-01-01T00:00:00Z',
      until: '2026-02-01T00:00:00Z',
      limit: 20,
      after: { sentDatetime: '2026-01-02T03:04:05.678901Z', id: '42' },
    });
  });

  describe('sender and recipient', () => {
    it.each(['sender', 'recipient'] as const)(
      '%s: 50 characters accepted, 51 rejected',
      (field) => {
        expect(queryOf({ [field]: 'a'.repeat(50) })[field]).toBe('a'.repeat(50));
        expect(issuesOf({ [field]: 'a'.repeat(51) })).toEqual([
          { field, message: 'at most 50 characters, got 51' },
        ]);
      },
    );

    it.each(['sender', 'recipient'] as const)(
      '%s: control characters, NUL and blanks are rejected',
      (field) => {
        expect(issuesOf({ [field]: 'a\nb' })).toEqual([
          { field, message: 'may not contain control characters' },
        ]);
        expect(issuesOf({ [field]: 'a\0b' })).toEqual([
          { field, message: 'may not contain NUL characters' },
        ]);
        expect(issuesOf({ [field]: '   ' })).toEqual([{ field, message: 'may not be blank' }]);
        expect(issuesOf({ [field]: 7 })).toEqual([
          { field, message: 'must be a string, got number' },
        ]);
      },
    );
  });

  describe('is_read', () => {
    it.each([true, 'true', 'TRUE', 'True', '1', 't', 'T', ' true '])('%j is true', (v) => {
      expect(queryOf({ is_read: v })).toEqual({ isRead: true, limit: 100 });
    });

    it.each([false, 'false', 'FALSE', 'False', '0', 'f', 'F'])('%j is false', (v) => {
      expect(queryOf({ is_read: v })).toEqual({ isRead: false, limit: 100 });
    });

    it.each(['maybe', 'yes', 'no', '2', 'truee', 1, 0])('%j is rejected', (v) => {
      expect(issuesOf({ is_read: v })).toEqual([
        {
          field: 'is_read',
          message: `must be one of true, false, 1, 0, t, f; got ${JSON.stringify(v)}`,
        },
      ]);
    });
  });

  describe('limit', () => {
    it.each([
      [1, 1],
      [1000, 1000],
      ['1', 1],
      ['1000', 1000],
      [' 20 ', 20],
      ['007', 7],
    ])('%j is accepted as %i', (v, n) => {
      expect(queryOf({ limit: v }).limit).toBe(n);
    });

    it.each([0, 1001, -1, 1.5, '0', '1001', 'abc', '1.5', '-1', '1e3', '0x10', '12345678', true])(
      '%j is rejected',
      (v) => {
        expect(issuesOf({ limit: v })).toEqual([
          {
            field: 'limit',
            message: `must be a whole number from 1 to 1000; got ${JSON.stringify(v)}`,
          },
        ]);
      },
    );

    it.each([
      [Number.NaN, 'NaN'],
      [Number.POSITIVE_INFINITY, 'Infinity'],
    ])('%s is rejected, named as it is (JSON would say null)', (v, shown) => {
      expect(issuesOf({ limit: v })).toEqual([
        { field: 'limit', message: `must be a whole number from 1 to 1000; got ${shown}` },
      ]);
    });
  });

  describe('since and until', () => {
    it.each([
      ['a date only: midnight UTC', '2026-01-31', '2026-01-31T00:00:00Z'],
      ['no offset: UTC', '2026-01-31T12:00:00', '2026-01-31T12:00:00Z'],
      ['no seconds', '2026-01-31T12:00', '2026-01-31T12:00Z'],
      ['a space instead of T', '2026-01-31 12:00:00', '2026-01-31T12:00:00Z'],
      ['Z', '2026-01-31T12:00:00Z', '2026-01-31T12:00:00Z'],
      ['an offset', '2026-01-31T12:00:00+02:00', '2026-01-31T12:00:00+02:00'],
      ['a negative offset without colon', '2026-01-31T12:00:00-0530', '2026-01-31T12:00:00-0530'],
      ['microseconds', '2026-01-31T12:00:00.123456Z', '2026-01-31T12:00:00.123456Z'],
      ['lower-case t and z', '2026-01-31t12:00:00z', '2026-01-31T12:00:00Z'],
      ['surrounding spaces', ' 2026-01-31 ', '2026-01-31T00:00:00Z'],
      ['February 29 of a leap year', '2028-02-29', '2028-02-29T00:00:00Z'],
      ['an hour-only offset', '2026-01-31T12:00:00+02', '2026-01-31T12:00:00+02'],
      [
        'the widest offset PostgreSQL takes',
        '2026-01-31T12:00:00+15:59',
        '2026-01-31T12:00:00+15:59',
      ],
      ['the widest negative offset', '2026-01-31 12:00-1559', '2026-01-31T12:00-1559'],
    ])('accepts %s', (_name, input, normalised) => {
      expect(queryOf({ since: input }).since).toBe(normalised);
      expect(queryOf({ until: input }).until).toBe(normalised);
    });

    it.each([
      '2026-01-31T12:00:00+16:00',
      '2026-01-31T12:00:00+1600',
      '2026-01-31T12:00:00-16',
      '2026-01-31 12:00-16:00',
      '2026-01-31t12:00:00.5z'.replace('z', '+23:59'),
      ' 2026-01-31T12:00:00.123456-2359 ',
    ])('refuses the offset of %j (PostgreSQL stops at ±15:59)', (v) => {
      const rule = `the UTC offset must be between -15:59 and +15:59; got ${JSON.stringify(v)}`;
      expect(issuesOf({ since: v })).toEqual([{ field: 'since', message: rule }]);
      expect(issuesOf({ until: v })).toEqual([{ field: 'until', message: rule }]);
    });

    it('accepts a Date', () => {
      expect(queryOf({ since: new Date(Date.UTC(2026, 0, 31, 12, 30)) }).since).toBe(
        '2026-01-31T12:30:00.000Z',
      );
    });

    it.each([
      '2026-02-30',
      '2026-02-29',
      '2026-13-01',
      '2026-00-10',
      '2026-01-32',
      '2026-01-31T24:00',
      '2026-01-31T12:60',
      '2026-01-31T12:00:60',
      '0000-01-01',
      'yesterday',
      'now',
      '31/01/2026',
      '2026-1-5',
      '2026-01-31T12',
      '2026-01-31T12:00:00 UTC',
      '1769860800',
      1769860800000,
      true,
    ])('rejects %j', (v) => {
      expect(issuesOf({ since: v })).toEqual([badInstant('since', v)]);
      expect(issuesOf({ until: v })).toEqual([badInstant('until', v)]);
    });

    it('rejects an invalid Date', () => {
      expect(issuesOf({ since: new Date('nonsense') })).toEqual([
        { field: 'since', message: expect.stringContaining('must be an ISO-8601 date') },
      ]);
    });

    it('requires until to be later than since, comparing instants', () => {
      const later = { field: 'until', message: 'must be later than since' };
      expect(issuesOf({ since: '2026-01-02', until: '2026-01-01' })).toEqual([later]);
      expect(issuesOf({ since: '2026-01-01', until: '2026-01-01T00:00:00Z' })).toEqual([later]);
      // The same instant written in two offsets.
      expect(
        issuesOf({ since: '2026-01-31T12:00:00+02:00', until: '2026-01-31T10:00:00Z' }),
      ).toEqual([later]);
      expect(
        queryOf({ since: '2026-01-31T12:00:00+02:00', until: '2026-01-31T10:00:01Z' }),
      ).toMatchObject({
        since: '2026-01-31T12:00:00+02:00',
        until: '2026-01-31T10:00:01Z',
      });
    });

    it('compares since and until to the microsecond', () => {
      expect(
        queryOf({ since: '2026-01-01T00:00:00.000001Z', until: '2026-01-01T00:00:00.000002Z' }),
      ).toMatchObject({
        since: '2026-01-01T00:00:00.000001Z',
        until: '2026-01-01T00:00:00.000002Z',
      });
      expect(
        issuesOf({ since: '2026-01-01T00:00:00.000002Z', until: '2026-01-01T00:00:00.000002Z' }),
      ).toEqual([{ field: 'until', message: 'must be later than since' }]);
      expect(
        issuesOf({ since: '2026-01-01T00:00:00.0005Z', until: '2026-01-01T00:00:00.0004Z' }),
      ).toEqual([{ field: 'until', message: 'must be later than since' }]);
    });
  });

  describe('cursor', () => {
    it('decodes a cursor into the position after which to list', () => {
      const cursor = encodeCursor({ sentDatetime: '2026-03-04T05:06:07.000008Z', id: '9' });
      expect(queryOf({ cursor }).after).toEqual({
        sentDatetime: '2026-03-04T05:06:07.000008Z',
        id: '9',
      });
    });

    it.each(['not a cursor', 'abc', Buffer.from('2026-01-01|1').toString('base64url')])(
      'rejects %j',
      (cursor) => {
        expect(issuesOf({ cursor })).toEqual([
          { field: 'cursor', message: 'is not a valid cursor' },
        ]);
      },
    );

    it('rejects a cursor that is not a string', () => {
      expect(issuesOf({ cursor: 12 })).toEqual([
        { field: 'cursor', message: 'must be a string, got number' },
      ]);
    });

    it('treats a null cursor as the first page', () => {
      expect(queryOf({ cursor: null })).toEqual({ limit: 100 });
    });
  });

  it('rejects an unknown parameter, naming it', () => {
    expect(issuesOf({ sender: 'bob', sort: 'asc' })).toEqual([
      {
        field: 'sort',
        message:
          'unknown parameter; expected one of sender, recipient, is_read, since, until, limit, cursor, with, conversation, q, order',
      },
    ]);
    expect(new ValidationError(issuesOf({ isRead: 'true' })).message).toBe(
      'isRead: unknown parameter; expected one of sender, recipient, is_read, since, until, limit, cursor, with, conversation, q, order',
    );
  });

  it.each(['sender', 'recipient', 'is_read', 'since', 'until', 'limit', 'cursor'])(
    'rejects a repeated %s',
    (field) => {
      expect(issuesOf({ [field]: ['a', 'b'] })).toEqual([
        { field, message: 'may be given only once' },
      ]);
    },
  );

  it('treats empty strings, undefined and null as absent (but an empty search)', () => {
    const empty = Object.fromEntries(LIST_PARAMETERS.filter((p) => p !== 'q').map((p) => [p, '']));
    expect(queryOf(empty)).toEqual({ limit: 100 });
    expect(validateListOptions({ q: '' })).toEqual({
      ok: false,
      issues: [{ field: 'q', message: 'must not be empty' }],
    });
    const absent = Object.fromEntries(LIST_PARAMETERS.map((p) => [p, undefined]));
    expect(queryOf(absent)).toEqual({ limit: 100 });
    expect(queryOf({ sender: null, is_read: null, limit: null })).toEqual({ limit: 100 });
  });

  it('reports every bad parameter at once', () => {
    const r = validateListOptions({ is_read: 'maybe', limit: '0', since: 'yesterday', page: 2 });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => i.field)).toEqual(['page', 'is_read', 'since', 'limit']);
    expect(new ValidationError(r.issues).message).toBe(
      'page: unknown parameter; expected one of sender, recipient, is_read, since, until, limit, cursor, with, conversation, q, order; ' +
        'is_read: must be one of true, false, 1, 0, t, f; got "maybe"; ' +
        'since: must be an ISO-8601 date or date-time (e.g. 2026-01-31T12:00:00Z); got "yesterday"; ' +
        'limit: must be a whole number from 1 to 1000; got "0"',
    );
  });
});
