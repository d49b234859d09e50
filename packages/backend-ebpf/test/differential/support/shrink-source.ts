/**
 * Shrinks a failing policy's source by deleting lines while `stillFails` says the smaller text
 * fails the same way. The generator writes one statement per line and closes every block on a
 * line of its own, so deleting a line that opens a block together with the line that closes
 * it removes a whole `if`/`else`, `switch`, `for` or helper; then single lines go. A deletion
 * that breaks the syntax simply does not compile, which `stillFails` reports as not failing.
 * Passes repeat until nothing more can go or `maxAttempts` candidates were tried (each costs a
 * compile, a load and a run, a few milliseconds).
 */
export function shrinkSource(text: string, stillFails: (candidate: string) => boolean, maxAttempts = 400): { text: string; attempts: number } {
  let lines = text.split('\n');
  let attempts = 0;
  const attempt = (candidate: string[]): boolean => {
    attempts++;
    return stillFails(candidate.join('\n'));
  };
  for (let changed = true; changed && attempts < maxAttempts; ) {
    changed = false;
    // Whole blocks first, outermost first: one success removes many lines.
    for (let i = 0; i < lines.length && attempts < maxAttempts; i++) {
      const end = blockEnd(lines, i);
      if (end === undefined) continue;
      const candidate = [...lines.slice(0, i), ...lines.slice(end + 1)];
      if (attempt(candidate)) {
        lines = candidate;
        changed = true;
        i--;
      }
    }
    for (let i = lines.length - 1; i >= 0 && attempts < maxAttempts; i--) {
      if ((lines[i] ?? '').trim() === '') continue;
      const candidate = [...lines.slice(0, i), ...lines.slice(i + 1)];
      if (attempt(candidate)) {
        lines = candidate;
        changed = true;
      }
    }
  }
  return { text: lines.join('\n'), attempts };
}

/**
 * The line that closes the block opened at the end of line `start` (brace counting; generated
 * code has no braces in strings or comments), or undefined when `start` opens no block or
 * continues one (`} else {`).
 */
export function blockEnd(lines: readonly string[], start: number): number | undefined {
  const first = (lines[start] ?? '').trim();
  if (!first.endsWith('{') || first.startsWith('}')) return undefined;
  let depth = 0;
  for (let i = start; i < lines.length; i++) {
    for (const c of lines[i] ?? '') {
      if (c === '{') depth++;
      else if (c === '}') depth--;
    }
    if (depth <= 0) return i;
  }
  return undefined;
}
