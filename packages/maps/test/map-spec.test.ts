import { describe, expect, it } from 'vitest';
import { MapError, parseDataMapSpec } from '../src/index.js';

describe('parseDataMapSpec', () => {
  it('accepts every data-map kind with u32 keys and u64 values', () => {
    for (const kind of ['array', 'hash', 'percpu-array', 'lru-hash'] as const) {
      expect(parseDataMapSpec({ kind, key: 'u32', value: 'u64', maxEntries: 4 })).toEqual({
        kind,
        key: 'u32',
        value: 'u64',
        maxEntries: 4,
      });
    }
  });

  it.each([
    [{ kind: 'ringbuf', key: 'u32', value: 'u64', maxEntries: 1 }, "map 'm' field 'kind'"],
    [{ kind: 'hash', key: 'u64', value: 'u64', maxEntries: 1 }, "map 'm' field 'key'"],
    [{ kind: 'hash', key: 'u32', value: 'u32', maxEntries: 1 }, "map 'm' field 'value'"],
    [{ kind: 'hash', key: 'u32', value: 'u64', maxEntries: 0 }, "map 'm' field 'maxEntries'"],
    [{ kind: 'hash', key: 'u32', value: 'u64', maxEntries: 1.5 }, "map 'm' field 'maxEntries'"],
    [{ kind: 'hash', key: 'u32', value: 'u64', maxEntries: 1 << 30 }, "map 'm' field 'maxEntries'"],
    [{ kind: 'hash', key: 'u32', value: 'u64', maxEntries: 1, extra: true }, "map 'm'"],
    ['hash', "map 'm'"],
  ])('refuses %j with a one-sentence MAP_SPEC_INVALID naming the field', (input, prefix) => {
    let error: unknown;
    try {
      parseDataMapSpec(input, "map 'm'");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MapError);
    const mapError = error as MapError;
    expect(mapError.code).toBe('MAP_SPEC_INVALID');
    expect(mapError.message.startsWith(prefix)).toBe(true);
    expect(mapError.message.trim().endsWith('.')).toBe(true);
    expect(mapError.message).not.toContain('\n');
    expect(mapError.cause).toBeDefined();
  });
});
