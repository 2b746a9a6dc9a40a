import type { MessengerClient } from '../client/messenger-client.js';
import { UsageError } from '../errors.js';
import { type Output, terminalSafe } from '../output.js';
import { looksLikeDate, resolveLater } from '../relative-time.js';

/** Options of `msg tokens create`. */
export interface TokensCreateOptions {
  readonly name: string;
  readonly label?: string | undefined;
  /** `30d`, `12h`, … from now, or an ISO-8601 date-time. */
  readonly expires?: string | undefined;
  readonly json: boolean;
}

/**
 * `msg tokens create <name>`: issues a token and prints it, once, as the last line of
 * stdout. `--json`: the token's record, secret included.
 */
export async function tokensCreateCommand(
  client: MessengerClient,
  options: TokensCreateOptions,
  out: Output,
): Promise<void> {
  const token = await client.createToken(options.name, {
    label: options.label,
    expiresAt: expiry(options.expires),
  });
  if (options.json) {
    out.json(token);
    return;
  }
  const label = token.label === null ? '' : ` (${terminalSafe(token.label)})`;
  const expires = token.expires_at === null ? 'never expires' : `expires ${token.expires_at}`;
  out.line(
    `created token ${token.id}${label} for ${terminalSafe(token.user)}, ${expires}; the token, shown only this once:`,
  );
  out.line(token.token);
}

/** `msg tokens list [<name>]`: tokens and their status, never a secret. */
export async function tokensListCommand(
  client: MessengerClient,
  options: { readonly name?: string | undefined; readonly json: boolean },
  out: Output,
): Promise<void> {
  const tokens = await client.listTokens(options.name);
  if (options.json) out.json(tokens);
  else if (tokens.length === 0) out.line('No tokens.');
  else {
    const { tokensTable } = await import('../account-table.js');
    out.line(tokensTable(tokens, out.color));
  }
}

/** `msg tokens revoke <token-id>`: the token stops working at once. Idempotent. */
export async function tokensRevokeCommand(
  client: MessengerClient,
  options: { readonly id: string; readonly json: boolean },
  out: Output,
): Promise<void> {
  const token = await client.revokeToken(options.id);
  if (options.json) out.json(token);
  else {
    const label = token.label === null ? '' : ` (${terminalSafe(token.label)})`;
    out.line(`revoked token ${token.id}${label} of ${terminalSafe(token.user)}`);
  }
}

/**
 * An `--expires` value as an instant for core: amounts from now resolved, ISO-8601 passed on
 * for core to check (it must be in the future). Anything that is neither is refused here.
 */
function expiry(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const resolved = resolveLater(value);
  if (resolved === value && !looksLikeDate(value)) {
    throw new UsageError(
      `--expires: must be a time from now (90m, 12h, 30d, 1w) or an ISO-8601 date-time; got ${JSON.stringify(value)}`,
    );
  }
  return resolved;
}
