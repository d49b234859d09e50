import { describe, expect, it } from 'vitest';
import { formatHostSteal, parseStealMs, readStealMs, stealBetween } from '../src/runner/host-steal.js';

const PROC_STAT = [
  'cpu  1744038 1874 822078 2741854 13645 0 75608 5679 0 0',
  'cpu0 798247 1862 291943 1523702 2036 0 38613 3572 0 0',
  'cpu1 945790 12 530135 1218151 11609 0 36995 2107 0 0',
  'intr 123 4 5',
  'ctxt 99',
].join('\n');

describe('host steal time', () => {
  it('reads the eighth column of each per-CPU line, in milliseconds', () => {
    expect(parseStealMs(PROC_STAT)).toEqual([35_720, 21_070]);
  });

  it('answers undefined for a text without per-CPU steal', () => {
    expect(parseStealMs('cpu0 1 2 3 4\n')).toBeUndefined();
    expect(parseStealMs('intr 1\n')).toBeUndefined();
  });

  it('subtracts readings per CPU and refuses mismatched ones', () => {
    expect(stealBetween([100, 200], [140, 260])).toEqual([40, 60]);
    expect(stealBetween([100], [140, 260])).toBeUndefined();
    expect(stealBetween(undefined, [1])).toBeUndefined();
  });

  it('reads this machine: one non-negative figure per CPU', () => {
    const steal = readStealMs();
    expect(steal).toBeDefined();
    expect(steal!.length).toBeGreaterThan(0);
    for (const value of steal!) expect(value).toBeGreaterThanOrEqual(0);
  });

  it('summarises the median and the largest steal per CPU', () => {
    const line = formatHostSteal([{ hostStealMs: [10, 50] }, { hostStealMs: [30, 20] }, { hostStealMs: [20, 90] }, {}]);
    expect(line).toBe('host steal per run (time the hypervisor gave our vCPUs to others, over 3 runs): CPU 0 median 20 ms, max 30 ms; CPU 1 median 50 ms, max 90 ms');
    expect(formatHostSteal([{}])).toBeUndefined();
  });
});
