import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  embeddedDataDirectory,
  type IssuedToken,
  type ListOptions,
  type MarkReadOptions,
  type MarkReadResult,
  type Message,
  type MessagePage,
  type Messenger,
  type MigrationReport,
  type NewUser,
  parseTokenId,
  type Result,
  type StreamEvent,
  type TokenInfo,
  type User,
  ValidationError,
  validateListOptions,
  validateMarkRead,
  validateSendInput,
  validateStreamOptions,
  validateTokenOptions,
  validateUserName,
} from '@messenger/core';
import { CONTROL_SOCKET, ControlClient } from './control-client.js';
import type {
  Identity,
  MessengerClient,
  SendRequest,
  TokenRequest,
  WatchRequest,
} from './messenger-client.js';

/** On the database directly, one keyed send in this many also prunes expired keys. */
const PRUNE_ONE_IN = 20;

/** Settings of the direct transport. */
export interface DirectClientOptions {
  /** PostgreSQL URL or embedded data directory. */
  readonly databaseUrl: string;
  /** Run migrations on open (the embedded database always does unless this is false). */
  readonly migrate?: boolean;
  readonly lockTimeoutMs: number;
  /** The command line, shown to a second process that finds the embedded database locked. */
  readonly purpose: string;
  /** Called before a new embedded database is created (see core's `EmbeddedOptions.onCreate`). */
  readonly onCreate?: ((dataDir: string) => (() => void) | undefined) | undefined;
}

/**
 * Talks to the database through core. The database is opened on first use, not before. The
 * operator operations (users, tokens) on an embedded database that a running `msg serve`
 * holds go through that server's control socket instead.
 */
export class DirectClient implements MessengerClient {
  readonly #options: DirectClientOptions;
  #messenger: Promise<Messenger> | undefined;

  constructor(options: DirectClientOptions) {
    this.#options = options;
  }

  async send(request: SendRequest): Promise<Message> {
    // Validate before opening: bad input never waits for the database or its lock.
    const checked = validateSendInput(request);
    if (!checked.ok) throw new ValidationError(checked.issues);
    const messenger = await this.#open();
    const sent = await messenger.send(checked.value, { idempotencyKey: request.idempotencyKey });
    // No server prunes the keys `msg` writes on a database of its own: one keyed send in
    // PRUNE_ONE_IN prunes a few expired ones, in short batches (bounded work, errors ignored).
    if (request.idempotencyKey !== undefined && Math.random() * PRUNE_ONE_IN < 1) {
      await messenger.pruneIdempotencyKeys({ maxBatches: 4 }).catch(() => {});
    }
    return sent;
  }

