/** Longest sender or recipient name, in Unicode code points. */
export const MAX_NAME_LENGTH = 50;
/** Longest message text, in Unicode code points. */
export const MAX_CONTENT_LENGTH = 160;
/** Default page size of a listing. */
export const DEFAULT_LIST_LIMIT = 100;
/** Largest page size of a listing. */
export const MAX_LIST_LIMIT = 1000;
