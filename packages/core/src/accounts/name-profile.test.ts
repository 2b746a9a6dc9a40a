import { describe, expect, it } from 'vitest';
import { validateListOptions } from '../validation/list-query.js';
import { validateMarkRead } from '../validation/receipts-input.js';
import { validateSendInput } from '../validation/send-input.js';
import { validateStreamOptions } from '../validation/stream-options.js';
import { checkName, type NameProfile } from './name-profile.js';

function accepted(raw: unknown, profile: NameProfile): string {
  const r = checkName('recipient', raw, profile);
  if (!r.ok) throw new Error(`expected acceptance, got ${JSON.stringify(r.issues)}`);
  return r.value;
}

function refusal(raw: unknown, profile: NameProfile, field = 'recipient'): string {
  const r = checkName(field, raw, profile);
  if (r.ok) throw new Error(`expected a refusal, got ${JSON.stringify(r.value)}`);
  expect(r.issues).toHaveLength(1);
  expect(r.issues[0]?.field).toBe(field);
  return r.issues[0]?.message ?? '';
}

const hex = (cp: number) => `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;

/** Bidi controls and zero-width characters: refused by both profiles. */
const BIDI = [
  0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069,
];
const ZERO_WIDTH = [0x200b, 0x200c, 0x200d, 0x2060, 0xfeff];

describe.each(['open', 'strict'] as const)('both profiles (%s)', (profile) => {
  it.each(BIDI)('refuses the bidi control %#', (cp) => {
    expect(refusal(`ab${String.fromCodePoint(cp)}cd`, profile)).toBe(
      `may not contain bidirectional control characters (${hex(cp)})`,
    );
  });

  it.each(ZERO_WIDTH)('refuses the zero-width character %#', (cp) => {
    expect(refusal(`ab${String.fromCodePoint(cp)}cd`, profile)).toBe(
      `may not contain zero-width characters (${hex(cp)})`,
    );
  });

  it('refuses the example of the issue: a right-to-left override that makes gnp.exe show as exe.png', () => {
    expect(refusal('\u202egnp.exe', profile)).toBe(
      'may not contain bidirectional control characters (U+202E)',
    );
  });

  it('refuses a lone zero-width space (it looks blank)', () => {
    expect(refusal('\u200b', profile)).toBe('may not contain zero-width characters (U+200B)');
  });

  it('keeps the messages of before for controls, NUL, lone surrogates, blanks and length', () => {
    expect(refusal('a\u0007b', profile)).toBe('may not contain control characters');
    expect(refusal('a\u0085b', profile)).toBe('may not contain control characters');
    expect(refusal('a\0b', profile)).toBe('may not contain NUL characters');
    expect(refusal('a\ud800b', profile)).toBe('must be valid Unicode text (lone surrogate)');
    expect(refusal('   ', profile)).toBe('may not be blank');
    expect(refusal(undefined, profile)).toBe('is required');
    expect(refusal(null, profile)).toBe('may not be null');
    expect(refusal(7, profile)).toBe('must be a string, got number');
    expect(refusal('x'.repeat(51), profile)).toBe('at most 50 characters, got 51');
    expect(accepted('x'.repeat(50), profile)).toBe('x'.repeat(50));
  });

  it('trims, and names the field it was given', () => {
    expect(accepted('  alice\t', profile)).toBe('alice');
    expect(refusal('a\u200bb', profile, 'sender')).toContain('zero-width');
  });

  it('accepts ordinary names of any script', () => {
    for (const name of [
      'alice',
      'Alice Smith',
      "O'Brien",
      'Zoë',
      '李雷',
      'Ελένη',
      'bob😀',
      'a.b-c_d',
    ])
      expect(accepted(name, profile)).toBe(name);
  });

  it('takes the length limit it is given (labels: 100)', () => {
    expect(checkName('label', 'x'.repeat(100), profile, 100)).toEqual({
      ok: true,
      value: 'x'.repeat(100),
    });
    expect(checkName('label', 'x'.repeat(101), profile, 100)).toEqual({
      ok: false,
      issues: [{ field: 'label', message: 'at most 100 characters, got 101' }],
    });
  });
});

describe('open profile: names of before keep working', () => {
  it.each([
    ['two spaces in a row', 'bob  smith'],
    ['a no-break space', 'bob\u00a0smith'],
    ['a line separator', 'a\u2028b'],
    ['a soft hyphen', 'al\u00adice'],
    ['a private-use character', 'a\ue000b'],
    ['a decomposed letter, as given', 'e\u0301mile'],
  ])('accepts %s', (_name, name) => {
    expect(accepted(name, 'open')).toBe(name);
  });

  it('counts code points before any normalisation, as before', () => {
    expect(refusal('e\u0301'.repeat(26), 'open')).toBe('at most 50 characters, got 52');
  });
});

describe('strict profile', () => {
  it("NFC-normalises: 'e\\u0301' becomes 'é' (normalised, not refused)", () => {
    expect(accepted('e\u0301', 'strict')).toBe('é');
    expect(accepted(' e\u0301mile ', 'strict')).toBe('émile');
    expect(accepted('Ali\u0301ce', 'strict')).toBe('Alíce');
    expect(accepted('\uac00', 'strict')).toBe('가');
    expect(accepted('\u1100\u1161', 'strict')).toBe('가');
  });

  it('counts the length after normalisation', () => {
    expect(accepted('e\u0301'.repeat(50), 'strict')).toBe('é'.repeat(50));
    expect(refusal('e\u0301'.repeat(51), 'strict')).toBe('at most 50 characters, got 51');
  });

  it.each([
    ['a line separator', 0x2028, 'line or paragraph separators'],
    ['a paragraph separator', 0x2029, 'line or paragraph separators'],
    ['a no-break space inside', 0x00a0, 'spaces other than U+0020'],
    ['an ideographic space', 0x3000, 'spaces other than U+0020'],
    ['an en quad (normalised to an en space)', 0x2000, 'spaces other than U+0020'],
    ['a thin space', 0x2009, 'spaces other than U+0020'],
    ['a narrow no-break space', 0x202f, 'spaces other than U+0020'],
    ['a soft hyphen', 0x00ad, 'format characters'],
    ['a Mongolian vowel separator', 0x180e, 'format characters'],
    ['an invisible times', 0x2062, 'format characters'],
    ['a tag character', 0xe0041, 'format characters'],
    ['an interlinear annotation anchor', 0xfff9, 'format characters'],
    ['a private-use character', 0xe000, 'private-use characters'],
    ['a supplementary private-use character', 0xf0000, 'private-use characters'],
    ['an unassigned code point', 0x0378, 'unassigned code points'],
    ['a noncharacter', 0xfffe, 'unassigned code points'],
  ])('refuses %s', (_name, cp, kind) => {
    const shown = cp === 0x2000 ? 0x2002 : cp;
    expect(refusal(`ab${String.fromCodePoint(cp)}cd`, 'strict')).toBe(
      `may not contain ${kind} (${hex(shown)})`,
    );
  });

  it('refuses two spaces in a row, and trims spaces (of any kind) at the ends', () => {
    expect(refusal('bob  smith', 'strict')).toBe('may not contain two spaces in a row');
    expect(accepted('bob smith', 'strict')).toBe('bob smith');
    expect(accepted('\u00a0bob\u3000', 'strict')).toBe('bob');
    expect(accepted('\ufeffbob', 'strict')).toBe('bob');
  });

  it('refuses an emoji joined with a zero-width joiner (a hidden character)', () => {
    expect(refusal('👩\u200d💻', 'strict')).toBe('may not contain zero-width characters (U+200D)');
  });
});

describe('validators take the profile', () => {
  const nbsp = 'bob\u00a0smith';
  it('send: open by default, strict when told', () => {
    const body = { sender: nbsp, recipient: 'alice', message_content: 'hi' };
    expect(validateSendInput(body).ok).toBe(true);
    expect(validateSendInput(body, 'strict')).toEqual({
      ok: false,
      issues: [{ field: 'sender', message: 'may not contain spaces other than U+0020 (U+00A0)' }],
    });
    expect(validateSendInput({ ...body, sender: 'e\u0301' }, 'strict')).toEqual({
      ok: true,
      value: { sender: 'é', recipient: 'alice', message_content: 'hi' },
    });
    expect(validateSendInput({ ...body, recipient: 'a\u202eb' })).toEqual({
      ok: false,
      issues: [
        {
          field: 'recipient',
          message: 'may not contain bidirectional control characters (U+202E)',
        },
      ],
    });
  });

  it('list, mark read and stream: every name field', () => {
    expect(validateListOptions({ with: nbsp, recipient: 'a' }).ok).toBe(true);
    const strictList = validateListOptions({ sender: nbsp, with: 'a\u2028b' }, 'strict');
    expect(strictList.ok ? [] : strictList.issues.map((i) => i.field)).toEqual(['sender', 'with']);
    expect(validateListOptions({ conversation: `a,${nbsp}` }, 'strict')).toMatchObject({
      ok: false,
      issues: [{ field: 'conversation' }],
    });
    expect(validateMarkRead({ recipient: nbsp }).ok).toBe(true);
    expect(validateMarkRead({ recipient: nbsp }, 'strict')).toMatchObject({
      ok: false,
      issues: [{ field: 'recipient' }],
    });
    expect(validateStreamOptions({ recipient: 'a', sender: nbsp }).ok).toBe(true);
    expect(validateStreamOptions({ recipient: 'a', sender: nbsp }, 'strict')).toMatchObject({
      ok: false,
      issues: [{ field: 'sender' }],
    });
    expect(validateStreamOptions({ recipient: 'a\u200bb' })).toMatchObject({
      ok: false,
      issues: [{ field: 'recipient' }],
    });
  });
});
