import { fail, ok, type Result } from '../result.js';

/**
 * A PostgreSQL WAL position (an LSN) as PostgreSQL prints it: two hexadecimal numbers of at
 * most 8 digits, `16/B374D848`. What a write's `Messenger-Position` carries and a read may ask for.
 */
const WAL_POSITION = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

/**
 * Parses a WAL position (`16/B374D848`) into a number that orders positions, for comparing
 * a read's wish with what a replica has replayed. `field` names the value in the issue.
 * @example
 * parseWalPosition('0/16B3748', 'Messenger-Position'); // { ok: true, value: 23803720n }
 */
export function parseWalPosition(value: unknown, field: string): Result<bigint> {
  const m = typeof value === 'string' ? WAL_POSITION.exec(value.trim()) : null;
  if (m === null) {
    return fail(
      field,
      'must be a WAL position as PostgreSQL prints it (two hexadecimal numbers, e.g. 0/16B3748)',
    );
  }
  return ok((BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`));
}

/** The text form of a parsed WAL position (`16/B374D848`). */
export function formatWalPosition(position: bigint): string {
  return `${(position >> 32n).toString(16).toUpperCase()}/${(position & 0xffffffffn).toString(16).toUpperCase()}`;
}
