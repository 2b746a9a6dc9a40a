import type { ListOptions } from '@messenger/core';
import type { MessengerClient } from '../client/messenger-client.js';
import { UsageError } from '../errors.js';
import type { Output } from '../output.js';

/** Options of `msg list`. */
export interface ListCommandOptions {
  readonly sender?: string | undefined;
  readonly recipient?: string | undefined;
  readonly unread?: boolean | undefined;
  readonly read?: boolean | undefined;
  readonly since?: string | undefined;
  readonly until?: string | undefined;
  readonly limit?: string | undefined;
  readonly cursor?: string | undefined;
  readonly json: boolean;
}

/** `msg list`: one page of messages, newest first, as a table or JSON. */
export async function listCommand(
  client: MessengerClient,
  options: ListCommandOptions,
  out: Output,
): Promise<void> {
  if (options.unread && options.read) {
    throw new UsageError('--unread and --read cannot be used together');
  }
  const query: ListOptions = {
    sender: options.sender,
    recipient: options.recipient,
    is_read: options.unread ? false : options.read ? true : undefined,
    since: options.since,
    until: options.until,
    limit: options.limit,
    cursor: options.cursor,
  };
  const page = await client.list(query);
  if (options.json) {
    out.json({ messages: page.messages, next_cursor: page.nextCursor });
    return;
  }
  if (page.messages.length === 0) out.line('No messages.');
  else {
    const { messageTable } = await import('../message-table.js');
    out.line(messageTable(page.messages, out.color));
  }
  if (page.nextCursor !== null) out.note(`more: add --cursor ${page.nextCursor}`);
}
