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
  readonly with?: string | undefined;
  readonly conversation?: string | undefined;
  /** After listing, mark the listed unread messages read. */
  readonly markRead?: boolean | undefined;
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
    with: options.with,
    conversation: options.conversation,
  };
  const page = await client.list(query);
  // Shown as they were when listed; marked read only after they were printed.
  const unread = page.messages.filter((m) => !m.is_read).map((m) => m.id);
  const markListed = async () => {
    if (!options.markRead || unread.length === 0) return;
    const { updated } = await client.markRead({ ids: unread });
    out.note(`marked ${updated} message${updated === 1 ? '' : 's'} read`);
  };
  if (options.json) {
    out.json({ messages: page.messages, next_cursor: page.nextCursor });
    await markListed();
    return;
  }
  if (page.messages.length === 0) out.line('No messages.');
  else {
    const { messageTable } = await import('../message-table.js');
    out.line(messageTable(page.messages, out.color));
  }
  if (page.nextCursor !== null) out.note(`more: add --cursor ${page.nextCursor}`);
  await markListed();
}
