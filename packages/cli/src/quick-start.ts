import { setFlagsFromString } from 'node:v8';

/**
 * Makes V8 run WebAssembly with its baseline compiler (Liftoff) only, for a command
 * that runs once and exits. The embedded database is PostgreSQL compiled to
 * WebAssembly (PGlite); by default V8 also recompiles its hot functions with TurboFan
 * on background threads, and a process cannot exit before those jobs end. Measured
 * here, opening and closing an embedded database: Node 20 1.24 → 0.58 s, Node 22
 * 0.53 → 0.38 s, Node 24 0.91 → 0.40 s. The HTTP transport's parser (undici's llhttp) is
 * WebAssembly too, and reads one short answer per run: baseline code is plenty for it.
 * Optimised code would pay off only in a long-running process, so `msg serve` does not
 * call this, and the library, which runs inside other programs, never does. The flag
 * applies to WebAssembly compiled from now on, in this process only; a Node without it
 * just starts slower.
 */
export function preferQuickStart(): void {
  try {
    setFlagsFromString('--liftoff-only');
  } catch {
    // Not essential.
  }
}
