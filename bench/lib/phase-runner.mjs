// Progress on stderr, and phases that fail without ending the run.

/** `log(message)`: one stderr line stamped with the seconds since `started`. */
export function createLog(started) {
  return (msg) =>
    process.stderr.write(
      `[${String(Math.round((Date.now() - started) / 1000)).padStart(3)}s] ${msg}\n`,
    );
}

/**
 * The state every phase is handed: the parsed `options`, `log`, the run's `errors`, and
 * `phase(name, fn)`, which runs one step: a failure is recorded in `errors` and logged, and the
 * run goes on (the step gets `undefined`). Once `interrupt()` was called no step starts.
 */
export function createRun(options, errors, log) {
  let interrupted = false;
  return {
    options,
    log,
    errors,
    get interrupted() {
      return interrupted;
    },
    interrupt() {
      interrupted = true;
    },
    async phase(name, fn) {
      if (interrupted) return undefined;
      try {
        return await fn();
      } catch (err) {
        errors.push({ phase: name, message: err.message });
        log(`${name} FAILED: ${err.message}`);
        return undefined;
      }
    },
  };
}
