import { ok, type Result } from '../result.js';
import { parseWalPosition } from './wal-position.js';

/** Options of a read ({@link Messenger.list}, {@link Mailbox.list}). */
export interface ReadOptions {
  /**
   * Read-your-writes: a WAL position a write answered with ({@link Messenger.position}). The
   * read is served by a read replica only once it has replayed at least that far (waiting
   * `readWaitMs` at most), else by the primary. Without read replicas it changes nothing.
   */
  readonly position?: string | undefined;
}

/** The parsed `position` of {@link ReadOptions}, `undefined` when there is none. */
export function readPosition(read: ReadOptions): Result<bigint | undefined> {
  if (read.position === undefined) return ok(undefined);
  return parseWalPosition(read.position, 'position');
}
