import { describe, expect, it } from 'vitest';
import { ErrorCode, MessengerError, ValidationError } from '../errors.js';
import { validateSendInput } from './send-input.js';
import { codePointLength } from './text.js';

const valid = { sender: 'bob', recipient: 'alice', message_content: 'hello' };
const nameFields = ['sender', 'recipient'] as const;
const allFields = ['sender', 'recipient', 'message_content'] as const;

/** The issues of a rejected input; fails the test when the input was accepted. */
function issuesOf(input: unknown) {
  const r = validateSendInput(input);
  if (r.ok) throw new Error(`expected a rejection, got ${JSON.stringify(r.value)}`);
  return r.issues;
}

function acceptedValue(input: unknown) {
  const r = validateSendInput(input);
  if (!r.ok) throw new Error(`expected acceptance, got ${JSON.stringify(r.issues)}`);
  return r.value;
}

describe('validateSendInput', () => {
  it('accepts a valid message and trims every field', () => {
    expect(
      acceptedValue({ sender: ' bob ', recipient: '\talice\n', message_content: '  hi there  ' }),
    ).toEqual({ sender: 'bob', recipient: 'alice', message_content: 'hi there' });
  });

  it('ignores unknown keys and returns only the three fields', () => {
    const value = acceptedValue({ ...valid, id: 7, is_read: true, sent_datetime: 'x', extra: {} });
    expect(value).toEqual(valid);
    expect(Object.keys(value).sort()).toEqual(['message_content', 'recipient', 'sender']);
  });

  it.each([
    [null, 'null'],
    [undefined, 'undefined'],
    ['hello', 'string'],
    [42, 'number'],
    [true, 'boolean'],
    [[valid], 'array'],
  ])('rejects a non-object body %j', (body, type) => {
    expect(issuesOf(body)).toEqual([{ field: 'body', message: `must be an object, got ${type}` }]);
  });

  describe.each(nameFields)('%s (a name)', (field) => {
    it('accepts 50 code points and rejects 51', () => {
      expect(acceptedValue({ ...valid, [field]: 'a'.repeat(50) })[field]).toBe('a'.repeat(50));
      expect(issuesOf({ ...valid, [field]: 'a'.repeat(51) })).toEqual([
        { field, message: 'at most 50 characters, got 51' },
      ]);
    });

    it('counts an emoji as one character: 50 accepted, 51 rejected', () => {
      expect(acceptedValue({ ...valid, [field]: '😀'.repeat(50) })[field]).toBe('😀'.repeat(50));
      expect(issuesOf({ ...valid, [field]: '😀'.repeat(51) })).toEqual([
        { field, message: 'at most 50 characters, got 51' },
      ]);
    });

    it('counts a combining mark as a character of its own', () => {
      // 'e\u0301' looks like one letter but is two code points.
      expect(acceptedValue({ ...valid, [field]: 'e\u0301'.repeat(25) })[field]).toBe(
        'e\u0301'.repeat(25),
      );
      expect(issuesOf({ ...valid, [field]: `${'e\u0301'.repeat(25)}x` })).toEqual([
        { field, message: 'at most 50 characters, got 51' },
      ]);
    });

    it('measures the length after trimming', () => {
      const padded = `   ${'n'.repeat(50)}\t \n`;
      expect(padded.length).toBeGreaterThan(50);
      expect(acceptedValue({ ...valid, [field]: padded })[field]).toBe('n'.repeat(50));
      expect(acceptedValue({ ...valid, [field]: ' bob ' })[field]).toBe('bob');
    });

    it.each([
      ['newline', '\n'],
      ['tab', '\t'],
      ['carriage return', '\r'],
      ['bell', '\u0007'],
      ['escape', '\u001b'],
      ['delete', '\u007f'],
      ['next line (C1)', '\u0085'],
    ])('rejects an inner %s', (_name, ch) => {
      expect(issuesOf({ ...valid, [field]: `ab${ch}cd` })).toEqual([
        { field, message: 'may not contain control characters' },
      ]);
    });

    it('rejects NUL', () => {
      expect(issuesOf({ ...valid, [field]: 'ab\0cd' })).toEqual([
        { field, message: 'may not contain NUL characters' },
      ]);
    });
  });

  describe('message_content', () => {
    it('accepts 160 code points and rejects 161', () => {
      expect(acceptedValue({ ...valid, message_content: 'x'.repeat(160) }).message_content).toBe(
        'x'.repeat(160),
      );
      expect(issuesOf({ ...valid, message_content: 'x'.repeat(161) })).toEqual([
        { field: 'message_content', message: 'at most 160 characters, got 161' },
      ]);
    });

    it('accepts 160 emoji (320 UTF-16 units) and rejects 161', () => {
      const emoji160 = '😀'.repeat(160);
      expect(emoji160.length).toBe(320);
      expect(acceptedValue({ ...valid, message_content: emoji160 }).message_content).toBe(emoji160);
      expect(issuesOf({ ...valid, message_content: '😀'.repeat(161) })).toEqual([
        { field: 'message_content', message: 'at most 160 characters, got 161' },
      ]);
    });

    it('counts combining marks: 80 × "e\\u0301" is 160, one more letter is 161', () => {
      const text = 'e\u0301'.repeat(80);
      expect(acceptedValue({ ...valid, message_content: text }).message_content).toBe(text);
      expect(issuesOf({ ...valid, message_content: `${text}e` })).toEqual([
        { field: 'message_content', message: 'at most 160 characters, got 161' },
      ]);
    });

    it('measures the length after trimming', () => {
      const padded = `\n  ${'m'.repeat(160)}  \t`;
      expect(acceptedValue({ ...valid, message_content: padded }).message_content).toBe(
        'm'.repeat(160),
      );
    });

    it('keeps inner newlines and tabs', () => {
      expect(
        acceptedValue({ ...valid, message_content: 'line 1\nline 2\tend' }).message_content,
      ).toBe('line 1\nline 2\tend');
    });

    it('rejects NUL', () => {
      expect(issuesOf({ ...valid, message_content: 'a\0b' })).toEqual([
        { field: 'message_content', message: 'may not contain NUL characters' },
      ]);
      expect(issuesOf({ ...valid, message_content: 'trailing\0' })).toEqual([
        { field: 'message_content', message: 'may not contain NUL characters' },
      ]);
    });
  });

  describe.each(allFields)('%s (any field)', (field) => {
    it.each([
      ['empty', ''],
      ['spaces', '   '],
      ['tabs and newlines', '\t\n \r\n'],
      ['no-break and ideographic spaces', '\u00a0\u3000'],
    ])('rejects %s as blank', (_name, blank) => {
      expect(issuesOf({ ...valid, [field]: blank })).toEqual([
        { field, message: 'may not be blank' },
      ]);
    });

    it.each([
      [42, 'must be a string, got number'],
      [null, 'may not be null'],
      [['bob'], 'must be a string, got array'],
      [{ name: 'bob' }, 'must be a string, got object'],
      [true, 'must be a string, got boolean'],
    ])('rejects the wrong type %j', (value, message) => {
      expect(issuesOf({ ...valid, [field]: value })).toEqual([{ field, message }]);
    });

    it('rejects a missing value', () => {
      const { [field]: _omitted, ...rest } = valid;
      expect(issuesOf(rest)).toEqual([{ field, message: 'is required' }]);
    });

    it.each([
      ['high surrogate alone', 'ab\ud83dcd'],
      ['low surrogate alone', '\ude00ab'],
      ['surrogates in the wrong order', 'a\ude00\ud83d'],
    ])('rejects a %s', (_name, text) => {
      expect(issuesOf({ ...valid, [field]: text })).toEqual([
        { field, message: 'must be valid Unicode text (lone surrogate)' },
      ]);
    });
  });

  it('reports every bad field at once, in field order', () => {
    expect(issuesOf({ sender: '', recipient: 5, message_content: 'x'.repeat(161) })).toEqual([
      { field: 'sender', message: 'may not be blank' },
      { field: 'recipient', message: 'must be a string, got number' },
      { field: 'message_content', message: 'at most 160 characters, got 161' },
    ]);
    expect(issuesOf({})).toEqual([
      { field: 'sender', message: 'is required' },
      { field: 'recipient', message: 'is required' },
      { field: 'message_content', message: 'is required' },
    ]);
  });
});

