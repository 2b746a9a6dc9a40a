import { fail, ok, type Result } from '../result.js';
import { describeType } from '../validation/text.js';

/** Longest search query, in Unicode code points. */
export const MAX_SEARCH_LENGTH = 200;

/**
 * A validated full-text search (the `q` of a listing). The text itself goes to PostgreSQL's
 * `websearch_to_tsquery('simple', …)` as a bound parameter, never as SQL.
 */
export interface SearchQuery {
  /** The query as given, trimmed. */
  readonly text: string;
  /**
   * The last word, folded, when it is matched as a prefix (`lunc` finds "lunch"; see
   * {@link parseSearch}), else `null`.
   */
  readonly prefix: string | null;
  /** The words to find (not the excluded ones), folded as the index folds them: for highlighting. */
  readonly words: readonly string[];
}

/**
 * Folds text the way migration 0007's `messenger_search_fold` does before the `simple`
 * configuration lower-cases it: compatibility decomposition, Latin/Greek/Cyrillic combining
 * marks removed, recomposed (so Hangul syllables and Japanese voiced kana stay whole), and the
 * few letters that carry no separate accent (ø, ł, đ, ħ, ı, æ, œ, ß) spelled in ASCII.
 */
export function foldForSearch(text: string): string {
  // Plain ASCII (most words) has nothing to decompose: only the case to fold.
  if (ASCII.test(text)) return text.toLowerCase();
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[øłđħı]/g, (c) => FOLDED_LETTERS[c] ?? c)
    .replace(/æ/g, 'ae')
    .replace(/œ/g, 'oe')
    .replace(/ß/g, 'ss');
}

const ASCII = /^[\x20-\x7e]*$/;

const FOLDED_LETTERS: Record<string, string> = { ø: 'o', ł: 'l', đ: 'd', ħ: 'h', ı: 'i' };

/** A word as PostgreSQL's parser sees one, near enough for highlighting: letters and digits. */
export const WORD = /[\p{L}\p{N}]+/gu;

interface Token {
  readonly word: string;
  readonly excluded: boolean;
  readonly quoted: boolean;
}

/**
 * Reads a query in web-search syntax as `websearch_to_tsquery` does: words, `"quoted
 * phrases"` (an unclosed quote runs to the end), `or` between two terms, `-word` and
 * `-"phrase"` excluded. Returns the words in order, each marked excluded or not.
 */
function tokens(text: string): Token[] {
  const out: Token[] = [];
  let quoted = false;
  let excluded = false;
  let phraseExcluded = false;
  for (const part of text.split(/(")|\s+/u)) {
    if (part === undefined || part === '') continue;
    if (part === '"') {
      quoted = !quoted;
      phraseExcluded = quoted && excluded;
      excluded = false;
      continue;
    }
    let chunk = part;
    if (!quoted && chunk.startsWith('-')) {
      excluded = true;
      chunk = chunk.replace(/^-+/, '');
      if (chunk === '') continue;
    }
    for (const m of chunk.matchAll(WORD)) {
      out.push({ word: m[0], excluded: quoted ? phraseExcluded : excluded, quoted });
    }
    if (!quoted) excluded = false;
  }
  // `or` outside quotes between two terms is the operator, not a word to find.
  return out.filter(
    (t, i) =>
      t.quoted || t.word.toLowerCase() !== 'or' || i === 0 || i === out.length - 1 || t.excluded,
  );
}

/**
 * Validates the `q` of a listing: 1–200 characters after trimming, with at least one word to
 * find (a query of punctuation, emoji or exclusions only matches nothing useful). The last word
 * is a prefix when the query ends with it, as while typing: not after a closing quote, and not
 * when it is excluded.
 *
 * @example
 * parseSearch('Lunch boo'); // { ok: true, value: { text: 'Lunch boo', prefix: 'boo', words: ['lunch', 'boo'] } }
 */
export function parseSearch(value: unknown): Result<SearchQuery> {
  if (typeof value !== 'string') return fail('q', `must be a string, got ${describeType(value)}`);
  const text = value.trim();
  if (text === '') return fail('q', 'must not be empty');
  const length = [...text].length;
  if (length > MAX_SEARCH_LENGTH) {
    return fail('q', `at most ${MAX_SEARCH_LENGTH} characters, got ${length}`);
  }
  if (text.includes('\u0000')) return fail('q', 'must not contain NUL');
  const all = tokens(text);
  const words = all.filter((t) => !t.excluded).map((t) => foldForSearch(t.word));
  if (words.length === 0) {
    return fail(
      'q',
      'has no word to find (only punctuation, symbols, operators or -excluded words)',
    );
  }
  const last = all.at(-1);
  const endsWithWord = /[\p{L}\p{N}]$/u.test(text);
  const prefix =
    endsWithWord && last !== undefined && !last.excluded ? foldForSearch(last.word) : null;
  return ok({ text, prefix, words: [...new Set(words)] });
}
