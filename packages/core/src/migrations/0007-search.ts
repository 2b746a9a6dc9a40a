import { type Kysely, sql } from 'kysely';

/**
 * Full-text search: `messenger_search_fold(text)`, the accent folding that search applies to
 * message texts and to queries alike.
 *
 * - Why not the `unaccent` extension: on PostgreSQL it needs the contrib package and the
 *   right to create extensions (an extension is per database, not per schema), and PGlite
 *   would load its module on every open (each `msg` command). This function does what
 *   search needs with built-ins only, and is IMMUTABLE (unaccent() is only STABLE), so an
 *   index can be made on it: compatibility decomposition (NFKD: `é` → `e` + accent, `ﬁ` →
 *   `fi`, full-width → ASCII), the Latin/Greek/Cyrillic combining marks removed, then
 *   recomposed (NFKC, so Hangul syllables and Japanese voiced kana stay whole), and the
 *   letters that carry no separable accent spelled out (ø ł đ ħ ı → o l d h i; æ œ ß → ae oe ss, in either case).
 *   Text of printable ASCII only, which this cannot change, is returned as it is: five times
 *   cheaper (~0.5 µs against ~2.6 µs a row here), and a newest-first search of a common word
 *   folds every row it steps over. core's `foldForSearch` is the same in TypeScript, for
 *   highlighting.
 * - The GIN index on `to_tsvector('simple', messenger_search_fold(message_content))` is NOT
 *   made here: migrations run inside a transaction, and on PostgreSQL an index made there
 *   (`CREATE INDEX`) blocks every send until it is built. `migrateToLatest` builds it right
 *   after the migrations, outside any transaction, with `CREATE INDEX CONCURRENTLY` (see
 *   search/search-index.ts): sends go on meanwhile, and search works, unindexed, until then.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create or replace function messenger_search_fold(text) returns text
    language sql immutable strict parallel safe as $$
      select case when $1 !~ '[^ -~]' then $1 else
        replace(replace(replace(replace(replace(replace(
          translate(
            normalize(regexp_replace(normalize($1, NFKD), '[\\u0300-\\u036f]', '', 'g'), NFKC),
            'øØłŁđĐħĦı', 'oollddhhi'),
          'æ', 'ae'), 'Æ', 'AE'), 'œ', 'oe'), 'Œ', 'OE'), 'ß', 'ss'), 'ẞ', 'SS')
      end
    $$`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists messages_search_idx`.execute(db);
  await sql`drop function messenger_search_fold(text)`.execute(db);
}
