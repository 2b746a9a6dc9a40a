import type { MessengerClient } from '../client/messenger-client.js';
import { type Output, terminalSafe } from '../output.js';
import { tokenLine } from './login.js';

/**
 * `msg whoami`: over HTTP, who the server says the token belongs to (or that it is in open
 * mode); on the database directly, that there is no user.
 */
export async function whoamiCommand(
  client: MessengerClient,
  options: { readonly json: boolean; readonly where: string },
  out: Output,
): Promise<void> {
  const identity = await client.whoami();
  if (options.json) {
    out.json(identity);
    return;
  }
  switch (identity.auth) {
    case 'token':
      out.line(`${terminalSafe(identity.name)} at ${options.where} (${tokenLine(identity)})`);
      break;
    case 'open':
      out.line(`nobody: ${options.where} runs in open mode (no users; names are free text)`);
      break;
    case 'database':
      out.line(
        'nobody: direct database access has no user (the database credentials are the authority)',
      );
      break;
  }
}
