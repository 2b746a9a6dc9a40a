// Values nested thousands of levels deep, as a hostile JSON body can carry them (~10 KB of
// `[[[[…`): every validator must answer with a short issue naming the field, never overflow
// the stack while quoting the value (JSON.stringify did, for mark-read: an HTTP 500).
import { describe, expect, it } from 'vitest';
import { decodeCursor } from '../cursor.js';
import type { ValidationIssue } from '../errors.js';
import type { Result } from '../result.js';
import { parseId } from './ids.js';
import { parseInstant } from './instants.js';
import { validateListOptions } from './list-query.js';
import { validateMarkRead } from './receipts-input.js';
import { checkIdempotencyKey, validateSendInput } from './send-input.js';
import { validateStreamOptions } from './stream-options.js';

const DEPTH = 100_000;

/** `[[[…[]…]]]`, `depth` levels deep, built without recursion. */
function nestedArray(depth: number): unknown[] {
  let v: unknown[] = [];
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** `{"a":{"a":…{}…}}`, `depth` levels deep. */
function nestedObject(depth: number): Record<string, unknown> {
  let v: Record<string, unknown> = {};
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

/** The same as a JSON body parses it: ~10 KB of brackets. */
const parsedBody = JSON.parse(`${'['.repeat(5000)}${']'.repeat(5000)}`) as unknown[];

const hostile: [string, unknown][] = [
  ['a parsed 5000-deep array', parsedBody],
  ['an array 100k deep', nestedArray(DEPTH)],
  ['an object 100k deep', nestedObject(DEPTH)],
];

function issuesOf<T>(r: Result<T>): ValidationIssue[] {
  if (r.ok) throw new Error('expected a rejection');
  return r.issues;
}

/** Short issues, all on `field`. */
function expectShortIssue(r: Result<unknown>, field: string): void {
  const issues = issuesOf(r);
  expect(issues.length).toBeGreaterThan(0);
  for (const issue of issues) {
    expect(issue.field).toBe(field);
    expect(issue.message.length).toBeLessThan(200);
  }
}

describe.each(hostile)('%s', (_name, deep) => {
  it('mark-read: in ids, as ids, as up_to', () => {
    expectShortIssue(validateMarkRead({ ids: [deep] }), 'ids[0]');
    expectShortIssue(validateMarkRead({ ids: [1, deep, 3] }), 'ids[1]');
    expectShortIssue(validateMarkRead({ ids: deep }), Array.isArray(deep) ? 'ids[0]' : 'ids');
    expectShortIssue(validateMarkRead({ recipient: 'alice', up_to: deep }), 'up_to');
    expectShortIssue(validateMarkRead(deep), Array.isArray(deep) ? 'body' : 'ids');
  });

  it('mark-read quotes the value briefly', () => {
    expect(issuesOf(validateMarkRead({ ids: [deep] }))[0]?.message).toMatch(
      /^must be a positive whole number \(a message id\); got (\[\[\[\[…\]\]\]\]|\{"a":\{"a":\{"a":\{…\}\}\}\})$/,
    );
  });

  it('list: every parameter', () => {
    for (const field of ['sender', 'recipient', 'is_read', 'since', 'until', 'limit', 'cursor']) {
      const r = validateListOptions({ [field]: deep });
      expectShortIssue(r, field);
    }
    expectShortIssue(validateListOptions({ sender: 'a', with: deep }), 'with');
    expectShortIssue(validateListOptions({ conversation: deep }), 'conversation');
    // An object is read as the parameters themselves: its key is an unknown parameter.
    expectShortIssue(validateListOptions(deep), Array.isArray(deep) ? 'query' : 'a');
  });

  it('stream: every parameter', () => {
    expectShortIssue(validateStreamOptions({ recipient: deep }), 'recipient');
    expectShortIssue(validateStreamOptions({ recipient: 'a', sender: deep }), 'sender');
    expectShortIssue(validateStreamOptions({ recipient: 'a', after: deep }), 'after');
    const fields = issuesOf(validateStreamOptions(deep)).map((i) => i.field);
    expect(fields).toEqual([Array.isArray(deep) ? 'query' : 'a', 'recipient']);
  });

  it('send: every field, and the body itself', () => {
    const valid = { sender: 'bob', recipient: 'alice', message_content: 'hi' };
    for (const field of ['sender', 'recipient', 'message_content']) {
      expectShortIssue(validateSendInput({ ...valid, [field]: deep }), field);
    }
    const body = validateSendInput(deep);
    if (Array.isArray(deep)) expectShortIssue(body, 'body');
    else
      expect(issuesOf(body).map((i) => i.field)).toEqual([
        'sender',
        'recipient',
        'message_content',
      ]);
    expectShortIssue(checkIdempotencyKey(deep), 'idempotency_key');
  });

  it('ids, instants and cursors', () => {
    expectShortIssue(parseId('after', deep), 'after');
    expectShortIssue(parseInstant('since', deep), 'since');
    expectShortIssue(decodeCursor(Buffer.from('['.repeat(5000)).toString('base64url')), 'cursor');
  });
});
