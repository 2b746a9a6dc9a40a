import type { MessengerClient } from '../client/messenger-client.js';
import type { Output } from '../output.js';
import { sentLine } from '../output.js';

/** Options of `msg send`. */
export interface SendOptions {
  /** Over HTTP in token mode it may be left out: the token's user sends. */
  readonly from?: string | undefined;
  readonly to: string;
  /** The text; `undefined` or `-` means standard input. */
  readonly text: string | undefined;
  readonly json: boolean;
  /** Your own idempotency key; over HTTP one is made per invocation when omitted. */
  readonly idempotencyKey?: string | undefined;
}

/** `msg send`: stores one message and prints it. */
export async function sendCommand(
  client: MessengerClient,
  options: SendOptions,
  out: Output,
  readText: () => Promise<string>,
): Promise<void> {
  const text = options.text === undefined || options.text === '-' ? await readText() : options.text;
  const message = await client.send({
    sender: options.from,
    recipient: options.to,
    message_content: text,
    idempotencyKey: options.idempotencyKey,
  });
  if (options.json) out.json(message);
  else out.line(sentLine(message, out.color));
}
