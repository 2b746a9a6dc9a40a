import type { TokenSource } from './config.js';

const hints = new WeakMap<object, string>();

/**
 * What to do when a server refused the call as unauthenticated, by where the token came from
 * (the server's answer never says why, on purpose; `msg` knows what it sent).
 */
export function loginHint(baseUrl: string, source: TokenSource): string {
  const login = `msg login --api ${baseUrl}`;
  switch (source) {
    case 'none':
      return `not logged in to ${baseUrl}: run ${login}`;
    case 'stored':
      return `the token msg login saved for ${baseUrl} was refused (revoked, expired, or its user disabled): log in again with a new one: ${login}`;
    case 'flag':
      return 'the token given with --token was refused';
    case 'env':
      return 'the token in MSG_TOKEN was refused';
  }
}

/** Attaches `hint` to `err`, for the one line `msg` prints about it. Returns `err`. */
export function withHint(err: unknown, hint: string): unknown {
  if (typeof err === 'object' && err !== null) hints.set(err, hint);
  return err;
}

/** The hint attached to `err`, if any. */
export function hintOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null ? hints.get(err) : undefined;
}
