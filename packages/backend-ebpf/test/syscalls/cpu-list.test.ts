import { describe, expect, it } from 'vitest';
import { countCpuList } from '../../src/syscalls/cpu-list.js';

describe('countCpuList', () => {
  it.each([
    ['0', 1],
    ['0-1\n', 2],
    ['0-3,8,10-11', 7],
    ['0-127', 128],
  ])('counts %j as %i CPUs', (list, count) => {
    expect(countCpuList(list)).toBe(count);
  });

  it.each(['', 'x', '3-1', '0-'])('refuses %j', (list) => {
    expect(() => countCpuList(list)).toThrow(RangeError);
  });
});
