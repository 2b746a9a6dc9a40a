import { createHash, randomBytes } from 'node:crypto';

/** What a token looks like: `msg_` and the base64url (no padding) of 32 random bytes. */
export const TOKEN_PATTERN = /^msg_[A-Za-z0-9_-]{43}$/;

/** A new secret token: 256 random bits, `msg_` + 43 URL-safe characters. */
export function newToken(): string {
  return `msg_${randomBytes(32).toString('base64url')}`;
}

/**
 * SHA-256 of the whole token string: what is stored and looked up. A fast hash is enough:
 * the secret has 256 random bits, so there is nothing to guess that a slow hash would protect.
 */
export function tokenHash(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
