/** Longest sender or recipient name, in Unicode code points. */
export const MAX_NAME_LENGTH = 50;
/** Longest message text, in Unicode code points. */
export const MAX_CONTENT_LENGTH = 160;
/** Default page size of a listing. */
export const DEFAULT_LIST_LIMIT = 100;
/** Largest page size of a listing. */
export const MAX_LIST_LIMIT = 1000;
/** Most ids one mark-read request may name. */
export const MAX_MARK_READ_IDS = 1000;
/** Longest idempotency key, in characters (visible ASCII, as in an HTTP header). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
