import {
  ConflictError,
  DatabaseLockedError,
  ErrorCode,
  UnavailableError,
  ValidationError,
} from '@messenger/core';
import { describe, expect, it } from 'vitest';
import {
  HttpError,
  HttpErrorCode,
  rawErrorAnswer,
  STATUS_OF,
  toErrorReply,
} from './http-errors.js';

const ID = 'req-1';

describe('toErrorReply', () => {
  it('gives every code of core and of the HTTP layer its status', () => {
    const codes = [...Object.values(ErrorCode), ...Object.values(HttpErrorCode)];
    expect(Object.keys(STATUS_OF).sort()).toEqual([...codes].sort());
    for (const status of Object.values(STATUS_OF)) {
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
    }
  });

  it('maps core errors by code, with fields for a validation error', () => {
    const v = toErrorReply(new ValidationError([{ field: 'sender', message: 'is required' }]), ID);
    expect(v).toEqual({
      status: 400,
      headers: {},
      unexpected: false,
      body: {
        error: {
          code: 'validation_failed',
          message: 'sender: is required',
          fields: { sender: ['is required'] },
          request_id: ID,
        },
      },
    });
    expect(toErrorReply(new ConflictError('in flight'), ID).status).toBe(409);
  });

  it('never tells a client where the database is', () => {
    const down = toErrorReply(
      new UnavailableError('database at db.internal:5432/messenger is unavailable (ECONNREFUSED)'),
      ID,
    );
    expect(down.status).toBe(503);
    expect(down.headers).toEqual({ 'retry-after': '1' });
    expect(down.body.error.message).toBe('the database is unavailable; try again shortly');
    const locked = toErrorReply(new DatabaseLockedError('/home/me/data held by pid 7', 7), ID);
    expect(locked.body.error).toMatchObject({ code: 'database_locked' });
    expect(JSON.stringify(locked.body)).not.toContain('/home/me');
  });

  it("maps the HTTP layer's own errors, with their headers", () => {
    const r = toErrorReply(
      new HttpError(HttpErrorCode.methodNotAllowed, 'no', { allow: 'GET' }),
      ID,
    );
    expect(r).toMatchObject({ status: 405, headers: { allow: 'GET' } });
    expect(new HttpError(HttpErrorCode.upgradeRequired, 'x').statusCode).toBe(426);
  });

  it("maps Node's parser errors and Fastify's client errors to the API's codes", () => {
    const node = (code: string) => Object.assign(new Error(code), { code });
    expect(toErrorReply(node('HPE_HEADER_OVERFLOW'), ID).body.error.code).toBe('headers_too_large');
    expect(toErrorReply(node('ERR_HTTP_REQUEST_TIMEOUT'), ID).status).toBe(408);
    expect(toErrorReply(node('HPE_INVALID_METHOD'), ID).body.error).toMatchObject({
      code: 'bad_request',
      message: 'malformed HTTP request',
    });
    const fst = (code: string, statusCode: number) =>
      Object.assign(new Error('fastify text'), { code, statusCode });
    expect(toErrorReply(fst('FST_ERR_BAD_URL', 400), ID).body.error.message).toMatch(
      /not valid URL encoding/,
    );
    expect(toErrorReply(fst('FST_ERR_CTP_BODY_TOO_LARGE', 413), ID).body.error).toEqual({
      code: 'payload_too_large',
      message: 'request body is too large: at most 16 KiB',
      request_id: ID,
    });
    expect(toErrorReply(fst('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415), ID).status).toBe(415);
    expect(toErrorReply(fst('FST_ERR_SOMETHING_NEW', 418), ID).status).toBe(400);
  });

  it('answers anything else with a generic 500 that says nothing of it', () => {
    for (const thrown of [
      new Error('relation "messages" does not exist'),
      Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('x'), { code: 'FST_ERR_REP_INVALID_PAYLOAD_TYPE', statusCode: 500 }),
      undefined,
      null,
      'a string',
      42,
    ]) {
      const r = toErrorReply(thrown, ID);
      expect(r.unexpected).toBe(true);
      expect(r.status).toBe(500);
      expect(r.body.error.code).toBe('internal');
      expect(r.body.error.message).not.toMatch(/relation|ECONN|FST/);
    }
  });
});

describe('rawErrorAnswer', () => {
  it('is a whole HTTP/1.1 answer that closes the connection', () => {
    const r = toErrorReply(new HttpError(HttpErrorCode.badRequest, 'malformed 😀'), ID);
    const text = rawErrorAnswer(r);
    const [head = '', body = ''] = text.split('\r\n\r\n');
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(head).toContain('connection: close');
    expect(head).toContain(`x-request-id: ${ID}`);
    expect(head).toContain(`content-length: ${Buffer.byteLength(body)}`);
    expect(JSON.parse(body)).toEqual(r.body);
  });
});
