import { describe, expect, it } from 'vitest';
import { flowHash, foldIpv6Address, ipv4Address } from '../src/index.js';

describe('flowHash', () => {
  it('matches known values of the documented algorithm', () => {
    // Reference values computed independently with Python's integers from the doc comment's formula.
    expect(flowHash(0, 0, 0, 0)).toBe(0);
    expect(flowHash(ipv4Address('127.0.0.1'), ipv4Address('127.0.0.1'), 40000, 9000)).toBe(2781259915);
  });

  it('is a 32-bit value that depends on every field', () => {
    const base = flowHash(1, 2, 3, 4);
    expect(base).toBeGreaterThanOrEqual(0);
    expect(base).toBeLessThan(2 ** 32);
    expect(new Set([base, flowHash(9, 2, 3, 4), flowHash(1, 9, 3, 4), flowHash(1, 2, 9, 4), flowHash(1, 2, 3, 9)]).size).toBe(5);
  });

  it('folds IPv6 addresses by XOR of the four words and reads IPv4 as big-endian', () => {
    expect(ipv4Address('10.1.2.3')).toBe(0x0a010203);
    const v6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(foldIpv6Address(v6)).toBe((0x20010db8 ^ 1) >>> 0);
  });
});
