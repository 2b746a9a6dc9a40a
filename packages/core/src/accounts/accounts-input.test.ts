import { describe, expect, it } from 'vitest';
import { parseTokenId, validateTokenOptions, validateUserName } from './accounts-input.js';
import { newToken, TOKEN_PATTERN, tokenHash } from './token.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');

describe('validateUserName', () => {
  it('is the strict profile on the field `name`', () => {
    expect(validateUserName(' e\u0301mile ')).toEqual({ ok: true, value: 'émile' });
    expect(validateUserName('a\u00a0b')).toEqual({
      ok: false,
      issues: [{ field: 'name', message: 'may not contain spaces other than U+0020 (U+00A0)' }],
    });
    expect(validateUserName('')).toEqual({
      ok: false,
      issues: [{ field: 'name', message: 'may not be blank' }],
    });
  });
});

describe('validateTokenOptions', () => {
  it('accepts nothing at all: no label, no expiry', () => {
    expect(validateTokenOptions(undefined, NOW)).toEqual({
      ok: true,
      value: { label: null, expiresAt: null },
    });
    expect(validateTokenOptions({ label: '', expiresAt: null }, NOW)).toEqual({
      ok: true,
      value: { label: null, expiresAt: null },
    });
  });

  it('takes a trimmed label of up to 100 characters and a future instant', () => {
    expect(
      validateTokenOptions({ label: ' laptop ', expiresAt: '2026-07-01T00:00:00Z' }, NOW),
    ).toEqual({ ok: true, value: { label: 'laptop', expiresAt: '2026-07-01T00:00:00Z' } });
    expect(validateTokenOptions({ expiresAt: new Date('2026-07-01T00:00:00Z') }, NOW)).toEqual({
      ok: true,
      value: { label: null, expiresAt: '2026-07-01T00:00:00.000Z' },
    });
  });

  it('names each bad field and its rule', () => {
    expect(
      validateTokenOptions(
        { label: 'x'.repeat(101), expiresAt: '2026-06-01T11:59:59Z', scope: 'all' },
        NOW,
      ),
    ).toEqual({
      ok: false,
      issues: [
        { field: 'scope', message: 'unknown parameter; expected one of label, expiresAt' },
        { field: 'label', message: 'at most 100 characters, got 101' },
        { field: 'expiresAt', message: 'must be in the future; got "2026-06-01T11:59:59Z"' },
      ],
    });
    expect(validateTokenOptions({ label: 'a\nb' }, NOW)).toEqual({
      ok: false,
      issues: [{ field: 'label', message: 'may not contain control characters' }],
    });
    expect(validateTokenOptions({ label: 'a\u202eb' }, NOW)).toMatchObject({
      ok: false,
      issues: [{ field: 'label' }],
    });
    expect(validateTokenOptions({ expiresAt: 'tomorrow' }, NOW)).toMatchObject({
      ok: false,
      issues: [{ field: 'expiresAt' }],
    });
    expect(validateTokenOptions({ expiresAt: new Date(NOW) }, NOW)).toMatchObject({
      ok: false,
      issues: [{ field: 'expiresAt', message: expect.stringContaining('in the future') }],
    });
  });
});

describe('parseTokenId', () => {
  it('takes a positive whole number and names the field `id`', () => {
    expect(parseTokenId(12)).toEqual({ ok: true, value: '12' });
    expect(parseTokenId(' 12 ')).toEqual({ ok: true, value: '12' });
    expect(parseTokenId('x')).toEqual({
      ok: false,
      issues: [{ field: 'id', message: 'must be a positive whole number (a token id); got "x"' }],
    });
  });
});

describe('tokens', () => {
  it('look like msg_ and 43 URL-safe characters, are never the same, hash to 32 bytes', () => {
    const a = newToken();
    const b = newToken();
    expect(a).toMatch(TOKEN_PATTERN);
    expect(a).toHaveLength(47);
    expect(a).not.toBe(b);
    expect(tokenHash(a)).toHaveLength(32);
    expect(tokenHash(a).equals(tokenHash(a))).toBe(true);
    expect(tokenHash(a).equals(tokenHash(b))).toBe(false);
  });
});
