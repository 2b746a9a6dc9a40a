import type { Identity, MessengerClient } from '../client/messenger-client.js';
import { readLogin, saveLogin } from '../credentials.js';
import { CommandError, UsageError } from '../errors.js';
import { withHint } from '../login-hint.js';
import { type Output, terminalSafe } from '../output.js';

/** What `msg login` works with. */
export interface LoginOptions {
  /** The server, as `parseApiUrl` writes it: the key the login is stored under. */
  readonly baseUrl: string;
  readonly credentialsPath: string;
  /** `MSG_TOKEN` is set, and will go on overriding what is stored. */
  readonly envTokenSet: boolean;
}

/**
 * `msg login`: reads a token (`readToken`: the prompt or stdin), asks the server whose it is
 * (`GET /api/me`, through `connect(token)`), and stores `{ token, name }` for the server.
 * Nothing is stored when the server refuses the token, or is in open mode (there is nothing
 * to log in to: exit 1).
 */
export async function loginCommand(
  options: LoginOptions,
  readToken: () => Promise<string>,
  connect: (token: string) => Promise<MessengerClient>,
  out: Output,
): Promise<void> {
  // A credentials file that cannot be used is said before the token is asked for.
  readLogin(options.credentialsPath, options.baseUrl);
  const token = (await readToken()).trim();
  const { TOKEN_PATTERN } = await import('@messenger/core');
  if (!TOKEN_PATTERN.test(token)) {
    throw new UsageError(
      token === ''
        ? 'no token given'
        : 'that is not a token: a token is msg_ and 43 letters, digits, - or _ (as msg users add and msg tokens create print it)',
    );
  }
  const client = await connect(token);
  let identity: Identity;
  try {
    identity = await client.whoami();
  } catch (err) {
    const refused = (err as { code?: unknown } | null)?.code === 'unauthenticated';
    throw refused ? withHint(err, `${options.baseUrl} refused this token; nothing was saved`) : err;
  } finally {
    await client.close();
  }
  if (identity.auth !== 'token') {
    throw new CommandError(
      `${options.baseUrl} runs in open mode: there is nothing to log in to (every command works there without a token); nothing was saved`,
    );
  }
  saveLogin(options.credentialsPath, options.baseUrl, { token, name: identity.name });
  out.line(
    `logged in to ${options.baseUrl} as ${terminalSafe(identity.name)} (${tokenLine(identity)})`,
  );
  if (options.envTokenSet) {
    out.note('note: MSG_TOKEN is set, and is used instead of the saved token until you unset it');
  }
}

/** `token 3 "laptop", expires 2026-…` */
export function tokenLine(identity: Identity & { auth: 'token' }): string {
  const { id, label, expires_at } = identity.token;
  const labelled = label === null ? '' : ` "${terminalSafe(label)}"`;
  return `token ${id}${labelled}, ${expires_at === null ? 'never expires' : `expires ${expires_at}`}`;
}
