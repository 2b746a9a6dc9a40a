import type {
  ListOptions,
  MarkReadOptions,
  MarkReadResult,
  Message,
  MessagePage,
  MigrationReport,
  StreamEvent,
  StreamOptions,
} from '@messenger/core';

/** A message to send, as the user typed it (validated by core, directly or behind the server). */
export interface SendRequest {
  readonly sender: string;
  readonly recipient: string;
  readonly message_content: string;
  /** Makes the send safe to repeat: the HTTP transport reuses it on its own retries. */
  readonly idempotencyKey?: string | undefined;
}

/**
 * What every command talks to. Two transports implement it: direct (core on the
 * database) and HTTP (the server's API). Commands never know which one they hold.
 */
export interface MessengerClient {
  send(request: SendRequest): Promise<Message>;
  list(options: ListOptions): Promise<MessagePage>;
  markRead(options: MarkReadOptions): Promise<MarkReadResult>;
  /**
   * Calls `onEvent` for each new matching message (and read receipt) until `signal`
   * aborts, reconnecting by itself and resuming after the last message seen.
   */
  watch(
    options: StreamOptions,
    onEvent: (event: StreamEvent) => void,
    signal: AbortSignal,
  ): Promise<void>;
  migrate(): Promise<MigrationReport>;
  close(): Promise<void>;
}
