/**
 * A stored message, as every entry point shows it (library, JSON API, CLI `--json`).
 * Times are ISO-8601 UTC strings with microseconds, e.g. `2026-11-25T13:38:21.123456Z`.
 */
export interface Message {
  readonly id: number;
  readonly sender: string;
  readonly recipient: string;
  readonly message_content: string;
  readonly sent_datetime: string;
  readonly is_read: boolean;
  readonly read_at: string | null;
  /**
   * Only in search results (a listing with `q`): the text with each match between
   * U+E000 and U+E001 (see the README's "Search"; `HIGHLIGHT_START`/`HIGHLIGHT_END`).
   */
  readonly highlight?: string;
}

/** A page of a listing: messages newest first and the cursor of the next page (`null` at the end). */
export interface MessagePage {
  readonly messages: Message[];
  readonly nextCursor: string | null;
}
