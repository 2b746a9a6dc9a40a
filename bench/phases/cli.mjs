// CLI wall time: `msg` over HTTP and on an embedded database; with --profile, one `msg send`
// under --cpu-prof as well.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { repoRoot, runCommand } from '@messenger/testing';
import { measureCli } from '../lib/cli-timing.mjs';
import { profileArgs } from '../lib/options.mjs';

/** Returns the CLI rows (none when the phase failed). */
export async function measureCliPhase(run, { server }, cleanup) {
  const { settings } = run.options;
  const rows =
    (await run.phase('CLI', async () => {
      const c = await measureCli(server.url, {
        runs: settings.cliRuns,
        embeddedRuns: settings.embeddedRuns,
        cleanup,
      });
      for (const x of c) run.log(`${x.label}: median ${x.median.toFixed(0)} ms`);
      return c;
    })) ?? [];
  if (run.options.profile) {
    await run.phase('CLI profile', async () => {
      const msg = join(repoRoot, 'packages/cli/bin/msg.js');
      const to = `profile-${randomUUID().slice(0, 8)}`;
      const r = await runCommand(
        process.execPath,
        [
          ...profileArgs(run.options, 'msg-send-http'),
          msg,
          '--api',
          server.url,
          'send',
          '-f',
          'p',
          '-t',
          to,
          'x',
        ],
        { env: { ...process.env, NO_COLOR: '1' } },
      );
      if (r.code !== 0) throw new Error(r.stderr);
    });
  }
  return rows;
}
