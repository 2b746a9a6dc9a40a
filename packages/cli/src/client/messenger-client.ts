import type { ListOptions, Message, MessagePage, MigrationReport } from '@messenger/core';

/** A message to send, as the user typed it (validated by core, directly or behind the server). */
export interface SendRequest {
  readonly sender: string;
  readonly recipient: string;
  readonly message_content: string;
}

/**
 * What every command talks to. Two transports implement it: direct (core on the
 * database) and HTTP (the server's API). Commands never know which one they hold.
 */
export interface MessengerClient {
  send(request: SendRequest): Promise<Message>;
  list(options: ListOptions): Promise<MessagePage>;
  migrate(): Promise<MigrationReport>;
  close(): Promise<void>;
}
