import type { Message } from '@messenger/core';
import { Chalk, type ChalkInstance } from 'chalk';
import { startSpinner } from './spinner.js';
import { terminalSafe } from './terminal-safe.js';

export { terminalSafe };

/** Where and how a command prints. Data goes to stdout, diagnostics to stderr. */
export interface Output {
  readonly color: ChalkInstance;
  /** Writes one line of data to stdout. */
  line(text: string): void;
  /** Writes one diagnostic line to stderr. */
  note(text: string): void;
  /** Writes a value as JSON to stdout. */
  json(value: unknown): void;
  /**
   * Shows `text` on stderr with a spinner until the returned function is called, when
   * stderr is a terminal; otherwise shows nothing (pipes and logs stay clean).
   */
  progress(text: string): () => void;
}

/** Colour is off under `NO_COLOR`, with `FORCE_COLOR=0`, or when stdout is not a terminal. */
export function colorEnabled(env: NodeJS.ProcessEnv, isTTY: boolean): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return isTTY && env.TERM !== 'dumb';
}

/** The process's output: stdout and stderr, coloured only where {@link colorEnabled}. */
export function processOutput(): Output {
  const color = new Chalk({
    level: colorEnabled(process.env, process.stdout.isTTY === true) ? 1 : 0,
  });
  return {
    color,
    line: (text) => process.stdout.write(`${text}\n`),
    note: (text) => process.stderr.write(`${text}\n`),
    json: (value) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    progress: (text) =>
      process.stderr.isTTY === true ? startSpinner(process.stderr, text) : () => {},
  };
}

/** One line describing a stored message. */
export function sentLine(m: Message, color: ChalkInstance): string {
  return `${color.green('sent')} #${m.id} ${color.cyan(terminalSafe(m.sender))} → ${color.magenta(
    terminalSafe(m.recipient),
  )} at ${m.sent_datetime}`;
}
