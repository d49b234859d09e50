import { afterEach, describe, expect, it, vi } from 'vitest';
import { gateDecision, NEED_NAMES, needKind, needReason, type MissingNeed } from '../src/kernel-gate.js';

const missing = (need: MissingNeed['need'], reason = 'it is not there.'): MissingNeed => ({ need, kind: needKind(need), reason });

describe('the gate rule', () => {
  it('runs a suite that misses nothing', () => {
    expect(gateDecision([], true)).toEqual({ run: true });
  });

  it('skips a suite missing a machine need, and fails it under SYRUP_REQUIRE_KERNEL=1', () => {
    const lacking = [missing('xdp-driver', 'Driver (native) XDP cannot be attached: EOPNOTSUPP.')];
    expect(gateDecision(lacking, false)).toEqual({ run: false, fail: false, reason: 'needs xdp-driver: Driver (native) XDP cannot be attached: EOPNOTSUPP' });
    expect(gateDecision(lacking, true)).toMatchObject({ run: false, fail: true });
  });

  it('skips a suite missing only hardware or a kernel variant, even under SYRUP_REQUIRE_KERNEL=1', () => {
    for (const need of ['nfp', 'ghost', 'sched-ext'] as const) {
      expect(needKind(need)).toBe('variant');
      expect(gateDecision([missing(need)], true)).toMatchObject({ run: false, fail: false });
    }
    // A variant suite on a machine without privileges still fails under REQUIRE: the privilege is the machine's.
    expect(gateDecision([missing('root', 'not root.'), missing('nfp', 'no NFP NIC.')], true)).toMatchObject({ run: false, fail: true, reason: 'needs root: not root; needs nfp: no NFP NIC' });
  });

  it('names the needs missing for one cause in one clause', () => {
    const unprivileged = 'this process is not root and lacks CAP_BPF.';
    const decision = gateDecision([missing('bpf', unprivileged), missing('netns', 'no ip.'), missing('xdp-skb', unprivileged)], false);
    expect(decision).toMatchObject({ reason: 'needs bpf, xdp-skb: this process is not root and lacks CAP_BPF; needs netns: no ip' });
  });

  it('treats every need that is not hardware or a kernel variant as one CI machines have', () => {
    expect(NEED_NAMES.filter((need) => needKind(need) === 'variant')).toEqual(['nfp', 'ghost', 'sched-ext']);
  });
});

describe('needs', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('refuses a need that is not in the vocabulary', () => {
    expect(() => needReason('xdp-offload' as never)).toThrow(/unknown kernel need 'xdp-offload'; the needs are root, bpf, /);
  });

  it('answers "missing" for a need SYRUP_TEST_WITHOUT names, whatever the machine has', async () => {
    vi.stubEnv('SYRUP_TEST_WITHOUT', 'root, xdp-driver');
    vi.resetModules();
    const gate = await import('../src/kernel-gate.js');
    expect(gate.needReason('root')).toBe('SYRUP_TEST_WITHOUT names root.');
    expect(gate.missingNeeds(['xdp-driver', 'nfp']).map((m) => m.need)).toContain('xdp-driver');
  });

  it('probes each need once per process: a test file evaluated afresh answers from the same cache', async () => {
    const first = needReason('sched-ext');
    const cache = (globalThis as Record<symbol, unknown>)[Symbol.for('@syrup/test-support.kernel-needs')] as Map<string, string | null>;
    expect(cache.get('sched-ext')).toBe(first ?? null);
    cache.set('sched-ext', 'a cached answer.');
    vi.resetModules();
    const again = await import('../src/kernel-needs.js');
    expect(again.needReason('sched-ext')).toBe('a cached answer.');
    cache.set('sched-ext', first ?? null);
  });
});
