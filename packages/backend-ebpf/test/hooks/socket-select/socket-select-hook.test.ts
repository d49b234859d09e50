import { describe, expect, it } from 'vitest';
import { compilePolicy, STANDARD_HOOKS } from '@syrup/core';
import { FEATURE_NAMES, type FeatureName, type FeatureReport, type FeatureStatus } from '../../../src/features/probe-features.js';
import { SocketSelectHook } from '../../../src/hooks/socket-select/socket-select-hook.js';
import { canonicalAddress } from '../../../src/hooks/socket-select/socket-table.js';
import { policyUnit } from './support.js';

function report(missing: Partial<Record<FeatureName, string>>): FeatureReport {
  const features: FeatureStatus[] = FEATURE_NAMES.map((name) =>
    missing[name] === undefined ? { name, available: true } : { name, available: false, reason: missing[name] },
  );
  return {
    features,
    get: (name) => features.find((f) => f.name === name) as FeatureStatus,
    has: (...names) => names.every((name) => missing[name] === undefined),
  };
}

describe('SocketSelectHook without the kernel', () => {
  const hook = new SocketSelectHook();

  it('declares the standard socket-select hook', () => {
    expect(hook.spec).toBe(STANDARD_HOOKS['socket-select']);
  });

  it('is available when bpf() and SK_REUSEPORT programs are, and says why not in one sentence otherwise', () => {
    expect(hook.probe(report({}))).toEqual({ hook: 'socket-select', available: true });
    const noBpf = 'The bpf() system call is refused (EPERM): this process has no CAP_BPF/root and unprivileged BPF is disabled.';
    expect(hook.probe(report({ 'bpf-syscall': noBpf, 'sk-reuseport': 'x.' }))).toEqual({ hook: 'socket-select', available: false, reason: noBpf });
    const noReuseport = 'This kernel does not load SK_REUSEPORT programs (EINVAL), so the socket-select hook cannot work.';
    expect(hook.probe(report({ 'sk-reuseport': noReuseport }))).toEqual({ hook: 'socket-select', available: false, reason: noReuseport });
    // XDP being unavailable does not matter here.
    expect(hook.probe(report({ 'xdp-driver': 'no.', 'af-xdp': 'no.' })).available).toBe(true);
  });

  it('compiles a udp or tcp policy to an SK_REUSEPORT program selecting from a socket array', () => {
    for (const file of ['std:round-robin', 'tcp-round-robin.ts']) {
      const unit = policyUnit(file, { SOCKETS: 4 });
      const { ir } = compilePolicy(unit.source!, { params: { SOCKETS: 4 } });
      const spec = hook.compile(ir, { sourceText: unit.source!.text });
      expect(spec.programType).toBe('sk_reuseport');
      expect(spec.expectedAttachType).toBe('sk_reuseport_select');
      expect(spec.maps.find((m) => m.name === '.executors')?.type).toBe('reuseport_sockarray');
    }
  });

  it('compares addresses in the canonical text /proc tables are read as', () => {
    expect(canonicalAddress('::0001')).toBe('::1');
    expect(canonicalAddress('0:0:0:0:0:0:0:0')).toBe('::');
    expect(canonicalAddress('127.0.0.1')).toBe('127.0.0.1');
    expect(canonicalAddress('FE80::1')).toBe('fe80::1');
    expect(canonicalAddress('not an address')).toBeUndefined();
  });
});
