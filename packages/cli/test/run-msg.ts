import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built `msg` binary, as users run it. */
export const MSG_BIN = fileURLToPath(new URL('../bin/msg.js', import.meta.url));

export interface MsgResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `msg` in a child process with a clean environment (no DATABASE_URL, no
 * MSG_API_URL leaking from the test runner) plus `env`. `script` runs another Node.js
 * script the same way (a copy of the bundle, an example).
 */
export function runMsg(
  args: readonly string[],
  options: {
    env?: Record<string, string | undefined>;
    input?: string;
    timeoutMs?: number;
    script?: string;
  } = {},
): Promise<MsgResult> {
  const env: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  for (const [k, v] of Object.entries(options.env ?? {})) if (v !== undefined) env[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [options.script ?? MSG_BIN, ...args], {
      env,
      stdio: 'pipe',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}
