import type { TokenInfo, User } from '@messenger/core';
import type { ChalkInstance } from 'chalk';
import Table from 'cli-table3';
import { terminalSafe } from './output.js';

// Loaded by `msg users list` and `msg tokens list` only, like message-table.ts.

/** `2026-11-25T13:42:31.072122Z` → `2026-11-25 13:42`; `null` → `-`. */
function shortTime(iso: string | null): string {
  return iso === null ? '-' : iso.slice(0, 16).replace('T', ' ');
}

function table(head: string[], color: ChalkInstance): Table.Table {
  return new Table({ head: head.map((h) => color.bold(h)), style: { head: [], border: [] } });
}

/** Users as a table, in the order given. */
export function usersTable(users: readonly User[], color: ChalkInstance): string {
  const t = table(['id', 'name', 'added (UTC)', 'status'], color);
  for (const u of users) {
    t.push([
      color.dim(String(u.id)),
      color.cyan(terminalSafe(u.name)),
      shortTime(u.created_at),
      u.disabled_at === null
        ? color.green('active')
        : color.red(`disabled ${shortTime(u.disabled_at)}`),
    ]);
  }
  return t.toString();
}

/** Why a token does not work, or `active`. */
export function tokenStatus(token: TokenInfo, now: number = Date.now()): string {
  if (token.active) return 'active';
  if (token.revoked_at !== null) return 'revoked';
  if (token.expires_at !== null && Date.parse(token.expires_at) <= now) return 'expired';
  return 'user disabled';
}

/** Tokens as a table (never the secret: a `TokenInfo` has none). */
export function tokensTable(tokens: readonly TokenInfo[], color: ChalkInstance): string {
  const t = table(
    ['id', 'user', 'label', 'created (UTC)', 'last used', 'expires', 'status'],
    color,
  );
  for (const token of tokens) {
    const status = tokenStatus(token);
    t.push([
      color.dim(String(token.id)),
      color.cyan(terminalSafe(token.user)),
      token.label === null ? color.dim('-') : terminalSafe(token.label),
      shortTime(token.created_at),
      shortTime(token.last_used_at),
      token.expires_at === null ? 'never' : shortTime(token.expires_at),
      status === 'active' ? color.green(status) : color.red(status),
    ]);
  }
  return t.toString();
}
