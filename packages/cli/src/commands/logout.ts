import { removeLogin } from '../credentials.js';
import type { Output } from '../output.js';

/**
 * `msg logout`: forgets the token stored for the server. The token itself keeps working
 * until it expires or an operator revokes it (there is no way for it to revoke itself).
 */
export function logoutCommand(
  options: { readonly baseUrl: string; readonly credentialsPath: string },
  out: Output,
): void {
  if (removeLogin(options.credentialsPath, options.baseUrl)) {
    out.line(
      `logged out of ${options.baseUrl}: the token is no longer saved here (it works until it expires or an operator revokes it: msg tokens revoke <id>)`,
    );
  } else out.line(`not logged in to ${options.baseUrl}`);
}
