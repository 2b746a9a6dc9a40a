import { createRequire } from 'node:module';
import { CommanderError } from 'commander';
import { ConfigError, RemoteError, UsageError } from './errors.js';
import { processOutput } from './output.js';
import { buildProgram } from './program.js';
import { readStdin } from './read-stdin.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/** Exit codes: 0 ok, 1 runtime error, 2 usage or validation error. */
const EXIT_RUNTIME = 1;
const EXIT_USAGE = 2;

async function main(): Promise<number> {
  const out = processOutput();
  const program = buildProgram({ env: process.env, out, readStdin, version });
  try {
    await program.parseAsync(process.argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has printed its message already; help and version are not errors.
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (err instanceof UsageError || err instanceof ConfigError) {
      out.note(`msg: error: ${err.message}`);
      return EXIT_USAGE;
    }
    if (err instanceof RemoteError) {
      out.note(`msg: ${err.code}: ${err.message}`);
      return err.code === 'validation_failed' ? EXIT_USAGE : EXIT_RUNTIME;
    }
    // Loaded here, not up front: `msg --api …` never needs core (and its database
    // drivers) unless something failed.
    const { MessengerError } = await import('@messenger/core');
    if (err instanceof MessengerError) {
      out.note(`msg: ${err.code}: ${err.message}`);
      return err.code === 'validation_failed' ? EXIT_USAGE : EXIT_RUNTIME;
    }
    const message = err instanceof Error ? err.message : String(err);
    out.note(`msg: internal error: ${message}`);
    if (process.env.MSG_DEBUG && err instanceof Error) out.note(err.stack ?? '');
    return EXIT_RUNTIME;
  }
}

process.exitCode = await main();
