import { ErrorCode, type Result } from '@messenger/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from './http-errors.js';

/**
 * An origin as browsers send it (`scheme://host[:port]`, http or https), in the form they
 * send it: lower case, without the scheme's default port. `null` is never a valid
 * allowed origin (it is what sandboxed frames and local files send).
 *
 * @example
 * parseOrigin('HTTPS://App.Example:443'); // { ok: true, value: 'https://app.example' }
 */
export function parseOrigin(raw: string): Result<string> {
  const refuse = (why: string): Result<string> => ({
    ok: false,
    issues: [{ field: 'origin', message: `${JSON.stringify(raw)} ${why}` }],
  });
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return refuse('is not an origin: write scheme://host[:port], e.g. https://app.example');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return refuse('is not an http or https origin');
  }
  if (
    url.username !== '' ||
    url.password !== '' ||
    !/^[a-z]+:\/\/[^/?#]+\/?$/i.test(raw.trim()) ||
    url.origin === 'null'
  ) {
    return refuse('is not an origin: only scheme://host[:port], without a path, query or user');
  }
  return { ok: true, value: url.origin };
}

/** `scheme://host[:port]` in its normal form, or undefined when `text` is not just an origin. */
function originOf(text: string): string | undefined {
  const r = parseOrigin(text);
  return r.ok ? r.value : undefined;
}

/** Requests a web page of another site can make a browser send with the user's ambient access. */
function isChecked(request: FastifyRequest): boolean {
  // A WebSocket upgrade is never subject to CORS; a form POST needs no preflight.
  if ((request.raw as { upgrade?: boolean }).upgrade === true) return true;
  return request.method !== 'GET' && request.method !== 'HEAD' && request.method !== 'OPTIONS';
}

/**
 * Refuses cross-site requests from browsers, in both modes: a WebSocket upgrade, or any
 * request that writes (POST: a form needs no CORS preflight), whose `Origin` is neither the
 * server's own nor in `allowedOrigins` gets `403 forbidden` before anything else happens.
 * Requests without `Origin` (curl, `msg`, programs) pass: they are not a browser acting for
 * a page. Call before the other hooks: a refused page learns nothing, not even whether it
 * would need a token.
 */
export function installOriginCheck(app: FastifyInstance, allowedOrigins: readonly string[]): void {
  const allowed = new Set<string>();
  for (const raw of allowedOrigins) {
    const r = parseOrigin(raw);
    if (!r.ok) throw new TypeError(`allowedOrigins: ${r.issues[0]?.message}`);
    allowed.add(r.value);
  }
  app.addHook('onRequest', async (request) => {
    const origin = request.headers.origin;
    if (origin === undefined || !isChecked(request) || allowed.has(origin)) return;
    const given = originOf(origin);
    // The server's own origin: scheme and host as it sees them (request.protocol and
    // request.host follow X-Forwarded-Proto/-Host when the proxy is trusted).
    if (
      given !== undefined &&
      (allowed.has(given) ||
        (Boolean(request.host) && given === originOf(`${request.protocol}://${request.host}`)))
    ) {
      return;
    }
    throw new HttpError(
      ErrorCode.forbidden,
      `Origin ${JSON.stringify(origin)} may not use this server: cross-site requests from browsers are refused (allow a site with ALLOWED_ORIGINS)`,
    );
  });
}
