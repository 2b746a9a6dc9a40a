import type { MarkReadResult } from '@messenger/core';
import type { MessengerClient } from '../client/messenger-client.js';
import { UsageError } from '../errors.js';
import type { Output } from '../output.js';

/** Options of `msg read`. */
export interface ReadOptions {
  readonly ids: readonly string[];
  readonly recipient?: string | undefined;
  readonly all?: boolean | undefined;
  readonly upTo?: string | undefined;
  readonly json: boolean;
}

/** `msg read <id…>` or `msg read --recipient R --all|--up-to N`: marks messages read, once. */
export async function readCommand(
  client: MessengerClient,
  options: ReadOptions,
  out: Output,
): Promise<void> {
  const byRecipient = options.recipient !== undefined;
  if (byRecipient === options.ids.length > 0) {
    throw new UsageError('give message ids, or --recipient with --all or --up-to, not both');
  }
  if (byRecipient && !options.all && options.upTo === undefined) {
    throw new UsageError('--recipient needs --all or --up-to <id>');
  }
  if (!byRecipient && (options.all || options.upTo !== undefined)) {
    throw new UsageError('--all and --up-to go with --recipient');
  }
  const result = byRecipient
    ? await markAll(client, options.recipient as string, options.upTo)
    : await client.markRead({ ids: options.ids });
  if (options.json) out.json({ updated: result.updated, ids: result.ids });
  else out.line(`marked ${result.updated} message${result.updated === 1 ? '' : 's'} read`);
}

/**
 * Everything to `recipient` up to `upTo` (or up to the newest unread message when it starts):
 * the server (or core) marks at most a capped number per request and says `more`; ask again
 * with the bound of the first answer until it is done, so that messages arriving meanwhile
 * stay unread.
 */
async function markAll(
  client: MessengerClient,
  recipient: string,
  upTo: string | undefined,
): Promise<MarkReadResult> {
  let bound: string | number | undefined = upTo;
  const ids: number[] = [];
  for (;;) {
    const r = await client.markRead({ recipient, up_to: bound });
    ids.push(...r.ids);
    bound = r.up_to ?? bound;
    if (!r.more || bound === undefined) return { updated: ids.length, ids, more: false };
  }
}
