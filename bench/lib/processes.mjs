// Child processes and clean-up: everything the bench starts is registered here and ended
// when the run finishes, fails, is interrupted (SIGINT/SIGTERM) or hits its deadline.
import { spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The repository's root directory. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** @type {Map<object, NodeJS.Signals>} running processes and the signal that ends each */
const running = new Map();
/** @type {Array<() => Promise<void> | void>} clean-ups, run last-in first-out */
const cleanups = [];

// Last resort: an exiting bench leaves no child behind (synchronous, so only signals).
process.once('exit', () => {
  for (const [p, signal] of running) p.child.kill(signal);
});

/** Registers an async clean-up (drop the database, remove a directory) run by {@link cleanUp}. */
export function onCleanUp(fn) {
  cleanups.push(fn);
}

let cleaning;
/** Stops every running child, then runs the clean-ups; safe to call more than once. */
export function cleanUp() {
  cleaning ??= (async () => {
    await Promise.all([...running.keys()].map((p) => p.stop()));
    while (cleanups.length > 0) {
      const fn = cleanups.pop();
      try {
        await fn();
      } catch (err) {
        process.stderr.write(`bench: clean-up failed: ${err.message}\n`);
      }
    }
  })();
  return cleaning;
}

/** A TCP port that was free on 127.0.0.1 a moment ago (the OS picked it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Whether something accepts connections on 127.0.0.1:port right now. */
export function canConnect(port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', timeout: timeoutMs });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

/** Polls `check` until it returns something truthy; throws after `timeoutMs` or when `check` throws. */
export async function waitFor(what, check, { timeoutMs = 15_000, intervalMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Starts `command args…` with its output captured (the tail is kept for error messages).
 * `stopSignal` is what {@link cleanUp} sends first (nginx: SIGTERM, so its master ends its workers).
 */
export function startProcess(name, command, args, { env, cwd, stopSignal = 'SIGTERM' } = {}) {
  const child = spawn(command, args, {
    cwd: cwd ?? repoRoot,
    env: env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (chunk) => {
    out += chunk.toString('utf8');
    if (out.length > 100_000) out = out.slice(-50_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let ended;
  const exited = new Promise((resolve) => {
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
  const handle = {
    name,
    child,
    pid: child.pid,
    exited,
    exit: () => ended,
    output: () => out,
    /** Sends `signal` (default: the stop signal) and waits; SIGKILL after `graceMs`. */
    async stop(signal = stopSignal, graceMs = 5000) {
      if (ended === undefined) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      running.delete(handle);
      return ended;
    },
  };
  running.set(handle, stopSignal);
  void exited.then(() => running.delete(handle));
  return handle;
}

/**
 * Runs a command to completion (bounded by `timeoutMs`), returning its exit code, output and
 * wall time in milliseconds measured from spawn to exit.
 */
export function runTimed(command, args, { env, cwd, timeoutMs = 60_000 } = {}) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(command, args, {
      cwd: cwd ?? repoRoot,
      env: env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const handle = { child, stop: async () => child.kill('SIGKILL') };
    running.set(handle, 'SIGKILL');
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      if (stdout.length < 1_000_000) stdout += c;
    });
    child.stderr.on('data', (c) => {
      if (stderr.length < 100_000) stderr += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      stderr += `[spawn failed: ${err.message}]`;
    });
    // Wall time ends when the process exits (as a shell's `time` sees it), not when its pipes close.
    let ms;
    child.once('exit', () => {
      ms = performance.now() - started;
    });
    child.once('close', (code, signal) => {
      ms ??= performance.now() - started;
      clearTimeout(timer);
      running.delete(handle);
      resolve({ code, signal, ms, stdout, stderr });
    });
  });
}
