/**
 * The deepest a request line may nest JSON arrays and objects. Real requests nest a handful
 * of levels (a deploy: the request, its target, `target.extra`, a value in it); the bound
 * exists because the schema's validation of `target.extra` (zod's `z.json()`) recurses once
 * per level, and a few KB of brackets would exhaust the stack.
 */
export const MAX_REQUEST_NESTING = 64;

/** What one pass over a request line found before anything parses it. */
export interface RequestNesting {
  /** True when some array or object opens more than `limit` levels deep. */
  readonly tooDeep: boolean;
  /**
   * The `id` the line's top-level object names, when it names a string or a number: a
   * refusal of a line too deep to parse still answers the request it came from.
   */
  readonly id: string | number | null;
}

const JSON_NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * One linear pass over a request line's text, with no recursion and no allocation per level:
 * brackets inside strings do not count, and the text need not be valid JSON (JSON.parse judges
 * that afterwards). Invariant: the work is O(text.length) whatever the text, so it can run on
 * every line before anything that recurses per level does.
 */
export function scanRequestNesting(text: string, limit: number): RequestNesting {
  let depth = 0;
  let tooDeep = false;
  let id: string | number | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      // A top-level `"id": value` (the last one wins, as in JSON.parse).
      if (depth === 1 && isIdKey(text, i, end)) {
        const colon = skipSpace(text, end);
        if (text.charCodeAt(colon) === COLON) {
          const value = skipSpace(text, colon + 1);
          id = idAt(text, value);
        }
      }
      i = end - 1;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > limit) tooDeep = true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return { tooDeep, id };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** The offset just past the string that opens at `start` (or the end of the text when it never closes). */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i + 1;
  }
  return text.length;
}

function skipSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\r' || text[i] === '\n')) i++;
  return i;
}

/** Whether the string token text[start, end) reads "id" (escapes included, as JSON.parse reads them). */
function isIdKey(text: string, start: number, end: number): boolean {
  if (end - start === 4) return text.slice(start, end) === '"id"';
  // A longer spelling of "id" is all escapes, at most "\u0069\u0064"; anything longer is another key.
  if (end - start > 14 || !text.slice(start, end).includes('\\')) return false;
  try {
    return JSON.parse(text.slice(start, end)) === 'id';
  } catch {
    return false;
  }
}

/** A string or number token at `at`, as JSON.parse would read it; null for anything else. */
function idAt(text: string, at: number): string | number | null {
  if (text.charCodeAt(at) === QUOTE) {
    try {
      return JSON.parse(text.slice(at, stringEnd(text, at))) as string;
    } catch {
      return null;
    }
  }
  JSON_NUMBER.lastIndex = at;
  const number = JSON_NUMBER.exec(text);
  return number === null ? null : Number(number[0]);
}
