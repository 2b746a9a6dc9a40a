import type { ListOptions, MessagePage } from '@messenger/core';
import type { MessengerClient } from '../client/messenger-client.js';
import { UsageError } from '../errors.js';
import type { Output } from '../output.js';
import { looksLikeDate, resolveTime } from '../relative-time.js';

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
  // Relative forms (`2h`, `yesterday`) become instants once, here; core validates the result.
  const now = new Date();
  const since = timeBound('--since', options.since, now);
  const until = timeBound('--until', options.until, now);
  const query: ListOptions = {
    sender: options.sender,
    recipient: options.recipient,
    is_read: options.unread ? false : options.read ? true : undefined,
    since,
    until,
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
    // The time bounds are shown back as used: relative forms as the instants they meant.
    out.json({
      messages: page.messages,
      next_cursor: page.nextCursor,
      ...(since !== undefined && { since: since.trim() }),
      ...(until !== undefined && { until: until.trim() }),
    });
    await markListed();
    return;
  }
  await printPage(page, out, 'No messages.');
  await markListed();
}

/** A page as a table (or `empty` when it has none), and on stderr the cursor of the next one. */
export async function printPage(page: MessagePage, out: Output, empty: string): Promise<void> {
  if (page.messages.length === 0) out.line(empty);
  else {
    const { messageTable } = await import('../message-table.js');
    out.line(messageTable(page.messages, out.color));
  }
  if (page.nextCursor !== null) out.note(`more: add --cursor ${page.nextCursor}`);
}

/**
 * A `--since`/`--until` value as an instant for core: relative forms resolved, ISO-8601
 * passed on for core to check. Anything that is neither is refused here, naming both.
 */
export function timeBound(flag: string, value: string | undefined, now: Date): string | undefined {
  if (value === undefined) return undefined;
  const resolved = resolveTime(value, now);
  if (resolved === value && !looksLikeDate(value)) {
    throw new UsageError(
      `${flag}: must be an ISO-8601 date or date-time, or a time ago (90s, 15m, 2h, 3d, 1w), today or yesterday; got ${JSON.stringify(value)}`,
    );
  }
  return resolved;
}
