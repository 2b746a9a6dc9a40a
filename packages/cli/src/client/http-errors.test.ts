import {
  DatabaseLockedError,
  ForbiddenError,
  UNAUTHENTICATED_MESSAGE,
  UnauthenticatedError,
  UnavailableError,
  ValidationError,
} from '@messenger/core';
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

  it('gives core errors for refusals: unauthenticated (one message, whatever the server said) and forbidden', async () => {
    const unauthenticated = await errorFromApiError(
      {
        code: 'unauthenticated',
        message: 'token revoked, says a chatty server',
        fields: undefined,
        requestId: 'x',
      },
      401,
    );
    expect(unauthenticated).toBeInstanceOf(UnauthenticatedError);
    expect(unauthenticated.message).toBe(UNAUTHENTICATED_MESSAGE);
    const forbidden = await errorFromApiError(
      {
        code: 'forbidden',
        message: 'sender: you may only send as yourself (bob)',
        fields: undefined,
        requestId: 'x',
      },
      undefined,
    );
    expect(forbidden).toEqual(new ForbiddenError('sender: you may only send as yourself (bob)'));
  });

  it('says when to try again after rate_limited, from Retry-After', async () => {
    const body = {
      code: 'rate_limited',
      message: 'too many requests',
      fields: undefined,
      requestId: 'x',
    };
    expect(await errorFromApiError(body, 429, '7')).toEqual(
      new RemoteError('rate_limited', 'too many requests (try again in 7 s)', 429),
    );
    expect(await errorFromApiError(body, 429, undefined)).toEqual(
      new RemoteError('rate_limited', 'too many requests (try again later)', 429),
    );
    const answer = await errorFromReply(
      {
        status: 429,
        contentType: 'application/json',
        location: undefined,
        retryAfter: '2',
        text: JSON.stringify({ error: { code: 'rate_limited', message: 'slow down' } }),
      },
      'POST http://x/api/messages/send/',
    );
    expect(answer).toEqual(new RemoteError('rate_limited', 'slow down (try again in 2 s)', 429));
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
