import { describe, expect, it } from 'vitest';
import { busyBetween, parseCpuTimes } from '../src/runner/cpu-busy.js';

// user nice system idle iowait irq softirq steal guest guest_nice
const stat = (cpu0: string, cpu1: string): string => `cpu  1 2 3 4 5 6 7 8 0 0\ncpu0 ${cpu0} 0 0\ncpu1 ${cpu1} 0 0\nintr 1 2 3\n`;

describe('CPU busy shares from /proc/stat', () => {
  it('counts user, nice, system, irq and softirq as busy, idle and iowait as not, and leaves steal out of both', () => {
    expect(parseCpuTimes(stat('10 1 4 80 5 2 3 50', '0 0 0 100 0 0 0 0'))).toEqual([
      { busy: 20, total: 105 },
      { busy: 0, total: 100 },
    ]);
  });

  it('gives each CPU its busy share between two readings', () => {
    const before = parseCpuTimes(stat('100 0 0 100 0 0 0 0', '100 0 0 100 0 0 0 0'));
    const after = parseCpuTimes(stat('175 0 0 125 0 0 0 40', '101 0 0 199 0 0 0 0'));
    expect(busyBetween(before, after)).toEqual([0.75, 0.01]);
  });

  it('has no shares when a reading is missing or the CPUs differ', () => {
    const two = parseCpuTimes(stat('1 0 0 1 0 0 0 0', '1 0 0 1 0 0 0 0'));
    expect(parseCpuTimes('intr 1 2\n')).toBeUndefined();
    expect(busyBetween(undefined, two)).toBeUndefined();
    expect(busyBetween(two, two!.slice(0, 1))).toBeUndefined();
  });
});
