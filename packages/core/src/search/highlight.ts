import { foldForSearch, type SearchQuery, WORD } from './search-query.js';

/** Opens a match in {@link highlight}: U+E000, a private-use character (no markup, no control). */
export const HIGHLIGHT_START = '\uE000';
/** Closes a match in {@link highlight}: U+E001. */
export const HIGHLIGHT_END = '\uE001';

/**
 * The text with every word the search found wrapped in {@link HIGHLIGHT_START} …
 * {@link HIGHLIGHT_END}: a word matches when it folds (case, accents) to one of the query's
 * words, or starts with the last one when that is a prefix. The markers are private-use
 * characters, so the text stays safe to print on a terminal and to escape for HTML (escape
 * first, then replace the markers, e.g. with `<mark>` and `</mark>`). Any marker character
 * already in the text becomes U+FFFD, so every marker in the answer is a real match.
 * Approximate by design: PostgreSQL decides what matches, this only shows where.
 *
 * @example
 * highlight('Lunch at the Café?', { text: 'cafe lunc', prefix: 'lunc', words: ['cafe', 'lunc'] });
 * // '\uE000Lunch\uE001 at the \uE000Café\uE001?'
 */
export function highlight(text: string, search: SearchQuery): string {
  const words = new Set(search.words);
  const stem = search.prefix;
  return text.replace(/[\uE000\uE001]/g, '\uFFFD').replace(WORD, (word) => {
    const folded = foldForSearch(word);
    const hit = words.has(folded) || (stem !== null && folded.startsWith(stem));
    return hit ? `${HIGHLIGHT_START}${word}${HIGHLIGHT_END}` : word;
  });
}
