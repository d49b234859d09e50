import { describe, expect, it } from 'vitest';
import { DROP, PASS, PolicyDefinitionError, PolicyHelperError, definePolicy, parsePolicyManifest, random } from '../src/index.js';

describe('definePolicy', () => {
  it('returns a frozen definition carrying the validated manifest and the schedule function', () => {
    const policy = definePolicy({
      name: 'sita',
      input: 'udp',
      maps: { next: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 } },
      params: { SOCKETS: 6 },
      schedule(pkt, { next }, { SOCKETS }) {
        if (pkt.payload.length < 4) return PASS;
        if (pkt.payload.u32(0) === 1) return 0;
        if (pkt.payload.u32(0) === 2) return DROP;
        return 1 + (next.fetchAdd(0, 1) % (SOCKETS - 1));
      },
    });
    expect(policy.name).toBe('sita');
    expect(policy.input).toBe('udp');
    expect(policy.maps).toEqual({ next: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 } });
    expect(policy.params).toEqual({ SOCKETS: 6 });
    expect(typeof policy.schedule).toBe('function');
    expect(Object.isFrozen(policy)).toBe(true);
    expect(Object.isFrozen(policy.maps)).toBe(true);
  });

  it('accepts a policy without maps or params', () => {
    const policy = definePolicy({ name: 'drop-all', input: 'packet', schedule: () => DROP });
    expect(policy.maps).toEqual({});
    expect(policy.params).toEqual({});
  });

  it.each([
    [{ name: 'Bad Name', input: 'udp' }, 'policy name "Bad Name" must be lowercase letters, digits and dashes, starting with a letter, at most 63 characters.'],
    [{ name: 'p', input: 'sctp' }, "policy 'p' has input \"sctp\", which is not one of udp, tcp, packet, thread."],
    [{ name: 'p', input: 'udp', maps: { 'a-b': { kind: 'hash', key: 'u32', value: 'u64', maxEntries: 1 } } }, "policy 'p' map name \"a-b\" is not an identifier."],
    [{ name: 'p', input: 'udp', maps: { m: { kind: 'hash', key: 'u32', value: 'u64', maxEntries: 0 } } }, "policy 'p' map 'm' field 'maxEntries'"],
    [JSON.parse('{"name":"p","input":"udp","params":{"__proto__":1}}'), "policy 'p' param name \"__proto__\" is not an identifier."],
    [{ name: 'p', input: 'udp', params: { N: -1 } }, "policy 'p' param 'N' is -1, not an unsigned 64-bit integer."],
    [{ name: 'p', input: 'udp', params: { N: 1.5 } }, "policy 'p' param 'N' is 1.5, not an unsigned 64-bit integer."],
    [{ name: 'p', input: 'udp', params: { N: 1n << 64n } }, "policy 'p' param 'N' is 18446744073709551616, not an unsigned 64-bit integer."],
  ])('refuses invalid manifest %# with one sentence', (manifest, expected) => {
    let error: unknown;
    try {
      parsePolicyManifest(manifest);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PolicyDefinitionError);
    expect((error as PolicyDefinitionError).code).toBe('POLICY_INVALID');
    expect((error as Error).message.startsWith(expected)).toBe(true);
    expect((error as Error).message).not.toContain('\n');
  });

  it('accepts u64 params beyond 2^53 as bigint', () => {
    expect(parsePolicyManifest({ name: 'p', input: 'udp', params: { BIG: (1n << 64n) - 1n } }).params).toEqual({ BIG: (1n << 64n) - 1n });
  });

  it('refuses a declaration without a schedule function', () => {
    expect(() => definePolicy({ name: 'p', input: 'udp', schedule: undefined as never })).toThrow("policy 'p' has no schedule function.");
  });

  it('policy helpers refuse to run as plain JavaScript', () => {
    expect(() => random()).toThrow(PolicyHelperError);
  });
});
