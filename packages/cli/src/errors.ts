/** A mistake in how `msg` was called (exit code 2), detected by the CLI itself. */
export class UsageError extends Error {
  readonly code = 'usage';
}

/** A setting from the environment is malformed (exit code 2). */
export class ConfigError extends Error {
  readonly code = 'config';
}

/**
 * The messenger HTTP API answered with an error that has no counterpart among
 * core's errors (`bad_request`, `rate_limited`, `internal`, …), or answered with
 * something that is not the API's answer (`http_error`, `bad_response`).
 * `code` is the server's code, shown as is. Exit code 1.
 */
export class RemoteError extends Error {
  readonly code: string;
  /** HTTP status of the answer; undefined for an error frame of a stream. */
  readonly status: number | undefined;

  constructor(code: string, message: string, status: number | undefined) {
    super(message);
    this.name = 'RemoteError';
    this.code = code;
    this.status = status;
  }
}

/**
 * The command cannot do what it was asked on this machine or with this server, though it was
 * called correctly: a credentials file others can read, a login to a server that has no
 * users. Printed as `msg: error: <message>`, exit code 1.
 */
export class CommandError extends Error {
  readonly code = 'error';
}
