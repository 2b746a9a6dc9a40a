import { setFlagsFromString } from 'node:v8';

/**
 * Makes V8 run WebAssembly with its baseline compiler (Liftoff) only, for a command
 * that runs once and exits. Both transports run WebAssembly: undici parses HTTP with
 * llhttp, and the embedded database is PostgreSQL compiled to WebAssembly (PGlite).
 * By default V8 also recompiles hot functions with TurboFan on background threads,
 * and a process cannot exit before those jobs end: measured here on Node 20, `msg
 * --api … send` 281 → 130 ms and `msg send` on the embedded database ≈ 1.2 → 0.6 s;
 * on Node 22 and 24 −10 ms and −0.15…−0.5 s. Optimised code would pay off only in a
 * long-running process, so `msg serve` does not call this (and the library, which
 * runs inside other programs, never does). The flag applies to WebAssembly compiled
 * from now on, in this process only. A Node without it just starts slower.
 */
export function preferQuickStart(): void {
  try {
    setFlagsFromString('--liftoff-only');
  } catch {
    // Not essential.
  }
}
