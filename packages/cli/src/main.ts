import { createRequire } from 'node:module';
import { CommanderError } from 'commander';
import { CommandError, ConfigError, RemoteError, UsageError } from './errors.js';
import { hintOf } from './login-hint.js';
import { processOutput } from './output.js';
import { buildProgram } from './program.js';
import { readStdin } from './read-stdin.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/** Exit codes: 0 ok, 1 runtime error, 2 usage or validation error. */
const EXIT = { ok: 0, runtime: 1, usage: 2 } as const;

/** What a failure prints (one line on stderr; nothing when commander has printed it) and its exit code. */
interface Failure {
  readonly line: string | undefined;
  readonly exitCode: number;
  /** Set for an error nothing expected: printed under MSG_DEBUG. */
  readonly stack?: string | undefined;
}

/**
 * The one mapping from an error to what `msg` prints and exits with. An error with a
 * stable code (core's, the server's, the CLI's own) prints as `msg: <code>: <message>`;
 * the caller's mistakes (usage, settings, input that broke a rule) exit 2, the rest 1.
 */
async function failureOf(err: unknown): Promise<Failure> {
  if (err instanceof CommanderError) {
    // Commander has printed its message already; help and version are not errors.
    return { line: undefined, exitCode: err.exitCode === 0 ? EXIT.ok : EXIT.usage };
  }
  if (err instanceof UsageError || err instanceof ConfigError) {
    return { line: `msg: error: ${err.message}`, exitCode: EXIT.usage };
  }
  if (err instanceof CommandError) {
    return { line: `msg: error: ${err.message}`, exitCode: EXIT.runtime };
  }
  // Loaded here, not up front: `msg --api …` never needs core (and its database
  // drivers) unless something failed.
  const { ErrorCode, MessengerError } = await import('@messenger/core');
  if (err instanceof RemoteError || err instanceof MessengerError) {
    const hint = hintOf(err);
    return {
      line: `msg: ${err.code}: ${err.message}${hint === undefined ? '' : `; ${hint}`}`,
      exitCode: err.code === ErrorCode.validationFailed ? EXIT.usage : EXIT.runtime,
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return {
    line: `msg: internal error: ${message}`,
    exitCode: EXIT.runtime,
    stack: err instanceof Error ? err.stack : undefined,
  };
}

async function main(): Promise<number> {
  const out = processOutput();
  const program = buildProgram({
    env: process.env,
    out,
    readStdin,
    stdinIsTerminal: process.stdin.isTTY === true,
    promptSecret: async (prompt) => (await import('./secret-prompt.js')).promptSecret(prompt),
    version,
  });
  try {
    await program.parseAsync(process.argv);
    return EXIT.ok;
  } catch (err) {
    const { line, exitCode, stack } = await failureOf(err);
    if (line !== undefined) out.note(line);
    if (stack !== undefined && process.env.MSG_DEBUG) out.note(stack);
    return exitCode;
  }
}

process.exitCode = await main();
