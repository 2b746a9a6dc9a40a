import type { Placeholder } from '../message.repository.js';
import { SEARCH_VECTOR } from './search-index.js';
import type { SearchQuery } from './search-query.js';

/** SQL of a search: the condition a matching message meets, and its rank. */
export interface SearchSql {
  /** `<indexed vector> @@ <query>`: what the GIN index serves. */
  readonly match: string;
  /** `ts_rank(<vector>, <query>)`, a `real`. */
  readonly rank: string;
}

/**
 * The conditions of a search. The query text is one bound parameter, parsed by
 * `websearch_to_tsquery('simple', …)` after the same folding as the index; nothing the user
 * typed becomes SQL text. For a prefix, the parsed query's last term gets `:*` by rewriting the
 * tsquery's own text form (where every term is a quoted lexeme) and casting it back: the SQL
 * is one of two fixed shapes, chosen here.
 */
export function searchConditions(search: SearchQuery, p: Placeholder): SearchSql {
  const parsed = `websearch_to_tsquery('simple'::regconfig, messenger_search_fold(${p(search.text)}))`;
  const query =
    search.prefix === null ? parsed : `regexp_replace(${parsed}::text, '''$', ''':*')::tsquery`;
  return {
    match: `${SEARCH_VECTOR} @@ ${query}`,
    rank: `ts_rank(${SEARCH_VECTOR}, ${query})`,
  };
}
