import type { Runner } from '../database/runner.js';
import type { StreamEvent, Subscription } from '../delivery/hub.js';
import { ForbiddenError, ValidationError } from '../errors.js';
import type { SendOutcome } from '../idempotency.repository.js';
import type { Message, MessagePage } from '../message.js';
import { type MarkReadResult, markRead } from '../receipts.repository.js';
import { orThrow } from '../result.js';
import { type ListOptions, validateListOptions } from '../validation/list-query.js';
import { bodyObject } from '../validation/parameters.js';
import { type MarkReadOptions, validateMarkRead } from '../validation/receipts-input.js';
import { type SendInput, validateSubmission } from '../validation/send-input.js';
import { type StreamQuery, validateStreamOptions } from '../validation/stream-options.js';
import type { Principal } from './account.js';
import type { Accounts } from './accounts.js';
import { listMailbox } from './mailbox.repository.js';

/** A message sent through a {@link Mailbox}: `sender`, when given, must be the caller. */
export interface MailboxSendInput {
  sender?: string | undefined;
  recipient: string;
  message_content: string;
}

/** Options of {@link Mailbox.send} and {@link Mailbox.submit}. */
export interface MailboxSendOptions {
  /**
   * Makes the send idempotent, as with {@link Messenger.submit}. Keys are the caller's own:
   * another user's identical key is a different key.
   */
  readonly idempotencyKey?: string | undefined;
}

/** What a mailbox stream follows: the caller's messages, optionally only from `sender`. */
export interface MailboxStreamOptions {
  /** Omitted, or the caller (any case). Anyone else is a {@link ForbiddenError}. */
  recipient?: string | undefined;
  sender?: string | undefined;
  /** Resume point: the id of a message the caller sent or received, or an event's `cursor`. */
  after?: string | number | undefined;
}

/** Options of {@link Mailbox.subscribe}. */
export interface MailboxSubscribeOptions {
  /** As in {@link Messenger.subscribe}: ends the subscription when aborted, catch-up included. */
  readonly signal?: AbortSignal | undefined;
  /**
   * Called once if the caller loses access while subscribed (token revoked or expired, user
   * disabled — in any process), within 5 seconds; the subscription has then ended. A server
   * closes the caller's socket here.
   */
  readonly onAccessRevoked?: (() => void) | undefined;
}

/** What a mailbox needs from its messenger: the very paths the unscoped methods take. */
export interface MailboxPorts {
  readonly run: Runner;
  readonly accounts: Accounts;
  /** The messenger's send path (one insertion path for scoped and unscoped sends). */
  store(input: SendInput, idempotencyKey: string | undefined): Promise<SendOutcome>;
  /**
   * The messenger's subscribe path; an `after` id counts only if `visibleTo` sent or
   * received that message.
   */
  follow(
    query: StreamQuery,
    onEvent: (event: StreamEvent) => void,
    signal: AbortSignal | undefined,
    visibleTo: string,
  ): Promise<Subscription>;
}

/**
 * The messenger as one authenticated user sees it: every rule of private mail is enforced
 * here, in one place, whoever calls (the HTTP server in token mode, a library user acting for
 * a person). Make one with {@link Messenger.mailbox}; each operation first checks that the
 * caller's token still works (cached briefly, see {@link Messenger.authenticate}) and throws
 * {@link UnauthenticatedError} when it does not. Names follow the strict name profile.
 *
 * - send: `sender` omitted means the caller; any other sender is a {@link ForbiddenError}.
 *   The recipient must be an active user; sender and recipient are stored as registered.
 * - list: only messages the caller sent or received; filters narrow within that.
 * - markRead: only messages the caller received.
 * - subscribe: only the caller's own stream.
 *
 * @example
 * const principal = await messenger.authenticate(bearerToken);
 * const mailbox = messenger.mailbox(principal);
 * await mailbox.send({ recipient: 'alice', message_content: 'hi' }); // from the caller
 * const { messages } = await mailbox.list({ with: 'alice' }); // both directions
 */
export class Mailbox {
  readonly #principal: Principal;
  readonly #ports: MailboxPorts;

  /** @internal Use {@link Messenger.mailbox}. */
  constructor(principal: Principal, ports: MailboxPorts) {
    this.#principal = principal;
    this.#ports = ports;
  }

  /** Whose mailbox this is. */
  get principal(): Principal {
    return this.#principal;
  }

  /**
   * Sends a message from the caller.
   * @throws {ForbiddenError} when `sender` is given and is not the caller; nothing is stored.
   * @throws {ValidationError} for bad fields, or a recipient who is no active user.
   * @example
   * await mailbox.send({ recipient: 'alice', message_content: 'hi' });
   */
  async send(input: MailboxSendInput, options: MailboxSendOptions = {}): Promise<Message> {
    return (await this.submit(input, options)).message;
  }

  /**
   * Like {@link Mailbox.send}, and tells whether the answer is a replay of an earlier send
   * with the same idempotency key (by this caller).
   */
  async submit(input: MailboxSendInput, options: MailboxSendOptions = {}): Promise<SendOutcome> {
    const me = await this.#me();
    const body = bodyObject(input);
    if (!body.ok) throw new ValidationError(body.issues);
    const { input: valid, idempotencyKey: key } = orThrow(
      validateSubmission(
        body.value.sender === undefined ? { ...body.value, sender: me.name } : body.value,
        options.idempotencyKey,
        'strict',
      ),
    );
    if (!(await this.#isCaller(valid.sender, me))) {
      throw new ForbiddenError(`sender: you may only send as yourself (${me.name})`);
    }
    const recipient = await this.#ports.accounts.directory.find(valid.recipient);
    if (recipient === undefined || !recipient.active) {
      throw new ValidationError([
        {
          field: 'recipient',
          message: `no active user named ${JSON.stringify(valid.recipient)}`,
        },
      ]);
    }
    // A space cannot occur in a key (visible ASCII only): `<user id> <key>` never meets an
    // unscoped key, nor another user's.
    const scopedKey = key === undefined ? undefined : `${me.userId} ${key}`;
    return this.#ports.store(
      { sender: me.name, recipient: recipient.name, message_content: valid.message_content },
      scopedKey,
    );
  }

