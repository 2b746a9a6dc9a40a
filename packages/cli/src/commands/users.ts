import type { MessengerClient } from '../client/messenger-client.js';
import { type Output, terminalSafe } from '../output.js';

/**
 * `msg users add <name>`: registers a user and prints their first token, once, as the last
 * line of stdout (so that `| tail -n 1` hands it on). `--json`: `{"name", "token"}`.
 */
export async function usersAddCommand(
  client: MessengerClient,
  options: { readonly name: string; readonly json: boolean },
  out: Output,
): Promise<void> {
  const { user, token } = await client.addUser(options.name);
  if (options.json) {
    out.json({ name: user.name, token: token.token });
    return;
  }
  out.line(
    `added user ${terminalSafe(user.name)} with token ${token.id} (${terminalSafe(token.label ?? '')}); the token, shown only this once:`,
  );
  out.line(token.token);
}

/** `msg users list`: every user, oldest first, as a table or JSON. */
export async function usersListCommand(
  client: MessengerClient,
  options: { readonly json: boolean },
  out: Output,
): Promise<void> {
  const users = await client.listUsers();
  if (options.json) out.json(users);
  else if (users.length === 0) out.line('No users. Add one: msg users add <name>');
  else {
    const { usersTable } = await import('../account-table.js');
    out.line(usersTable(users, out.color));
  }
}

/** `msg users disable <name>`: every token of the user stops working. Idempotent. */
export async function usersDisableCommand(
  client: MessengerClient,
  options: { readonly name: string; readonly json: boolean },
  out: Output,
): Promise<void> {
  const user = await client.disableUser(options.name);
  if (options.json) out.json(user);
  else {
    out.line(
      `disabled ${terminalSafe(user.name)} (since ${user.disabled_at}): none of their tokens works any more`,
    );
  }
}
