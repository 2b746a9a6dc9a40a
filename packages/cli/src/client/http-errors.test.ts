import { DatabaseLockedError, UnavailableError, ValidationError } from '@messenger/core';
import { describe, expect, it } from 'vitest';
import { RemoteError } from '../errors.js';
import { errorFromApiError, errorFromReply, readApiError } from './http-errors.js';

describe('errorFromApiError: one mapping for answers and stream frames', () => {
  it('turns validation_failed back into core issues from fields, not from the message text', async () => {
    const err = await errorFromApiError(
      {
        code: 'validation_failed',
        // The message alone would split wrongly: a rule itself holds "; " and ": ".
        message: 'after: no message with id 9; really: yes',
        fields: { after: ['no message with id 9; really: yes'], 'ids[0]': ['must be positive'] },
        requestId: 'r1',
      },
      undefined,
    );
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues).toEqual([
      { field: 'after', message: 'no message with id 9; really: yes' },
      { field: 'ids[0]', message: 'must be positive' },
    ]);
  });

  it('gives core errors for core codes, whatever the transport', async () => {
    const frame = await errorFromApiError(
      {
        code: 'unavailable',
        message: 'the database is unavailable',
        fields: undefined,
        requestId: 'x',
      },
      undefined,
    );
    expect(frame).toBeInstanceOf(UnavailableError);
    const answer = await errorFromApiError(
      { code: 'database_locked', message: 'held', fields: undefined, requestId: 'x' },
      503,
    );
    expect(answer).toBeInstanceOf(DatabaseLockedError);
  });

  it("keeps other codes as the server's, with the request id of a server fault", async () => {
    const internal = await errorFromApiError(
      { code: 'internal', message: 'internal server error', fields: undefined, requestId: 'abc' },
      undefined,
    );
    expect(internal).toEqual(
      new RemoteError('internal', 'internal server error (request id abc)', undefined),
    );
    const upgrade = await errorFromApiError(
      { code: 'upgrade_required', message: 'use a WebSocket', fields: undefined, requestId: 'abc' },
      426,
    );
    expect(upgrade).toEqual(new RemoteError('upgrade_required', 'use a WebSocket', 426));
  });

  it('reads the error body of an answer and of a frame alike, and nothing else', async () => {
    const error = { code: 'conflict', message: 'in flight', request_id: 'q' };
    expect(readApiError({ error })).toEqual({
      code: 'conflict',
      message: 'in flight',
      fields: undefined,
      requestId: 'q',
    });
    expect(readApiError({ type: 'error', error })?.code).toBe('conflict');
    for (const bad of [
      undefined,
      null,
      'x',
      { error: 'x' },
      { error: { code: 1, message: 'm' } },
    ]) {
      expect(readApiError(bad)).toBeUndefined();
    }
    const html = await errorFromReply(
      { status: 502, contentType: 'text/html', location: undefined, text: '<html>' },
      'GET http://x/',
    );
    expect(html).toEqual(
      new RemoteError(
        'http_error',
        'HTTP 502 Bad Gateway from GET http://x/ (text/html, not a messenger API error)',
        502,
      ),
    );
  });
});
