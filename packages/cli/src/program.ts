import { Argument, Command, Option } from 'commander';
import { createClient } from './client/create-client.js';
import type { MessengerClient } from './client/messenger-client.js';
import { dbMigrateCommand } from './commands/db-migrate.js';
import { listCommand } from './commands/list.js';
import { loginCommand } from './commands/login.js';
import { logoutCommand } from './commands/logout.js';
import { readCommand } from './commands/read.js';
import { searchCommand } from './commands/search.js';
import { sendCommand } from './commands/send.js';
import { type ServeOptions, serveCommand } from './commands/serve.js';
import {
  type TokensCreateOptions,
  tokensCreateCommand,
  tokensListCommand,
  tokensRevokeCommand,
} from './commands/tokens.js';
import { usersAddCommand, usersDisableCommand, usersListCommand } from './commands/users.js';
import { type WatchOptions, watchCommand } from './commands/watch.js';
import { whoamiCommand } from './commands/whoami.js';
import { completionScript, SHELLS, type Shell } from './completion.js';
import {
  databaseHint,
  type GlobalOptions,
  type HttpTransport,
  resolveDatabase,
  resolveToken,
  resolveTransport,
  type TokenSettings,
  type Transport,
  tokenExposure,
} from './config.js';
import { credentialsPath, readLogin, readPosition, savePosition } from './credentials.js';

/** A `Messenger-Position` as servers send it (PostgreSQL's WAL position, `16/B374D848`). */
const WAL_POSITION = /^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/;

import { UsageError } from './errors.js';
import { loginHint, withHint } from './login-hint.js';
import type { Output } from './output.js';
import { preferQuickStart } from './quick-start.js';

