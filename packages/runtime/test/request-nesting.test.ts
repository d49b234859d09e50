import { describe, expect, it } from 'vitest';
import { MAX_REQUEST_NESTING, scanRequestNesting } from '../src/protocol/request-nesting.js';

describe('scanRequestNesting', () => {
  it('counts arrays and objects, refusing one level past the limit', () => {
    expect(scanRequestNesting(`${'['.repeat(3)}${']'.repeat(3)}`, 3).tooDeep).toBe(false);
    expect(scanRequestNesting(`${'['.repeat(4)}${']'.repeat(4)}`, 3).tooDeep).toBe(true);
    expect(scanRequestNesting('{"a":{"b":[{}]}}', 4).tooDeep).toBe(false);
    expect(scanRequestNesting('{"a":{"b":[{}]}}', 3).tooDeep).toBe(true);
    // Siblings do not add up: depth is what is open at once.
    expect(scanRequestNesting(`[${'[],'.repeat(1000)}[]]`, 2).tooDeep).toBe(false);
  });

  it('skips brackets inside strings, escaped quotes included, and judges invalid JSON by its brackets alone', () => {
    expect(scanRequestNesting('{"a":"\\"[[[[[[","b":"]]]]"}', 1).tooDeep).toBe(false);
    expect(scanRequestNesting('{"a":"\\\\","b":[[1]]}', 2).tooDeep).toBe(true);
    expect(scanRequestNesting('[[[[ not json', 3).tooDeep).toBe(true);
    expect(scanRequestNesting('"[[[[[ an unterminated string', 1).tooDeep).toBe(false);
  });

  it('reads the top-level id as JSON.parse would, and only that one', () => {
    const idOf = (text: string) => scanRequestNesting(text, MAX_REQUEST_NESTING).id;
    expect(idOf('{"id":"a\\"b"}')).toBe('a"b');
    expect(idOf('{"v":1, "id" : -1.5e2 }')).toBe(-150);
    expect(idOf('{"\\u0069\\u0064":7}')).toBe(7);
    expect(idOf('{"id":1,"id":"two"}')).toBe('two');
    expect(idOf('{"id":true}')).toBeNull();
    expect(idOf('{"id":[1]}')).toBeNull();
    expect(idOf('{"x":{"id":5}}')).toBeNull();
    expect(idOf('{"x":"id","y":5}')).toBeNull();
    expect(idOf('{"id":"unterminated')).toBeNull();
    expect(idOf('no json at all')).toBeNull();
    for (const text of ['{"id":"a\\"b"}', '{"v":1, "id" : -1.5e2 }', '{"\\u0069\\u0064":7}', '{"id":1,"id":"two"}', '{"x":{"id":5}}']) {
      const parsed = (JSON.parse(text) as { id?: unknown }).id;
      expect(idOf(text)).toBe(typeof parsed === 'string' || typeof parsed === 'number' ? parsed : null);
    }
  });

  it('walks a million levels without recursing', () => {
    const text = `{"id":9,"a":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}`;
    expect(scanRequestNesting(text, MAX_REQUEST_NESTING)).toEqual({ tooDeep: true, id: 9 });
  });
});
