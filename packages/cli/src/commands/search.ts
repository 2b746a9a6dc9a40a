import type { ListOptions } from '@messenger/core';
import type { MessengerClient } from '../client/messenger-client.js';
import { UsageError } from '../errors.js';
import type { Output } from '../output.js';
import { type ListCommandOptions, printPage, timeBound } from './list.js';

/** Options of `msg search`. */
export interface SearchCommandOptions
  extends Pick<
    ListCommandOptions,
    'sender' | 'recipient' | 'with' | 'since' | 'until' | 'limit' | 'cursor' | 'json'
  > {
  /** Best match first instead of newest first. */
  readonly relevance?: boolean | undefined;
}

/**
 * `msg search <terms…>`: one page of the messages whose text matches, newest first (or best
 * match first), as a table with the matches in bold, or JSON with each message's `highlight`.
 * The terms are joined with spaces into the query (web-search syntax), which core checks.
 */
export async function searchCommand(
  client: MessengerClient,
  terms: readonly string[],
  options: SearchCommandOptions,
  out: Output,
): Promise<void> {
  // `-word` is an exclusion (commander passes unknown options on as terms); `--word` is a
  // misspelt option, not something to search for.
  const option = terms.find((t) => t.startsWith('--'));
  if (option !== undefined) throw new UsageError(`unknown option ${JSON.stringify(option)}`);
  const now = new Date();
  const since = timeBound('--since', options.since, now);
  const until = timeBound('--until', options.until, now);
  const query: ListOptions = {
    q: terms.join(' '),
    sender: options.sender,
    recipient: options.recipient,
    with: options.with,
    since,
    until,
    limit: options.limit,
    cursor: options.cursor,
    order: options.relevance ? 'relevance' : undefined,
  };
  const page = await client.list(query);
  if (options.json) {
    out.json({ messages: page.messages, next_cursor: page.nextCursor });
    return;
  }
  await printPage(page, out, 'No messages found.');
}
