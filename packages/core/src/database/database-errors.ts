import { MessengerError, UnavailableError } from '../errors.js';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ENOENT',
]);

/** SQLSTATEs that mean "the database is not there right now": connection exceptions, shutdowns, overload. */
const UNAVAILABLE_STATES = /^(08...|57P0[1-3]|53300|53400|57014)$/;

/**
 * Turns a driver error into a {@link MessengerError} where it means the database is
 * unavailable, with a message that names the cause but never SQL or credentials.
 * Anything else is returned unchanged (an unexpected, internal error).
 */
export function toMessengerError(err: unknown, where: string): unknown {
  if (err instanceof MessengerError) return err;
  if (!(err instanceof Error)) return err;
  const e = err as Error & { code?: unknown; errors?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code === '42P01') {
    return new UnavailableError(
      `database at ${where} has no messenger tables: run the migrations (msg db migrate)`,
      { cause: err },
    );
  }
  if (code === '57014') {
    return new UnavailableError(`database at ${where} did not answer in time`, { cause: err });
  }
  if (code !== undefined && (NETWORK_CODES.has(code) || UNAVAILABLE_STATES.test(code))) {
    return new UnavailableError(`database at ${where} is unavailable (${code})`, { cause: err });
  }
  // AggregateError from a dual-stack connect: look at the first.
  if (Array.isArray(e.errors) && e.errors.length > 0) {
    const first = toMessengerError(e.errors[0], where);
    if (first instanceof MessengerError) return first;
  }
  if (
    /timeout exceeded when trying to connect|Connection terminated|connection timeout|Client has encountered a connection error/i.test(
      e.message,
    )
  ) {
    return new UnavailableError(`database at ${where} is unavailable (${e.message})`, {
      cause: err,
    });
  }
  return err;
}

/**
 * The connection died under the query (server terminated or restarted it, socket reset):
 * nothing was committed unless the commit itself raced the termination.
 */
export function isDeadConnection(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code !== undefined && /^(57P01|57P02|08006|08003|ECONNRESET|EPIPE)$/.test(code)) return true;
  return typeof e?.message === 'string' && /Connection terminated/i.test(e.message);
}

/**
 * The database refused a statement because of the data in it (SQLSTATE class 22, data
 * exception, or 23, integrity constraint violation): nothing was written, and the same rows
 * sent one at a time may succeed but for the one at fault.
 */
export function isRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^2[23]/.test(code);
}