  async markRead(options: MarkReadOptions): Promise<MarkReadResult> {
    const checked = validateMarkRead(options);
    if (!checked.ok) throw new ValidationError(checked.issues);
    return (await this.#open()).markRead(options);
  }

  /**
   * On PostgreSQL: a live subscription (LISTEN/NOTIFY) until `signal` aborts. The
   * embedded database belongs to one process at a time, so holding it open would
   * lock every other `msg` out: there, watch looks every second, opening the database
   * only for that moment (ids are in commit order on it: one writer at a time).
   */
  async watch(
    options: WatchRequest,
    onEvent: (event: StreamEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const checked = validateStreamOptions(options);
    if (!checked.ok) throw new ValidationError(checked.issues);
    const { recipient } = checked.value;
    const messenger = await this.#open();
    if (messenger.engine === 'postgres') {
      const subscription = await messenger.subscribe({ ...options, recipient }, onEvent);
      await new Promise<void>((resolve) =>
        signal.addEventListener('abort', () => resolve(), { once: true }),
      );
      subscription.close();
      return;
    }
    let last = checked.value.after?.kind === 'id' ? Number(checked.value.after.id) : undefined;
    if (last === undefined) {
      const newest = await messenger.list({
        recipient,
        sender: options.sender,
        limit: 1,
      });
      last = newest.messages[0]?.id ?? 0;
    }
    while (!signal.aborted) {
      const current = await this.#open();
      const page = await current.list({
        recipient,
        sender: options.sender,
        limit: 1000,
      });
      const fresh = page.messages.filter((m) => m.id > (last ?? 0)).sort((a, b) => a.id - b.id);
      await this.close();
      for (const message of fresh) {
        last = message.id;
        onEvent({ type: 'message', message, cursor: String(message.id) });
      }
      await sleep(1000, undefined, { signal }).catch(() => {});
    }
  }

  async list(options: ListOptions): Promise<MessagePage> {
    const checked = validateListOptions(options);
    if (!checked.ok) throw new ValidationError(checked.issues);
    return (await this.#open()).list(options);
  }

  /** No user: the database's own credentials are the authority here. Opens nothing. */
  async whoami(): Promise<Identity> {
    return { auth: 'database', name: null };
  }

  async migrate(): Promise<MigrationReport> {
    return (await this.#open(false)).migrate();
  }

  async addUser(name: string): Promise<NewUser> {
    const valid = checked(validateUserName(name));
    return this.#operate(
      (control) => control.addUser(valid),
      (messenger) => messenger.addUser(valid),
    );
  }

  async listUsers(): Promise<User[]> {
    return this.#operate(
      (control) => control.listUsers(),
      (messenger) => messenger.listUsers(),
    );
  }

  async disableUser(name: string): Promise<User> {
    const valid = checked(validateUserName(name));
    return this.#operate(
      (control) => control.disableUser(valid),
      (messenger) => messenger.disableUser(valid),
    );
  }

  async createToken(name: string, options: TokenRequest = {}): Promise<IssuedToken> {
    const valid = checked(validateUserName(name));
    const tokenOptions = checked(
      validateTokenOptions({ label: options.label, expiresAt: options.expiresAt }),
    );
    return this.#operate(
      (control) => control.createToken(valid, tokenOptions),
      (messenger) => messenger.createToken(valid, tokenOptions),
    );
  }

  async listTokens(name?: string): Promise<TokenInfo[]> {
    const valid = name === undefined ? undefined : checked(validateUserName(name));
    return this.#operate(
      (control) => control.listTokens(valid),
      (messenger) => messenger.listTokens(valid),
    );
  }

  async revokeToken(id: string | number): Promise<TokenInfo> {
    const valid = checked(parseTokenId(id));
    return this.#operate(
      (control) => control.revokeToken(valid),
      (messenger) => messenger.revokeToken(valid),
    );
  }

  async close(): Promise<void> {
    const m = this.#messenger;
    this.#messenger = undefined;
    if (m) await (await m.catch(() => undefined))?.close();
  }

  /**
   * An operator operation: through the control socket of a `msg serve` that holds this
   * embedded database, else (no server listening, or PostgreSQL) on the database itself.
   */
  async #operate<T>(
    viaServer: (control: ControlClient) => Promise<T | undefined>,
    viaDatabase: (messenger: Messenger) => Promise<T>,
  ): Promise<T> {
    const dir = embeddedDataDirectory(this.#options.databaseUrl);
    if (dir !== undefined && this.#messenger === undefined) {
      const control = new ControlClient(join(dir, CONTROL_SOCKET), this.#options.lockTimeoutMs);
      const answer = await viaServer(control);
      if (answer !== undefined) return answer;
    }
    return viaDatabase(await this.#open());
  }

  #open(migrate?: boolean): Promise<Messenger> {
    this.#messenger ??= import('@messenger/core').then(({ openMessenger }) =>
      openMessenger({
        databaseUrl: this.#options.databaseUrl,
        migrate: migrate ?? this.#options.migrate,
        embedded: {
          lockTimeoutMs: this.#options.lockTimeoutMs,
          purpose: this.#options.purpose,
          onCreate: this.#options.onCreate,
        },
      }),
    );
    return this.#messenger;
  }
}

/** The value of a validation, or its issues thrown: bad input never waits for the database. */
function checked<T>(result: Result<T>): T {
  if (!result.ok) throw new ValidationError(result.issues);
  return result.value;
}
