import { Argument, Command } from 'commander';
import { createClient } from './client/create-client.js';
import type { MessengerClient } from './client/messenger-client.js';
import { dbMigrateCommand } from './commands/db-migrate.js';
import { listCommand } from './commands/list.js';
import { readCommand } from './commands/read.js';
import { sendCommand } from './commands/send.js';
import { type ServeOptions, serveCommand } from './commands/serve.js';
import { type WatchOptions, watchCommand } from './commands/watch.js';
import { completionScript, SHELLS, type Shell } from './completion.js';
import { type GlobalOptions, resolveDatabase, resolveTransport } from './config.js';
import type { Output } from './output.js';
import { preferQuickStart } from './quick-start.js';

/** What the program needs from its surroundings. */
export interface ProgramContext {
  readonly env: NodeJS.ProcessEnv;
  readonly out: Output;
  readonly readStdin: () => Promise<string>;
  readonly version: string;
}

/** Builds the `msg` command tree. Parsing it runs the chosen command. */
export function buildProgram(ctx: ProgramContext): Command {
  const program = new Command('msg')
    .description(
      'Send and list messages, on the embedded database, PostgreSQL, or a messenger server.',
    )
    .version(ctx.version, '-V, --version')
    // No Option.env(): config.ts reads DATABASE_URL and MSG_API_URL itself, so that a flag
    // can be told from the environment (flags win over it).
    .option(
      '--db <url>',
      'PostgreSQL URL (postgres://…) or embedded data directory (env: DATABASE_URL)',
    )
    .option(
      '--api <url>',
      'use the messenger HTTP API at this URL instead of a database (env: MSG_API_URL)',
    )
    .option(
      '--timeout <ms>',
      'HTTP API: give up after this long, retries included (env: MSG_REQUEST_TIMEOUT_MS, default 30000)',
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => process.stdout.write(s),
      writeErr: (s) => process.stderr.write(s),
    })
    .addHelpText(
      'after',
      `
Where the data lives: --db, else DATABASE_URL, else the embedded database in
MSG_DATA_DIR, else $XDG_DATA_HOME/messenger, else ~/.local/share/messenger.
With --api (or MSG_API_URL, unless --db is given) every command goes through
a messenger server's HTTP API instead.

Exit codes: 0 ok, 2 usage or validation error, 1 runtime error.`,
    );

  /** Runs `fn` with a client for this invocation and always closes it. */
  const withClient =
    <A extends unknown[]>(fn: (client: MessengerClient, ...args: A) => Promise<void>) =>
    async (...args: A) => {
      preferQuickStart();
      const transport = resolveTransport(program.opts<GlobalOptions>(), ctx.env);
      const client = await createClient(
        transport.kind === 'http'
          ? {
              api: transport.api.baseUrl,
              timeoutMs: transport.api.requestTimeoutMs,
              connectTimeoutMs: transport.api.connectTimeoutMs,
              retries: transport.api.retries,
              userAgent: `msg/${ctx.version}`,
            }
          : {
              db: transport.database.databaseUrl,
              lockTimeoutMs: transport.database.lockTimeoutMs,
              purpose: `msg ${process.argv.slice(2, 3).join(' ')}`,
              onCreate: (dir) =>
                ctx.out.progress(`creating the embedded database in ${dir} (once)`),
            },
      );
      try {
        await fn(client, ...args);
      } finally {
        await client.close();
      }
    };

  program
    .command('send')
    .description(
      'Send a message. The text comes from the argument, or from stdin when omitted or "-".',
    )
    .requiredOption('-f, --from <sender>', 'who sends it (1–50 characters)')
    .requiredOption('-t, --to <recipient>', 'who receives it (1–50 characters)')
    .argument('[text]', 'the message (1–160 characters); "-" or nothing reads stdin')
    .option('--json', 'print the stored message as JSON', false)
    .option(
      '--idempotency-key <key>',
      'store the message at most once under this key (over HTTP a fresh key is made per run and reused on retries)',
    )
    .action(
      withClient(
        async (
          client,
          text: string | undefined,
          opts: { from: string; to: string; json: boolean; idempotencyKey?: string },
        ) => {
          await sendCommand(
            client,
            {
              from: opts.from,
              to: opts.to,
              text,
              json: opts.json,
              idempotencyKey: opts.idempotencyKey,
            },
            ctx.out,
            ctx.readStdin,
          );
        },
      ),
    );

  program
    .command('list')
    .description('List messages, newest first, one page at a time.')
    .option('-s, --sender <name>', 'only messages from this sender (case-insensitive)')
    .option('-r, --recipient <name>', 'only messages to this recipient (case-insensitive)')
    .option('--unread', 'only unread messages')
    .option('--read', 'only read messages')
    .option(
      '--since <time>',
      'only messages sent at or after this time: ISO-8601, or 90s, 15m, 2h, 3d, 1w ago, today, yesterday (local midnight)',
    )
    .option('--until <time>', 'only messages sent before this time (same forms as --since)')
    .option('-n, --limit <n>', 'page size, 1–1000 (default 100)')
    .option('--cursor <cursor>', 'continue after the page that printed this cursor')
    .option(
      '-w, --with <name>',
      'with --sender or --recipient: both directions of that conversation',
    )
    .option('--conversation <a,b>', 'both directions between two people')
    .option('--mark-read', 'mark the listed unread messages read, after printing them')
    .option('--json', 'print {"messages": [...], "next_cursor": ...} as JSON', false)
    .action(
      withClient(async (client, opts: Parameters<typeof listCommand>[1]) => {
        await listCommand(client, opts, ctx.out);
      }),
    );

  program
    .command('read')
    .description('Mark messages read: by id, or everything to a recipient (up to an id).')
    .argument('[ids...]', 'message ids')
    .option('-r, --recipient <name>', 'mark messages to this recipient')
    .option('--all', 'with --recipient: every unread message')
    .option('--up-to <id>', 'with --recipient: up to and including this id')
    .option('--json', 'print {"updated": n, "ids": [...]} as JSON', false)
    .action(
      withClient(
        async (
          client,
          ids: string[],
          opts: { recipient?: string; all?: boolean; upTo?: string; json: boolean },
        ) => {
          await readCommand(client, { ids, ...opts }, ctx.out);
        },
      ),
    );

  program
    .command('watch')
    .description('Print messages to a recipient as they arrive, until Ctrl-C.')
    .requiredOption('-r, --recipient <name>', 'whose messages to follow')
    .option('-s, --sender <name>', 'only messages from this sender')
    .option('--after <id-or-cursor>', 'first print every message after this one')
    .option('--json', 'print one JSON event per line', false)
    .action(
      withClient(async (client, opts: WatchOptions) => {
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        try {
          await watchCommand(client, opts, ctx.out, stop.signal);
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      }),
    );

  const db = program.command('db').description('Database administration.');
  db.command('migrate')
    .description('Apply pending schema migrations (the embedded database does this by itself).')
    .option('--json', 'print the applied migrations as JSON', false)
    .action(
      withClient(async (client, opts: { json: boolean }) => {
        await dbMigrateCommand(client, opts, ctx.out);
      }),
    );

  program
    .command('serve')
    .description('Run the HTTP API on this database (embedded by default; migrations are applied).')
    .option('-p, --port <port>', 'port to listen on', '8000')
    .option('-H, --host <host>', 'address to listen on', '127.0.0.1')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent', 'info')
    .action(async (opts: ServeOptions) => {
      await serveCommand(resolveDatabase(program.opts<GlobalOptions>(), ctx.env), opts, ctx.out);
    });

  program
    .command('completion')
    .description(
      'Print a completion script for bash, zsh or fish (the README says how to install it).',
    )
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(SHELLS))
    .action((shell: Shell) => {
      ctx.out.line(completionScript(program, shell).trimEnd());
    });

  return program;
}
