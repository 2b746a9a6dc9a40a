import type { FastifyInstance, FastifyRequest } from 'fastify';
import secureJson from 'secure-json-parse';
import { HttpError, HttpErrorCode } from './http-errors.js';
import { decodeUrlEncoded, type UrlEncoded } from './url-encoded.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

const badRequest = (message: string) => new HttpError(HttpErrorCode.badRequest, message);

/** The body as text: invalid UTF-8 is refused, never stored as U+FFFD. */
function decodeUtf8(body: Buffer): string {
  try {
    return strictUtf8.decode(body);
  } catch {
    throw badRequest('body is not valid UTF-8');
  }
}

/** A JSON body, saying what is wrong with it; `__proto__` and `constructor.prototype` are refused. */
function parseJson(text: string): unknown {
  if (text.trim() === '') throw badRequest('body is empty: send a JSON object');
  try {
    return secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (err) {
    throw badRequest(`body is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * A form body, as strictly as JSON and decoded as query strings are: a %-escape that is
 * not UTF-8 is refused rather than kept as literal text. Repeated names become arrays
 * (core refuses them).
 */
function parseForm(text: string): UrlEncoded {
  const decoded = decodeUrlEncoded(text);
  if (decoded.ok) return decoded.value;
  throw badRequest(
    `body is not valid form encoding: ${decoded.issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`,
  );
}

/** A content-type parser: UTF-8 text first, then `parse`; what either throws is the 400. */
function strictly(parse: (text: string) => unknown) {
  return (
    _request: FastifyRequest,
    body: Buffer,
    done: (err: Error | null, value?: unknown) => void,
  ) => {
    try {
      done(null, parse(decodeUtf8(body)));
    } catch (err) {
      done(err as Error, undefined);
    }
  };
}

/** JSON and form bodies only (anything else is 415), both decoded strictly. */
export function registerBodyParsers(app: FastifyInstance): void {
  app.removeContentTypeParser(['text/plain', 'application/json']);
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, strictly(parseJson));
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'buffer' },
    strictly(parseForm),
  );
}
