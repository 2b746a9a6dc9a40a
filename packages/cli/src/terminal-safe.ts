// Apart from output.ts: the client library (dist/index.js) uses it, and must not load chalk,
// which only the bundled `msg` carries.

const UNSAFE = /[\p{Cc}\u2028\u2029]/gu;

/**
 * Makes untrusted text safe to show on a terminal: control characters (escape
 * sequences could rewrite the screen) become visible `\xNN` / `\u{…}` escapes;
 * newlines and tabs are kept.
 */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, (c) => {
    if (c === '\n' || c === '\t') return c;
    const cp = c.codePointAt(0) ?? 0;
    return cp <= 0xff ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u{${cp.toString(16)}}`;
  });
}
