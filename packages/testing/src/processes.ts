import { type ChildProcess, spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { probeStatus } from './http-probe.js';

/** The repository's root directory. */
export const repoRoot: string = fileURLToPath(new URL('../../../', import.meta.url));

/** A port that was free on `host` a moment ago (the OS picked it). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** Whether something accepts TCP connections on `host:port` right now. */
export function canConnect(port: number, host = '127.0.0.1', timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host, timeout: timeoutMs });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

/** How a child process ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A child process started by {@link startProcess}, with everything it printed. */
export interface RunningProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves when the process has exited. */
  readonly exited: Promise<Exit>;
  /** The exit, once it has happened. */
  exit(): Exit | undefined;
  /** stdout and stderr so far, interleaved. */
  output(): string;
  /** stdout alone so far. */
  stdout(): string;
  /** stderr alone so far. */
  stderr(): string;
  /** Sends `signal` and waits for the exit; SIGKILL after `graceMs`. Safe to call twice. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<Exit>;
}

/** What {@link stopAll} and the exit hook need of a child: its handle and how to stop it. */
interface Tracked {
  readonly child: ChildProcess;
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<unknown>;
}

const running = new Map<Tracked, NodeJS.Signals>();

// A test runner that exits leaves no server or nginx behind.
process.once('exit', () => {
  for (const [p, signal] of running) p.child.kill(signal);
});

/** Starts `command args…` with its output captured; {@link stopAll} ends whatever is still running. */
export function startProcess(
  name: string,
  command: string,
  args: readonly string[],
  options: {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    /** Sent if the test process exits while this one still runs (nginx: SIGTERM, so its master ends its workers). */
    exitSignal?: NodeJS.Signals;
  } = {},
): RunningProcess {
  const child = spawn(command, args, {
    cwd: options.cwd ?? repoRoot,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let stdout = '';
  let stderr = '';
  // Bounded: only the tail matters, for a failure message or a command's last output.
  const tail = (text: string) => (text.length > 200_000 ? text.slice(-100_000) : text);
  child.stdout?.on('data', (chunk: Buffer) => {
    out = tail(out + chunk.toString('utf8'));
    stdout = tail(stdout + chunk.toString('utf8'));
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    out = tail(out + chunk.toString('utf8'));
    stderr = tail(stderr + chunk.toString('utf8'));
  });
  let ended: Exit | undefined;
  const exited = new Promise<Exit>((resolve) => {
    child.once('error', (err) => {
      out += `\n[spawn failed: ${err.message}]\n`;
      ended ??= { code: null, signal: null };
      resolve(ended);
    });
    child.once('exit', (code, signal) => {
      ended = { code, signal };
      resolve(ended);
    });
  });
  const handle: RunningProcess = {
    name,
    child,
    pid: child.pid ?? -1,
    exited,
    exit: () => ended,
    output: () => out,
    stdout: () => stdout,
    stderr: () => stderr,
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000) {
      if (ended === undefined) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      running.delete(handle);
      return ended as Exit;
    },
  };
  running.set(handle, options.exitSignal ?? 'SIGKILL');
  void exited.then(() => running.delete(handle));
  return handle;
}

/** Stops every process {@link startProcess} or {@link runCommand} started that still runs (for `afterAll`). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running.keys()].map((p) => p.stop('SIGTERM', 3_000)));
}

/** How a command run to completion by {@link runCommand} ended, and what it printed. */
export interface CommandResult extends Exit {
  readonly stdout: string;
  readonly stderr: string;
  /** Wall time from spawn to exit, in ms (as a shell's `time` sees it). */
  readonly ms: number;
}

/**
 * Runs `command args…` to completion with `input` on its stdin; SIGKILL after `timeoutMs`.
 * Rejects only when it cannot be started. {@link stopAll} ends it too.
 */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
  const started = performance.now();
  const child = spawn(command, args, {
    cwd: options.cwd ?? repoRoot,
    env: options.env ?? process.env,
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
  // A command that exits before reading its input must not fail the run with EPIPE.
  child.stdin.on('error', () => {});
  child.stdin.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  // Wall time ends when the process exits, not when its pipes close.
  let ms: number | undefined;
  child.once('exit', () => {
    ms = performance.now() - started;
  });
  // Interrupted (stopAll) only when the caller gave up on it: no grace needed.
  const tracked: Tracked = {
    child,
    stop: async () => {
      child.kill('SIGKILL');
      await done.catch(() => {});
    },
  };
  const done = new Promise<CommandResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) =>
      resolve({ code, signal, stdout, stderr, ms: ms ?? performance.now() - started }),
    );
  }).finally(() => {
    clearTimeout(timer);
    running.delete(tracked);
  });
  running.set(tracked, 'SIGKILL');
  return done;
}

/**
 * Polls `check` until it returns a value other than `undefined`/`false`; fails after `timeoutMs`,
 * or at once when `check` throws (for "the process died while we waited").
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  { timeoutMs = 10_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Waits until `GET url` answers 200 (each probe bounded by `probeTimeoutMs`); fails at once,
 * with its output, when `proc` exits first, and after `timeoutMs` otherwise.
 */
export async function waitUntilAnswering(
  proc: RunningProcess,
  url: string,
  {
    timeoutMs = 15_000,
    intervalMs = 50,
    probeTimeoutMs = 1_000,
  }: { timeoutMs?: number; intervalMs?: number; probeTimeoutMs?: number } = {},
): Promise<void> {
  await waitFor(
    `${proc.name} to answer ${url}`,
    async () => {
      const exit = proc.exit();
      if (exit) {
        throw new Error(
          `${proc.name} exited (${exit.signal ?? `code ${exit.code}`}) before ${url} answered:\n${proc.output()}`,
        );
      }
      return (await probeStatus(url, probeTimeoutMs)) === 200;
    },
    { timeoutMs, intervalMs },
  );
}
