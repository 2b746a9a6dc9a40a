import { fail, type Result } from '../result.js';
import { MAX_NAME_LENGTH } from '../validation/limits.js';
import { checkLength, checkString } from '../validation/text.js';

/**
 * Which rules a name follows.
 *
 * - `strict`: user names, and in token mode every sender and recipient. The input is
 *   NFC-normalised (a decomposed `e\u0301` becomes `é`; it is not refused) and trimmed, then
 *   holds 1–50 code points and none of: control characters (Cc), format characters (Cf: bidi
 *   controls, zero-width characters including ZWJ, the BOM, the soft hyphen, tags), line and
 *   paragraph separators (Zl, Zp), spaces other than U+0020 (Zs: no-break, en, thin, ideographic
 *   spaces…), private-use characters (Co), unassigned code points (Cn), or two spaces in a row.
 *   What is left shows as what it is: no hidden characters, no reordering, no look-alike gaps.
 * - `open`: free-text names (open mode, and the direct-database CLI, which has no user). The
 *   rules of before accounts existed — trimmed, 1–50 code points, no control characters — plus
 *   no bidi controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) and no zero-width
 *   characters (U+200B–U+200D, U+2060, U+FEFF). Nothing else is refused or changed, so names
 *   stored before keep working.
 *
 * Both refuse NUL and lone surrogates (not valid text at all).
 */
export type NameProfile = 'strict' | 'open';

/** Bidirectional controls: they reorder what is shown (`\u202egnp.exe` shows as `exe.png`). */
const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;
/** Zero-width characters: a name that holds one looks like one that does not. */
const ZERO_WIDTH = /[\u200B-\u200D\u2060\uFEFF]/u;
/** Everything the open profile refuses, in one test (the common case is a name with none). */
const OPEN_REFUSED = /[\p{Cc}\u061C\u200B-\u200F\u202A-\u202E\u2060\u2066-\u2069\uFEFF]/u;
/** Everything the strict profile refuses, in one test; the match is then classified. */
const STRICT_REFUSED = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cn}]|(?! )\p{Zs}| {2}/u;

const CLASSES: readonly (readonly [RegExp, string])[] = [
  [/\p{Cc}/u, 'control characters'],
  [BIDI, 'bidirectional control characters'],
  [ZERO_WIDTH, 'zero-width characters'],
  [/\p{Cf}/u, 'format characters'],
  [/[\p{Zl}\p{Zp}]/u, 'line or paragraph separators'],
  [/\p{Zs}/u, 'spaces other than U+0020'],
  [/\p{Co}/u, 'private-use characters'],
  [/\p{Cn}/u, 'unassigned code points'],
];

/**
 * Checks one name field (`sender`, `recipient`, a user's `name`, a list filter…) against a
 * {@link NameProfile}. Returns the name as it is to be used (trimmed; NFC-normalised under
 * `strict`) or one issue naming the field and the rule, with the offending code point:
 * `recipient: may not contain bidirectional control characters (U+202E)`. Control characters
 * keep their message of before: `may not contain control characters`.
 *
 * @example
 * checkName('recipient', ' alice ', 'strict'); // { ok: true, value: 'alice' }
 * checkName('recipient', 'e\u0301mile', 'strict'); // { ok: true, value: 'émile' }
 * checkName('sender', 'bo\u200Bb', 'open'); // issue: may not contain zero-width characters (U+200B)
 * checkName('name', 'bob\u00A0smith', 'strict'); // issue: may not contain spaces other than U+0020 (U+00A0)
 */
export function checkName(
  field: string,
  raw: unknown,
  profile: NameProfile,
  max: number = MAX_NAME_LENGTH,
): Result<string> {
  const s = checkString(field, raw);
  if (!s.ok) return s;
  const value = (profile === 'strict' ? s.value.normalize('NFC') : s.value).trim();
  if (value.length === 0) return fail(field, 'may not be blank');
  const refused = (profile === 'strict' ? STRICT_REFUSED : OPEN_REFUSED).exec(value);
  if (refused !== null) return fail(field, refusal(refused[0]));
  return checkLength(field, value, max);
}

/** The rule a refused character (or a double space) broke, with its code point. */
function refusal(match: string): string {
  if (match === '  ') return 'may not contain two spaces in a row';
  const kind = CLASSES.find(([re]) => re.test(match))?.[1] ?? 'this character';
  if (kind === 'control characters') return 'may not contain control characters';
  return `may not contain ${kind} (${codePointLabel(match)})`;
}

/** `U+202E`: the code point of the first character of `s`. */
function codePointLabel(s: string): string {
  const cp = s.codePointAt(0) ?? 0;
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}
