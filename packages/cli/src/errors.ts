/** A mistake in how `msg` was called (exit code 2), detected by the CLI itself. */
export class UsageError extends Error {
  readonly code = 'usage';
}

/** A setting from the environment is malformed (exit code 2). */
export class ConfigError extends Error {
  readonly code = 'config';
}
