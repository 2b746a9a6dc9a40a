import { HIGHLIGHT_END, HIGHLIGHT_START, type Message } from '@messenger/core';
import type { ChalkInstance } from 'chalk';
import Table from 'cli-table3';
import stringWidth from 'string-width';
import { terminalSafe } from './output.js';

// A module of its own, loaded by `msg list` only: cli-table3 and string-width add
// ~25 ms to start-up, which `msg send` does not need to pay.

/** `2026-11-25T13:42:31.072122Z` → `2026-11-25 13:42:31`. */
function shortTime(iso: string): string {
  return iso.slice(0, 19).replace('T', ' ');
}

/** Renders messages as a table, newest first as given. */
export function messageTable(messages: readonly Message[], color: ChalkInstance): string {
  const table = new Table({
    head: ['id', 'sent (UTC)', 'from', 'to', 'read', 'message'].map((h) => color.bold(h)),
    style: { head: [], border: [] },
    wordWrap: true,
    wrapOnWordBoundary: true,
    colWidths: [null, null, null, null, null, contentWidth(messages)],
  });
  for (const m of messages) {
    const mark = m.is_read ? color.dim('read') : color.green('unread');
    table.push([
      color.dim(String(m.id)),
      shortTime(m.sent_datetime),
      color.cyan(terminalSafe(m.sender)),
      color.magenta(terminalSafe(m.recipient)),
      mark,
      shownText(m, color),
    ]);
  }
  return table.toString();
}

const MATCH = new RegExp(`${HIGHLIGHT_START}([^${HIGHLIGHT_END}]*)${HIGHLIGHT_END}`, 'g');

/** The text of a message; in search results, each match in bold (plain when colour is off). */
function shownText(m: Message, color: ChalkInstance): string {
  if (m.highlight === undefined) return terminalSafe(m.message_content);
  return terminalSafe(m.highlight).replace(MATCH, (_all, word: string) => color.bold(word));
}

/** The message column fits the longest line, up to 60 columns, then wraps. */
function contentWidth(messages: readonly Message[]): number {
  let longest = 'message'.length;
  for (const m of messages) {
    for (const line of terminalSafe(m.message_content).split('\n')) {
      longest = Math.max(longest, stringWidth(line));
    }
  }
  return Math.min(longest, 60) + 2;
}