describe('ValidationError', () => {
  it('names each field and rule in its message', () => {
    const err = new ValidationError(issuesOf({ ...valid, message_content: 'x'.repeat(161) }));
    expect(err.message).toBe('message_content: at most 160 characters, got 161');
    expect(err.code).toBe('validation_failed');
    expect(err.code).toBe(ErrorCode.validationFailed);
    expect(err.name).toBe('ValidationError');
    expect(err).toBeInstanceOf(MessengerError);
    expect(err).toBeInstanceOf(Error);
  });

  it('joins several issues with "; " and groups them by field', () => {
    const err = new ValidationError([
      { field: 'sender', message: 'is required' },
      { field: 'message_content', message: 'may not be blank' },
      { field: 'sender', message: 'second rule' },
    ]);
    expect(err.message).toBe(
      'sender: is required; message_content: may not be blank; sender: second rule',
    );
    expect(err.fields).toEqual({
      sender: ['is required', 'second rule'],
      message_content: ['may not be blank'],
    });
  });
});

describe('codePointLength', () => {
  it.each([
    ['', 0],
    ['abc', 3],
    ['😀', 1],
    ['😀😀', 2],
    ['e\u0301', 2],
    // man, ZWJ, woman, ZWJ, girl: one glyph, five code points.
    ['👨\u200d👩\u200d👧', 5],
    ['日本語', 3],
  ])('%j has %i code points', (text, n) => {
    expect(codePointLength(text)).toBe(n);
  });
});