/** What the program needs from its surroundings. */
export interface ProgramContext {
  readonly env: NodeJS.ProcessEnv;
  readonly out: Output;
  readonly readStdin: () => Promise<string>;
  /** Whether standard input is a terminal (where a secret must be asked for, not read). */
  readonly stdinIsTerminal: boolean;
  /** Asks for a secret on the terminal without echoing it. */
  readonly promptSecret: (prompt: string) => Promise<string>;
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
    .option(
      '--token <token>',
      'HTTP API: the bearer token to send, instead of the one msg login saved (env: MSG_TOKEN; other users can see a flag in the process list)',
    )
    .option(
      '--insecure',
      'HTTP API: allow sending the token over plain http:// to another machine (anyone on the way can read it)',
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
a messenger server's HTTP API instead, with the token of --token, else
MSG_TOKEN, else the one msg login saved for that server.

Exit codes: 0 ok, 2 usage or validation error, 1 runtime error.`,
    );

  /**
   * The client of `transport`; over HTTP with `token` (refused when it would cross the
   * network in clear, unless --insecure).
   */
  const connect = (transport: Transport, token: string | undefined): Promise<MessengerClient> => {
    if (transport.kind === 'direct') {
      return createClient({
        db: transport.database.databaseUrl,
        lockTimeoutMs: transport.database.lockTimeoutMs,
        purpose: `msg ${process.argv.slice(2, 3).join(' ')}`,
        onCreate: (dir) => ctx.out.progress(`creating the embedded database in ${dir} (once)`),
      });
    }
    const { api } = transport;
    if (token !== undefined) refuseExposure(api.baseUrl);
    return createClient({
      api: api.baseUrl,
      token,
      insecure: program.opts<GlobalOptions>().insecure === true,
      timeoutMs: api.requestTimeoutMs,
      connectTimeoutMs: api.connectTimeoutMs,
      retries: api.retries,
      userAgent: `msg/${ctx.version}`,
      positions: {
        get: () => readPosition(credentialsPath(ctx.env), api.baseUrl),
        set: (position) => {
          if (WAL_POSITION.test(position))
            savePosition(credentialsPath(ctx.env), api.baseUrl, position);
        },
      },
    });
  };

  /** Unless --insecure: refuses a token bound for plain http:// to another machine. */
  const refuseExposure = (baseUrl: string): void => {
    const exposure = tokenExposure(baseUrl);
    if (exposure !== undefined && program.opts<GlobalOptions>().insecure !== true) {
      throw new UsageError(
        `${exposure}: use https://, or --insecure if you trust every network on the way`,
      );
    }
  };

  /** The server `msg login`/`logout` work on: --api or MSG_API_URL. */
  const loginServer = (command: string): HttpTransport => {
    const transport = resolveTransport(program.opts<GlobalOptions>(), ctx.env);
    if (transport.kind !== 'http') {
      throw new UsageError(
        `${command} needs a server: --api <url> or MSG_API_URL (the database directly needs no login)`,
      );
    }
    return transport;
  };

  /**
   * Runs `fn` with a client for this invocation and always closes it. `check` looks at the
   * arguments for the transport before anything is opened. Over HTTP the token is --token,
   * else MSG_TOKEN, else the one `msg login` saved for the server; a refusal as
   * unauthenticated gets a hint that follows from where the token came from.
   */
  const withClient =
    <A extends unknown[]>(
      fn: (client: MessengerClient, ...args: A) => Promise<void>,
      check?: (transport: Transport, ...args: A) => void,
    ) =>
    async (...args: A) => {
      preferQuickStart();
      const flags = program.opts<GlobalOptions>();
      const transport = resolveTransport(flags, ctx.env);
      check?.(transport, ...args);
      let tokens: TokenSettings | undefined;
      if (transport.kind === 'http') {
        const { baseUrl } = transport.api;
        tokens = resolveToken(
          flags,
          ctx.env,
          () => readLogin(credentialsPath(ctx.env), baseUrl)?.token,
        );
      } else if (flags.token !== undefined) {
        throw new UsageError(
          '--token is for a server (--api or MSG_API_URL): the database directly needs no token',
        );
      }
      const client = await connect(transport, tokens?.token);
      try {
        await fn(client, ...args);
      } catch (err) {
        if (
          transport.kind === 'http' &&
          tokens !== undefined &&
          (err as { code?: unknown } | null)?.code === 'unauthenticated'
        ) {
          throw withHint(err, loginHint(transport.api.baseUrl, tokens.source));
        }
        throw err;
      } finally {
        await client.close();
      }
    };

  program
    .command('send')
    .description(
      'Send a message. The text comes from the argument, or from stdin when omitted or "-".',
    )
    .option(
      '-f, --from <sender>',
      'who sends it (1–50 characters); over a server, the logged-in user unless given',
    )
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
          opts: { from?: string; to: string; json: boolean; idempotencyKey?: string },
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
        (transport, _text, opts) => {
          if (transport.kind === 'direct' && opts.from === undefined) {
            throw new UsageError(
              "--from is required on the database directly (there is no logged-in user there; over a server, --from defaults to the token's user)",
            );
          }
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
    .command('search')
    .description(
      'Find messages by their text, newest first: words (all must occur), "a phrase", a or b, -excluded; case and accents ignored, the last word a prefix.',
    )
    .argument('<terms...>', 'what to find (joined with spaces into one query)')
    .option('-s, --sender <name>', 'only messages from this sender (case-insensitive)')
    .option('-r, --recipient <name>', 'only messages to this recipient (case-insensitive)')
    .option(
      '-w, --with <name>',
      'with --sender or --recipient: both directions of that conversation',
    )
    .option('--since <time>', 'only messages sent at or after this time (forms as in msg list)')
    .option('--until <time>', 'only messages sent before this time (same forms)')
    .option('-n, --limit <n>', 'page size, 1–1000 (default 100)')
    .option('--cursor <cursor>', 'continue after the page that printed this cursor')
    .option('--relevance', 'best match first instead of newest first')
    .option(
      '--json',
      'print {"messages": [...], "next_cursor": ...}; each message has highlight',
      false,
    )
    // `-word` excludes a word: a term, not an unknown option (searchCommand refuses `--x`).
    .allowUnknownOption()
    .action(
      withClient(async (client, terms: string[], opts: Parameters<typeof searchCommand>[2]) => {
        await searchCommand(client, terms, opts, ctx.out);
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
    .option(
      '-r, --recipient <name>',
      'whose messages to follow; over a server, the logged-in user unless given',
    )
    .option('-s, --sender <name>', 'only messages from this sender')
    .option('--after <id-or-cursor>', 'first print every message after this one')
    .option('--json', 'print one JSON event per line', false)
    .action(
      withClient(
        async (client, opts: WatchOptions) => {
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
        },
        (transport, opts) => {
          if (transport.kind === 'direct' && opts.recipient === undefined) {
            throw new UsageError(
              "--recipient is required on the database directly (there is no logged-in user there; over a server, watch follows the token's user)",
            );
          }
        },
      ),
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

  const users = program
    .command('users')
    .description('Users of token mode (operators: on the database directly, not over --api).');
  users
    .command('add')
    .description(
      "Add a user and issue their first token: the token is stdout's last line, shown only this once.",
    )
    .argument('<name>', 'the user name (1–50 characters; unique in any case)')
    .option('--json', 'print {"name", "token"} as JSON', false)
    .action(
      withClient(async (client, name: string, opts: { json: boolean }) => {
        await usersAddCommand(client, { name, json: opts.json }, ctx.out);
      }),
    );
  users
    .command('list')
    .description('List users, oldest first.')
    .option('--json', 'print the users as JSON', false)
    .action(
      withClient(async (client, opts: { json: boolean }) => {
        await usersListCommand(client, opts, ctx.out);
      }),
    );
  users
    .command('disable')
    .description('Disable a user: none of their tokens works any more (nothing is deleted).')
    .argument('<name>', 'the user name')
    .option('--json', 'print the user as JSON', false)
    .action(
      withClient(async (client, name: string, opts: { json: boolean }) => {
        await usersDisableCommand(client, { name, json: opts.json }, ctx.out);
      }),
    );

  const tokens = program
    .command('tokens')
    .description(
      'Bearer tokens of token mode (operators: on the database directly, not over --api).',
    );
  tokens
    .command('create')
    .description("Issue a token for a user: the token is stdout's last line, shown only this once.")
    .argument('<name>', 'whose token it is')
    .option('--label <label>', 'what it is for, shown in lists (1–100 characters)')
    .option(
      '--expires <when>',
      'when it stops working: a time from now (90m, 12h, 30d, 1w) or an ISO-8601 date-time (default: never)',
    )
    .option('--json', 'print the token and its record as JSON', false)
    .action(
      withClient(async (client, name: string, opts: Omit<TokensCreateOptions, 'name'>) => {
        await tokensCreateCommand(client, { ...opts, name }, ctx.out);
      }),
    );
  tokens
    .command('list')
    .description("List tokens (all, or one user's), oldest first: never the secret.")
    .argument('[name]', "only this user's tokens")
    .option('--json', 'print the tokens as JSON', false)
    .action(
      withClient(async (client, name: string | undefined, opts: { json: boolean }) => {
        await tokensListCommand(client, { name, json: opts.json }, ctx.out);
      }),
    );
  tokens
    .command('revoke')
    .description('Revoke a token by its id (tokens list shows it): it stops working at once.')
    .argument('<token-id>', "the token's id")
    .option('--json', "print the token's record as JSON", false)
    .action(
      withClient(async (client, id: string, opts: { json: boolean }) => {
        await tokensRevokeCommand(client, { id, json: opts.json }, ctx.out);
      }),
    );

  program
    .command('login')
    .description(
      'Save a token for a server (--api or MSG_API_URL), checked with it first: asked for without echo, or read from stdin.',
    )
    .option('--token-stdin', 'read the token from standard input (a pipe), not from a prompt')
    .action(async (opts: { tokenStdin?: boolean }) => {
      const transport = loginServer('login');
      const { baseUrl } = transport.api;
      if (program.opts<GlobalOptions>().token !== undefined) {
        throw new UsageError(
          'login reads the token from a prompt or --token-stdin, not --token (a flag stays in your shell history)',
        );
      }
      // Before the token is asked for: nobody should paste it only to see it refused.
      refuseExposure(baseUrl);
      let readToken: () => Promise<string>;
      if (opts.tokenStdin) {
        if (ctx.stdinIsTerminal) {
          throw new UsageError(
            '--token-stdin reads a pipe, and stdin is a terminal (the token would show as you type it): leave out --token-stdin to be asked for it without echo',
          );
        }
        readToken = ctx.readStdin;
      } else {
        if (!ctx.stdinIsTerminal) {
          throw new UsageError(
            'stdin is not a terminal to ask for the token on: pipe the token in with --token-stdin',
          );
        }
        readToken = () => ctx.promptSecret(`token for ${baseUrl} (not shown): `);
      }
      await loginCommand(
        {
          baseUrl,
          credentialsPath: credentialsPath(ctx.env),
          envTokenSet: (ctx.env.MSG_TOKEN ?? '').trim() !== '',
        },
        readToken,
        (token) => connect(transport, token),
        ctx.out,
      );
    });

  program
    .command('logout')
    .description('Forget the token saved for a server (--api or MSG_API_URL).')
    .action(() => {
      logoutCommand(
        { baseUrl: loginServer('logout').api.baseUrl, credentialsPath: credentialsPath(ctx.env) },
        ctx.out,
      );
    });

  program
    .command('whoami')
    .description(
      'Say who the commands act as: over a server, whose token it is; on the database directly, nobody.',
    )
    .option('--json', 'print {"auth", "name", …} as JSON', false)
    .action(
      withClient(async (client, opts: { json: boolean }) => {
        const transport = resolveTransport(program.opts<GlobalOptions>(), ctx.env);
        const where = transport.kind === 'http' ? transport.api.baseUrl : 'the database';
        await whoamiCommand(client, { json: opts.json, where }, ctx.out);
      }),
    );

  program
    .command('serve')
    .description('Run the HTTP API on this database (embedded by default; migrations are applied).')
    .option('-p, --port <port>', 'port to listen on', '8000')
    .option('-H, --host <host>', 'address to listen on', '127.0.0.1')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent', 'info')
    .addOption(
      new Option(
        '--auth <mode>',
        'token: every /api/messages… route needs a token; open: names are free text, anyone reads everything',
      )
        .choices(['token', 'open'])
        .default('token'),
    )
    .option(
      '--rate-limit <rate>',
      'token mode: requests per user, e.g. 20/s or 600/m, or off (default 20/s)',
    )
    .option(
      '--allowed-origin <origin>',
      'a web origin allowed to call the API from a browser, e.g. https://app.example.com (repeatable)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(
      '--stream-max-per-address <n>',
      'open live streams per client address (default 50; 0: no cap)',
    )
    .option(
      '--stream-max-per-user <n>',
      'token mode: open live streams per user (default 10; 0: no cap)',
    )
    .option('--stream-max-total <n>', 'open live streams in this server (default 2000; 0: no cap)')
    .option(
      '--stream-max-lifetime <seconds>',
      'a live stream is closed after this long with a cursor the client resumes from (default 3600; 0: never)',
    )
    .option(
      '--read-db <url>',
      'a streaming standby of the PostgreSQL --db that takes reads (repeatable); see Scaling in the README',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .action(async (opts: ServeOptions) => {
      const flags = program.opts<GlobalOptions>();
      const database = resolveDatabase(flags, ctx.env);
      await serveCommand(
        { ...database, hint: databaseHint(flags, ctx.env, database) },
        opts,
        ctx.out,
      );
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