  /**
   * Lists the caller's messages (sent or received), newest first; filters narrow within
   * them: `{ recipient: 'alice' }` is what the caller sent to alice, `{ sender: 'alice' }`
   * what alice sent the caller, `{ with: 'alice' }` (or `{ conversation: 'alice,<caller>' }`)
   * both directions. A conversation without the caller is empty. Options as in
   * {@link Messenger.list}.
   * @example
   * let page = await mailbox.list({ is_read: false });
   * while (page.nextCursor) page = await mailbox.list({ is_read: false, cursor: page.nextCursor });
   */
  async list(options: ListOptions = {}): Promise<MessagePage> {
    const me = await this.#me();
    const withAlone =
      isRecord(options) &&
      given(options.with) &&
      !given(options.sender) &&
      !given(options.recipient) &&
      !given(options.conversation);
    const query = orThrow(
      validateListOptions(withAlone ? { ...options, recipient: me.name } : options, 'strict'),
    );
    return this.#ports.run.read((db) => listMailbox(db, me.name, query));
  }

  /**
   * Marks the caller's messages read: by `ids` (ids of messages the caller did not receive
   * are left alone and not counted, exactly like ids that do not exist), or everything the
   * caller received (up to id `up_to`) when no ids are given.
   * @throws {ForbiddenError} for a `recipient` other than the caller.
   */
  async markRead(options: MarkReadOptions = {}): Promise<MarkReadResult> {
    const me = await this.#me();
    const mine =
      isRecord(options) && options.ids === undefined && options.recipient === undefined
        ? { ...options, recipient: me.name }
        : options;
    const query = orThrow(validateMarkRead(mine, 'strict'));
    if (query.kind === 'recipient' && !(await this.#isCaller(query.recipient, me))) {
      throw new ForbiddenError(`recipient: you may only mark your own messages read (${me.name})`);
    }
    const scoped = query.kind === 'recipient' ? { ...query, recipient: me.name } : query;
    return this.#ports.run.retrySafe((db) => markRead(db, scoped, me.name));
  }

  /**
   * Follows the caller's new messages, as {@link Messenger.subscribe} does for a recipient,
   * with read receipts of the messages the caller sent and of the caller's own reads. It ends
   * by itself when the caller loses access (see {@link MailboxSubscribeOptions.onAccessRevoked}).
   * @throws {ForbiddenError} for a `recipient` other than the caller.
   * @example
   * const sub = await mailbox.subscribe({}, (e) => console.log(e), {
   *   onAccessRevoked: () => socket.close(1008, 'access revoked'),
   * });
   */
  async subscribe(
    options: MailboxStreamOptions = {},
    onEvent: (event: StreamEvent) => void,
    { signal, onAccessRevoked }: MailboxSubscribeOptions = {},
  ): Promise<Subscription> {
    const me = await this.#me();
    const query = await this.#streamQuery(options, me);
    const sub = await this.#ports.follow(query, onEvent, signal, me.name);
    const stop = () => {
      unwatch();
      signal?.removeEventListener('abort', stop);
      sub.close();
    };
    const unwatch = this.#ports.accounts.authenticator.watch(me, () => {
      stop();
      onAccessRevoked?.();
    });
    signal?.addEventListener('abort', stop, { once: true });
    return { close: stop };
  }

  /**
   * Checks a stream request as {@link Mailbox.subscribe} would, without subscribing: a server
   * calls it before upgrading a connection, so that a refused stream is a plain HTTP answer.
   * (An `after` id is looked up only by `subscribe`.)
   * @throws {ValidationError} for bad options.
   * @throws {ForbiddenError} for a `recipient` other than the caller.
   * @throws {UnauthenticatedError} when the caller's token no longer works.
   */
  async checkSubscribe(options: MailboxStreamOptions = {}): Promise<void> {
    await this.#streamQuery(options, await this.#me());
  }

  /** The caller's stream query: `recipient` omitted or the caller (stored as registered). */
  async #streamQuery(options: MailboxStreamOptions, me: Principal): Promise<StreamQuery> {
    const withRecipient =
      isRecord(options) && !given(options.recipient) ? { ...options, recipient: me.name } : options;
    const query = orThrow(validateStreamOptions(withRecipient, 'strict'));
    if (!(await this.#isCaller(query.recipient, me))) {
      throw new ForbiddenError(`recipient: you may only follow your own messages (${me.name})`);
    }
    return { ...query, recipient: me.name };
  }

  /** The caller as the database knows them now. */
  #me(): Promise<Principal> {
    return this.#ports.accounts.authenticator.verify(this.#principal);
  }

  /** Whether `name` is the caller's (as PostgreSQL's `lower()` folds names). */
  async #isCaller(name: string, me: Principal): Promise<boolean> {
    if (name === me.name) return true;
    return (await this.#ports.accounts.directory.find(name))?.id === me.userId;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Given, as listing parameters count it: not undefined, null or an empty string. */
function given(v: unknown): boolean {
  return v !== undefined && v !== null && v !== '';
}
