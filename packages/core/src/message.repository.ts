import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import { encodeCursor } from './cursor.js';
import { isoUtc } from './database/iso-utc.js';
import type { Message, MessagePage } from './message.js';
import type { Database } from './message.table.js';
import { highlight } from './search/highlight.js';
import { encodeRankCursor } from './search/relevance-cursor.js';
import { searchConditions } from './search/search.repository.js';
import type { ListQuery } from './validation/list-query.js';
import type { SendInput } from './validation/send-input.js';

type Db = Kysely<Database> | Transaction<Database>;

/** The columns of a {@link Message}, with times as exact text. */
export const messageColumns = [
  'id',
  'sender',
  'recipient',
  'message_content',
  isoUtc('sent_datetime').as('sent_datetime'),
  'is_read',
  isoUtc('read_at').as('read_at'),
] as const;

/** A row selected with {@link messageColumns}. */
export interface MessageSelection {
  id: number | bigint;
  sender: string;
  recipient: string;
  message_content: string;
  sent_datetime: string;
  is_read: boolean;
  read_at: string | null;
}

/** Maps a selected row to the public {@link Message} shape; the only place rows become messages. */
export function toMessage(row: MessageSelection): Message {
  return {
    id: Number(row.id),
    sender: row.sender,
    recipient: row.recipient,
    message_content: row.message_content,
    sent_datetime: row.sent_datetime,
    is_read: row.is_read,
    read_at: row.read_at,
  };
}

/** `select <message columns> from "messages"`, compiled once. */
let selectMessages: string | undefined;

/** Stores a validated message; the database sets `id`, `sent_datetime` and `is_read`. */
export async function insertMessage(db: Db, input: SendInput): Promise<Message> {
  const row = await db
    .insertInto('messages')
    .values({
      sender: input.sender,
      recipient: input.recipient,
      message_content: input.message_content,
    })
    .returning(messageColumns)
    .executeTakeFirstOrThrow();
  return toMessage(row);
}

/** `insert … returning <message columns>` of {@link insertMessages}, compiled once. */
let insertBatch: string | undefined;

/**
 * Stores validated messages in one statement (one transaction, one commit, one notification:
 * migration 0005); results in the inputs' order. The rows are inserted in that order, so
 * their ids ascend in it.
 */
export async function insertMessages(db: Db, inputs: readonly SendInput[]): Promise<Message[]> {
  if (insertBatch === undefined) {
    const returning = db
      .selectFrom('messages')
      .select(messageColumns)
      .compile()
      .sql.replace(/^select /, ' returning ')
      .replace(/ from "messages"$/, '');
    // `order by n`: ids are drawn from the sequence as rows come out of the select, so they
    // ascend in input order; the answer is then sorted by id to pair each row with its input.
    insertBatch = `insert into messages (sender, recipient, message_content)
      select s, r, c from unnest($1::text[], $2::text[], $3::text[]) with ordinality as t(s, r, c, n)
      order by n${returning}`;
  }
  const params = [
    inputs.map((i) => i.sender),
    inputs.map((i) => i.recipient),
    inputs.map((i) => i.message_content),
  ];
  const { rows } = await db.executeQuery<MessageSelection>(CompiledQuery.raw(insertBatch, params));
  return rows.map(toMessage).sort((a, b) => a.id - b.id);
}

/** Appends a parameter to a hand-built statement and returns its placeholder (`$3`). */
export type Placeholder = (value: unknown) => string;

/**
 * One page of messages, newest first in the total order `(sent_datetime, id)`
 * descending, after the query's cursor position. Each filter combination is
 * served by an index scan (see migration 0001).
 */
export function listMessages(db: Db, query: ListQuery): Promise<MessagePage> {
  return runListing(db, query, (p) => [nameConditions(query, p)]);
}

/** The conditions of a query's name filters (sender, recipient, conversation), as given. */
export function nameConditions(query: ListQuery, p: Placeholder): string[] {
  const where: string[] = [];
  if (query.sender !== undefined) where.push(`lower(sender) = lower(${p(query.sender)})`);
  if (query.recipient !== undefined) where.push(`lower(recipient) = lower(${p(query.recipient)})`);
  if (query.conversation !== undefined) where.push(conversationCondition(query.conversation, p));
  return where;
}

/** A conversation's key: both names lower-cased and sorted, as migration 0005's index folds them. */
const conversationKey = (a: string, b: string) =>
  `least(lower(${a}), lower(${b})) || E'\\n' || greatest(lower(${a}), lower(${b}))`;

/** The condition "between these two names" (either direction), served by the conversation index. */
export function conversationCondition(names: readonly [string, string], p: Placeholder): string {
  const [a, b] = names.map(p) as [string, string];
  return `${conversationKey('sender', 'recipient')} = ${conversationKey(a, b)}`;
}

