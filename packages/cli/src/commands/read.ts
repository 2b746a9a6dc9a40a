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
  const result = await client.markRead(
    byRecipient ? { recipient: options.recipient, up_to: options.upTo } : { ids: options.ids },
  );
  if (options.json) out.json(result);
  else out.line(`marked ${result.updated} message${result.updated === 1 ? '' : 's'} read`);
}
