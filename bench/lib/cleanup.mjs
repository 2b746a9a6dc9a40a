// What the bench leaves behind is removed at the end, on error, on SIGINT/SIGTERM and at its
// deadline: every process @messenger/testing started, then the registered clean-ups.
import { stopAll } from '@messenger/testing';

/**
 * A clean-up list: `add(fn)` registers an async clean-up (drop the database, remove a
 * directory); `run()` stops every running child, then runs the clean-ups last-in first-out.
 * `run` is safe to call more than once; a failing clean-up is reported and the rest still run.
 */
export function createCleanup(log) {
  const fns = [];
  let running;
  return {
    add(fn) {
      fns.push(fn);
    },
    run() {
      running ??= (async () => {
        await stopAll();
        while (fns.length > 0) {
          const fn = fns.pop();
          try {
            await fn();
          } catch (err) {
            log(`clean-up failed: ${err.message}`);
          }
        }
      })();
      return running;
    },
  };
}
