/** Longest rendering of a received value inside an issue message, in UTF-16 code units. */
export const MAX_DESCRIBED_LENGTH = 80;

/** Arrays and objects nested deeper than this are shown as `[…]` / `{…}`. */
const MAX_DEPTH = 3;

/**
 * A short, bounded rendering of a value a caller sent, for issue messages: JSON for
 * ordinary values (`"maybe"`, `12`, `true`, `null`, `[1,"x"]`), `NaN`/`Infinity`/`undefined`
 * and `12n` where JSON has no spelling, at most {@link MAX_DESCRIBED_LENGTH} characters
 * (then `…`). Arrays and objects are shown three levels deep: it never recurses further
 * and never walks more of a value than it prints, so a value nested thousands of levels
 * deep or holding a million items costs next to nothing (JSON.stringify would overflow the
 * stack or echo megabytes back).
 *
 * @example
 * describeValue('maybe'); // '"maybe"'
 * describeValue([[[[[1]]]]]); // '[[[[…]]]]'
 */
export function describeValue(value: unknown): string {
  const out = { text: '' };
  try {
    render(value, 0, out);
  } catch {
    // A getter that throws, a revoked Proxy: say what it is, not what it holds.
    out.text = Array.isArray(value) ? 'an array' : `a value of type ${typeof value}`;
  }
  return out.text.length > MAX_DESCRIBED_LENGTH
    ? `${out.text.slice(0, MAX_DESCRIBED_LENGTH)}…`
    : out.text;
}

/** Appends `v` to `out.text`, stopping as soon as the text is past the limit. */
function render(v: unknown, depth: number, out: { text: string }): void {
  if (out.text.length > MAX_DESCRIBED_LENGTH) return;
  switch (typeof v) {
    case 'string':
      // Only the part that can be shown: a megabyte string is not copied whole.
      out.text += JSON.stringify(v.slice(0, MAX_DESCRIBED_LENGTH + 1));
      return;
    case 'number':
      out.text += Number.isFinite(v) ? JSON.stringify(v) : String(v);
      return;
    case 'boolean':
    case 'undefined':
      out.text += String(v);
      return;
    case 'bigint':
      out.text += `${v}n`;
      return;
    case 'function':
      out.text += 'a function';
      return;
    case 'symbol':
      out.text += 'a symbol';
      return;
  }
  if (v === null) {
    out.text += 'null';
    return;
  }
  if (v instanceof Date) {
    out.text += Number.isNaN(v.getTime()) ? 'Invalid Date' : JSON.stringify(v.toISOString());
    return;
  }
  const isArray = Array.isArray(v);
  if (depth >= MAX_DEPTH) {
    out.text += isArray ? '[…]' : '{…}';
    return;
  }
  out.text += isArray ? '[' : '{';
  if (isArray) {
    for (let i = 0; i < v.length && out.text.length <= MAX_DESCRIBED_LENGTH; i++) {
      if (i > 0) out.text += ',';
      render(v[i], depth + 1, out);
    }
  } else {
    let first = true;
    for (const key in v as object) {
      if (out.text.length > MAX_DESCRIBED_LENGTH) break;
      if (!Object.hasOwn(v as object, key)) continue;
      if (!first) out.text += ',';
      first = false;
      out.text += `${JSON.stringify(key.slice(0, MAX_DESCRIBED_LENGTH + 1))}:`;
      render((v as Record<string, unknown>)[key], depth + 1, out);
    }
  }
  out.text += isArray ? ']' : '}';
}
