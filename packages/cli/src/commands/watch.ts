import type { StreamEvent } from '@messenger/core';
import type { MessengerClient } from '../client/messenger-client.js';
import { type Output, terminalSafe } from '../output.js';

/** Options of `msg watch`. */
export interface WatchOptions {
  /** Over HTTP in token mode it may be left out: the caller's own mail. */
  readonly recipient?: string | undefined;
  readonly sender?: string | undefined;
  readonly after?: string | undefined;
  readonly json: boolean;
}

/**
 * `msg watch`: prints messages to the recipient as they arrive, until `signal`
 * aborts (Ctrl-C). With `--json`, one event per line.
 */
export async function watchCommand(
  client: MessengerClient,
  options: WatchOptions,
  out: Output,
  signal: AbortSignal,
): Promise<void> {
  const c = out.color;
  const show = (event: StreamEvent) => {
    if (options.json) {
      out.line(JSON.stringify(event));
      return;
    }
    if (event.type === 'message') {
      const m = event.message;
      out.line(
        `${c.dim(`#${m.id}`)} ${m.sent_datetime.slice(0, 19).replace('T', ' ')} ${c.cyan(terminalSafe(m.sender))} → ${c.magenta(
          terminalSafe(m.recipient),
        )}: ${terminalSafe(m.message_content)}`,
      );
    } else {
      out.line(
        c.dim(
          `${terminalSafe(event.recipient)} read ${event.ids.map((id) => `#${id}`).join(', ')} from ${terminalSafe(event.sender)}`,
        ),
      );
    }
  };
  if (!options.json) {
    out.note(`watching messages to ${options.recipient ?? 'you'}; Ctrl-C stops`);
  }
  await client.watch(
    { recipient: options.recipient, sender: options.sender, after: options.after },
    show,
    signal,
  );
}
