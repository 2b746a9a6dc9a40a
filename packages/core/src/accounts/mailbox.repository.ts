import type { Kysely, Transaction } from 'kysely';
import type { MessagePage } from '../message.js';
import { conversationCondition, type Placeholder, runListing } from '../message.repository.js';
import type { Database } from '../message.table.js';
import type { ListQuery } from '../validation/list-query.js';

type Db = Kysely<Database> | Transaction<Database>;

/**
 * One page of the mailbox of `me` (a registered name): only messages `me` sent or received,
 * narrowed by the query's filters. The scope is part of every branch's WHERE clause, so a
 * cursor (only a position) can never widen it.
 *
 * Names are compared as PostgreSQL's `lower()` folds them, in SQL: whether a filter names
 * `me` is a condition on parameters only (a "one-time filter" that PostgreSQL decides before
 * reading a row), so each shape has a branch per case and only the right one reads. Every
 * branch is one index range (see {@link mailboxBranches}); disjoint branches are merged in
 * listing order.
 */
export function listMailbox(db: Db, me: string, query: ListQuery): Promise<MessagePage> {
  return runListing(db, query, (p) => mailboxBranches(query, me, p));
}

/**
 * The alternatives that make up a mailbox listing, each served by one index:
 * - no name filter: received by me (recipient index) + sent by me to others (sender index);
 * - `recipient = X`: all I received when X is me (recipient index), else me → X (sender +
 *   recipient index);
 * - `sender = X`: all I sent when X is me (sender index), else X → me (sender + recipient index);
 * - both: that pair, when one of them is me (sender + recipient index);
 * - a conversation: when I am one of its two (conversation index).
 */
export function mailboxBranches(query: ListQuery, me: string, p: Placeholder): string[][] {
  const m = p(me);
  if (query.conversation !== undefined) {
    const [a, b] = query.conversation;
    return [
      [
        conversationCondition(query.conversation, p),
        `lower(${m}) in (lower(${p(a)}), lower(${p(b)}))`,
      ],
    ];
  }
  const { sender, recipient } = query;
  if (sender !== undefined && recipient !== undefined) {
    const s = p(sender);
    const r = p(recipient);
    return [
      [
        `lower(sender) = lower(${s})`,
        `lower(recipient) = lower(${r})`,
        `lower(${m}) in (lower(${s}), lower(${r}))`,
      ],
    ];
  }
  if (recipient !== undefined) {
    const r = p(recipient);
    return [
      [`lower(recipient) = lower(${r})`, `lower(${r}) = lower(${m})`],
      [
        `lower(sender) = lower(${m})`,
        `lower(recipient) = lower(${r})`,
        `lower(${r}) <> lower(${m})`,
      ],
    ];
  }
  if (sender !== undefined) {
    const s = p(sender);
    return [
      [`lower(sender) = lower(${s})`, `lower(${s}) = lower(${m})`],
      [
        `lower(sender) = lower(${s})`,
        `lower(recipient) = lower(${m})`,
        `lower(${s}) <> lower(${m})`,
      ],
    ];
  }
  return [
    [`lower(recipient) = lower(${m})`],
    [`lower(sender) = lower(${m})`, `lower(recipient) <> lower(${m})`],
  ];
}
