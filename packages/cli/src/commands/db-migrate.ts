import type { MessengerClient } from '../client/messenger-client.js';
import type { Output } from '../output.js';

/** `msg db migrate`: brings the database schema up to date. */
export async function dbMigrateCommand(
  client: MessengerClient,
  options: { readonly json: boolean },
  out: Output,
): Promise<void> {
  const { applied } = await client.migrate();
  if (options.json) out.json({ applied });
  else if (applied.length === 0) out.line('Database is up to date.');
  else for (const name of applied) out.line(`${out.color.green('applied')} ${name}`);
}