/**
 * Runs a listing. `branchesOf` gives the name conditions: one branch is one index range;
 * several are alternatives (disjoint, e.g. "sent by me" and "received by me"), each an index
 * range, merged in listing order by their UNION ALL. The query's other filters (read state,
 * time range, search, cursor) narrow every branch: a search is a listing like any other, so
 * whatever scopes a listing (a mailbox) scopes it too.
 */
export async function runListing(
  db: Db,
  query: ListQuery,
  branchesOf: (p: Placeholder) => string[][],
): Promise<MessagePage> {
  // The hot read path: the select list comes from Kysely (compiled once), the filters are
  // appended by hand. Building the whole query with Kysely's builder on every request
  // cost ~30-40 µs of CPU (bench/, list vs. a bare handler).
  selectMessages ??= db.selectFrom('messages').select(messageColumns).compile().sql;
  const params: unknown[] = [];
  const p = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const branches = branchesOf(p);
  const narrowing: string[] = [];
  // A literal, not a parameter: a cached generic plan can then still use the partial
  // indexes `where is_read` / `where not is_read` (migration 0005).
  if (query.isRead !== undefined) narrowing.push(query.isRead ? 'is_read' : 'not is_read');
  if (query.since !== undefined) narrowing.push(`sent_datetime >= ${p(query.since)}::timestamptz`);
  if (query.until !== undefined) narrowing.push(`sent_datetime < ${p(query.until)}::timestamptz`);
  if (query.after !== undefined) {
    const { sentDatetime, id } = query.after;
    narrowing.push(`(sent_datetime, id) < (${p(sentDatetime)}::timestamptz, ${p(id)}::bigint)`);
  }
  const search = query.search === undefined ? undefined : searchConditions(query.search, p);
  if (search !== undefined) narrowing.push(search.match);
  const byRank = search !== undefined && query.order === 'relevance';
  if (byRank && query.afterRank !== undefined) {
    const { rank, id } = query.afterRank;
    narrowing.push(`(${search.rank}, id) < (${p(rank)}::real, ${p(id)}::bigint)`);
  }
  const where = (names: string[]) => {
    const all = [...names, ...narrowing];
    return all.length > 0 ? ` where ${all.join(' and ')}` : '';
  };
  // Qualified: a bare sent_datetime here would be the select list's text column of that name,
  // which sorts the same but cannot use the (…, sent_datetime desc, id desc) indexes.
  const order = byRank
    ? ' order by "search_rank" desc, "messages"."id" desc limit '
    : ' order by "messages"."sent_datetime" desc, "messages"."id" desc limit ';
  const columns = selectMessages.slice(0, -' from "messages"'.length);
  let text: string;
  if (branches.length === 1 && search === undefined) {
    text = `${selectMessages}${where(branches[0] ?? [])}${order}${p(query.limit + 1)}`;
  } else {
    // Each branch takes its own first page (an index scan that stops after `limit + 1` rows);
    // only those few rows are merged and sorted. Left to merge whole branches, the planner
    // reads every matching row of each (bitmap scans and a sort: a mailbox's whole history).
    // A search takes this form even with one branch: when it sorts the matches of a rare word,
    // the times are formatted for the page only, not for every match (~3× faster at 1M rows).
    const limit = p(query.limit + 1);
    const rank = byRank ? `, ${search.rank} as "search_rank"` : '';
    const union = branches
      .map((names) => `(select *${rank} from messages${where(names)}${order}${limit})`)
      .join(' union all ');
    const outerRank = byRank ? ', "search_rank"' : '';
    text = `${columns}${outerRank} from (${union}) as "messages"${order}${limit}`;
  }
  const { rows } = await db.executeQuery<MessageSelection & { search_rank?: string }>(
    CompiledQuery.raw(text, params),
  );
  if (query.search !== undefined) {
    const found = query.search;
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const more = rows.length > query.limit && last !== undefined;
    return {
      messages: page.map((row) => ({
        ...toMessage(row),
        highlight: highlight(row.message_content, found),
      })),
      nextCursor: !more
        ? null
        : byRank
          ? encodeRankCursor({ rank: String(last.search_rank), id: String(last.id) })
          : encodeCursor({ sentDatetime: last.sent_datetime, id: String(last.id) }),
    };
  }
  // From PostgreSQL (int8 parsed to a number) each row selected here already has exactly the
  // public shape: no mapping on the hot path.
  const page = rows.length > query.limit ? rows.slice(0, query.limit) : rows;
  const messages = page.map((row) =>
    typeof row.id === 'number' ? (row as Message) : toMessage(row),
  );
  const last = messages.at(-1);
  const nextCursor =
    rows.length > query.limit && last !== undefined
      ? encodeCursor({ sentDatetime: last.sent_datetime, id: String(last.id) })
      : null;
  return { messages, nextCursor };
}
