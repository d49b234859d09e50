import { describe, expect, it } from 'vitest';
import { RequestLines, type RequestLine } from '../src/protocol/request-lines.js';

function drain(lines: RequestLines): RequestLine[] {
  const taken: RequestLine[] = [];
  for (let next = lines.next(); next !== undefined; next = lines.next()) taken.push(next);
  return taken;
}

describe('request lines', () => {
  it('hand out one line per call and keep the rest of the chunk unscanned until asked', () => {
    const lines = new RequestLines(100);
    lines.push(Buffer.from('one\ntwo\nthr'));
    expect(lines.next()).toEqual({ text: 'one' });
    expect(lines.scanned).toBe(false);
    expect(lines.heldBytes).toBe('two\nthr'.length);
    expect(lines.next()).toEqual({ text: 'two' });
    // The unfinished line is held, and everything received has been looked at.
    expect(lines.next()).toBeUndefined();
    expect(lines.scanned).toBe(true);
    expect(lines.heldBytes).toBe(3);
    lines.push(Buffer.from('ee\n'));
    expect(drain(lines)).toEqual([{ text: 'three' }]);
    expect(lines.heldBytes).toBe(0);
  });

  it('report a line over the limit once, as soon as it passes the limit, and drop the rest of it up to its newline', () => {
    const lines = new RequestLines(10);
    lines.push(Buffer.from('x'.repeat(8)));
    expect(drain(lines)).toEqual([]);
    lines.push(Buffer.from('x'.repeat(8)));
    expect(drain(lines)).toEqual([{ tooLarge: true }]);
    expect(lines.heldBytes).toBe(0);
    lines.push(Buffer.from('x'.repeat(50)));
    expect(drain(lines)).toEqual([]);
    expect(lines.heldBytes).toBe(0);
    lines.push(Buffer.from('xx\nok\n'));
    expect(drain(lines)).toEqual([{ text: 'ok' }]);
    // A complete line over the limit in one chunk is reported where it ends.
    lines.push(Buffer.from(`${'y'.repeat(11)}\nfine\n`));
    expect(drain(lines)).toEqual([{ tooLarge: true }, { text: 'fine' }]);
  });

  it('take a chunk pushed before the last one was scanned after it, in order', () => {
    const lines = new RequestLines(100);
    lines.push(Buffer.from('a\nb\n'));
    expect(lines.next()).toEqual({ text: 'a' });
    lines.push(Buffer.from('c\n'));
    expect(drain(lines)).toEqual([{ text: 'b' }, { text: 'c' }]);
  });
});
